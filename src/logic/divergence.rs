//! Per-table divergence over time: source rows, destination rows, replication lag, and the
//! state they add up to. Pure: fed one sample per poll, it keeps a short history.
//!
//! `stuck` is real drift: the source is quiet, nothing is in flight (no slot lag) and the
//! difference has stayed the same for several polls — waiting will not bring the rows.
//! Under traffic, a constant gap may be rows on their way (a steady stream trails by a
//! steady amount), so counts alone never call a busy table stuck: it shows `in flight`
//! while the destination moves, and the row-level diff tells drift from lag.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use serde::Serialize;

use crate::model::snapshot::TableKey;
use crate::model::snapshot::{RowCount, Snapshot};

/// Samples kept per table (the sparkline's width).
pub const HISTORY: usize = 60;
/// Polls with an unchanged difference before a table is called stuck.
pub const STUCK_POLLS: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Sample {
    pub at_ms: i64,
    pub source: Option<RowCount>,
    pub dest: Option<RowCount>,
    /// Bytes the consumer has not confirmed (slot lag), when known.
    pub lag_bytes: Option<i64>,
    /// The destination table exists.
    pub dest_present: bool,
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
    InFlight,
    Stuck,
    Missing,
    Unknown,
}

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::InSync => "in sync",
            State::InFlight => "in flight",
            State::Stuck => "stuck",
            State::Missing => "missing",
            State::Unknown => "unknown",
        }
    }
}

/// Lag at or below this many bytes counts as "nothing in flight": an idle slot still
/// trails by a few bytes of WAL from checkpoints and keepalives.
pub const IDLE_LAG_BYTES: i64 = 64 * 1024;

/// The state of one table from its history, newest sample last.
pub fn classify(history: &VecDeque<Sample>) -> State {
    let Some(last) = history.back() else {
        return State::Unknown;
    };
    if last.source.is_none() {
        return State::Unknown;
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
    let lagging = last.lag_bytes.is_some_and(|l| l > IDLE_LAG_BYTES);
    let prev_diff = history.iter().rev().nth(1).and_then(Sample::difference);
    let shrinking = prev_diff.is_some_and(|p| diff.abs() < p.abs());

    // The last STUCK_POLLS samples all show the same exact difference.
    // An iterator, not a collected Vec: this runs for every table on every frame.
    let recent = || history.iter().rev().take(STUCK_POLLS);
    let full = history.len() >= STUCK_POLLS;
    let steady = full && recent().all(|s| s.exact() && s.difference() == Some(diff));
    let rows = |c: Option<RowCount>| c.map(|c| c.rows);
    let source_quiet = recent().all(|s| rows(s.source) == rows(last.source));
    let dest_moved = recent().any(|s| rows(s.dest) != rows(last.dest));
    let never_lagging = recent().all(|s| s.lag_bytes.is_none_or(|l| l <= IDLE_LAG_BYTES));
    if steady && source_quiet && never_lagging {
        return State::Stuck;
    }
    if lagging || shrinking || dest_moved {
        return State::InFlight;
    }
    // A difference with no sign of movement that has not yet held long enough (or
    // under traffic, where counts alone cannot tell drift from rows on their way: the
    // row-level diff can).
    State::Unknown
}

/// History of every table seen, fed a snapshot per poll.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    tables: BTreeMap<TableKey, VecDeque<Sample>>,
}

