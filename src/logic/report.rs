//! The `check` command's output: a human table or JSON, from a snapshot and its checks.
//! Pure: builds strings; the caller prints them and exits with the status's code.

use serde::Serialize;

use crate::config::Settings;
use crate::logic::airbyte_api::describe_job;
use crate::logic::divergence::{State, Tracker};
use crate::logic::format::{count_cell, difference_cell, version_label};
use crate::logic::syncs::forecast_for;
use crate::logic::timeline::{Behind, Breaks};
use crate::model::airbyte::{ApiView, Connection};
use crate::model::check::{Check, Status, worst};
use crate::model::lsn::Lsn;
use crate::model::snapshot::RowCount;
use crate::model::snapshot::{Reach, SideSnapshot, Snapshot};

#[derive(Serialize)]
struct SideJson<'a> {
    endpoint: &'a str,
    reach: &'a Reach,
    version: Option<String>,
    poll_ms: f64,
}

#[derive(Serialize)]
pub(crate) struct TableJson {
    pub(crate) schema: String,
    pub(crate) name: String,
    pub(crate) source_rows: Option<i64>,
    pub(crate) source_exact: Option<bool>,
    pub(crate) dest_rows: Option<i64>,
    pub(crate) dest_exact: Option<bool>,
    pub(crate) difference: Option<i64>,
    pub(crate) state: State,
    /// Airbyte: the destination table's newest `_airbyte_extracted_at` and `_ab_cdc_lsn`.
    pub(crate) loaded_at: Option<String>,
    pub(crate) applied_lsn: Option<Lsn>,
}

#[derive(Serialize)]
pub(crate) struct ForecastJson {
    /// `invalidated` (`safe_wal_size` reaches 0) or `critical` (the threshold).
    pub(crate) breaks: &'static str,
    pub(crate) in_seconds: f64,
    pub(crate) rate_bytes_per_second: f64,
}

#[derive(Serialize)]
pub(crate) struct SlotJson<'a> {
    pub(crate) name: &'a str,
    pub(crate) plugin: Option<&'a str>,
    pub(crate) active: bool,
    pub(crate) retained_bytes: Option<i64>,
    pub(crate) lag_bytes: Option<i64>,
    /// How far behind in time the destination is; null when unknown.
    pub(crate) lag_seconds: Option<f64>,
    /// A lower bound when only that is known (the consumer's position is older than
    /// the history kept).
    pub(crate) lag_seconds_at_least: Option<f64>,
    pub(crate) wal_status: Option<&'a str>,
    pub(crate) safe_wal_size: Option<i64>,
    pub(crate) forecast: Option<ForecastJson>,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    /// The pair's name (`default` without `[[pair]]`).
    pair: &'a str,
    status: Status,
    exit_code: u8,
    taken_at: String,
    source: SideJson<'a>,
    destination: SideJson<'a>,
    checks: &'a [Check],
    slot: Option<SlotJson<'a>>,
    tables: Vec<TableJson>,
    /// Airbyte's API's word on the connection; null when no API is configured.
    airbyte: Option<AirbyteJson<'a>>,
}

#[derive(Serialize)]
struct AirbyteJson<'a> {
    url: &'a str,
    connection: Option<&'a Connection>,
    /// Why the API gave no answer, in one line; null when it answered.
    problem: Option<String>,
    /// Newest first.
    jobs: Vec<JobJson<'a>>,
}

#[derive(Serialize)]
struct JobJson<'a> {
    id: i64,
    status: &'a str,
    started_at: Option<String>,
    /// Start + duration; null while the job runs.
    ended_at: Option<String>,
    duration_seconds: Option<f64>,
    rows: Option<u64>,
    bytes: Option<u64>,
}

fn airbyte_json(view: &ApiView) -> AirbyteJson<'_> {
    let at = |ms: Option<i64>| ms.and_then(rfc3339);
    AirbyteJson {
        url: &view.url,
        connection: view.connection.as_ref(),
        problem: view.problem.as_ref().map(ToString::to_string),
        jobs: view
            .jobs
            .iter()
            .map(|j| JobJson {
                id: j.id,
                status: j.status.label(),
                started_at: at(j.started_at_ms),
                ended_at: at(j.ended_at_ms()),
                duration_seconds: j.duration_ms.map(|d| d as f64 / 1000.0),
                rows: j.rows,
                bytes: j.bytes,
            })
            .collect(),
    }
}

