//! Per-table divergence over time: source rows, destination rows, and the state they add
//! up to, judged by positions, not by counts alone. Pure: fed one snapshot per poll.
//!
//! Each table remembers the source's WAL position at the poll where it was last seen to
//! change (its insert/delete counters or its row count moved; for a table seen for the
//! first time, the position then: whatever it last did happened before). The consumer's
//! position comes from the slot ([`Syncs::applied`]). A difference is:
//! - `pending` while the consumer has not passed the table's last change: the rows are on
//!   their way, or wait for the next Airbyte sync — never an alarm;
//! - `stuck` once the consumer has passed it and the same exact difference has held for
//!   [`STUCK_WINDOW_MS`]: waiting will not bring the rows (the window outlasts a count
//!   the poller reuses, so a destination that did catch up has been counted again);
//! - `unknown` when the consumer's position cannot be read, only estimates are known, or
//!   the consumer has passed the change and the window has not yet run out.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Serialize;

use crate::logic::mapping::Mapping;
use crate::logic::syncs::Syncs;
use crate::model::lsn::Lsn;
use crate::model::snapshot::{Freshness, RowCount, Snapshot, TableInfo, TableKey};

/// Samples kept per table (the sparkline's width).
pub const HISTORY: usize = 60;
/// Polls with an unchanged difference, after the consumer passed the table's last
/// change, before a table is called stuck…
pub const STUCK_POLLS: usize = 5;
/// …spanning at least this long: more than twice the age for which an exact count is
/// reused ([`crate::logic::counts::MAX_AGE`]), so both sides have been counted again.
pub const STUCK_WINDOW_MS: i64 = 15_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Sample {
    pub at_ms: i64,
    pub source: Option<RowCount>,
    pub dest: Option<RowCount>,
    /// The destination table exists.
    pub dest_present: bool,
    /// Only Airbyte's raw table exists: records, not rows, so nothing to compare.
    pub dest_raw: bool,
    /// Whether the consumer had passed the table's last change at this poll; `None`
    /// when the consumer's position was unknown.
    pub passed: Option<bool>,
}

impl Sample {
    pub fn difference(&self) -> Option<i64> {
        Some(self.source?.rows - self.dest?.rows)
    }
    fn exact(&self) -> bool {
        self.source.is_some_and(|c| c.exact) && self.dest.is_some_and(|c| c.exact)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    InSync,
    Pending,
    Stuck,
    Missing,
    /// Airbyte keeps only raw records for the table (`airbyte_internal`): one per
    /// change, so its count is not the table's. Not a fault, and not compared.
    Raw,
    Unknown,
}

impl State {
    /// Which states come first when a person must look: stuck, missing, pending,
    /// unknown, raw, in sync.
    pub fn attention_rank(self) -> u8 {
        match self {
            State::Stuck => 0,
            State::Missing => 1,
            State::Pending => 2,
            State::Unknown => 3,
            State::Raw => 4,
            State::InSync => 5,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::InSync => "in sync",
            State::Pending => "pending",
            State::Stuck => "stuck",
            State::Missing => "missing",
            State::Raw => "raw only",
            State::Unknown => "unknown",
        }
    }
}

/// The state of one table from its history, newest sample last.
pub fn classify(history: &VecDeque<Sample>) -> State {
    let Some(last) = history.back() else {
        return State::Unknown;
    };
    if last.source.is_none() {
        return State::Unknown;
    }
    if last.dest_raw {
        return State::Raw;
    }
    if !last.dest_present {
        return State::Missing;
    }
    let Some(diff) = last.difference() else {
        return State::Unknown;
    };
    if diff == 0 {
        return State::InSync;
    }
    match last.passed {
        None => return State::Unknown,
        Some(false) => return State::Pending,
        Some(true) => {}
    }
    if !last.exact() {
        // Estimates cannot tell drift from rows the statistics have not counted yet.
        return State::Unknown;
    }
    // Every sample of the window: passed, exact, the same difference. An iterator, not a
    // collected Vec: this runs for every table on every frame.
    let since = last.at_ms - STUCK_WINDOW_MS;
    let held = |s: &Sample| s.passed == Some(true) && s.exact() && s.difference() == Some(diff);
    let recent = || history.iter().rev().take_while(|s| s.at_ms >= since);
    let covered = history
        .iter()
        .rev()
        .find(|s| s.at_ms < since)
        .is_some_and(held);
    if covered && recent().count() >= STUCK_POLLS && recent().all(held) {
        State::Stuck
    } else {
        // The consumer is past the change and the difference has not held long enough
        // to call it drift: nothing is on its way any more, so not `pending` either.
        State::Unknown
    }
}

/// One table's samples and what is known of its last change.
#[derive(Clone, Debug, Default)]
pub struct TableHistory {
    pub samples: VecDeque<Sample>,
    /// The source's position at the poll where the table was last seen to change.
    pub last_change: Option<Lsn>,
    /// What the destination's table says of its own freshness (Airbyte), as last read.
    pub freshness: Option<Freshness>,
    /// Rows changed per second (inserts, updates, deletes) on each side, smoothed.
    pub source_rate: Rate,
    pub dest_rate: Rate,
    last_mods: Option<i64>,
    /// The source's insert + delete counter at the last poll that saw the consumer
    /// past the table's last change.
    pub settled_modifications: Option<i64>,
    last_rows: Option<i64>,
}

/// Rows changed per second from a table's change counter, smoothed over polls (the
/// statistics arrive in bursts: a backend reports them at most once a second).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rate {
    last: Option<(i64, i64)>,
    pub per_second: Option<f64>,
}

