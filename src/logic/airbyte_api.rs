//! Airbyte's public API (v1, OSS and Cloud) as plain data: the requests syncwatch makes,
//! the answers it reads (as the API reference documents them), what a failed answer
//! means to a person, and the "sync job" check. No I/O: [`crate::io::airbyte`] sends
//! and receives.

use serde::Deserialize;
use serde_json::Value;

use crate::logic::format::{age_ms, group_digits, human_bytes, millis};
use crate::logic::syncs::Syncs;
use crate::model::airbyte::{ApiMsg, ApiProblem, ApiView, Connection, Job, JobStatus, Said};
use crate::model::check::{Check, CheckId, Status};

/// Where the public API lives under the configured URL.
pub const API_PREFIX: &str = "/api/public/v1";
/// Jobs asked for per listing: the pane shows a few, the rest give the cadence.
pub const JOBS_LISTED: usize = 10;
/// A token is renewed this long before it expires, so no request carries a dying one.
pub const TOKEN_MARGIN_MS: i64 = 30_000;

/// Which request an answer belongs to: the same status means different things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    Token,
    Connection,
    Connections,
    Jobs,
    StartSync,
}

/// The token request's body. `grant-type` is spelt with a hyphen in the reference.
pub fn token_body(client_id: &str, client_secret: &str) -> String {
    serde_json::json!({
        "client_id": client_id,
        "client_secret": client_secret,
        "grant-type": "client_credentials",
    })
    .to_string()
}

/// `/jobs?connectionId=…&jobType=sync&limit=…&orderBy=createdAt|DESC`.
pub fn jobs_path(connection_id: &str) -> String {
    format!(
        "{API_PREFIX}/jobs?connectionId={}&jobType=sync&limit={JOBS_LISTED}&orderBy=createdAt%7CDESC",
        percent_encode(connection_id)
    )
}

pub fn connection_path(connection_id: &str) -> String {
    format!("{API_PREFIX}/connections/{}", percent_encode(connection_id))
}

pub fn connections_path(offset: usize) -> String {
    format!("{API_PREFIX}/connections?limit=100&offset={offset}")
}

/// `POST /jobs`'s body: a sync of the connection.
pub fn start_sync_body(connection_id: &str) -> String {
    serde_json::json!({ "connectionId": connection_id, "jobType": "sync" }).to_string()
}

/// Exactly what `a` → `y` sends, for the question before it.
pub fn start_sync_preview(url: &str, connection: &Connection) -> Vec<String> {
    vec![
        format!(
            "Start a sync of connection {} ({}) now:",
            connection.name, connection.id
        ),
        String::new(),
        format!("  POST {}{API_PREFIX}/jobs", url.trim_end_matches('/')),
        format!("  {}", start_sync_body(&connection.id)),
        String::new(),
        "Airbyte runs it as it runs a scheduled one; the jobs pane follows it.".into(),
    ]
}

