//! The diff's decisions on plain values, no I/O: how a key range is cut into segments,
//! which segments to skip, split or fetch once both sides' (count, hash) are known, and
//! how fetched rows compare.
//!
//! Invariants (unit-tested here; worth property tests later): the segments of a split
//! cover their parent exactly, in order, without gaps or overlaps; a segment whose count
//! and hash agree on both sides is never split or fetched.

use crate::model::side::Side;
use std::cmp::Ordering;
use std::collections::HashMap;

/// A key as text, one value per key column, in the key's column order.
pub type Key = Vec<String>;

/// A stretch of the key space, in the servers' order of the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Range {
    /// A single integer key between `lo` and `hi`, both included.
    Int { lo: i64, hi: i64 },
    /// Keys `k` with `lo <= k < hi`; `None` is unbounded on that side.
    Keys { lo: Option<Key>, hi: Option<Key> },
}

impl Range {
    /// The whole key space for keys that are not a single integer.
    pub fn everything() -> Range {
        Range::Keys { lo: None, hi: None }
    }

    /// Whether the range could hold more than one key (an integer range of one value
    /// cannot be split; a key range is split by points found in the data).
    pub fn splittable(&self) -> bool {
        match self {
            Range::Int { lo, hi } => lo < hi,
            Range::Keys { .. } => true,
        }
    }

    /// Whether `next` starts exactly where `self` ends, so both read as one run.
    fn continues_into(&self, next: &Range) -> bool {
        match (self, next) {
            (Range::Int { hi, .. }, Range::Int { lo, .. }) => hi.checked_add(1) == Some(*lo),
            (Range::Keys { hi: Some(h), .. }, Range::Keys { lo: Some(l), .. }) => h == l,
            _ => false,
        }
    }
}

/// A segment's row count and order-independent hash on one side (the hash as the
/// server printed its sum: only compared for equality).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sums {
    pub count: i64,
    pub hash: String,
}

/// What to do with one compared segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Equal,
    /// Differs and is too big to fetch: cut it and compare the parts.
    Split,
    /// Differs and is small enough (or cannot be cut): compare its rows one by one.
    Fetch,
}

/// Decides a segment's fate; `None` is a side with no row in it.
pub fn judge(src: Option<&Sums>, dst: Option<&Sums>, fetch_rows: u64, splittable: bool) -> Verdict {
    if src == dst {
        return Verdict::Equal;
    }
    let (sc, dc) = (src.map_or(0, |s| s.count), dst.map_or(0, |d| d.count));
    let rows = sc.max(dc).max(0) as u64;
    // A segment empty on one side differs in every row: cutting it finds nothing more.
    if rows <= fetch_rows || !splittable || sc == 0 || dc == 0 {
        Verdict::Fetch
    } else {
        Verdict::Split
    }
}

/// How many segments to cut `rows` rows into so that each holds about `target_rows`.
pub fn segment_count(rows: u64, target_rows: u64, max: usize) -> usize {
    let n = rows.div_ceil(target_rows.max(1));
    (n.max(1) as usize).min(max.max(1))
}

/// Cuts `lo..=hi` into at most `parts` contiguous ranges, all of the same width but the
/// last (which may be shorter), so that a row's range is `(key - lo) / width`.
pub fn split_int(lo: i64, hi: i64, parts: usize) -> Vec<Range> {
    if hi < lo {
        return Vec::new();
    }
    // i128: `hi - lo + 1` overflows i64 for the full bigint range.
    let total = i128::from(hi) - i128::from(lo) + 1;
    let parts = (parts.max(1) as i128).min(total);
    let width = (total + parts - 1) / parts;
    let mut out = Vec::new();
    let mut start = i128::from(lo);
    while start <= i128::from(hi) {
        let end = (start + width - 1).min(i128::from(hi));
        out.push(Range::Int {
            lo: start as i64,
            hi: end as i64,
        });
        start = end + 1;
    }
    out
}

/// `(first key, width)` when `ranges` are contiguous integer ranges of one width (the
/// last may be shorter) whose span fits in an `int8` subtraction: then a row's range
/// is found by arithmetic instead of a search.
pub fn uniform_int(ranges: &[Range]) -> Option<(i64, i64)> {
    let Some(Range::Int { lo: first, hi }) = ranges.first() else {
        return None;
    };
    let width = hi.checked_sub(*first)?.checked_add(1)?;
    // `None` once a range ends at `i64::MAX`: nothing can follow it contiguously.
    let mut next = Some(*first);
    for (i, r) in ranges.iter().enumerate() {
        let Range::Int { lo, hi } = r else {
            return None;
        };
        let w = hi.checked_sub(*lo)?.checked_add(1)?;
        if Some(*lo) != next || (w != width && i + 1 != ranges.len()) || w > width {
            return None;
        }
        next = hi.checked_add(1);
    }
    let Range::Int { hi: last, .. } = ranges[ranges.len() - 1] else {
        return None;
    };
    last.checked_sub(*first)?;
    Some((*first, width))
}

