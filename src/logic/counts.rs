//! Which tables get an exact `count(*)` this poll, and what count each table shows.
//! Exact counts cost a scan (≈ 0.5 ms for an empty table, ≈ 125 ms for 2 M rows), so a poll
//! counts within a time budget, prefers tables whose insert/delete counters moved since
//! their last count, and shows statistics' live-row estimates, marked as such, for the
//! rest. Counters alone cannot be trusted to move: a session that writes and then idles
//! reports its counts late (PostgreSQL 13–14: not until it runs again; 15+: up to ~10 s),
//! so a count is also redone once it is [`MAX_AGE`] old, and shown as an estimate once it
//! is twice that. Pure: the poller does the I/O and passes the time in.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Age after which an exact count is redone even though the counters stood still.
pub const MAX_AGE: Duration = Duration::from_secs(5);

/// At most this many tables, and this many estimated rows, are counted in one statement:
/// small tables share a round trip (a third of an idle TUI's CPU went to one statement
/// per table), and a big table goes alone so that the time budget is checked before it.
pub const BATCH_TABLES: usize = 32;
pub const BATCH_ROWS: i64 = 50_000;

/// Cuts planned tables, in order, into statements within [`BATCH_TABLES`] and
/// [`BATCH_ROWS`].
pub fn batches<'a>(planned: &[&'a RawTable]) -> Vec<Vec<&'a RawTable>> {
    let mut out: Vec<Vec<&RawTable>> = Vec::new();
    let mut rows = 0;
    for &t in planned {
        let w = weight(t);
        let fits = out
            .last()
            .is_some_and(|b| b.len() < BATCH_TABLES && rows + w <= BATCH_ROWS);
        if fits {
            rows += w;
            out.last_mut().expect("checked above").push(t);
        } else {
            rows = w;
            out.push(vec![t]);
        }
    }
    out
}

/// A table's share of a statement: its estimate, or a whole statement when nothing is
/// known of its size (never analysed, no statistics yet), so that it is counted alone.
fn weight(t: &RawTable) -> i64 {
    if t.reltuples < 0 && t.n_live_tup.unwrap_or(0) == 0 {
        BATCH_ROWS
    } else {
        t.estimate()
    }
}

use crate::model::snapshot::{RawTable, RowCount, TableKey};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cached {
    rows: i64,
    modifications: Option<i64>,
    at: Instant,
}

/// Exact counts remembered between polls of one side.
#[derive(Clone, Debug, Default)]
pub struct CountCache {
    entries: HashMap<TableKey, Cached>,
    /// When a table's count last failed (unreadable, locked): it is not tried again
    /// before [`MAX_AGE`] unless asked for, so it cannot hold up every poll.
    refused: HashMap<TableKey, Instant>,
}

impl CountCache {
    pub fn record(&mut self, table: &RawTable, rows: i64, now: Instant) {
        self.refused.remove(&table.key());
        self.entries.insert(
            table.key(),
            Cached {
                rows,
                modifications: table.modifications,
                at: now,
            },
        );
    }

    /// Forgets tables that are gone (dropped or renamed), so a new table of the same name
    /// is never shown with the old one's count.
    pub fn retain_only(&mut self, tables: &[RawTable]) {
        let live: HashSet<TableKey> = tables.iter().map(RawTable::key).collect();
        self.entries.retain(|k, _| live.contains(k));
        self.refused.retain(|k, _| live.contains(k));
    }

    /// Notes that counting `table` failed; it keeps its estimate.
    pub fn refused(&mut self, table: &RawTable, now: Instant) {
        self.refused.insert(table.key(), now);
    }

    /// The cached count if the counters stood still and it is younger than `max_age`.
    fn still_valid(&self, t: &RawTable, now: Instant, max_age: Duration) -> Option<i64> {
        let c = self.entries.get(&t.key())?;
        (t.modifications.is_some()
            && c.modifications == t.modifications
            && now.saturating_duration_since(c.at) < max_age)
            .then_some(c.rows)
    }

    /// The figure to show: a still-valid exact count, else the estimate (marked).
    pub fn resolve(&self, t: &RawTable, now: Instant) -> RowCount {
        match self.still_valid(t, now, 2 * MAX_AGE) {
            Some(rows) => RowCount { rows, exact: true },
            None => RowCount {
                rows: t.estimate(),
                exact: false,
            },
        }
    }