/// Unreserved characters pass, everything else is `%XX`: ids are UUIDs, but a name typed
/// into the settings may be anything.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A connection given by id (a UUID) rather than by name.
pub fn looks_like_id(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A token answer: the token and how long it lives (the API says `expires_in` seconds;
/// absent, a conservative three minutes, as Airbyte's tokens last a few).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub access_token: String,
    pub expires_in_ms: i64,
}

pub fn parse_token(body: &[u8]) -> Result<Token, String> {
    #[derive(Deserialize)]
    struct T {
        access_token: String,
        expires_in: Option<i64>,
    }
    let t: T = serde_json::from_slice(body).map_err(|e| format!("not a token answer ({e})"))?;
    if t.access_token.is_empty() {
        return Err("the token answer holds an empty access_token".into());
    }
    Ok(Token {
        access_token: t.access_token,
        expires_in_ms: t.expires_in.map_or(180_000, |s| s.max(1) * 1000),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobJson {
    job_id: i64,
    status: String,
    #[serde(default)]
    job_type: String,
    start_time: Option<Value>,
    last_updated_at: Option<Value>,
    duration: Option<String>,
    bytes_synced: Option<u64>,
    rows_synced: Option<u64>,
}

impl JobJson {
    fn into_job(self) -> Job {
        Job {
            id: self.job_id,
            status: JobStatus::parse(&self.status),
            job_type: self.job_type,
            started_at_ms: self.start_time.as_ref().and_then(timestamp_ms),
            updated_at_ms: self.last_updated_at.as_ref().and_then(timestamp_ms),
            duration_ms: self.duration.as_deref().and_then(iso_duration_ms),
            rows: self.rows_synced,
            bytes: self.bytes_synced,
        }
    }
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    next: Option<String>,
}

/// A jobs listing, newest first whatever order the server chose.
pub fn parse_jobs(body: &[u8]) -> Result<Vec<Job>, String> {
    let page: Page<JobJson> =
        serde_json::from_slice(body).map_err(|e| format!("not a jobs listing ({e})"))?;
    let mut jobs: Vec<Job> = page.data.into_iter().map(JobJson::into_job).collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.id));
    Ok(jobs)
}

/// The job `POST /jobs` created.
pub fn parse_job(body: &[u8]) -> Result<Job, String> {
    serde_json::from_slice::<JobJson>(body)
        .map(JobJson::into_job)
        .map_err(|e| format!("not a job ({e})"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConnectionJson {
    connection_id: String,
    name: String,
}

pub fn parse_connection(body: &[u8]) -> Result<Connection, String> {
    let c: ConnectionJson =
        serde_json::from_slice(body).map_err(|e| format!("not a connection ({e})"))?;
    Ok(Connection {
        id: c.connection_id,
        name: c.name,
    })
}

/// One page of connections, and whether another follows.
pub fn parse_connections(body: &[u8]) -> Result<(Vec<Connection>, bool), String> {
    let page: Page<ConnectionJson> =
        serde_json::from_slice(body).map_err(|e| format!("not a connections listing ({e})"))?;
    let more = page.next.is_some_and(|n| !n.is_empty());
    let list = page
        .data
        .into_iter()
        .map(|c| Connection {
            id: c.connection_id,
            name: c.name,
        })
        .collect();
    Ok((list, more))
}

/// The connection named `name` among those listed: exactly one, or why not.
pub fn pick_connection(name: &str, all: &[Connection]) -> Result<Connection, ApiProblem> {
    let hits: Vec<&Connection> = all.iter().filter(|c| c.name == name).collect();
    match hits.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
            Err(ApiProblem::UnknownConnection(format!(
                "Airbyte has no connection named {name:?} ({}) — set [airbyte] connection to one of them or to its id",
                if names.is_empty() {
                    "it lists none this application may see".to_string()
                } else {
                    format!("it has {}", crate::logic::format::abbreviate(&names, 5))
                }
            )))
        }
        several => Err(ApiProblem::UnknownConnection(format!(
            "{} Airbyte connections are named {name:?} — set [airbyte] connection to the id of the one that reads the slot",
            several.len()
        ))),
    }
}

/// ISO-8601 durations as the API writes them: `PT8H6M12S`, `P1DT2H`, `PT0.5S`.
pub fn iso_duration_ms(s: &str) -> Option<i64> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    fn part(text: &str, units: &[(char, f64)]) -> Option<f64> {
        let mut total = 0.0;
        let mut num = String::new();
        for ch in text.chars() {
            if ch.is_ascii_digit() || ch == '.' || ch == ',' {
                num.push(if ch == ',' { '.' } else { ch });
                continue;
            }
            let (_, ms) = units.iter().find(|(u, _)| *u == ch)?;
            total += num.parse::<f64>().ok()? * ms;
            num.clear();
        }
        num.is_empty().then_some(total)
    }
    let mut ms = part(date, &[('W', 604_800_000.0), ('D', 86_400_000.0)])?;
    if let Some(t) = time {
        if t.is_empty() {
            return None;
        }
        ms += part(t, &[('H', 3_600_000.0), ('M', 60_000.0), ('S', 1000.0)])?;
    }
    Some(ms.round() as i64)
}

/// A timestamp as the API sends it: RFC 3339 text, or a number of seconds (or
/// milliseconds) since the epoch.
fn timestamp_ms(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        Value::Number(n) => {
            let n = n.as_i64()?;
            // Seconds until the year 5138; milliseconds after.
            Some(if n < 100_000_000_000 { n * 1000 } else { n })
        }
        _ => None,
    }
}

/// The server's own words from an error body (`message`, `detail` or `title` of its
/// problem JSON), or the start of the text; never more than a line.
pub fn error_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => ["message", "detail", "title"]
            .iter()
            .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| v.to_string()),
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "no message".into();
    }
    let mut short: String = line.chars().take(160).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    short
}

