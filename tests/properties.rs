//! Property tests of the pure core on random inputs: no panics, invariants kept.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use syncwatch::model::side::Side;

use proptest::prelude::*;
use syncwatch::config::conninfo;
use syncwatch::logic::counts::CountCache;
use syncwatch::logic::diff::plan::{self, Key, Range, RowSets, Sums, Verdict};
use syncwatch::logic::divergence::{STUCK_POLLS, STUCK_WINDOW_MS, Sample, State, classify};
use syncwatch::model::snapshot::RawTable;
use syncwatch::model::snapshot::RowCount;

fn sample() -> impl Strategy<Value = Sample> {
    (
        proptest::option::of((0i64..1000, any::<bool>())),
        proptest::option::of((0i64..1000, any::<bool>())),
        proptest::option::of(any::<bool>()),
        any::<bool>(),
        0i64..4000,
    )
        .prop_map(|(s, d, passed, present, gap)| Sample {
            at_ms: gap,
            source: s.map(|(rows, exact)| RowCount { rows, exact }),
            dest: d.map(|(rows, exact)| RowCount { rows, exact }),
            passed,
            dest_present: present,
            dest_raw: false,
        })
}

/// Samples in time order: each `at_ms` is the gap after the one before.
fn timeline(history: Vec<Sample>) -> VecDeque<Sample> {
    let mut at = 0;
    history
        .into_iter()
        .map(|mut s| {
            at += s.at_ms;
            s.at_ms = at;
            s
        })
        .collect()
}

proptest! {
    #[test]
    fn divergence_states_keep_their_invariants(history in proptest::collection::vec(sample(), 0..30)) {
        let h = timeline(history);
        let state = classify(&h);
        let Some(last) = h.back() else {
            prop_assert_eq!(state, State::Unknown);
            return Ok(());
        };
        if last.source.is_some() && !last.dest_present {
            prop_assert_eq!(state, State::Missing);
        }
        if last.dest_present && last.difference() == Some(0) {
            prop_assert_eq!(state, State::InSync);
        }
        if last.passed == Some(false) && last.dest_present && last.difference().is_some_and(|d| d != 0) {
            // The consumer has not reached the last change: never an alarm.
            prop_assert_eq!(state, State::Pending);
        }
        if last.passed == Some(true) {
            // Past the change nothing is on its way: the rows are not pending.
            prop_assert_ne!(state, State::Pending);
        }
        if state == State::Stuck {
            // Stuck only on a whole window, the consumer past the change all through,
            // of the same exact, non-zero difference.
            prop_assert!(h.len() >= STUCK_POLLS);
            let diff = last.difference();
            prop_assert!(diff.is_some_and(|d| d != 0));
            let since = last.at_ms - STUCK_WINDOW_MS;
            prop_assert!(h.front().is_some_and(|s| s.at_ms < since));
            for s in h.iter().rev().take_while(|s| s.at_ms >= since) {
                prop_assert_eq!(s.difference(), diff);
                prop_assert_eq!(s.passed, Some(true));
                prop_assert!(s.source.is_some_and(|c| c.exact) && s.dest.is_some_and(|c| c.exact));
            }
        }
    }

    #[test]
    fn connection_strings_never_panic_and_errors_never_echo_the_password(
        text in ".{0,80}",
        password in "[a-zA-Z0-9]{12}",
    ) {
        let _ = conninfo::parse("s", &text);
        for candidate in [
            format!("{text} password={password}"),
            format!("postgresql://u:{password}@{text}"),
            format!("postgresql://u:{password}@h/{text}"),
            format!("password={password} {text}"),
        ] {
            if let Err(e) = conninfo::parse("s", &candidate) {
                prop_assert!(!e.to_string().contains(&password), "{}", e);
            }
        }
    }

    #[test]
    fn count_plans_name_only_known_tables_asked_ones_first(
        sizes in proptest::collection::vec(0i64..3_000_000, 0..40),
        forced_idx in proptest::collection::hash_set(0usize..40, 0..5),
        max in 0u64..2_000_000,
    ) {
        let tables: Vec<RawTable> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| RawTable {
                oid: i as u32,
                schema: "public".into(),
                name: format!("t{i}"),
                replica_identity: syncwatch::model::snapshot::ReplicaIdentity::Default,
                partitioned: false,
                has_primary_key: true,
                primary_key: vec!["id".into()],
                unique_index: None,
                reltuples: n,
                n_live_tup: Some(n),
                modifications: Some(1),
                changes: Some(1),
                columns: vec![],
            })
            .collect();
        let forced: HashSet<(String, String)> = forced_idx
            .iter()
            .filter(|&&i| i < tables.len())
            .map(|&i| ("public".to_string(), format!("t{i}")))
            .collect();
        let plan: Vec<(String, String)> = CountCache::default()
            .plan(&tables, &forced, max, std::time::Instant::now())
            .into_iter()
            .map(RawTable::key)
            .collect();
        let known: HashSet<(String, String)> = tables.iter().map(RawTable::key).collect();
        prop_assert!(plan.iter().all(|k| known.contains(k)));
        prop_assert_eq!(plan.iter().collect::<HashSet<_>>().len(), plan.len(), "no table twice");
        let first: HashSet<(String, String)> = plan.iter().take(forced.len()).cloned().collect();
        prop_assert_eq!(&first, &forced);
        for t in &tables {
            if !forced.contains(&t.key()) && (t.estimate() as u64) > max {
                prop_assert!(!plan.contains(&t.key()), "big tables are left to estimates");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The diff's planning (`syncwatch::logic::diff::plan`): how key ranges are cut, judged and
// merged, and how fetched rows compare. Keys are ordered by Rust's `Ord` wherever the
// real code relies on the server's order of the key: for text in the "C" collation and
// for integers, both agree.

/// Integers that reach the extremes of `int8`, where `hi - lo + 1` overflows.
fn edgy_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        prop::sample::select(vec![
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            i64::MAX - 1,
            i64::MAX
        ]),
        (0i64..1000).prop_map(|d| i64::MIN + d),
        (0i64..1000).prop_map(|d| i64::MAX - d),
        -1000i64..1000,
    ]
}

/// `lo <= hi`: either two arbitrary values, or a short span where `parts` exceeds the
/// number of keys.
fn int_bounds() -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        (edgy_i64(), edgy_i64()).prop_map(|(a, b)| (a.min(b), a.max(b))),
        (edgy_i64(), 0i64..3000).prop_map(|(a, n)| (a, a.saturating_add(n))),
    ]
}