pub(crate) fn slot_json<'a>(
    snap: &'a Snapshot,
    tracker: &Tracker,
    critical_bytes: u64,
) -> Option<SlotJson<'a>> {
    let slot = snap.source.slot.ok()?.as_ref()?;
    let history = tracker.syncs();
    let secs = |ms: i64| ms as f64 / 1000.0;
    let (lag, at_least) = match history.behind(snap.taken_at_ms) {
        Behind::By(ms) => (Some(secs(ms)), None),
        Behind::AtLeast(ms) => (None, Some(secs(ms))),
        Behind::Unknown => (None, None),
    };
    Some(SlotJson {
        name: &slot.name,
        plugin: slot.plugin.as_deref(),
        active: slot.active,
        retained_bytes: slot.retained_bytes,
        lag_bytes: slot.lag_bytes,
        lag_seconds: lag,
        lag_seconds_at_least: at_least,
        wal_status: slot.wal_status.as_deref(),
        safe_wal_size: slot.safe_wal_size,
        forecast: forecast_for(history, slot, critical_bytes).map(|f| ForecastJson {
            breaks: match f.breaks {
                Breaks::Invalidated => "invalidated",
                Breaks::Critical => "critical",
            },
            in_seconds: secs(f.in_ms),
            rate_bytes_per_second: (f.rate * 10.0).round() / 10.0,
        }),
    })
}

fn side_json(s: &SideSnapshot) -> SideJson<'_> {
    SideJson {
        endpoint: &s.endpoint,
        reach: &s.reach,
        version: s.version_num.map(crate::logic::format::version_label),
        poll_ms: (s.poll_ms * 10.0).round() / 10.0,
    }
}

pub(crate) fn tables(snap: &Snapshot, tracker: &Tracker) -> Vec<TableJson> {
    let Some(src) = snap.source.tables.ok() else {
        return Vec::new();
    };
    src.iter()
        .map(|t| {
            let key = t.key();
            let last = tracker.history(&key).and_then(|h| h.back());
            let dest = last.and_then(|s| s.dest);
            let fresh = tracker.table(&key).and_then(|h| h.freshness);
            TableJson {
                schema: t.schema.clone(),
                name: t.name.clone(),
                source_rows: t.rows.map(|r| r.rows),
                source_exact: t.rows.map(|r| r.exact),
                dest_rows: dest.map(|r| r.rows),
                dest_exact: dest.map(|r| r.exact),
                difference: last.and_then(|s| s.difference()),
                state: tracker.state(&key),
                loaded_at: fresh.and_then(|f| f.loaded_at_ms).and_then(rfc3339),
                applied_lsn: fresh.and_then(|f| f.applied_lsn),
            }
        })
        .collect()
}

fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

fn taken_at(snap: &Snapshot) -> String {
    rfc3339(snap.taken_at_ms).unwrap_or_default()
}

/// What one pair's report is made of.
pub struct PairReport<'a> {
    pub name: &'a str,
    pub snap: &'a Snapshot,
    pub checks: &'a [Check],
    pub tracker: &'a Tracker,
    pub settings: &'a Settings,
    pub api: Option<&'a ApiView>,
}

/// The worst status over every pair.
pub fn worst_of(pairs: &[PairReport]) -> Status {
    pairs
        .iter()
        .map(|p| worst(p.checks))
        .max()
        .unwrap_or(Status::Ok)
}

#[derive(Serialize)]
struct PairsJson<'a> {
    status: Status,
    exit_code: u8,
    pairs: Vec<ReportJson<'a>>,
}

/// The JSON document documented in the README: one pair's, or with several pairs
/// `{"status", "exit_code", "pairs": [one document per pair]}`.
pub fn json_pairs(pairs: &[PairReport]) -> String {
    let text = match pairs {
        [one] => serde_json::to_string_pretty(&doc(one)),
        many => {
            let status = worst_of(many);
            serde_json::to_string_pretty(&PairsJson {
                status,
                exit_code: status.exit_code(),
                pairs: many.iter().map(doc).collect(),
            })
        }
    };
    text.unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The people's report of every pair: each under its name when there are several.
pub fn human_pairs(pairs: &[PairReport]) -> String {
    match pairs {
        [one] => human(one.snap, one.checks, one.tracker, one.api),
        many => {
            let mut out = String::new();
            for p in many {
                out.push_str(&format!("== pair {} ==\n", p.name));
                out.push_str(&human(p.snap, p.checks, p.tracker, p.api));
                out.push('\n');
            }
            let status = worst_of(many);
            out.push_str(&format!(
                "all {} pairs: {} (exit {})\n",
                many.len(),
                status.label(),
                status.exit_code()
            ));
            out
        }
    }
}

/// One pair's JSON document.
pub fn json(
    snap: &Snapshot,
    checks: &[Check],
    tracker: &Tracker,
    s: &Settings,
    api: Option<&ApiView>,
) -> String {
    json_pairs(&[PairReport {
        name: crate::config::DEFAULT_PAIR,
        snap,
        checks,
        tracker,
        settings: s,
        api,
    }])
}

fn doc<'a>(p: &PairReport<'a>) -> ReportJson<'a> {
    let (snap, checks, tracker, s, api) = (p.snap, p.checks, p.tracker, p.settings, p.api);
    let status = worst(checks);
    ReportJson {
        pair: p.name,
        status,
        exit_code: status.exit_code(),
        taken_at: taken_at(snap),
        source: side_json(&snap.source),
        destination: side_json(&snap.dest),
        checks,
        slot: slot_json(snap, tracker, s.retained_wal_critical_bytes),
        tables: tables(snap, tracker),
        airbyte: api.map(airbyte_json),
    }
}