/// Cuts `[lo, hi)` at `points`, which the caller gives sorted and strictly inside the
/// range in the server's order of the key (this function cannot compare keys). A point
/// equal to the previous cut (or to `lo`) or to `hi` is skipped, so repeated points never
/// make an empty part; the parts always chain from `lo` to `hi`.
pub fn split_at(lo: Option<Key>, hi: Option<Key>, points: Vec<Key>) -> Vec<Range> {
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut start = lo;
    for p in points {
        if start.as_ref() == Some(&p) || hi.as_ref() == Some(&p) {
            continue;
        }
        out.push(Range::Keys {
            lo: start.take(),
            hi: Some(p.clone()),
        });
        start = Some(p);
    }
    out.push(Range::Keys { lo: start, hi });
    out
}

/// From keys sorted by the server, the points that cut them into about `parts` groups of
/// equal size (`parts - 1` points at most, never the first key).
pub fn cut_points(sorted: &[Key], parts: usize) -> Vec<Key> {
    if parts <= 1 || sorted.len() < 2 {
        return Vec::new();
    }
    let parts = parts.min(sorted.len());
    let mut points: Vec<Key> = (1..parts)
        .map(|i| sorted[i * sorted.len() / parts].clone())
        .collect();
    points.dedup();
    points
}

/// Adjacent ranges merged into runs, so a predicate over many ranges stays short.
pub fn runs(ranges: &[Range]) -> Vec<Range> {
    let mut out: Vec<Range> = Vec::new();
    for r in ranges {
        if let Some(last) = out.last_mut()
            && last.continues_into(r)
        {
            match (last, r) {
                (Range::Int { hi, .. }, Range::Int { hi: h, .. }) => *hi = *h,
                (Range::Keys { hi, .. }, Range::Keys { hi: h, .. }) => *hi = h.clone(),
                _ => {}
            }
            continue;
        }
        out.push(r.clone());
    }
    out
}

/// One compared level: what becomes of each segment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Triage {
    /// Segments to cut further, with the rows of the fuller side and which side that is.
    pub split: Vec<(Range, u64, Side)>,
    pub fetch: Vec<Range>,
    pub equal: usize,
}

/// Sorts a level's segments by verdict. `src`/`dst` map a segment's index in `ranges` to
/// its sums; a segment absent from a map has no row on that side.
pub fn triage(
    ranges: &[Range],
    src: &HashMap<usize, Sums>,
    dst: &HashMap<usize, Sums>,
    fetch_rows: u64,
    may_split: bool,
) -> Triage {
    let mut t = Triage::default();
    for (i, r) in ranges.iter().enumerate() {
        let (s, d) = (src.get(&i), dst.get(&i));
        match judge(s, d, fetch_rows, may_split && r.splittable()) {
            Verdict::Equal => t.equal += 1,
            Verdict::Fetch => t.fetch.push(r.clone()),
            Verdict::Split => {
                let (sc, dc) = (s.map_or(0, |x| x.count), d.map_or(0, |x| x.count));
                let side = if sc >= dc { Side::Source } else { Side::Dest };
                t.split.push((r.clone(), sc.max(dc).max(0) as u64, side));
            }
        }
    }
    t
}

/// Keys found different by comparing per-row hashes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowSets {
    /// On the source, not on the destination.
    pub missing: Vec<Key>,
    /// On the destination, not on the source.
    pub extra: Vec<Key>,
    /// On both, with different values.
    pub changed: Vec<Key>,
}

impl RowSets {
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.changed.is_empty()
    }
    pub fn len(&self) -> usize {
        self.missing.len() + self.extra.len() + self.changed.len()
    }
    /// Every key, whatever its kind.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.missing
            .iter()
            .chain(self.extra.iter())
            .chain(self.changed.iter())
    }
}