impl Tracker {
    /// Adds one poll's sample for each source table; tables no longer on the source
    /// are dropped. A side that is down adds nothing, so a stale count never looks fresh.
    pub fn observe(&mut self, snap: &Snapshot) {
        let Some(src_tables) = snap.source.tables.ok() else {
            return;
        };
        let lag = snap
            .source
            .slot
            .ok()
            .and_then(|s| s.as_ref())
            .and_then(|s| s.lag_bytes);
        let dest_tables = snap.dest.tables.ok();
        // Keyed lookups: with a thousand tables, pairwise search costs more than the poll.
        let on_source: HashSet<(&str, &str)> = src_tables
            .iter()
            .map(|t| (t.schema.as_str(), t.name.as_str()))
            .collect();
        self.tables
            .retain(|(s, n), _| on_source.contains(&(s.as_str(), n.as_str())));
        let on_dest: HashMap<(&str, &str), &crate::model::snapshot::TableInfo> = dest_tables
            .map(|ds| {
                ds.iter()
                    .map(|d| ((d.schema.as_str(), d.name.as_str()), d))
                    .collect()
            })
            .unwrap_or_default();
        for t in src_tables {
            let dest = on_dest.get(&(t.schema.as_str(), t.name.as_str()));
            let sample = Sample {
                at_ms: snap.taken_at_ms,
                source: t.rows,
                dest: dest.and_then(|d| d.rows),
                lag_bytes: lag,
                // Unknown destination (down) is not "missing".
                dest_present: dest.is_some() || dest_tables.is_none(),
            };
            let h = self.tables.entry(t.key()).or_default();
            h.push_back(sample);
            while h.len() > HISTORY {
                h.pop_front();
            }
        }
    }

    pub fn history(&self, key: &TableKey) -> Option<&VecDeque<Sample>> {
        self.tables.get(key)
    }

    pub fn state(&self, key: &TableKey) -> State {
        self.tables.get(key).map(classify).unwrap_or(State::Unknown)
    }

    /// Every table with its history, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&TableKey, &VecDeque<Sample>)> {
        self.tables.iter()
    }

    pub fn keys(&self) -> impl Iterator<Item = &TableKey> {
        self.tables.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(rows: i64) -> Option<RowCount> {
        Some(RowCount { rows, exact: true })
    }

    fn history(points: &[(i64, i64, i64)]) -> VecDeque<Sample> {
        points
            .iter()
            .enumerate()
            .map(|(i, &(s, d, lag))| Sample {
                at_ms: i as i64 * 1000,
                source: exact(s),
                dest: exact(d),
                lag_bytes: Some(lag),
                dest_present: true,
            })
            .collect()
    }

    #[test]
    fn equal_counts_are_in_sync() {
        assert_eq!(classify(&history(&[(10, 10, 0)])), State::InSync);
    }

    #[test]
    fn in_flight_when_difference_shrinks_or_lag_is_present() {
        assert_eq!(
            classify(&history(&[(100, 50, 0), (100, 80, 0)])),
            State::InFlight
        );
        assert_eq!(classify(&history(&[(100, 80, 1 << 20)])), State::InFlight);
    }

    #[test]
    fn stuck_when_difference_persists_without_lag() {
        let h = history(&[(100, 90, 0); STUCK_POLLS]);
        assert_eq!(classify(&h), State::Stuck);
        // One poll fewer is not yet enough to call it drift.
        let h = history(&[(100, 90, 0); STUCK_POLLS - 1]);
        assert_eq!(classify(&h), State::Unknown);
    }

    #[test]
    fn a_constant_gap_under_traffic_is_in_flight_not_stuck() {
        let h = history(&[
            (100, 95, 0),
            (105, 100, 0),
            (110, 105, 0),
            (115, 110, 0),
            (120, 115, 0),
        ]);
        assert_eq!(classify(&h), State::InFlight);
    }

    #[test]
    fn constant_gap_with_lag_and_an_idle_source_is_still_in_flight() {
        let h = history(&[(100, 90, 1 << 20); STUCK_POLLS]);
        assert_eq!(classify(&h), State::InFlight);
    }

    #[test]
    fn estimates_never_make_a_table_stuck() {
        let mut h = history(&[(100, 90, 0); STUCK_POLLS]);
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
        let mut h = history(&[(5, 0, 0)]);
        h[0].dest_present = false;
        h[0].dest = None;
        assert_eq!(classify(&h), State::Missing);
        h[0].source = None;
        assert_eq!(classify(&h), State::Unknown);
        assert_eq!(classify(&VecDeque::new()), State::Unknown);
    }
}