/// A plain-text report for people: checks with their fixes, then the tables.
pub fn human(
    snap: &Snapshot,
    checks: &[Check],
    tracker: &Tracker,
    api: Option<&ApiView>,
) -> String {
    let mut out = String::new();
    let side = |s: &SideSnapshot| match (&s.reach, s.version_num) {
        (Reach::Up, Some(v)) => format!("{} (PostgreSQL {})", s.endpoint, version_label(v)),
        (r, _) => format!("{} ({})", s.endpoint, r.reason().unwrap_or("?")),
    };
    out.push_str(&format!(
        "source       {}\ndestination  {}\n\n",
        side(&snap.source),
        side(&snap.dest)
    ));
    let title_w = checks
        .iter()
        .map(|c| c.title.chars().count())
        .max()
        .unwrap_or(5);
    for c in checks {
        out.push_str(&format!(
            "{} {:<8} {:<11} {:<title_w$}  {}\n",
            c.status.symbol(),
            c.status.label(),
            c.side.label(),
            c.title,
            c.detail
        ));
        if c.status != Status::Ok
            && let Some(fix) = &c.fix
        {
            for sql in &fix.sql {
                out.push_str(&format!("      fix: {sql};\n"));
            }
            if let Some(m) = &fix.manual {
                out.push_str(&format!("      do:  {m}\n"));
            }
            if let Some(caution) = &fix.caution {
                out.push_str(&format!("      note: {caution}\n"));
            }
        }
    }
    let rows = tables(snap, tracker);
    if !rows.is_empty() {
        let name_w = rows
            .iter()
            .map(|t| t.schema.chars().count() + t.name.chars().count() + 1)
            .max()
            .unwrap_or(5)
            .max(5);
        out.push_str(&format!(
            "\n{:<name_w$}  {:>12}  {:>12}  {:>9}  STATE\n",
            "TABLE", "SOURCE", "DEST", "Δ"
        ));
        for t in rows {
            out.push_str(&format!(
                "{:<name_w$}  {:>12}  {:>12}  {:>9}  {}\n",
                format!("{}.{}", t.schema, t.name),
                count_cell(row_count(t.source_rows, t.source_exact)),
                count_cell(row_count(t.dest_rows, t.dest_exact)),
                difference_cell(t.difference),
                t.state.label()
            ));
        }
    }
    if let Some(view) = api {
        let who = match &view.connection {
            Some(c) => format!("{} ({})", c.name, c.id),
            None => view.url.clone(),
        };
        out.push_str(&format!("\nAirbyte connection {who}\n"));
        match &view.problem {
            Some(p) => out.push_str(&format!("  {p}\n")),
            None if view.jobs.is_empty() => out.push_str("  no sync job yet\n"),
            None => {
                for j in view.jobs.iter().take(5) {
                    out.push_str(&format!("  {}\n", describe_job(j, snap.taken_at_ms)));
                }
            }
        }
    }
    let status = worst(checks);
    out.push_str(&format!(
        "\noverall: {} (exit {})\n",
        status.label(),
        status.exit_code()
    ));
    out
}