/// Compares `(key, row hash)` pairs of both sides; each list is sorted with [`key_cmp`]
/// using `int_cols` (which key columns are integers).
pub fn compare_rows(src: Vec<(Key, i64)>, dst: Vec<(Key, i64)>, int_cols: &[bool]) -> RowSets {
    let mut theirs: HashMap<Key, i64> = dst.into_iter().collect();
    let mut out = RowSets::default();
    for (k, h) in src {
        match theirs.remove(&k) {
            None => out.missing.push(k),
            Some(d) if d != h => out.changed.push(k),
            Some(_) => {}
        }
    }
    out.extra = theirs.into_keys().collect();
    for v in [&mut out.missing, &mut out.extra, &mut out.changed] {
        v.sort_by(|a, b| key_cmp(a, b, int_cols));
    }
    out
}

/// Orders keys for people: integer columns by value, the others by their text.
pub fn key_cmp(a: &Key, b: &Key, int_cols: &[bool]) -> Ordering {
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let o = if int_cols.get(i).copied().unwrap_or(false) {
            match (x.parse::<i128>(), y.parse::<i128>()) {
                (Ok(p), Ok(q)) => p.cmp(&q),
                _ => x.cmp(y),
            }
        } else {
            x.cmp(y)
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// The names of the columns whose canonical values (or their hashes) differ (`None` is
/// NULL).
pub fn changed_columns<T: PartialEq>(
    names: &[String],
    src: &[Option<T>],
    dst: &[Option<T>],
) -> Vec<String> {
    names
        .iter()
        .zip(src.iter().zip(dst.iter()))
        .filter(|(_, (s, d))| s != d)
        .map(|(n, _)| n.clone())
        .collect()
}

/// Whole rows (as text) and how many more times one side holds them than the other:
/// `(missing, extra)`, both sorted by row text.
pub type Multiset = Vec<(String, i64)>;

/// Compares two multisets of rows given as `(row text, occurrences)`.
pub fn multiset_diff(src: Multiset, dst: Multiset) -> (Multiset, Multiset) {
    let mut balance: HashMap<String, i64> = HashMap::new();
    for (row, n) in src {
        *balance.entry(row).or_default() += n;
    }
    for (row, n) in dst {
        *balance.entry(row).or_default() -= n;
    }
    let mut missing = Vec::new();
    let mut extra = Vec::new();
    for (row, n) in balance {
        match n.cmp(&0) {
            Ordering::Greater => missing.push((row, n)),
            Ordering::Less => extra.push((row, -n)),
            Ordering::Equal => {}
        }
    }
    missing.sort();
    extra.sort();
    (missing, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Key {
        vec![s.to_string()]
    }

    fn sums(count: i64, hash: &str) -> Sums {
        Sums {
            count,
            hash: hash.to_string(),
        }
    }

    /// Every value of `lo..=hi` in exactly one range, ranges in order.
    fn assert_int_cover(ranges: &[Range], lo: i64, hi: i64) {
        let mut next = i128::from(lo);
        for r in ranges {
            let Range::Int { lo: a, hi: b } = r else {
                panic!("not an int range: {r:?}")
            };
            assert_eq!(i128::from(*a), next, "gap or overlap before {r:?}");
            assert!(a <= b, "empty range {r:?}");
            next = i128::from(*b) + 1;
        }
        assert_eq!(next, i128::from(hi) + 1, "cover stops short of {hi}");
    }

    #[test]
    fn integer_splits_cover_the_range_without_gaps_or_overlaps() {
        for (lo, hi, parts) in [
            (1, 2_000_000, 2000),
            (1, 10, 3),
            (-5, 5, 4),
            (7, 7, 10),
            (1, 3, 10),
            (i64::MIN, i64::MAX, 4096),
            (i64::MAX - 2, i64::MAX, 2),
            (0, 1_000_000_000_000, 7),
        ] {
            let r = split_int(lo, hi, parts);
            assert!(
                r.len() <= parts,
                "{lo}..={hi} in {parts}: {} parts",
                r.len()
            );
            assert_int_cover(&r, lo, hi);
        }
        assert!(split_int(5, 4, 3).is_empty());
        // One width, the last part shorter.
        let widths: Vec<i64> = split_int(1, 10, 3)
            .iter()
            .map(|r| match r {
                Range::Int { lo, hi } => hi - lo + 1,
                _ => 0,
            })
            .collect();
        assert_eq!(widths, vec![4, 4, 2]);
    }

    #[test]
    fn uniform_integer_cuts_are_recognised_for_arithmetic() {
        assert_eq!(uniform_int(&split_int(1, 2_000_000, 2000)), Some((1, 1000)));
        assert_eq!(uniform_int(&split_int(-5, 5, 4)), Some((-5, 3)));
        assert_eq!(uniform_int(&split_int(7, 7, 4)), Some((7, 1)));
        // Gaps, uneven widths and spans beyond int8 subtraction are not.
        let r = split_int(1, 100, 10);
        assert_eq!(uniform_int(&[r[0].clone(), r[2].clone()]), None);
        let uneven = vec![Range::Int { lo: 1, hi: 5 }, Range::Int { lo: 6, hi: 20 }];
        assert_eq!(uniform_int(&uneven), None);
        assert_eq!(uniform_int(&split_int(i64::MIN, i64::MAX, 16)), None);
        assert_eq!(uniform_int(&[Range::everything()]), None);
        assert_eq!(uniform_int(&[]), None);
    }

    #[test]
    fn uniform_int_rejects_ranges_overlapping_at_the_top_of_int8() {
        // Regression: the start expected after a range ending at i64::MAX saturated to
        // i64::MAX, so a range starting there again was taken as contiguous and its rows
        // bucketed into the previous one.
        let max = i64::MAX;
        let top = Range::Int { lo: max, hi: max };
        assert_eq!(uniform_int(&[top.clone(), top.clone()]), None);
        assert_eq!(
            uniform_int(&[
                Range::Int {
                    lo: max - 1,
                    hi: max
                },
                top
            ]),
            None
        );
        assert_eq!(uniform_int(&split_int(max - 2, max, 2)), Some((max - 2, 2)));
    }

    #[test]
    fn key_splits_chain_from_bound_to_bound() {
        let parts = split_at(None, None, vec![k("b"), k("d")]);
        assert_eq!(
            parts,
            vec![
                Range::Keys {
                    lo: None,
                    hi: Some(k("b"))
                },
                Range::Keys {
                    lo: Some(k("b")),
                    hi: Some(k("d"))
                },
                Range::Keys {
                    lo: Some(k("d")),
                    hi: None
                },
            ]
        );
        // Points equal to a bound or repeated are dropped: no empty or overlapping part.
        let parts = split_at(
            Some(k("a")),
            Some(k("z")),
            vec![k("a"), k("m"), k("m"), k("z")],
        );
        assert_eq!(parts.len(), 2);
        for w in parts.windows(2) {
            let (Range::Keys { hi, .. }, Range::Keys { lo, .. }) = (&w[0], &w[1]) else {
                panic!()
            };
            assert_eq!(hi, lo);
        }
        assert_eq!(split_at(None, None, vec![]), vec![Range::everything()]);
    }

    #[test]
    fn cut_points_spread_over_the_sample() {
        let sample: Vec<Key> = (0..100).map(|i| k(&format!("{i:03}"))).collect();
        let p = cut_points(&sample, 4);
        assert_eq!(p, vec![k("025"), k("050"), k("075")]);
        assert!(cut_points(&sample, 1).is_empty());
        assert!(cut_points(&sample[..1], 8).is_empty());
        // More parts than keys: every key but the first.
        assert_eq!(cut_points(&sample[..3], 10), vec![k("001"), k("002")]);
    }

    #[test]
    fn judge_skips_equal_fetches_small_and_splits_big() {
        let a = sums(10, "5");
        assert_eq!(judge(Some(&a), Some(&a), 100, true), Verdict::Equal);
        assert_eq!(judge(None, None, 100, true), Verdict::Equal);
        assert_eq!(
            judge(Some(&a), Some(&sums(10, "6")), 100, true),
            Verdict::Fetch
        );
        assert_eq!(judge(Some(&a), None, 100, true), Verdict::Fetch);
        let big = sums(1000, "1");
        assert_eq!(
            judge(Some(&big), Some(&sums(999, "2")), 100, true),
            Verdict::Split
        );
        assert_eq!(
            judge(Some(&sums(3, "2")), Some(&big), 100, true),
            Verdict::Split
        );
        assert_eq!(
            judge(Some(&big), Some(&sums(999, "2")), 100, false),
            Verdict::Fetch
        );
        // Empty on one side: every row differs, nothing to gain from cutting.
        assert_eq!(judge(Some(&big), None, 100, true), Verdict::Fetch);
        assert_eq!(judge(None, Some(&big), 100, true), Verdict::Fetch);
    }

    #[test]
    fn triage_never_descends_into_equal_segments() {
        let ranges = split_int(1, 100, 4);
        let mut src = HashMap::new();
        let mut dst = HashMap::new();
        for i in 0..4 {
            src.insert(i, sums(25, "h"));
            dst.insert(i, sums(25, "h"));
        }
        dst.insert(1, sums(24, "x"));
        src.insert(3, sums(25, "y"));
        let t = triage(&ranges, &src, &dst, 10, true);
        assert_eq!(t.equal, 2);
        assert!(t.fetch.is_empty());
        let split: Vec<&Range> = t.split.iter().map(|(r, _, _)| r).collect();
        assert_eq!(split, vec![&ranges[1], &ranges[3]]);
        assert_eq!(t.split[0].1, 25);
        assert_eq!(t.split[0].2, Side::Source);
        // A segment the destination fills more is cut by the destination's keys.
        let mut more_dst = HashMap::new();
        more_dst.insert(0, sums(50, "z"));
        let mut few_src = HashMap::new();
        few_src.insert(0, sums(2, "a"));
        let t = triage(&ranges[..1], &few_src, &more_dst, 10, true);
        assert_eq!(t.split[0].2, Side::Dest);
        // At the depth limit nothing is split any more.
        let t = triage(&ranges, &src, &dst, 10, false);
        assert_eq!(t.fetch.len(), 2);
        assert_eq!(t.equal, 2);
    }

    #[test]
    fn runs_merge_adjacent_ranges_only() {
        let r = split_int(1, 100, 10);
        let picked = vec![
            r[0].clone(),
            r[1].clone(),
            r[4].clone(),
            r[8].clone(),
            r[9].clone(),
        ];
        assert_eq!(
            runs(&picked),
            vec![
                Range::Int { lo: 1, hi: 20 },
                Range::Int { lo: 41, hi: 50 },
                Range::Int { lo: 81, hi: 100 }
            ]
        );
        let keys = split_at(None, None, vec![k("b"), k("d"), k("f")]);
        assert_eq!(
            runs(&[keys[0].clone(), keys[1].clone(), keys[3].clone()]),
            vec![
                Range::Keys {
                    lo: None,
                    hi: Some(k("d"))
                },
                Range::Keys {
                    lo: Some(k("f")),
                    hi: None
                }
            ]
        );
    }

    #[test]
    fn rows_compare_into_missing_extra_and_changed() {
        let src = vec![(k("1"), 10), (k("2"), 20), (k("3"), 30), (k("10"), 100)];
        let dst = vec![(k("2"), 20), (k("3"), 31), (k("4"), 40), (k("9"), 90)];
        let r = compare_rows(src, dst, &[true]);
        assert_eq!(r.missing, vec![k("1"), k("10")]);
        assert_eq!(r.extra, vec![k("4"), k("9")]);
        assert_eq!(r.changed, vec![k("3")]);
        assert_eq!(r.len(), 5);
        assert!(compare_rows(vec![], vec![], &[true]).is_empty());
    }

    #[test]
    fn keys_sort_numerically_on_integer_columns_only() {
        let mut v = [
            vec!["10".to_string(), "b".to_string()],
            vec!["9".to_string(), "b".to_string()],
            vec!["10".to_string(), "a".to_string()],
        ];
        v.sort_by(|a, b| key_cmp(a, b, &[true, false]));
        assert_eq!(v[0][0], "9");
        assert_eq!(v[1], vec!["10".to_string(), "a".to_string()]);
        let mut t = vec![k("10"), k("9")];
        t.sort_by(|a, b| key_cmp(a, b, &[false]));
        assert_eq!(t, vec![k("10"), k("9")]);
    }

    #[test]
    fn changed_columns_names_what_differs_with_nulls() {
        let names: Vec<String> = ["id", "title", "done"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s: Vec<Option<String>> = vec![Some("1".into()), Some("é".into()), None];
        let d = vec![Some("1".into()), Some("e".into()), Some("t".into())];
        assert_eq!(changed_columns(&names, &s, &d), vec!["title", "done"]);
        assert!(changed_columns(&names, &s, &s).is_empty());
    }

    #[test]
    fn multisets_count_duplicates() {
        let src = vec![("a".to_string(), 2), ("b".to_string(), 1)];
        let dst = vec![
            ("a".to_string(), 1),
            ("b".to_string(), 1),
            ("c".to_string(), 3),
        ];
        let (missing, extra) = multiset_diff(src, dst);
        assert_eq!(missing, vec![("a".to_string(), 1)]);
        assert_eq!(extra, vec![("c".to_string(), 3)]);
    }

    #[test]
    fn segment_count_is_bounded() {
        assert_eq!(segment_count(0, 1000, 4096), 1);
        assert_eq!(segment_count(2_000_000, 1000, 4096), 2000);
        assert_eq!(segment_count(100_000_000, 1000, 4096), 4096);
        assert_eq!(segment_count(1001, 1000, 4096), 2);
        assert_eq!(segment_count(5, 0, 0), 1);
    }
}