/// What a non-2xx answer means, with what to do.
pub fn problem(req: Request, status: u16, body: &[u8], connection: &str) -> ApiProblem {
    let msg = error_message(body);
    match (req, status) {
        (Request::Token, 400 | 401 | 403) => ApiProblem::Credentials(format!(
            "Airbyte refused the client id and secret ({status}: {msg}) — check [airbyte] client_id and the secret (`abctl local credentials` prints them)"
        )),
        (_, 401 | 403) => ApiProblem::Credentials(format!(
            "Airbyte refused a fresh token ({status}: {msg}) — the application may not have access to this connection's workspace"
        )),
        (Request::Connection | Request::Jobs | Request::StartSync, 404) => {
            ApiProblem::UnknownConnection(format!(
                "Airbyte knows no connection {connection:?} (404: {msg}) — set [airbyte] connection to the id in the connection's URL, or to its name"
            ))
        }
        (Request::StartSync, 409) => ApiProblem::Server {
            status,
            message: format!("a sync of this connection is already running ({msg})"),
        },
        (_, s) if s >= 500 => ApiProblem::Server {
            status,
            message: format!("{msg} — Airbyte's server failed; its logs say why"),
        },
        _ => ApiProblem::Server {
            status,
            message: msg,
        },
    }
}

/// Whether the slot was seen read while a job ran: the API's sync and the slot's should
/// be the same one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotSaw {
    /// A session of the slot overlapped the job.
    Read,
    /// syncwatch watched the slot through the whole job and nobody read it.
    Unread,
    /// The job is running, started before syncwatch looked, or has no times.
    NotKnown,
}

/// Sessions are seen a poll late at each end: `slack_ms` (a poll interval or two) widens
/// the job's span so a short job is not called unread.
pub fn slot_saw(job: &Job, syncs: &Syncs, slack_ms: i64) -> SlotSaw {
    let (Some(start), Some(end)) = (job.started_at_ms, job.ended_at_ms()) else {
        return SlotSaw::NotKnown;
    };
    if syncs.watching_since_ms().is_none_or(|w| w > start) {
        return SlotSaw::NotKnown;
    }
    let overlaps = syncs.sessions().any(|s| {
        let s_end = s.ended_at_ms.unwrap_or(i64::MAX);
        s.started_at_ms <= end + slack_ms && s_end >= start - slack_ms
    });
    if overlaps {
        SlotSaw::Read
    } else {
        SlotSaw::Unread
    }
}

/// The usual time between job starts (the median gap), from three jobs on.
pub fn job_interval_ms(jobs: &[Job]) -> Option<i64> {
    let starts: Vec<i64> = jobs.iter().filter_map(|j| j.started_at_ms).collect();
    if starts.len() < 3 {
        return None;
    }
    let mut gaps: Vec<i64> = starts.windows(2).map(|w| (w[0] - w[1]).abs()).collect();
    gaps.sort_unstable();
    Some(gaps[gaps.len() / 2])
}

