//! What `serve` exports: every pair's state as Prometheus metric families, built from
//! plain data (a [`Monitor`] per pair) and encoded in the OpenMetrics text format by
//! `prometheus-client`. Names follow postgres_exporter's habits (`_bytes`, `_seconds`,
//! `_timestamp_seconds`, one series per state with the current one at 1); every series
//! has a `pair` label.

use prometheus_client::encoding::text::encode as encode_text;
use prometheus_client::metrics::family::Family as PromFamily;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::logic::divergence::State;
use crate::logic::monitor::Monitor;
use crate::logic::report::{TableJson, slot_json, tables};
use crate::model::airbyte::JobStatus;
use crate::model::check::worst;
use crate::model::side::Side;

pub type Labels = Vec<(String, String)>;

/// One metric family: its samples, each a label set and a value.
#[derive(Clone, Debug, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub samples: Vec<(Labels, f64)>,
}

const STATES: [State; 6] = [
    State::InSync,
    State::Pending,
    State::Stuck,
    State::Missing,
    State::Raw,
    State::Unknown,
];

/// The state as a label value (as `check --json` spells it).
pub fn state_name(s: State) -> &'static str {
    match s {
        State::InSync => "in_sync",
        State::Pending => "pending",
        State::Stuck => "stuck",
        State::Missing => "missing",
        State::Raw => "raw",
        State::Unknown => "unknown",
    }
}

/// Which tables to keep under the cap: those needing attention first, then the largest
/// differences, then by name (stable from scrape to scrape).
fn interest(t: &TableJson) -> (u8, std::cmp::Reverse<i64>, String, String) {
    (
        t.state.attention_rank(),
        std::cmp::Reverse(t.difference.map_or(0, i64::abs)),
        t.schema.clone(),
        t.name.clone(),
    )
}

struct Builder {
    families: Vec<Family>,
}