impl Rate {
    /// Weight of the newest interval.
    const ALPHA: f64 = 0.3;

    /// Reads the counter `changes` at `at_ms`. A counter that went backwards (statistics
    /// reset, a server restarted) starts over.
    pub fn observe(&mut self, at_ms: i64, changes: Option<i64>) {
        let Some(changes) = changes else {
            return;
        };
        match self.last {
            Some((t, c)) if at_ms > t && changes >= c => {
                let now = (changes - c) as f64 * 1000.0 / (at_ms - t) as f64;
                self.per_second = Some(match self.per_second {
                    Some(old) => old + Self::ALPHA * (now - old),
                    None => now,
                });
            }
            Some((t, _)) if at_ms <= t => return,
            Some(_) => self.per_second = None,
            None => {}
        }
        self.last = Some((at_ms, changes));
    }
}

/// History of every table seen, fed a snapshot per poll.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    tables: BTreeMap<TableKey, TableHistory>,
    syncs: Syncs,
    /// Where each source table is found on the destination.
    mapping: Mapping,
}

impl Tracker {
    pub fn new(mapping: Mapping) -> Tracker {
        Tracker {
            mapping,
            ..Tracker::default()
        }
    }

    /// Keeps `window_ms` of the slot's history (the default is an hour).
    pub fn with_history(self, window_ms: i64) -> Tracker {
        Tracker {
            syncs: Syncs::with_window(window_ms),
            ..self
        }
    }