/// `job 42 succeeded 3m05s ago · 1m20s · 1,234 rows · 5.6 MB`.
pub fn describe_job(job: &Job, now_ms: i64) -> String {
    let mut parts = vec![format!("job {} {}", job.id, job.status.label())];
    match (job.ended_at_ms(), job.started_at_ms) {
        (Some(end), _) => parts[0].push_str(&format!(" {} ago", age_ms((now_ms - end).max(0)))),
        (None, Some(start)) => {
            parts[0].push_str(&format!(" for {}", age_ms((now_ms - start).max(0))))
        }
        (None, None) => {}
    }
    if let (Some(d), false) = (job.duration_ms, job.status.is_live()) {
        parts.push(age_ms(d));
    }
    if let Some(r) = job.rows {
        parts.push(format!("{} rows", group_digits(r)));
    }
    if let Some(b) = job.bytes {
        parts.push(human_bytes(b as i64));
    }
    parts.join(" · ")
}

/// The `source.sync_job` check: the connection's newest job as Airbyte reports it.
/// Failed is critical (the tables stay stale until someone looks); a job overdue
/// against the schedule, one cancelled, retrying, or run while the slot was never
/// read (the connection reads another slot) warns; an API that cannot answer is
/// unknown, with its reason.
pub fn job_check(
    view: &ApiView,
    syncs: &Syncs,
    configured: Option<std::time::Duration>,
    slack_ms: i64,
    now_ms: i64,
) -> Check {
    let check = |status, detail: String| Check::new(CheckId::SourceSyncJob, status, detail, None);
    if let Some(p) = &view.problem {
        return check(Status::Unknown, format!("Airbyte's API: {p}"));
    }
    let Some(conn) = &view.connection else {
        return check(
            Status::Unknown,
            format!("asking Airbyte's API at {} …", view.url),
        );
    };
    if view.fetched_at_ms.is_none() {
        return check(Status::Unknown, format!("listing {}'s jobs …", conn.name));
    }
    if let Some(job) = view.live_job() {
        let text = describe_job(job, now_ms);
        if job.status == JobStatus::Incomplete {
            return check(
                Status::Warning,
                format!("{text}: an attempt failed and Airbyte is trying again"),
            );
        }
        return check(Status::Ok, text);
    }
    let Some(job) = view.last_finished() else {
        return check(
            Status::Warning,
            format!(
                "connection {} has run no sync job yet — a starts one",
                conn.name
            ),
        );
    };
    let text = describe_job(job, now_ms);
    match job.status {
        JobStatus::Failed => {
            return check(
                Status::Critical,
                format!(
                    "{text} — its attempts' logs are in Airbyte (connection {}, Job history); the tables stay as the last good sync left them",
                    conn.name
                ),
            );
        }
        JobStatus::Cancelled => {
            return check(
                Status::Warning,
                format!("{text}: cancelled — the next scheduled sync (or a) runs again"),
            );
        }
        JobStatus::Succeeded => {}
        _ => {
            return check(
                Status::Warning,
                format!("{text}: a status syncwatch does not know"),
            );
        }
    }
    let every = configured
        .map(millis)
        .or_else(|| job_interval_ms(&view.jobs));
    if let (Some(every), Some(end)) = (every, job.ended_at_ms()) {
        let late = now_ms - end - every;
        if late > (every / 2).max(60_000) {
            return check(
                Status::Warning,
                format!(
                    "no sync job since {text} (every {}{}): is the connection's schedule paused?",
                    age_ms(every),
                    if configured.is_some() {
                        ", as configured"
                    } else {
                        ", as seen"
                    }
                ),
            );
        }
    }
    if slot_saw(job, syncs, slack_ms) == SlotSaw::Unread {
        return check(
            Status::Warning,
            format!(
                "{text}, but the slot was not read while it ran — does this connection read this slot?"
            ),
        );
    }
    check(Status::Ok, text)
}