impl Builder {
    fn put(&mut self, name: &'static str, help: &'static str, labels: Labels, value: f64) {
        match self.families.iter_mut().find(|f| f.name == name) {
            Some(f) => f.samples.push((labels, value)),
            None => self.families.push(Family {
                name,
                help,
                samples: vec![(labels, value)],
            }),
        }
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn bool01(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Every family for these pairs (name, monitor); each pair's tables capped at its
/// `metrics_max_tables`.
pub fn families(pairs: &[(&str, &Monitor)]) -> Vec<Family> {
    let mut b = Builder {
        families: Vec::new(),
    };
    for (pair, m) in pairs {
        one_pair(&mut b, pair, m);
    }
    b.families
}

fn one_pair(b: &mut Builder, pair: &str, m: &Monitor) {
    let snap = &m.snap;
    for (side, s) in [(Side::Source, &snap.source), (Side::Dest, &snap.dest)] {
        let l = labels(&[("pair", pair), ("side", side.label())]);
        let i = usize::from(side == Side::Dest);
        let polled = m.polled_at_ms[i];
        b.put(
            "syncwatch_up",
            "Whether the side answered its last poll (1) or is down, timing out or not polled yet (0)",
            l.clone(),
            bool01(polled.is_some() && s.reach.is_up()),
        );
        if let Some(at) = polled {
            b.put(
                "syncwatch_poll_duration_seconds",
                "How long the side's last poll took",
                l.clone(),
                s.poll_ms / 1000.0,
            );
            b.put(
                "syncwatch_last_poll_timestamp_seconds",
                "When the side's last poll ended, answered or not",
                l,
                secs(at),
            );
        }
    }
    let status = worst(&m.checks);
    b.put(
        "syncwatch_pair_status",
        "The pair's worst check: 0 ok, 1 warning, 2 critical, 3 unknown (as check's exit code)",
        labels(&[("pair", pair)]),
        f64::from(status.exit_code()),
    );
    for c in &m.checks {
        b.put(
            "syncwatch_check_status",
            "Each check's status: 0 ok, 1 warning, 2 critical, 3 unknown",
            labels(&[("pair", pair), ("check", c.id.as_str())]),
            f64::from(c.status.exit_code()),
        );
    }
    slot(b, pair, m);
    syncs(b, pair, m);
    table_series(b, pair, m, m.settings.metrics_max_tables);
}

fn slot(b: &mut Builder, pair: &str, m: &Monitor) {
    if !m.snap.source.reach.is_up() {
        return;
    }
    let Some(s) = slot_json(&m.snap, &m.tracker, m.settings.retained_wal_critical_bytes) else {
        return;
    };
    let l = labels(&[("pair", pair), ("slot", s.name)]);
    b.put(
        "syncwatch_slot_active",
        "Whether a consumer holds the slot now (between Airbyte syncs it does not)",
        l.clone(),
        bool01(s.active),
    );
    if let Some(v) = s.retained_bytes {
        b.put(
            "syncwatch_slot_retained_bytes",
            "WAL kept for the slot: current LSN minus restart_lsn",
            l.clone(),
            v as f64,
        );
    }
    if let Some(v) = s.lag_bytes {
        b.put(
            "syncwatch_slot_lag_bytes",
            "WAL the consumer has not confirmed: current LSN minus confirmed_flush_lsn",
            l.clone(),
            v as f64,
        );
    }
    if let Some(v) = s.lag_seconds {
        b.put(
            "syncwatch_slot_lag_seconds",
            "How far behind in time the destination is (absent when unknown)",
            l.clone(),
            v,
        );
    }
    if let Some(v) = s.safe_wal_size {
        b.put(
            "syncwatch_slot_safe_wal_size_bytes",
            "WAL that can still be written before the slot is invalidated (max_slot_wal_keep_size)",
            l.clone(),
            v as f64,
        );
    }
    if let Some(w) = s.wal_status {
        let mut wl = l.clone();
        wl.push(("wal_status".into(), w.to_string()));
        b.put(
            "syncwatch_slot_wal_status",
            "The slot's wal_status, the current one at 1",
            wl,
            1.0,
        );
    }
    if let Some(f) = &s.forecast {
        let mut fl = l;
        fl.push(("breaks".into(), f.breaks.to_string()));
        b.put(
            "syncwatch_slot_forecast_seconds",
            "At the growth of the last five minutes, when retained WAL invalidates the slot or reaches the critical size",
            fl,
            f.in_seconds,
        );
    }
}

fn syncs(b: &mut Builder, pair: &str, m: &Monitor) {
    let l = labels(&[("pair", pair)]);
    let history = m.tracker.syncs();
    if let Some(last) = history.sessions().last() {
        b.put(
            "syncwatch_last_sync_start_timestamp_seconds",
            "When the slot was last seen taken by a consumer (a sync's start)",
            l.clone(),
            secs(last.started_at_ms),
        );
        if let Some(end) = last.ended_at_ms {
            b.put(
                "syncwatch_last_sync_end_timestamp_seconds",
                "When the last sync seen let the slot go",
                l.clone(),
                secs(end),
            );
        }
    }
    if let Some(due) = crate::logic::syncs::next_due_ms(history, m.settings.sync_interval) {
        b.put(
            "syncwatch_next_sync_due_timestamp_seconds",
            "When the next sync is due, from sync_interval or the syncs seen",
            l.clone(),
            secs(due),
        );
    }
    let Some(api) = &m.api else { return };
    b.put(
        "syncwatch_airbyte_api_up",
        "Whether Airbyte's API answered its last request",
        l.clone(),
        bool01(api.problem.is_none() && api.fetched_at_ms.is_some()),
    );
    if let Some(job) = api.jobs.first() {
        for status in [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Incomplete,
            JobStatus::Failed,
            JobStatus::Succeeded,
            JobStatus::Cancelled,
        ] {
            let mut jl = l.clone();
            jl.push(("status".into(), status.label().to_string()));
            b.put(
                "syncwatch_sync_job_status",
                "The newest Airbyte sync job's status, the current one at 1",
                jl,
                bool01(job.status == status),
            );
        }
        if let Some(start) = job.started_at_ms {
            b.put(
                "syncwatch_sync_job_start_timestamp_seconds",
                "When the newest Airbyte sync job started",
                l.clone(),
                secs(start),
            );
        }
    }
    if let Some(end) = api.last_finished().and_then(|j| j.ended_at_ms()) {
        b.put(
            "syncwatch_sync_job_end_timestamp_seconds",
            "When the newest finished Airbyte sync job ended",
            l,
            secs(end),
        );
    }
}

fn table_series(b: &mut Builder, pair: &str, m: &Monitor, max_tables: usize) {
    let mut all = tables(&m.snap, &m.tracker);
    let total = all.len();
    if total > max_tables {
        all.sort_by_cached_key(interest);
        all.truncate(max_tables);
    }
    b.put(
        "syncwatch_tables_omitted",
        "Tables left out of the per-table series by the metrics_max_tables cap",
        labels(&[("pair", pair)]),
        (total - all.len()) as f64,
    );
    for t in &all {
        let base = [
            ("pair", pair),
            ("schema", t.schema.as_str()),
            ("table", t.name.as_str()),
        ];
        for (side, rows, exact) in [
            ("source", t.source_rows, t.source_exact),
            ("destination", t.dest_rows, t.dest_exact),
        ] {
            let Some(rows) = rows else { continue };
            let l = labels(&[base[0], ("side", side), base[1], base[2]]);
            b.put(
                "syncwatch_table_rows",
                "Rows in the table (exact, or the planner's estimate: see syncwatch_table_rows_exact)",
                l.clone(),
                rows as f64,
            );
            b.put(
                "syncwatch_table_rows_exact",
                "Whether syncwatch_table_rows is an exact count (1) or an estimate (0)",
                l,
                bool01(exact.unwrap_or(false)),
            );
        }
        if let Some(d) = t.difference {
            b.put(
                "syncwatch_table_difference",
                "Source rows minus destination rows",
                labels(&base),
                d as f64,
            );
        }
        for state in STATES {
            let mut l = labels(&base);
            l.push(("state".into(), state_name(state).into()));
            b.put(
                "syncwatch_table_state",
                "The table's state (in_sync, pending, stuck, missing, raw, unknown), the current one at 1",
                l,
                bool01(t.state == state),
            );
        }
    }
}

/// The families in the OpenMetrics text format (`# EOF` at the end).
pub fn encode(families: &[Family]) -> String {
    let mut registry = Registry::default();
    for f in families {
        let family: PromFamily<Labels, Gauge<f64, std::sync::atomic::AtomicU64>> =
            PromFamily::default();
        for (l, v) in &f.samples {
            family.get_or_create(l).set(*v);
        }
        registry.register(f.name, f.help, family);
    }
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode_text(&mut out, &registry);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use crate::testing::{healthy, many_tables};

    fn monitor(snap: &crate::model::snapshot::Snapshot) -> Monitor {
        monitor_capped(snap, crate::config::DEFAULT_METRICS_MAX_TABLES)
    }

    fn monitor_capped(snap: &crate::model::snapshot::Snapshot, cap: usize) -> Monitor {
        let s = Settings {
            metrics_max_tables: cap,
            ..Settings::default()
        };
        let mut m = Monitor::new(s, 0);
        m.polled(Side::Source, snap.source.clone(), 1_000);
        m.polled(Side::Dest, snap.dest.clone(), 1_000);
        m
    }

    fn value(fams: &[Family], name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let f = fams.iter().find(|f| f.name == name)?;
        f.samples
            .iter()
            .find(|(l, _)| {
                want.iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| *v)
    }

    #[test]
    fn a_healthy_pair_exports_sides_slot_tables_and_checks() {
        let m = monitor(&healthy());
        let fams = families(&[("orders", &m)]);
        let p = ("pair", "orders");
        assert_eq!(
            value(&fams, "syncwatch_up", &[p, ("side", "source")]),
            Some(1.0)
        );
        assert_eq!(
            value(
                &fams,
                "syncwatch_slot_retained_bytes",
                &[p, ("slot", "airbyte_slot")]
            ),
            Some(4096.0)
        );
        assert_eq!(
            value(
                &fams,
                "syncwatch_table_state",
                &[p, ("table", "tache"), ("state", "in_sync")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &fams,
                "syncwatch_table_state",
                &[p, ("table", "tache"), ("state", "stuck")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &fams,
                "syncwatch_check_status",
                &[p, ("check", "source.wal_level")]
            ),
            Some(0.0)
        );
        for f in &fams {
            for (l, _) in &f.samples {
                assert_eq!(l[0], ("pair".into(), "orders".into()), "{}", f.name);
            }
        }
        let text = encode(&fams);
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert!(
            text.contains("# TYPE syncwatch_table_difference gauge"),
            "{text}"
        );
        assert!(
            text.contains(r#"syncwatch_table_rows{pair="orders",side="source",schema="public",table="tache"} 10"#),
            "{text}"
        );
    }

    #[test]
    fn a_down_side_is_up_0_and_its_slot_is_not_exported_stale() {
        let mut snap = healthy();
        snap.source = crate::model::snapshot::SideSnapshot::down(
            "x".into(),
            crate::model::snapshot::Reach::Unreachable("refused".into()),
        );
        let m = monitor(&snap);
        let fams = families(&[("p", &m)]);
        assert_eq!(
            value(&fams, "syncwatch_up", &[("side", "source")]),
            Some(0.0)
        );
        assert_eq!(
            value(&fams, "syncwatch_up", &[("side", "destination")]),
            Some(1.0)
        );
        assert!(
            fams.iter()
                .all(|f| f.name != "syncwatch_slot_retained_bytes")
        );
    }

    #[test]
    fn the_table_cap_keeps_the_tables_that_need_attention_and_counts_the_rest() {
        let mut snap = many_tables(50);
        // t007 differs: it must survive a cap of 5.
        if let crate::model::snapshot::Fetched::Ok(ts) = &mut snap.dest.tables {
            for t in ts.iter_mut().filter(|t| t.name == "t007") {
                t.rows.as_mut().unwrap().rows -= 3;
            }
        }
        let m = monitor_capped(&snap, 5);
        let fams = families(&[("p", &m)]);
        assert_eq!(value(&fams, "syncwatch_tables_omitted", &[]), Some(45.0));
        let tables: std::collections::BTreeSet<&str> = fams
            .iter()
            .find(|f| f.name == "syncwatch_table_difference")
            .unwrap()
            .samples
            .iter()
            .filter_map(|(l, _)| {
                l.iter()
                    .find(|(k, _)| k == "table")
                    .map(|(_, v)| v.as_str())
            })
            .collect();
        assert_eq!(tables.len(), 5);
        assert!(tables.contains("t007"), "{tables:?}");
    }

    #[test]
    fn odd_names_are_escaped_in_labels() {
        let mut snap = healthy();
        for side in [&mut snap.source, &mut snap.dest] {
            if let crate::model::snapshot::Fetched::Ok(ts) = &mut side.tables {
                ts[0].name = "Tâche \"Ω\"\\x".into();
            }
        }
        let m = monitor(&snap);
        let text = encode(&families(&[("a\"b", &m)]));
        assert!(text.contains(r#"pair="a\"b""#), "{text}");
        assert!(text.contains(r#"table="Tâche \"Ω\"\\x""#), "{text}");
    }
}