/// The JSON's two fields back as one count, for the same cells as the screen's.
fn row_count(rows: Option<i64>, exact: Option<bool>) -> Option<RowCount> {
    Some(RowCount {
        rows: rows?,
        exact: exact.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    //! `check`'s output is an interface: these documents were written by the code before
    //! the tree took its layers (commit debd717) and must come out byte for byte.

    use super::*;
    use crate::config::{Engine, Settings};
    use crate::logic::checks;
    use crate::model::snapshot::{Fetched, Reach, SideSnapshot};
    use crate::testing::healthy;

    type State = (&'static str, Snapshot, Settings, Option<ApiView>);

    /// Airbyte's API says the newest job failed, after one that succeeded.
    fn failed_job_view(now_ms: i64) -> ApiView {
        use crate::model::airbyte::{Job, JobStatus};
        let job = |id, status, start_ms: i64, rows| Job {
            id,
            status: JobStatus::parse(status),
            job_type: "sync".into(),
            started_at_ms: Some(start_ms),
            updated_at_ms: None,
            duration_ms: Some(65_000),
            rows: Some(rows),
            bytes: Some(rows * 100),
        };
        ApiView {
            url: "http://localhost:8000".into(),
            connection: Some(Connection {
                id: "9924bcd0-99be-453d-ba47-c2c9766f7da5".into(),
                name: "pg to pg".into(),
            }),
            jobs: vec![
                job(42, "failed", now_ms - 600_000, 0),
                job(41, "succeeded", now_ms - 4_200_000, 1234),
            ],
            fetched_at_ms: Some(now_ms),
            problem: None,
            asking_since_ms: None,
        }
    }

    fn states() -> Vec<State> {
        let native = Settings {
            engine: Engine::Native,
            ..Settings::default()
        };
        let airbyte = Settings::default();
        let mut broken = healthy();
        broken.source.slot = Fetched::Ok(None);
        broken.source.publication = Fetched::Ok(None);
        if let Fetched::Ok(st) = &mut broken.source.settings {
            st.wal_level = "replica".into();
        }
        broken.dest.subscription = Fetched::Ok(None);
        let mut down = healthy();
        down.dest = SideSnapshot::down(
            down.dest.endpoint.clone(),
            Reach::Unreachable("cannot reach localhost:5433: Connection refused (os error 111) — is PostgreSQL running and listening there?".into()),
        );
        let mut denied = healthy();
        denied.source.role = Fetched::Denied("permission denied for table pg_authid".into());
        if let Fetched::Ok(ts) = &mut denied.dest.tables {
            ts.retain(|t| t.name != "tache");
            for t in ts.iter_mut() {
                if let Some(r) = &mut t.rows {
                    r.rows -= 3;
                    r.exact = false;
                }
            }
        }
        // 2026-12-01 12:00 UTC: job times read as dates, not as 1970.
        let mut at_noon = healthy();
        at_noon.taken_at_ms = 1_796_126_400_000;
        let failed = failed_job_view(at_noon.taken_at_ms);
        vec![
            ("healthy_native", healthy(), native.clone(), None),
            ("healthy_airbyte", healthy(), airbyte.clone(), None),
            ("broken_native", broken, native.clone(), None),
            ("dest_down", down, native, None),
            ("denied_and_missing", denied, airbyte.clone(), None),
            ("airbyte_job_failed", at_noon, airbyte, Some(failed)),
        ]
    }

    fn golden_path(name: &str, ext: &str) -> String {
        format!(
            "{}/src/logic/golden/{name}.{ext}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    fn golden(name: &str, ext: &str) -> String {
        let path = golden_path(name, ext);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The documents scripts parse, byte for byte. A change to them is deliberate:
    /// `SYNCWATCH_BLESS=1 cargo test --lib report` writes the new ones, and the diff
    /// shows in review what scripts will see.
    #[test]
    fn json_and_human_reports_match_the_golden_documents() {
        let bless = std::env::var_os("SYNCWATCH_BLESS").is_some();
        for (name, snap, s, api) in states() {
            let syncs = crate::logic::syncs::Syncs::once(&snap);
            let checks = checks::with_sync_job(
                checks::evaluate(&snap, &s, &syncs),
                api.as_ref(),
                &s,
                &syncs,
                snap.taken_at_ms,
            );
            let api = api.as_ref();
            let mut tracker = Tracker::default();
            tracker.observe(&snap);
            if bless {
                std::fs::write(
                    golden_path(name, "json"),
                    json(&snap, &checks, &tracker, &s, api),
                )
                .unwrap();
                std::fs::write(
                    golden_path(name, "txt"),
                    human(&snap, &checks, &tracker, api),
                )
                .unwrap();
            }
            assert_eq!(
                json(&snap, &checks, &tracker, &s, api),
                golden(name, "json"),
                "{name}.json"
            );
            assert_eq!(
                human(&snap, &checks, &tracker, api),
                golden(name, "txt"),
                "{name}.txt"
            );
        }
    }
}