    /// Adds one poll's sample for each source table; tables no longer on the source
    /// are dropped. A side that is down adds nothing, so a stale count never looks fresh.
    pub fn observe(&mut self, snap: &Snapshot) {
        self.syncs.observe(snap);
        let Some(src_tables) = snap.source.tables.ok() else {
            return;
        };
        // A change seen now was committed before the WAL inserted so far: its upper
        // bound. (The written position can be behind a visible commit when
        // synchronous_commit is off, and a consumer that reached it would look past
        // the change.)
        let current = snap
            .source
            .insert_lsn
            .as_deref()
            .or(snap.source.current_lsn.as_deref())
            .and_then(Lsn::parse);
        let applied = self.syncs.applied();
        let dest_tables = snap.dest.tables.ok();
        // Keyed lookups: with a thousand tables, pairwise search costs more than the poll.
        let on_source: HashSet<(&str, &str)> = src_tables
            .iter()
            .map(|t| (t.schema.as_str(), t.name.as_str()))
            .collect();
        self.tables
            .retain(|(s, n), _| on_source.contains(&(s.as_str(), n.as_str())));
        let on_dest: HashMap<(&str, &str), &TableInfo> = dest_tables
            .map(|ds| {
                ds.iter()
                    .map(|d| ((d.schema.as_str(), d.name.as_str()), d))
                    .collect()
            })
            .unwrap_or_default();
        for t in src_tables {
            let dest = if self.mapping.is_identity() {
                on_dest.get(&(t.schema.as_str(), t.name.as_str())).copied()
            } else {
                let (schema, name) = self.mapping.dest_of(&t.key());
                on_dest.get(&(schema.as_str(), name.as_str())).copied()
            };
            let raw = dest.is_none()
                && self.mapping.raw_of(&t.key()).is_some_and(|(schema, name)| {
                    on_dest.contains_key(&(schema.as_str(), name.as_str()))
                });
            let h = self.tables.entry(t.key()).or_default();
            if dest_tables.is_some() {
                h.freshness = dest.and_then(|d| d.freshness);
                h.dest_rate
                    .observe(snap.taken_at_ms, dest.and_then(|d| d.changes));
            }
            h.source_rate.observe(snap.taken_at_ms, t.changes);
            let rows = t.rows.map(|r| r.rows);
            let first = h.samples.is_empty() && h.last_change.is_none();
            if first || t.modifications != h.last_mods || rows != h.last_rows {
                // Seen changed at this poll (or first seen): its change is at or
                // before the source's position now. A later estimate is safe — it
                // only keeps a difference pending longer.
                h.last_change = current.or(h.last_change);
                h.last_mods = t.modifications;
                h.last_rows = rows;
            }
            let passed = match (applied, h.last_change) {
                (Some(a), Some(c)) => Some(a >= c),
                _ => None,
            };
            h.settled_modifications = if passed == Some(true) {
                t.modifications
            } else {
                None
            };
            h.samples.push_back(Sample {
                at_ms: snap.taken_at_ms,
                source: t.rows,
                dest: dest.and_then(|d| d.rows),
                // Unknown destination (down) is not "missing".
                dest_present: dest.is_some() || raw || dest_tables.is_none(),
                dest_raw: raw,
                passed,
            });
            while h.samples.len() > HISTORY {
                h.samples.pop_front();
            }
        }
    }

    pub fn history(&self, key: &TableKey) -> Option<&VecDeque<Sample>> {
        self.tables.get(key).map(|h| &h.samples)
    }

    pub fn table(&self, key: &TableKey) -> Option<&TableHistory> {
        self.tables.get(key)
    }

    pub fn state(&self, key: &TableKey) -> State {
        self.history(key).map(classify).unwrap_or(State::Unknown)
    }

