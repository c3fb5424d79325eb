//! Property tests of the pure core on random inputs: no panics, invariants kept.

use std::collections::{HashSet, VecDeque};

use proptest::prelude::*;
use syncwatch::config::conninfo;
use syncwatch::counts::CountCache;
use syncwatch::divergence::{STUCK_POLLS, Sample, State, classify};
use syncwatch::pg::catalog::RawTable;
use syncwatch::snapshot::RowCount;

fn sample() -> impl Strategy<Value = Sample> {
    (
        proptest::option::of((0i64..1000, any::<bool>())),
        proptest::option::of((0i64..1000, any::<bool>())),
        proptest::option::of(0i64..(1 << 22)),
        any::<bool>(),
    )
        .prop_map(|(s, d, lag, present)| Sample {
            at_ms: 0,
            source: s.map(|(rows, exact)| RowCount { rows, exact }),
            dest: d.map(|(rows, exact)| RowCount { rows, exact }),
            lag_bytes: lag,
            dest_present: present,
        })
}

proptest! {
    #[test]
    fn divergence_states_keep_their_invariants(history in proptest::collection::vec(sample(), 0..30)) {
        let h: VecDeque<Sample> = history.into_iter().collect();
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
        if state == State::Stuck {
            // Stuck only on a full window of the same exact, non-zero difference.
            prop_assert!(h.len() >= STUCK_POLLS);
            let diff = last.difference();
            prop_assert!(diff.is_some_and(|d| d != 0));
            for s in h.iter().rev().take(STUCK_POLLS) {
                prop_assert_eq!(s.difference(), diff);
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
                replica_identity: 'd',
                partitioned: false,
                has_primary_key: true,
                primary_key: vec!["id".into()],
                unique_index: None,
                reltuples: n,
                n_live_tup: Some(n),
                modifications: Some(1),
                columns: vec![],
            })
            .collect();
        let forced: HashSet<(String, String)> = forced_idx
            .iter()
            .filter(|&&i| i < tables.len())
            .map(|&i| ("public".to_string(), format!("t{i}")))
            .collect();
        let plan = CountCache::default().plan(&tables, &forced, max, std::time::Instant::now());
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