/// Applies one report of the API's task to the view; returns what is worth saying about
/// it: a new connection, a problem (once, not at every retry), the API answering again,
/// a job started, and jobs that appeared or changed status since the last listing.
pub fn apply(view: &mut ApiView, msg: ApiMsg) -> Vec<(Said, String)> {
    let mut lines = Vec::new();
    match msg {
        ApiMsg::Asking(at) => view.asking_since_ms = Some(at),
        ApiMsg::Connection(Ok(conn), _) => {
            if view.connection.as_ref() != Some(&conn) {
                lines.push((
                    Said::Info,
                    format!("Airbyte: connection {} ({})", conn.name, conn.id),
                ));
            }
            view.connection = Some(conn);
        }
        ApiMsg::Connection(Err(p), _) | ApiMsg::Jobs(Err(p), _) => {
            view.asking_since_ms = None;
            if view.problem.as_ref() != Some(&p) {
                lines.push((Said::Error, format!("Airbyte's API: {p}")));
            }
            view.problem = Some(p);
        }
        ApiMsg::Jobs(Ok(jobs), at) => {
            view.asking_since_ms = None;
            if view.problem.take().is_some() {
                lines.push((Said::Info, "Airbyte's API answers again".into()));
            }
            // Only changes are said; the first listing is there to be shown.
            if view.fetched_at_ms.is_some() {
                lines.extend(job_changes(&view.jobs, &jobs));
            }
            view.jobs = jobs;
            view.fetched_at_ms = Some(at);
        }
        ApiMsg::SyncStarted(Ok(job), _) => {
            lines.push((
                Said::Info,
                format!("Airbyte started job {} ({})", job.id, job.status.label()),
            ));
            if !view.jobs.iter().any(|j| j.id == job.id) {
                view.jobs.insert(0, job);
            }
        }
        // Not the view's problem: listing still works.
        ApiMsg::SyncStarted(Err(p), _) => {
            lines.push((Said::Error, format!("no sync started: {p}")))
        }
    }
    lines
}