    /// Tables to count exactly, in order: those asked for, then never-counted or changed
    /// tables under `max_rows`, smallest first (cheapest, and most likely to be watched).
    pub fn plan<'a>(
        &self,
        tables: &'a [RawTable],
        forced: &HashSet<TableKey>,
        max_rows: u64,
        now: Instant,
    ) -> Vec<&'a RawTable> {
        let is_forced = |t: &RawTable| !forced.is_empty() && forced.contains(&t.key());
        let mut asked: Vec<&RawTable> = tables.iter().filter(|t| is_forced(t)).collect();
        // Each table with when its still-current count was taken (None: changed or never
        // counted), looked up once: the sort below compares 10 000 tables in a big poll.
        let mut due: Vec<(&RawTable, Option<Instant>)> = tables
            .iter()
            .filter(|t| !is_forced(t) && (t.estimate() as u64) <= max_rows)
            .filter_map(|t| {
                let key = t.key();
                if self
                    .refused
                    .get(&key)
                    .is_some_and(|at| now.saturating_duration_since(*at) < MAX_AGE)
                {
                    return None;
                }
                let unchanged = self
                    .entries
                    .get(&key)
                    .filter(|c| t.modifications.is_some() && c.modifications == t.modifications);
                match unchanged {
                    Some(c) if now.saturating_duration_since(c.at) < MAX_AGE => None,
                    c => Some((t, c.map(|c| c.at))),
                }
            })
            .collect();
        // Changed or never counted first (smallest first), then merely old counts, oldest
        // first.
        due.sort_by(|(a, a_at), (b, b_at)| {
            a_at.cmp(b_at)
                .then(a.estimate().cmp(&b.estimate()))
                .then_with(|| a.schema.cmp(&b.schema))
                .then_with(|| a.name.cmp(&b.name))
        });
        asked.extend(due.into_iter().map(|(t, _)| t));
        asked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tables_share_a_statement_and_a_big_one_goes_alone() {
        let small: Vec<RawTable> = (0..70)
            .map(|i| table(&format!("t{i}"), 10, Some(1)))
            .collect();
        let big = table("big", 400_000, Some(1));
        let mut planned: Vec<&RawTable> = small.iter().take(40).collect();
        planned.push(&big);
        planned.extend(small.iter().skip(40));
        let sizes: Vec<usize> = batches(&planned).iter().map(Vec::len).collect();
        // 32 + 8 small, the big one alone, then the last 30 small.
        assert_eq!(sizes, vec![32, 8, 1, 30]);
        let flat: Vec<&str> = batches(&planned)
            .into_iter()
            .flatten()
            .map(|t| t.name.as_str())
            .collect();
        let order: Vec<&str> = planned.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(flat, order, "the plan's order is kept");
        assert!(batches(&[]).is_empty());

        // Nothing known of its size (never analysed, no statistics): counted alone.
        let mut unknown = table("unknown", 0, None);
        unknown.reltuples = -1;
        let planned = [&small[0], &unknown, &small[1]];
        let sizes: Vec<usize> = batches(&planned).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1, 1, 1]);
    }

    #[test]
    fn a_table_whose_count_failed_waits_before_it_is_tried_again_unless_asked_for() {
        let mut cache = CountCache::default();
        let t = table("locked", 10, Some(1));
        let t0 = now();
        cache.refused(&t, t0);
        let none = HashSet::new();
        assert!(
            cache
                .plan(std::slice::from_ref(&t), &none, 100, t0)
                .is_empty()
        );
        let forced: HashSet<TableKey> = [t.key()].into_iter().collect();
        assert_eq!(
            cache.plan(std::slice::from_ref(&t), &forced, 100, t0).len(),
            1
        );
        let later = t0 + MAX_AGE;
        assert_eq!(
            cache
                .plan(std::slice::from_ref(&t), &none, 100, later)
                .len(),
            1
        );
        // A success forgets the failure.
        cache.refused(&t, later);
        cache.record(&t, 10, later);
        assert!(cache.refused.is_empty());
    }

    fn now() -> Instant {
        Instant::now()
    }

    fn table(name: &str, n_live: i64, mods: Option<i64>) -> RawTable {
        RawTable {
            oid: 1,
            schema: "public".into(),
            name: name.into(),
            replica_identity: crate::model::snapshot::ReplicaIdentity::Default,
            partitioned: false,
            has_primary_key: true,
            primary_key: vec!["id".into()],
            unique_index: None,
            reltuples: -1,
            n_live_tup: Some(n_live),
            modifications: mods,
            changes: mods,
            columns: vec![],
        }
    }

    #[test]
    fn uncounted_small_tables_are_planned_smallest_first_and_big_ones_left_to_estimates() {
        let cache = CountCache::default();
        let tables = [
            table("big", 5_000_000, Some(1)),
            table("mid", 500, Some(1)),
            table("small", 3, Some(1)),
        ];
        let plan = cache.plan(&tables, &HashSet::new(), 1_000_000, now());
        let names: Vec<&str> = plan.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["small", "mid"]);
        assert_eq!(
            cache.resolve(&tables[0], now()),
            RowCount {
                rows: 5_000_000,
                exact: false
            }
        );
    }

    #[test]
    fn a_count_holds_until_inserts_or_deletes_move_the_counters() {
        let mut cache = CountCache::default();
        let t = table("t", 10, Some(7));
        cache.record(&t, 12, now());
        assert_eq!(
            cache.resolve(&t, now()),
            RowCount {
                rows: 12,
                exact: true
            }
        );
        assert!(
            cache
                .plan(std::slice::from_ref(&t), &HashSet::new(), 100, now())
                .is_empty()
        );
        let moved = table("t", 10, Some(8));
        assert_eq!(
            cache.resolve(&moved, now()),
            RowCount {
                rows: 10,
                exact: false
            }
        );
        assert_eq!(cache.plan(&[moved], &HashSet::new(), 100, now()).len(), 1);
    }

    #[test]
    fn tables_without_statistics_are_always_recounted() {
        let mut cache = CountCache::default();
        let t = table("p", 0, None);
        cache.record(&t, 4, now());
        assert!(!cache.resolve(&t, now()).exact);
        assert_eq!(cache.plan(&[t], &HashSet::new(), 100, now()).len(), 1);
    }

    #[test]
    fn asked_for_tables_come_first_even_when_large() {
        let cache = CountCache::default();
        let tables = [table("a", 1, Some(1)), table("huge", 9_000_000, Some(1))];
        let forced: HashSet<TableKey> = [("public".to_string(), "huge".to_string())].into();
        let plan = cache.plan(&tables, &forced, 1_000_000, now());
        assert_eq!(plan[0].name, "huge");
        assert_eq!(plan.len(), 2);
    }

    #[test]
    fn dropped_tables_are_forgotten() {
        let mut cache = CountCache::default();
        let t = table("gone", 1, Some(1));
        cache.record(&t, 1, now());
        cache.retain_only(&[]);
        assert!(!cache.resolve(&t, now()).exact);
    }

    #[test]
    fn an_old_count_is_redone_even_when_the_counters_stood_still() {
        // A writer that idles may report its counts late: the counters alone would keep
        // a wrong count "exact" forever.
        let mut cache = CountCache::default();
        let t = table("quiet", 10, Some(3));
        let t0 = Instant::now();
        cache.record(&t, 10, t0);
        assert!(
            cache
                .plan(std::slice::from_ref(&t), &HashSet::new(), 100, t0)
                .is_empty()
        );
        let later = t0 + MAX_AGE;
        assert_eq!(
            cache
                .plan(std::slice::from_ref(&t), &HashSet::new(), 100, later)
                .len(),
            1
        );
        assert!(
            cache.resolve(&t, later).exact,
            "still shown while its recount is due"
        );
        assert!(
            !cache.resolve(&t, t0 + 2 * MAX_AGE).exact,
            "too old to call exact"
        );
    }

    #[test]
    fn changed_tables_are_recounted_before_merely_old_ones() {
        let mut cache = CountCache::default();
        let t0 = Instant::now();
        let old = table("old", 1, Some(1));
        cache.record(&old, 1, t0);
        cache.record(&table("changed", 1, Some(1)), 1, t0);
        let changed = table("changed", 1, Some(2));
        let tables = [old, changed];
        let plan = cache.plan(&tables, &HashSet::new(), 100, t0 + MAX_AGE);
        let names: Vec<&str> = plan.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["changed", "old"]);
    }
}