    /// Every table with its history, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&TableKey, &VecDeque<Sample>)> {
        self.tables.iter().map(|(k, h)| (k, &h.samples))
    }

    /// Every table with all that is kept of it, in key order.
    pub fn tables(&self) -> impl Iterator<Item = (&TableKey, &TableHistory)> {
        self.tables.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &TableKey> {
        self.tables.keys()
    }

    /// The slot's sessions, as the samples were judged by.
    pub fn syncs(&self) -> &Syncs {
        &self.syncs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(rows: i64) -> Option<RowCount> {
        Some(RowCount { rows, exact: true })
    }

    /// One sample a second: (source rows, destination rows, consumer passed).
    fn history(points: &[(i64, i64, Option<bool>)]) -> VecDeque<Sample> {
        points
            .iter()
            .enumerate()
            .map(|(i, &(s, d, passed))| Sample {
                at_ms: i as i64 * 1000,
                source: exact(s),
                dest: exact(d),
                dest_present: true,
                dest_raw: false,
                passed,
            })
            .collect()
    }

    const WINDOW_POLLS: usize = (STUCK_WINDOW_MS / 1000) as usize + 2;

    #[test]
    fn equal_counts_are_in_sync() {
        assert_eq!(classify(&history(&[(10, 10, Some(true))])), State::InSync);
        assert_eq!(classify(&history(&[(10, 10, None)])), State::InSync);
    }

    #[test]
    fn a_difference_the_consumer_has_not_reached_is_pending_however_long_it_lasts() {
        // Airbyte between syncs: an hour of the same difference is not drift.
        let h = history(&vec![(100, 90, Some(false)); HISTORY]);
        assert_eq!(classify(&h), State::Pending);
    }

    #[test]
    fn stuck_once_the_consumer_passed_and_the_difference_held_for_the_window() {
        let h = history(&vec![(100, 90, Some(true)); WINDOW_POLLS]);
        assert_eq!(classify(&h), State::Stuck);
        // Not yet the whole window: not judged, and not on its way either.
        let h = history(&vec![(100, 90, Some(true)); WINDOW_POLLS - 3]);
        assert_eq!(classify(&h), State::Unknown);
        // The window must be passed all through: a sync that just ended is not enough.
        let mut points = vec![(100, 90, Some(false)); 5];
        points.extend(vec![(100, 90, Some(true)); WINDOW_POLLS - 5]);
        assert_eq!(classify(&history(&points)), State::Unknown);
    }

    #[test]
    fn a_difference_still_moving_after_the_consumer_passed_is_not_stuck_nor_pending() {
        let points: Vec<(i64, i64, Option<bool>)> = (0..WINDOW_POLLS as i64)
            .map(|i| (100, 80 + i, Some(true)))
            .collect();
        assert_eq!(classify(&history(&points)), State::Unknown);
    }

    #[test]
    fn an_unknown_consumer_or_estimates_never_make_a_table_stuck() {
        let h = history(&vec![(100, 90, None); WINDOW_POLLS]);
        assert_eq!(classify(&h), State::Unknown);
        let mut h = history(&vec![(100, 90, Some(true)); WINDOW_POLLS]);
        for s in h.iter_mut() {
            s.dest = Some(RowCount {
                rows: 90,
                exact: false,
            });
        }
        assert_eq!(classify(&h), State::Unknown);
    }

    #[test]
    fn missing_destination_table_and_unknown_source() {
        let mut h = history(&[(5, 0, Some(true))]);
        h[0].dest_present = false;
        h[0].dest = None;
        assert_eq!(classify(&h), State::Missing);
        h[0].source = None;
        assert_eq!(classify(&h), State::Unknown);
        assert_eq!(classify(&VecDeque::new()), State::Unknown);
    }

    #[test]
    fn throughput_is_the_counter_over_time_smoothed_and_a_reset_starts_over() {
        let mut r = Rate::default();
        r.observe(0, Some(100));
        assert_eq!(r.per_second, None);
        r.observe(1000, Some(200));
        assert_eq!(r.per_second, Some(100.0));
        r.observe(2000, Some(200));
        assert_eq!(r.per_second, Some(70.0), "smoothed toward 0");
        r.observe(2000, Some(900));
        assert_eq!(r.per_second, Some(70.0), "no time passed: ignored");
        r.observe(3000, Some(5));
        assert_eq!(r.per_second, None, "the counter went backwards");
        r.observe(4000, Some(55));
        assert_eq!(r.per_second, Some(50.0));
        r.observe(5000, None);
        assert_eq!(r.per_second, Some(50.0), "unread: unchanged");
    }

    mod tracker {
        use super::*;
        use crate::model::snapshot::{Fetched, SlotInfo};
        use crate::testing::healthy;

        /// A poll at `second`, the source at `current`, the slot as given, `tache` with
        /// `src` rows and `mods` changes on the source and `dst` rows on the destination.
        fn poll(
            second: i64,
            current: u64,
            active: bool,
            confirmed: u64,
            src: i64,
            mods: i64,
            dst: i64,
        ) -> Snapshot {
            let mut snap = healthy();
            snap.taken_at_ms = second * 1000;
            snap.source.current_lsn = Some(Lsn(current).to_string());
            snap.source.slot = Fetched::Ok(Some(SlotInfo {
                name: "airbyte_slot".into(),
                active,
                confirmed_flush_lsn: Some(Lsn(confirmed).to_string()),
                ..SlotInfo::default()
            }));
            for (side, rows) in [(&mut snap.source, src), (&mut snap.dest, dst)] {
                if let Fetched::Ok(ts) = &mut side.tables {
                    for t in ts.iter_mut().filter(|t| t.name == "tache") {
                        t.rows = exact(rows);
                        t.modifications = Some(mods);
                    }
                }
            }
            snap
        }

        fn tache() -> TableKey {
            ("public".into(), "tache".into())
        }

        #[test]
        fn rows_inserted_between_airbyte_syncs_are_pending_until_a_sync_brings_them() {
            let mut t = Tracker::default();
            // In sync, slot inactive; then 10 rows at 0x200 while it stays inactive.
            t.observe(&poll(0, 0x100, false, 0x80, 10, 1, 10));
            for s in 1..120 {
                t.observe(&poll(s, 0x200 + s as u64, false, 0x80, 20, 2, 10));
                assert_eq!(t.state(&tache()), State::Pending, "second {s}");
            }
            // A sync runs, brings them, ends.
            t.observe(&poll(120, 0x300, true, 0x80, 20, 2, 15));
            t.observe(&poll(121, 0x300, true, 0x80, 20, 2, 20));
            t.observe(&poll(122, 0x300, false, 0x80, 20, 2, 20));
            assert_eq!(t.state(&tache()), State::InSync);
            assert!(t.syncs().last().is_some_and(|s| s.ended_at_ms.is_some()));
        }

        #[test]
        fn rows_removed_behind_the_consumers_back_are_stuck_once_a_sync_has_passed_them() {
            let mut t = Tracker::default();
            t.observe(&poll(0, 0x100, false, 0x80, 10, 1, 10));
            // Three rows deleted on the destination only: the source does not change.
            for s in 1..30 {
                t.observe(&poll(s, 0x100 + s as u64, false, 0x80, 10, 1, 7));
                assert_ne!(t.state(&tache()), State::Stuck, "no sync has passed yet");
            }
            // A sync starts after the source was at 0x11D and ends: it passed everything.
            t.observe(&poll(30, 0x140, true, 0x80, 10, 1, 7));
            t.observe(&poll(31, 0x140, false, 0x11D, 10, 1, 7));
            for s in 32..(32 + WINDOW_POLLS as i64) {
                t.observe(&poll(s, 0x140, false, 0x11D, 10, 1, 7));
                // Past the sync, the rows are not on their way: never pending again.
                assert_ne!(t.state(&tache()), State::Pending, "second {s}");
            }
            assert_eq!(t.state(&tache()), State::Stuck);
        }

        #[test]
        fn a_commit_visible_before_its_wal_is_written_is_judged_by_the_inserted_position() {
            // synchronous_commit = off: 10 rows are visible at the poll while the WAL
            // written stops at 0x200 and the commit lies at 0x280. A consumer confirmed
            // at 0x200 has not read them.
            let mut t = Tracker::default();
            t.observe(&poll(0, 0x100, true, 0x100, 10, 1, 10));
            let mut snap = poll(1, 0x200, true, 0x100, 20, 2, 10);
            snap.source.insert_lsn = Some(Lsn(0x300).to_string());
            t.observe(&snap);
            for s in 2..(2 + 2 * WINDOW_POLLS as i64) {
                t.observe(&poll(s, 0x200, true, 0x200, 20, 2, 10));
                assert_eq!(t.state(&tache()), State::Pending, "second {s}");
            }
        }

        #[test]
        fn native_replication_under_traffic_is_pending_never_stuck() {
            // The consumer trails the source by a little, the source keeps changing.
            let mut t = Tracker::default();
            for s in 0..60 {
                let at = 0x1000 + 0x100 * s as u64;
                t.observe(&poll(s, at, true, at - 0x80, 100 + s, 100 + s, 95 + s));
                assert_ne!(t.state(&tache()), State::Stuck, "second {s}");
            }
        }
    }
}