fn int_of(r: &Range) -> Result<(i64, i64), TestCaseError> {
    match r {
        Range::Int { lo, hi } => Ok((*lo, *hi)),
        other => Err(TestCaseError::fail(format!(
            "not an integer range: {other:?}"
        ))),
    }
}

fn keys_of(r: &Range) -> Result<(Option<Key>, Option<Key>), TestCaseError> {
    match r {
        Range::Keys { lo, hi } => Ok((lo.clone(), hi.clone())),
        other => Err(TestCaseError::fail(format!("not a key range: {other:?}"))),
    }
}

/// Whether `k` is in `[lo, hi)`.
fn in_keys(k: &Key, lo: &Option<Key>, hi: &Option<Key>) -> bool {
    lo.as_ref().is_none_or(|l| k >= l) && hi.as_ref().is_none_or(|h| k < h)
}

/// Short one-column text keys: few letters, so that points repeat and hit the bounds.
fn text_key() -> impl Strategy<Value = Key> {
    "[a-e]{0,3}".prop_map(|s| vec![s])
}

fn sums_of() -> impl Strategy<Value = Option<Sums>> {
    // Two hashes and small counts, so that equal sums are common.
    proptest::option::of((0i64..200, prop::sample::select(vec!["1", "2"]))).prop_map(|o| {
        o.map(|(count, h)| Sums {
            count,
            hash: h.to_string(),
        })
    })
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Cell {
    Int(i64),
    Text(String),
}

/// A key with its columns typed: integer columns print canonically, as the server does.
fn typed_key(int_cols: Vec<bool>) -> impl Strategy<Value = Vec<Cell>> {
    let n = int_cols.len();
    (
        1..=n,
        proptest::collection::vec(
            (
                prop_oneof![-12i64..12, edgy_i64()],
                "[0-9a-]{0,3}".prop_map(String::from),
            ),
            n,
        ),
    )
        .prop_map(move |(len, cells)| {
            cells
                .into_iter()
                .zip(int_cols.iter())
                .take(len)
                .map(|((i, s), &int)| if int { Cell::Int(i) } else { Cell::Text(s) })
                .collect()
        })
}

fn key_text(cells: &[Cell]) -> Key {
    cells
        .iter()
        .map(|c| match c {
            Cell::Int(i) => i.to_string(),
            Cell::Text(s) => s.clone(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn integer_splits_tile_their_range_and_index_by_arithmetic(
        (lo, hi) in int_bounds(),
        parts in 0usize..5000,
        probes in proptest::collection::vec(any::<u64>(), 0..32),
    ) {
        let ranges = plan::split_int(lo, hi, parts);
        prop_assert!(!ranges.is_empty());
        prop_assert!(ranges.len() <= parts.max(1), "{} ranges for {} parts", ranges.len(), parts);
        let mut next = i128::from(lo);
        let mut widths = Vec::new();
        for r in &ranges {
            let (a, b) = int_of(r)?;
            prop_assert_eq!(i128::from(a), next, "gap or overlap at {:?}", r);
            prop_assert!(a <= b, "empty range {:?}", r);
            widths.push(i128::from(b) - i128::from(a) + 1);
            next = i128::from(b) + 1;
        }
        prop_assert_eq!(next, i128::from(hi) + 1, "the cover stops short of {}", hi);
        let width = widths[0];
        let (last, body) = widths.split_last().unwrap();
        prop_assert!(body.iter().all(|&w| w == width) && *last <= width, "widths {:?}", widths);

        // The arithmetic bucket is `(key - lo) / width` in int8: usable exactly when
        // that subtraction cannot overflow and the width itself is an int8.
        let fits = hi.checked_sub(lo).is_some() && i64::try_from(width).is_ok();
        match plan::uniform_int(&ranges) {
            None => prop_assert!(!fits, "{}..={} in {} parts not recognised", lo, hi, ranges.len()),
            Some((first, w)) => {
                prop_assert!(fits);
                prop_assert_eq!(first, lo);
                prop_assert_eq!(i128::from(w), width);
                let total = i128::from(hi) - i128::from(lo) + 1;
                let mut keys = vec![lo, hi];
                for r in &ranges {
                    let (a, b) = int_of(r)?;
                    keys.extend([a, b, a.saturating_sub(1).max(lo)]);
                }
                keys.extend(probes.iter().map(|&p| (i128::from(lo) + i128::from(p) % total) as i64));
                for k in keys {
                    let off = k.checked_sub(first);
                    prop_assert!(off.is_some(), "{} - {} overflows", k, first);
                    let i = (off.unwrap() / w) as usize;
                    let hit = ranges.get(i).map(int_of).transpose()?;
                    prop_assert!(
                        hit.is_some_and(|(a, b)| a <= k && k <= b),
                        "key {} lands in #{} = {:?}", k, i, ranges.get(i)
                    );
                }
            }
        }
    }

    #[test]
    fn reversed_integer_bounds_give_no_range((lo, hi) in int_bounds(), parts in 0usize..5000) {
        prop_assume!(lo < hi);
        prop_assert_eq!(plan::split_int(hi, lo, parts), Vec::<Range>::new());
    }

    #[test]
    fn uniform_int_accepts_only_contiguous_lists_of_one_width(
        start in edgy_i64(),
        steps in proptest::collection::vec((0i128..6, prop::sample::select(vec![0i128, 0, 0, -1, 1])), 1..8),
        probes in proptest::collection::vec(any::<u64>(), 0..16),
    ) {
        // Near-tilings: ranges of a few widths, each start nudged by -1/0/+1 from the
        // end of the previous one, clamped to int8.
        let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let mut ranges = Vec::new();
        let mut at = i128::from(start);
        for (w, nudge) in steps {
            let lo = at + nudge;
            let hi = lo + w;
            let (lo, hi) = (clamp(lo), clamp(hi));
            ranges.push(Range::Int { lo, hi });
            at = i128::from(hi) + 1;
        }
        if let Some((first, width)) = plan::uniform_int(&ranges) {
            prop_assert!(width > 0);
            let mut next = i128::from(first);
            for (i, r) in ranges.iter().enumerate() {
                let (a, b) = int_of(r)?;
                prop_assert_eq!(i128::from(a), next, "accepted a gap or overlap: {:?}", ranges);
                let w = i128::from(b) - i128::from(a) + 1;
                prop_assert!(w >= 1 && w <= i128::from(width), "{:?}", ranges);
                prop_assert!(i + 1 == ranges.len() || w == i128::from(width), "{:?}", ranges);
                next = i128::from(b) + 1;
            }
            let last = int_of(&ranges[ranges.len() - 1])?.1;
            let span = i128::from(last) - i128::from(first) + 1;
            for p in probes {
                let k = (i128::from(first) + i128::from(p) % span) as i64;
                let i = (k.checked_sub(first).unwrap() / width) as usize;
                let (a, b) = int_of(&ranges[i])?;
                prop_assert!(a <= k && k <= b, "key {} lands in {:?}", k, ranges[i]);
            }
        }
    }

    #[test]
    fn key_splits_chain_from_bound_to_bound_whatever_the_points(
        lo in proptest::option::of(text_key()),
        hi in proptest::option::of(text_key()),
        points in proptest::collection::vec(text_key(), 0..12),
    ) {
        let parts = plan::split_at(lo.clone(), hi.clone(), points.clone());
        let bounds = parts.iter().map(keys_of).collect::<Result<Vec<_>, _>>()?;
        prop_assert_eq!(&bounds[0].0, &lo);
        prop_assert_eq!(&bounds[bounds.len() - 1].1, &hi);
        for w in bounds.windows(2) {
            prop_assert!(w[0].1.is_some() && w[0].1 == w[1].0, "not contiguous: {:?}", parts);
        }
        // All split_at can promise without knowing the server's order: the cuts are the
        // points in the order given, less each one equal to the previous cut (or to `lo`)
        // or to `hi`; so no part starts where it ends unless `lo == hi` to begin with.
        let cuts: Vec<Key> = bounds[1..].iter().filter_map(|b| b.0.clone()).collect();
        let mut expected = Vec::new();
        let mut prev = lo.clone();
        for p in points {
            if prev.as_ref() == Some(&p) || hi.as_ref() == Some(&p) {
                continue;
            }
            expected.push(p.clone());
            prev = Some(p);
        }
        prop_assert_eq!(cuts, expected);
        if lo.is_none() || lo != hi {
            prop_assert!(
                bounds.iter().all(|(a, b)| a.is_none() || a != b),
                "a part starts where it ends: {:?}", parts
            );
        }
    }

    #[test]
    fn key_splits_at_sorted_inner_points_tile_the_range(
        keys in proptest::collection::btree_set(text_key(), 0..14),
        bounded in (any::<bool>(), any::<bool>()),
        probes in proptest::collection::vec(text_key(), 0..16),
    ) {
        // Sorted points strictly inside the bounds: what the server sends.
        let mut keys: Vec<Key> = keys.into_iter().collect();
        let hi = if bounded.1 { keys.pop() } else { None };
        let lo = if bounded.0 && !keys.is_empty() { Some(keys.remove(0)) } else { None };
        let parts = plan::split_at(lo.clone(), hi.clone(), keys.clone());
        prop_assert_eq!(parts.len(), keys.len() + 1);
        let bounds = parts.iter().map(keys_of).collect::<Result<Vec<_>, _>>()?;
        for (a, b) in &bounds {
            if let (Some(a), Some(b)) = (a, b) {
                prop_assert!(a < b, "empty part {:?}", parts);
            }
        }
        for k in probes.iter().chain(keys.iter()).chain(lo.iter()).chain(hi.iter()) {
            let holders = bounds.iter().filter(|(a, b)| in_keys(k, a, b)).count();
            let expected = usize::from(in_keys(k, &lo, &hi));
            prop_assert_eq!(holders, expected, "key {:?} in {} parts of {:?}", k, holders, parts);
        }
    }

    #[test]
    fn cut_points_are_drawn_in_order_from_the_sorted_keys(
        unique in any::<bool>(),
        raw in proptest::collection::vec(text_key(), 0..40),
        parts in 0usize..50,
    ) {
        let mut sorted = raw;
        sorted.sort();
        if unique {
            sorted.dedup();
        }
        let points = plan::cut_points(&sorted, parts);
        prop_assert!(points.len() <= parts.saturating_sub(1));
        if parts <= 1 || sorted.len() < 2 {
            prop_assert!(points.is_empty());
        }
        for w in points.windows(2) {
            prop_assert!(w[0] < w[1], "not strictly increasing: {:?}", points);
        }
        for p in &points {
            prop_assert!(sorted.contains(p), "{:?} is not one of the keys", p);
            // Distinct keys only (a primary key's sample): a repeated first key is a
            // later key too.
            prop_assert!(
                !unique || p != &sorted[0],
                "the first key {:?} is a cut: the first group would be empty", p
            );
        }
        if unique && parts > 1 && sorted.len() >= 2 {
            // Distinct keys: exactly min(parts, n) groups, sizes differing by at most one.
            let n = sorted.len();
            let p = parts.min(n);
            prop_assert_eq!(points.len(), p - 1);
            let mut at: Vec<usize> = points
                .iter()
                .map(|k| sorted.binary_search(k).unwrap())
                .collect();
            at.insert(0, 0);
            at.push(n);
            for w in at.windows(2) {
                let size = w[1] - w[0];
                prop_assert!(size >= n / p && size <= n.div_ceil(p), "group of {} in {:?}", size, at);
            }
        }
    }

    #[test]
    fn runs_of_integer_ranges_cover_the_same_keys(
        base in prop::sample::select(vec![0i128, i128::from(i64::MIN), i128::from(i64::MAX) - 60]),
        spans in proptest::collection::vec((0i128..60, 0i128..6), 0..12),
    ) {
        // Arbitrary valid ranges, even unsorted or overlapping: merging must neither add
        // nor drop a key. Small spans keep the key sets enumerable.
        let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        let ranges: Vec<Range> = spans
            .iter()
            .map(|&(a, w)| Range::Int { lo: clamp(base + a), hi: clamp(base + a + w) })
            .collect();
        let covered = |rs: &[Range]| -> Result<BTreeSet<i64>, TestCaseError> {
            let mut s = BTreeSet::new();
            for r in rs {
                let (a, b) = int_of(r)?;
                s.extend(a..=b);
            }
            Ok(s)
        };
        let merged = plan::runs(&ranges);
        prop_assert_eq!(covered(&merged)?, covered(&ranges)?);
        prop_assert!(merged.len() <= ranges.len());
        for w in merged.windows(2) {
            let ((_, h), (l, _)) = (int_of(&w[0])?, int_of(&w[1])?);
            prop_assert!(h.checked_add(1) != Some(l), "{:?} still continues into {:?}", w[0], w[1]);
        }
        for r in &merged {
            let (a, b) = int_of(r)?;
            prop_assert!(a <= b);
        }
    }

    #[test]
    fn runs_of_key_ranges_cover_the_same_keys(
        points in proptest::collection::btree_set(text_key(), 0..12),
        keep in proptest::collection::vec(any::<bool>(), 13),
        probes in proptest::collection::vec(text_key(), 0..24),
    ) {
        // A subset of one split, in order: the segments of a level.
        let all = plan::split_at(None, None, points.iter().cloned().collect());
        let picked: Vec<Range> = all.iter().zip(&keep).filter(|(_, k)| **k).map(|(r, _)| r.clone()).collect();
        let merged = plan::runs(&picked);
        let a = picked.iter().map(keys_of).collect::<Result<Vec<_>, _>>()?;
        let b = merged.iter().map(keys_of).collect::<Result<Vec<_>, _>>()?;
        for k in probes.iter().chain(points.iter()) {
            let before = a.iter().any(|(l, h)| in_keys(k, l, h));
            let after = b.iter().filter(|(l, h)| in_keys(k, l, h)).count();
            prop_assert_eq!(usize::from(before), after, "key {:?}: {:?} became {:?}", k, picked, merged);
        }
        for w in b.windows(2) {
            prop_assert!(w[0].1.is_none() || w[0].1 != w[1].0, "{:?} still continue", w);
        }
    }

    #[test]
    fn judged_segments_are_skipped_exactly_when_their_sums_agree(
        segs in proptest::collection::vec(
            (sums_of(), sums_of(), any::<bool>(), 0usize..3, 0i64..3),
            0..40,
        ),
        fetch_rows in 0u64..150,
        may_split in any::<bool>(),
    ) {
        // `same` forces both sides equal, else equal sums would be rare at random. Kinds
        // of range: a wide integer one, a single integer (cannot be cut), a key range.
        let ranges: Vec<Range> = segs
            .iter()
            .enumerate()
            .map(|(i, &(_, _, _, kind, w))| {
                let lo = 10 * i as i64;
                match kind {
                    0 => Range::Int { lo, hi: lo + 1 + w },
                    1 => Range::Int { lo, hi: lo },
                    _ => Range::Keys { lo: Some(vec![format!("{i:02}")]), hi: Some(vec![format!("{i:02}z")]) },
                }
            })
            .collect();
        let mut src = HashMap::new();
        let mut dst = HashMap::new();
        for (i, (s, d, same, _, _)) in segs.iter().enumerate() {
            let d = if *same { s } else { d };
            if let Some(s) = s {
                src.insert(i, s.clone());
            }
            if let Some(d) = d {
                dst.insert(i, d.clone());
            }
        }
        let t = plan::triage(&ranges, &src, &dst, fetch_rows, may_split);
        prop_assert_eq!(t.equal + t.split.len() + t.fetch.len(), ranges.len());
        let mut split = t.split.iter().peekable();
        let mut fetch = t.fetch.iter().peekable();
        let mut equal = 0;
        for (i, r) in ranges.iter().enumerate() {
            let (s, d) = (src.get(&i), dst.get(&i));
            let verdict = plan::judge(s, d, fetch_rows, may_split && r.splittable());
            let (sc, dc) = (s.map_or(0, |x| x.count), d.map_or(0, |x| x.count));
            let rows = sc.max(dc) as u64;
            if s == d {
                prop_assert_eq!(verdict, Verdict::Equal);
                equal += 1;
                continue;
            }
            prop_assert_ne!(verdict, Verdict::Equal);
            let cuttable = sc > 0 && dc > 0 && rows > fetch_rows && may_split && r.splittable();
            // Each differing segment, in order, in the list its verdict names.
            if cuttable {
                prop_assert_eq!(verdict, Verdict::Split);
                let side = if sc >= dc { Side::Source } else { Side::Dest };
                prop_assert_eq!(split.next(), Some(&(r.clone(), rows, side)));
            } else {
                prop_assert_eq!(verdict, Verdict::Fetch);
                prop_assert_eq!(fetch.next(), Some(r));
            }
        }
        prop_assert_eq!(t.equal, equal);
        prop_assert!(split.next().is_none() && fetch.next().is_none());
    }

    #[test]
    fn row_comparison_sorts_keys_into_missing_extra_and_changed(
        src in proptest::collection::btree_map((-30i64..30, "[ab]{0,1}"), 0i64..3, 0..40),
        dst in proptest::collection::btree_map((-30i64..30, "[ab]{0,1}"), 0i64..3, 0..40),
        seed in any::<u64>(),
    ) {
        let key = |(i, s): &(i64, String)| vec![i.to_string(), s.clone()];
        let int_cols = [true, false];
        // The server sends rows in no particular order.
        let shuffle = |mut v: Vec<(Key, i64)>| {
            let n = v.len();
            for i in (1..n).rev() {
                v.swap(i, (mix(seed ^ i as u64) % (i as u64 + 1)) as usize);
            }
            v
        };
        let s: Vec<(Key, i64)> = shuffle(src.iter().map(|(k, h)| (key(k), *h)).collect());
        let d: Vec<(Key, i64)> = shuffle(dst.iter().map(|(k, h)| (key(k), *h)).collect());
        let r = plan::compare_rows(s, d, &int_cols);
        let sorted = |mut v: Vec<Key>| {
            v.sort_by(|a, b| plan::key_cmp(a, b, &int_cols));
            v
        };
        let missing = sorted(src.keys().filter(|k| !dst.contains_key(k)).map(key).collect());
        let extra = sorted(dst.keys().filter(|k| !src.contains_key(k)).map(key).collect());
        let changed = sorted(
            src.iter()
                .filter(|(k, h)| dst.get(k).is_some_and(|d| d != *h))
                .map(|(k, _)| key(k))
                .collect(),
        );
        for list in [&r.missing, &r.extra, &r.changed] {
            for w in list.windows(2) {
                prop_assert_eq!(plan::key_cmp(&w[0], &w[1], &int_cols), Ordering::Less);
            }
        }
        prop_assert_eq!(&r.missing, &missing);
        prop_assert_eq!(&r.extra, &extra);
        prop_assert_eq!(&r.changed, &changed);
        let all: HashSet<&Key> = r.keys().collect();
        prop_assert_eq!(all.len(), r.len(), "a key in two lists");
    }

    #[test]
    fn key_order_is_total_and_numeric_on_integer_columns(
        (int_cols, a, b, c) in proptest::collection::vec(any::<bool>(), 1..4).prop_flat_map(|cols| {
            (
                Just(cols.clone()),
                typed_key(cols.clone()),
                typed_key(cols.clone()),
                typed_key(cols),
            )
        }),
    ) {
        let (ka, kb, kc) = (key_text(&a), key_text(&b), key_text(&c));
        let cmp = |x: &Key, y: &Key| plan::key_cmp(x, y, &int_cols);
        // Against a model: integers by value, text by bytes, a prefix first.
        prop_assert_eq!(cmp(&ka, &kb), a.cmp(&b));
        prop_assert_eq!(cmp(&ka, &kb), cmp(&kb, &ka).reverse());
        prop_assert_eq!(cmp(&ka, &ka), Ordering::Equal);
        prop_assert_eq!(cmp(&ka, &kb) == Ordering::Equal, ka == kb);
        if cmp(&ka, &kb) != Ordering::Greater && cmp(&kb, &kc) != Ordering::Greater {
            prop_assert_ne!(cmp(&ka, &kc), Ordering::Greater);
        }
    }

    #[test]
    fn multiset_differences_turn_the_destination_into_the_source(
        src in proptest::collection::vec(("[abc]{0,2}", 0i64..5), 0..20),
        dst in proptest::collection::vec(("[abc]{0,2}", 0i64..5), 0..20),
    ) {
        // Rows may repeat within a side: their counts add up.
        let tally = |v: &[(String, i64)]| {
            let mut m: BTreeMap<String, i64> = BTreeMap::new();
            for (r, n) in v {
                *m.entry(r.clone()).or_default() += n;
            }
            m
        };
        let (want, have) = (tally(&src), tally(&dst));
        let (missing, extra) = plan::multiset_diff(src, dst);
        for list in [&missing, &extra] {
            prop_assert!(list.iter().all(|(_, n)| *n > 0), "a zero or negative count: {:?}", list);
            for w in list.windows(2) {
                prop_assert!(w[0].0 < w[1].0, "not sorted or repeated: {:?}", list);
            }
        }
        let mut fixed = have.clone();
        for (r, n) in &missing {
            *fixed.entry(r.clone()).or_default() += n;
        }
        for (r, n) in &extra {
            *fixed.entry(r.clone()).or_default() -= n;
        }
        fixed.retain(|_, n| *n != 0);
        let mut want = want;
        want.retain(|_, n| *n != 0);
        prop_assert_eq!(fixed, want);
        let m: HashSet<&String> = missing.iter().map(|(r, _)| r).collect();
        prop_assert!(extra.iter().all(|(r, _)| !m.contains(r)), "a row both missing and extra");
    }
}

// ---------------------------------------------------------------------------------------
// The whole descent, in memory. Mirrors `compare_keyed`, `first_cut`, `next_cut` and the
// SQL of `aggregate`/`row_hashes`/`split_points` in src/diff/run.rs and sql.rs (those
// are inline there, next to the I/O): a segment's sums are computed the way the server
// is asked to compute them (rows filtered by `runs`, bucketed by `uniform_int`
// arithmetic or by the ranges' starts), so that a mismatch between the plan and the
// SQL's reading of it shows up as a wrong diff.

/// splitmix64: row hashes that do not collide by accident, even as proptest shrinks the
/// inputs toward zero.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

trait SimKey: Ord + Clone + std::fmt::Debug {
    /// A single integer key (`Shape::int_key`): integer ranges, else key ranges.
    const INT: bool;
    fn key(&self) -> Key;
    fn bits(&self) -> u64;
    fn in_range(&self, r: &Range) -> bool;
    /// Whether `r` starts at or before this key: the server's bucket is the last such range.
    fn after_start(&self, r: &Range) -> bool;
    fn int(&self) -> Option<i64>;
}

impl SimKey for i64 {
    const INT: bool = true;
    fn key(&self) -> Key {
        vec![self.to_string()]
    }
    fn bits(&self) -> u64 {
        *self as u64
    }
    fn in_range(&self, r: &Range) -> bool {
        matches!(r, Range::Int { lo, hi } if lo <= self && self <= hi)
    }
    fn after_start(&self, r: &Range) -> bool {
        matches!(r, Range::Int { lo, .. } if lo <= self)
    }
    fn int(&self) -> Option<i64> {
        Some(*self)
    }
}

impl SimKey for Key {
    const INT: bool = false;
    fn key(&self) -> Key {
        self.clone()
    }
    fn bits(&self) -> u64 {
        self.iter()
            .flat_map(|s| s.bytes().chain([0xff]))
            .fold(0xcbf2_9ce4_8422_2325, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            })
    }
    fn in_range(&self, r: &Range) -> bool {
        matches!(r, Range::Keys { lo, hi } if in_keys(self, lo, hi))
    }
    fn after_start(&self, r: &Range) -> bool {
        matches!(r, Range::Keys { lo, .. } if lo.as_ref().is_none_or(|l| l <= self))
    }
    fn int(&self) -> Option<i64> {
        None
    }
}

/// Key -> row hash (the server's int8 row hash).
type Table<K> = BTreeMap<K, i64>;

#[derive(Clone, Debug)]
struct Opts {
    segment_rows: u64,
    max_segments: usize,
    fanout: usize,
    fetch_rows: u64,
    max_levels: u32,
    sample_above_rows: i64,
    /// The catalog's estimate, which may be stale: only speed may depend on it.
    estimate: u64,
    /// Which source keys TABLESAMPLE picks.
    sample_seed: u64,
}

fn opts() -> impl Strategy<Value = Opts> {
    (
        0u64..60,
        0usize..40,
        0usize..10,
        0u64..12,
        prop_oneof![0u32..8, Just(24)],
        0i64..400,
        0u64..600,
        any::<u64>(),
    )
        .prop_map(|(sr, ms, fo, fr, ml, sa, est, seed)| Opts {
            segment_rows: sr,
            max_segments: ms,
            fanout: fo,
            fetch_rows: fr,
            max_levels: ml,
            sample_above_rows: sa,
            estimate: est,
            sample_seed: seed,
        })
}

/// What the segment's rows sum to: `None` when it holds none, as a missing group.
fn sums_in<K: SimKey>(t: &Table<K>, r: &Range) -> Option<Sums> {
    let (mut n, mut sum) = (0i64, 0i128);
    for (_, h) in t.iter().filter(|(k, _)| k.in_range(r)) {
        n += 1;
        sum += i128::from(*h);
    }
    (n > 0).then(|| Sums {
        count: n,
        hash: sum.to_string(),
    })
}

/// `aggregate`: per chunk of ranges, rows kept by the `runs` predicate, grouped by the
/// bucket expression, sums keyed by 1-based bucket plus the chunk's base.
fn aggregate<K: SimKey>(
    t: &Table<K>,
    ranges: &[Range],
    chunk: usize,
) -> Result<HashMap<usize, Sums>, TestCaseError> {
    let mut out = HashMap::new();
    for (n, part) in ranges.chunks(chunk.max(1)).enumerate() {
        let merged = plan::runs(part);
        let uniform = plan::uniform_int(part);
        let mut groups: BTreeMap<i64, (i64, i128)> = BTreeMap::new();
        for (k, h) in t
            .iter()
            .filter(|(k, _)| merged.iter().any(|r| k.in_range(r)))
        {
            let b = match (uniform, k.int()) {
                (Some((first, width)), Some(v)) => {
                    let off = v.checked_sub(first);
                    prop_assert!(off.is_some(), "int8 overflow in {} - {}", v, first);
                    off.unwrap() / width + 1
                }
                _ => part.partition_point(|r| k.after_start(r)) as i64,
            };
            let g = groups.entry(b).or_default();
            g.0 += 1;
            g.1 += i128::from(*h);
        }
        let base = n * chunk.max(1);
        for (b, (count, sum)) in groups {
            if let Ok(i) = usize::try_from(b - 1) {
                out.insert(
                    base + i,
                    Sums {
                        count,
                        hash: sum.to_string(),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// `row_hashes`: every row of the ranges, 256 ranges per query.
fn row_hashes<K: SimKey>(t: &Table<K>, ranges: &[Range]) -> Vec<(Key, i64)> {
    let mut out = Vec::new();
    for chunk in ranges.chunks(256) {
        let merged = plan::runs(chunk);
        for (k, h) in t
            .iter()
            .filter(|(k, _)| merged.iter().any(|r| k.in_range(r)))
        {
            out.push((k.key(), *h));
        }
    }
    out
}

/// `split_points_sql`: the key of every `every`-th row after the first, in key order.
fn split_points<K: SimKey>(t: &Table<K>, r: &Range, every: u64) -> Vec<Key> {
    t.keys()
        .filter(|k| k.in_range(r))
        .zip(1u64..)
        .filter(|(_, rn)| *rn > 1 && (rn - 1) % every.max(1) == 0)
        .map(|(k, _)| k.key())
        .collect()
}

/// `first_cut`.
fn first_cut<K: SimKey>(src: &Table<K>, dst: &Table<K>, o: &Opts) -> Vec<Range> {
    let parts = plan::segment_count(o.estimate, o.segment_rows, o.max_segments);
    if K::INT {
        let ints = |t: &Table<K>| {
            (
                t.keys().next().and_then(SimKey::int),
                t.keys().last().and_then(SimKey::int),
            )
        };
        let ((smin, smax), (dmin, dmax)) = (ints(src), ints(dst));
        let lo = [smin, dmin].into_iter().flatten().min();
        let hi = [smax, dmax].into_iter().flatten().max();
        return match (lo, hi) {
            (Some(lo), Some(hi)) => plan::split_int(lo, hi, parts),
            _ => Vec::new(),
        };
    }
    if parts <= 1 {
        return vec![Range::everything()];
    }
    if o.estimate as i64 > o.sample_above_rows {
        let sample: Vec<Key> = src
            .keys()
            .filter(|k| mix(k.bits() ^ o.sample_seed).is_multiple_of(4))
            .map(|k| k.key())
            .collect();
        return plan::split_at(None, None, plan::cut_points(&sample, parts));
    }
    let every = o.estimate.div_ceil(parts as u64).max(1);
    plan::split_at(None, None, split_points(src, &Range::everything(), every))
}

/// `next_cut`: integer segments by arithmetic, key segments at the fuller side's keys;
/// a key segment with no point to cut at is fetched.
fn next_cut<K: SimKey>(
    src: &Table<K>,
    dst: &Table<K>,
    split: Vec<(Range, u64, Side)>,
    o: &Opts,
) -> (Vec<Range>, Vec<Range>) {
    let (mut next, mut fetch) = (Vec::new(), Vec::new());
    for (r, rows_in, side) in split {
        let n = (rows_in.div_ceil(o.fetch_rows.max(1)) as usize).clamp(2, o.fanout.max(2));
        match &r {
            Range::Int { lo, hi } => next.extend(plan::split_int(*lo, *hi, n)),
            Range::Keys { lo, hi } => {
                let t = if side == Side::Source { src } else { dst };
                let p = split_points(t, &r, rows_in.div_ceil(n as u64).max(1));
                if p.is_empty() {
                    fetch.push(r);
                } else {
                    next.extend(plan::split_at(lo.clone(), hi.clone(), p));
                }
            }
        }
    }
    (next, fetch)
}

/// Whether a level's segments are in key order and pairwise disjoint.
fn check_level(ranges: &[Range]) -> Result<(), TestCaseError> {
    for r in ranges {
        match r {
            Range::Int { lo, hi } => prop_assert!(lo <= hi, "empty segment {:?}", r),
            Range::Keys {
                lo: Some(l),
                hi: Some(h),
            } => prop_assert!(l < h, "empty segment {:?}", r),
            Range::Keys { .. } => {}
        }
    }
    for w in ranges.windows(2) {
        let ordered = match (&w[0], &w[1]) {
            (Range::Int { hi, .. }, Range::Int { lo, .. }) => hi < lo,
            (Range::Keys { hi: Some(h), .. }, Range::Keys { lo: Some(l), .. }) => h <= l,
            _ => false,
        };
        prop_assert!(ordered, "segments out of order or overlapping: {:?}", w);
    }
    Ok(())
}

/// `compare_keyed`: the levels of segments, then the rows of the fetched ones.
fn descend<K: SimKey>(
    src: &Table<K>,
    dst: &Table<K>,
    o: &Opts,
    int_cols: &[bool],
) -> Result<RowSets, TestCaseError> {
    let mut ranges = first_cut(src, dst, o);
    let mut fetch: Vec<Range> = Vec::new();
    let mut level = 0u32;
    while !ranges.is_empty() {
        prop_assert!(
            level < o.max_levels.max(1),
            "level {} past the limit",
            level
        );
        check_level(&ranges)?;
        let (s, d) = (
            aggregate(src, &ranges, o.max_segments)?,
            aggregate(dst, &ranges, o.max_segments)?,
        );
        for (i, r) in ranges.iter().enumerate() {
            prop_assert_eq!(
                s.get(&i).cloned(),
                sums_in(src, r),
                "source sums of {:?}",
                r
            );
            prop_assert_eq!(
                d.get(&i).cloned(),
                sums_in(dst, r),
                "destination sums of {:?}",
                r
            );
        }
        let t = plan::triage(&ranges, &s, &d, o.fetch_rows, level + 1 < o.max_levels);
        let (next, unsplittable) = next_cut(src, dst, t.split, o);
        for r in t.fetch.iter().chain(&unsplittable) {
            prop_assert_ne!(
                sums_in(src, r),
                sums_in(dst, r),
                "an equal segment is fetched: {:?}",
                r
            );
        }
        fetch.extend(t.fetch);
        fetch.extend(unsplittable);
        ranges = next;
        level += 1;
    }
    if fetch.is_empty() {
        return Ok(RowSets::default());
    }
    let (s, d) = (row_hashes(src, &fetch), row_hashes(dst, &fetch));
    for side in [&s, &d] {
        let keys: HashSet<&Key> = side.iter().map(|(k, _)| k).collect();
        prop_assert_eq!(
            keys.len(),
            side.len(),
            "a row read twice: fetched segments overlap"
        );
    }
    Ok(plan::compare_rows(s, d, int_cols))
}

/// What the diff must find: computed row by row.
fn truth<K: SimKey>(src: &Table<K>, dst: &Table<K>, int_cols: &[bool]) -> RowSets {
    let sorted = |mut v: Vec<Key>| {
        v.sort_by(|a, b| plan::key_cmp(a, b, int_cols));
        v
    };
    RowSets {
        missing: sorted(
            src.keys()
                .filter(|k| !dst.contains_key(k))
                .map(SimKey::key)
                .collect(),
        ),
        extra: sorted(
            dst.keys()
                .filter(|k| !src.contains_key(k))
                .map(SimKey::key)
                .collect(),
        ),
        changed: sorted(
            src.iter()
                .filter(|(k, h)| dst.get(k).is_some_and(|d| d != *h))
                .map(|(k, _)| k.key())
                .collect(),
        ),
    }
}

/// Two copies of one table, then planted edits: 0 deletes on the destination, 1 deletes
/// on the source, 2 writes a new version on the destination, 3 on the source.
fn planted<K: SimKey>(base: &BTreeSet<K>, edits: &[(K, u8)]) -> (Table<K>, Table<K>) {
    let hash = |k: &K, version: u64| mix(k.bits() ^ mix(version)) as i64;
    let mut src: Table<K> = base.iter().map(|k| (k.clone(), hash(k, 0))).collect();
    let mut dst = src.clone();
    for (n, (k, e)) in edits.iter().enumerate() {
        let v = 1 + n as u64;
        match e {
            0 => drop(dst.remove(k)),
            1 => drop(src.remove(k)),
            2 => drop(dst.insert(k.clone(), hash(k, v))),
            _ => drop(src.insert(k.clone(), hash(k, v))),
        }
    }
    (src, dst)
}

/// Integer keys: dense or spread out, anywhere in int8, sometimes at both extremes.
fn int_layout() -> impl Strategy<Value = (i64, i64, bool)> {
    (
        edgy_i64(),
        prop::sample::select(vec![1i64, 1, 2, 3, 1_000_003, 1 << 40]),
        any::<bool>(),
    )
}

fn int_key_at(i: u32, (base, stride, extremes): (i64, i64, bool)) -> i64 {
    match i {
        0 if extremes => i64::MIN,
        399 if extremes => i64::MAX,
        _ => (i128::from(base) + i128::from(i) * i128::from(stride))
            .clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
    }
}

fn text_key_at(i: u32, two_columns: bool) -> Key {
    if two_columns {
        vec![format!("{:x}", i % 13), format!("r{}", i / 13)]
    } else {
        vec![format!("k{i}")]
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn descent_over_integer_keys_finds_exactly_the_planted_differences(
        base in proptest::collection::btree_set(0u32..400, 0..250),
        edits in proptest::collection::vec((0u32..400, 0u8..4), 0..10),
        layout in int_layout(),
        o in opts(),
    ) {
        let base: BTreeSet<i64> = base.into_iter().map(|i| int_key_at(i, layout)).collect();
        let edits: Vec<(i64, u8)> = edits.into_iter().map(|(i, e)| (int_key_at(i, layout), e)).collect();
        let (src, dst) = planted(&base, &edits);
        let found = descend(&src, &dst, &o, &[true])?;
        prop_assert_eq!(found, truth(&src, &dst, &[true]));
    }

    #[test]
    fn descent_over_text_keys_finds_exactly_the_planted_differences(
        base in proptest::collection::btree_set(0u32..400, 0..250),
        edits in proptest::collection::vec((0u32..400, 0u8..4), 0..10),
        two_columns in any::<bool>(),
        o in opts(),
    ) {
        let base: BTreeSet<Key> = base.into_iter().map(|i| text_key_at(i, two_columns)).collect();
        let edits: Vec<(Key, u8)> = edits.into_iter().map(|(i, e)| (text_key_at(i, two_columns), e)).collect();
        let (src, dst) = planted(&base, &edits);
        let int_cols = if two_columns { vec![false, false] } else { vec![false] };
        let found = descend(&src, &dst, &o, &int_cols)?;
        prop_assert_eq!(found, truth(&src, &dst, &int_cols));
    }
}

// The slot's timeline: polls with random gaps (a side down for a while), positions that
// mostly grow and sometimes jump backwards (a server replaced or restored).
proptest! {
    #[test]
    fn the_timeline_stays_bounded_ordered_and_its_lag_is_monotone(
        steps in proptest::collection::vec((1i64..120_000, 0u64..50_000, any::<bool>()), 1..400),
        window_s in 60i64..7200,
    ) {
        use syncwatch::logic::timeline::{Behind, MAX_POINTS, Point, Timeline};
        use syncwatch::model::lsn::Lsn;
        let mut t = Timeline::new(window_s * 1000);
        let (mut at, mut pos) = (0i64, 1_000_000u64);
        for (gap, grow, back) in steps {
            at += gap;
            // One step in fifty goes backwards.
            pos = if back && grow % 50 == 0 { pos / 2 } else { pos + grow };
            t.push(Point { at_ms: at, source: Lsn(pos), ..Point::default() });
            let pts: Vec<Point> = t.points().iter().copied().collect();
            prop_assert!(pts.len() <= MAX_POINTS + 1);
            prop_assert!(pts.last().unwrap().at_ms - pts[0].at_ms <= t.window_ms());
            for w in pts.windows(2) {
                prop_assert!(w[0].at_ms <= w[1].at_ms && w[0].source <= w[1].source);
            }
            // A consumer further along is never further behind; never behind in the future.
            let mut last_ms = i64::MAX;
            for p in &pts {
                match t.behind(Some(p.source), at) {
                    Behind::By(ms) | Behind::AtLeast(ms) => {
                        prop_assert!(ms >= 0 && ms <= at - pts[0].at_ms);
                        prop_assert!(ms <= last_ms);
                        last_ms = ms;
                    }
                    Behind::Unknown => prop_assert!(false, "a kept position is known"),
                }
            }
            prop_assert_eq!(t.behind(Some(Lsn(pos)), at), Behind::By(0));
        }
    }
}