/// Lines for what changed between two listings: jobs that appeared (a schedule or
/// someone else started them) and jobs whose status moved, oldest first.
fn job_changes(before: &[Job], after: &[Job]) -> Vec<(Said, String)> {
    let mut out = Vec::new();
    for job in after.iter().rev() {
        let said = match job.status {
            JobStatus::Failed => Said::Error,
            JobStatus::Incomplete | JobStatus::Cancelled => Said::Warn,
            _ => Said::Info,
        };
        match before.iter().find(|b| b.id == job.id) {
            None => out.push((
                said,
                format!("Airbyte job {} {}", job.id, job.status.label()),
            )),
            Some(b) if b.status != job.status => out.push((
                said,
                format!(
                    "Airbyte job {}: {} → {}",
                    job.id,
                    b.status.label(),
                    job.status.label()
                ),
            )),
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::{Fetched, SlotInfo};
    use crate::testing::healthy;

    fn job(id: i64, status: &str, start_ms: i64, dur_ms: i64) -> Job {
        Job {
            id,
            status: JobStatus::parse(status),
            job_type: "sync".into(),
            started_at_ms: Some(start_ms),
            updated_at_ms: None,
            duration_ms: Some(dur_ms),
            rows: Some(1234),
            bytes: Some(5_600_000),
        }
    }

    fn view(jobs: Vec<Job>) -> ApiView {
        ApiView {
            url: "http://localhost:8000".into(),
            connection: Some(Connection {
                id: "c".into(),
                name: "pg → pg".into(),
            }),
            jobs,
            fetched_at_ms: Some(0),
            problem: None,
            asking_since_ms: None,
        }
    }

    #[test]
    fn iso_durations_as_the_api_writes_them() {
        assert_eq!(iso_duration_ms("PT8H6M12S"), Some(29_172_000));
        assert_eq!(iso_duration_ms("PT0.5S"), Some(500));
        assert_eq!(iso_duration_ms("P1DT2H"), Some(93_600_000));
        assert_eq!(iso_duration_ms("PT1M"), Some(60_000));
        assert_eq!(iso_duration_ms("P2W"), Some(1_209_600_000));
        for bad in ["", "8H", "PT", "PTxS", "PT5", "P1H"] {
            assert_eq!(iso_duration_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn jobs_parse_from_the_documented_shape_newest_first() {
        let body = br#"{"data":[
            {"jobId":7,"status":"succeeded","jobType":"sync","startTime":"2026-12-01T10:00:00Z",
             "connectionId":"c","lastUpdatedAt":"2026-12-01T10:01:20Z","duration":"PT1M20S",
             "bytesSynced":2048,"rowsSynced":12},
            {"jobId":9,"status":"running","jobType":"sync","startTime":"2026-12-01T11:00:00Z",
             "connectionId":"c"}],
            "next":"https://x/api/public/v1/jobs?offset=2","previous":null}"#;
        let jobs = parse_jobs(body).unwrap();
        assert_eq!(jobs.iter().map(|j| j.id).collect::<Vec<_>>(), [9, 7]);
        assert_eq!(jobs[1].duration_ms, Some(80_000));
        assert_eq!(jobs[1].started_at_ms, Some(1_796_119_200_000));
        assert_eq!(jobs[1].ended_at_ms(), Some(1_796_119_280_000));
        assert_eq!(jobs[1].rows, Some(12));
        assert_eq!(jobs[0].status, JobStatus::Running);
        assert_eq!(jobs[0].ended_at_ms(), None);
        assert!(parse_jobs(b"{\"jobs\":[]}").is_err());
        assert!(parse_jobs(b"<html>").is_err());
    }

    #[test]
    fn tokens_and_connections_parse_and_names_resolve_to_one() {
        let t = parse_token(br#"{"access_token":"abc","token_type":"Bearer","expires_in":180}"#)
            .unwrap();
        assert_eq!(t.expires_in_ms, 180_000);
        assert!(parse_token(br#"{"access_token":""}"#).is_err());
        let (list, more) = parse_connections(
            br#"{"data":[{"connectionId":"a","name":"one"},{"connectionId":"b","name":"two"},
                {"connectionId":"c","name":"two"}],"next":""}"#,
        )
        .unwrap();
        assert!(!more);
        assert_eq!(pick_connection("one", &list).unwrap().id, "a");
        let e = pick_connection("two", &list).unwrap_err().to_string();
        assert!(
            e.starts_with("2 Airbyte connections are named \"two\""),
            "{e}"
        );
        let e = pick_connection("three", &list).unwrap_err().to_string();
        assert!(e.contains("it has one, two, two"), "{e}");
        assert!(looks_like_id("9924bcd0-99be-453d-ba47-c2c9766f7da5"));
        assert!(!looks_like_id("postgres → postgres"));
    }

    #[test]
    fn failures_are_one_line_with_what_to_do() {
        let body = br#"{"type":"about:blank","title":"unauthorized","status":401,
            "detail":"Invalid client credentials"}"#;
        let p = problem(Request::Token, 401, body, "c");
        assert!(matches!(p, ApiProblem::Credentials(_)));
        let text = p.to_string();
        assert!(text.contains("Invalid client credentials"), "{text}");
        assert!(text.contains("abctl local credentials"), "{text}");
        assert!(!text.contains('\n'));
        let p = problem(Request::Jobs, 404, b"", "c-1");
        assert!(p.to_string().contains("no connection \"c-1\""), "{p}");
        let p = problem(Request::Jobs, 500, b"{\"message\":\"boom\"}", "c");
        assert_eq!(
            p.to_string(),
            "Airbyte's API answered 500: boom — Airbyte's server failed; its logs say why"
        );
        let long = "x ".repeat(400);
        assert!(error_message(long.as_bytes()).chars().count() <= 161);
        assert_eq!(
            percent_encode("a b|c"),
            "a%20b%7Cc",
            "names are percent-encoded"
        );
    }

    #[test]
    fn the_job_check_follows_the_newest_job() {
        let s = Syncs::default();
        let now = 10_000_000;
        let c = job_check(&view(vec![]), &s, None, 2000, now);
        assert_eq!(c.status, Status::Warning, "{c:?}");
        let c = job_check(
            &view(vec![job(2, "running", now - 5000, 0)]),
            &s,
            None,
            2000,
            now,
        );
        assert_eq!(c.status, Status::Ok, "{c:?}");
        assert!(c.detail.starts_with("job 2 running for 5.0s"), "{c:?}");
        let failed = view(vec![job(3, "failed", now - 90_000, 30_000)]);
        let c = job_check(&failed, &s, None, 2000, now);
        assert_eq!(c.status, Status::Critical, "{c:?}");
        assert!(
            c.detail.starts_with("job 3 failed 1m00s ago · 30.0s · "),
            "{c:?}"
        );
        let ok = view(vec![job(4, "succeeded", now - 90_000, 30_000)]);
        assert_eq!(job_check(&ok, &s, None, 2000, now).status, Status::Ok);
        // Hourly, and the last ended two hours ago.
        let hourly = Some(std::time::Duration::from_secs(3600));
        let c = job_check(&ok, &s, hourly, 2000, now + 2 * 3_600_000);
        assert_eq!(c.status, Status::Warning, "{c:?}");
        assert!(c.detail.contains("schedule paused"), "{c:?}");
        // Learnt from the jobs: every 10 minutes, the last 40 minutes ago.
        let m = 600_000;
        let jobs = view(vec![
            job(9, "succeeded", now - 40 * m, 1000),
            job(8, "succeeded", now - 50 * m, 1000),
            job(7, "succeeded", now - 60 * m, 1000),
        ]);
        assert_eq!(job_interval_ms(&jobs.jobs), Some(10 * m));
        assert_eq!(
            job_check(&jobs, &s, None, 2000, now).status,
            Status::Warning
        );
        let mut broken = view(vec![]);
        broken.problem = Some(ApiProblem::Unreachable("connection refused".into()));
        let c = job_check(&broken, &s, None, 2000, now);
        assert_eq!(c.status, Status::Unknown);
        assert_eq!(c.detail, "Airbyte's API: connection refused");
    }

    #[test]
    fn a_job_the_slot_never_saw_is_named() {
        let poll = |at: i64, active: bool| {
            let mut snap = healthy();
            snap.taken_at_ms = at;
            snap.source.slot = Fetched::Ok(Some(SlotInfo {
                name: "airbyte_slot".into(),
                active,
                confirmed_flush_lsn: Some("0/100".into()),
                ..SlotInfo::default()
            }));
            snap
        };
        let mut s = Syncs::default();
        for t in 0..10 {
            s.observe(&poll(t * 1000, false));
        }
        let j = job(5, "succeeded", 2000, 3000);
        assert_eq!(slot_saw(&j, &s, 1000), SlotSaw::Unread);
        let c = job_check(&view(vec![j.clone()]), &s, None, 1000, 10_000);
        assert_eq!(c.status, Status::Warning, "{c:?}");
        assert!(c.detail.contains("not read while it ran"), "{c:?}");
        let mut s = Syncs::default();
        for t in 0..10 {
            s.observe(&poll(t * 1000, (3..5).contains(&t)));
        }
        assert_eq!(slot_saw(&j, &s, 1000), SlotSaw::Read);
        // Before syncwatch looked: not known.
        let early = job(4, "succeeded", -5000, 1000);
        assert_eq!(slot_saw(&early, &s, 1000), SlotSaw::NotKnown);
    }

    #[test]
    fn only_new_jobs_and_moved_statuses_are_said_oldest_first() {
        let before = vec![job(2, "running", 2_000, 0), job(1, "succeeded", 1_000, 500)];
        let after = vec![
            job(3, "pending", 3_000, 0),
            job(2, "failed", 2_000, 500),
            job(1, "succeeded", 1_000, 500),
        ];
        let lines: Vec<String> = job_changes(&before, &after)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(
            lines,
            ["Airbyte job 2: running → failed", "Airbyte job 3 pending"]
        );
        assert!(job_changes(&after, &after).is_empty());
    }
}
