//! What Airbyte's public API said about the connection that reads the slot: its sync jobs
//! and, when it could not answer, why. Optional: with no `[airbyte]` settings none of
//! this exists and syncwatch works from the databases alone.

use std::fmt;

use serde::Serialize;

/// Where the API answers, taken apart from its URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// A path the API sits under (a reverse proxy's), without a trailing `/`.
    pub base_path: String,
}

impl ApiUrl {
    /// `http://host[:port][/base]` or `https://…`.
    pub fn parse(url: &str) -> Result<ApiUrl, String> {
        let bad = |why: &str| format!("airbyte url {url:?}: {why}");
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("expected http://host[:port] or https://host[:port]"));
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
            None => (rest, ""),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad("bad port"))?,
            None if tls => 443,
            None => 80,
        };
        Ok(ApiUrl {
            tls,
            host: host.to_string(),
            port,
            base_path: path.to_string(),
        })
    }
}

/// A job's status, as `JobStatusEnum` spells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Running,
    /// An attempt failed and Airbyte will try again.
    Incomplete,
    Failed,
    Succeeded,
    Cancelled,
    /// A status this version does not know, kept as sent.
    Other(String),
}

impl JobStatus {
    pub fn parse(s: &str) -> JobStatus {
        match s {
            "pending" => JobStatus::Pending,
            "running" => JobStatus::Running,
            "incomplete" => JobStatus::Incomplete,
            "failed" => JobStatus::Failed,
            "succeeded" => JobStatus::Succeeded,
            "cancelled" => JobStatus::Cancelled,
            other => JobStatus::Other(other.to_string()),
        }
    }

    pub fn label(&self) -> &str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Incomplete => "incomplete",
            JobStatus::Failed => "failed",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Other(s) => s,
        }
    }

    /// Still going: a new sync would be refused (or queued behind it).
    pub fn is_live(&self) -> bool {
        matches!(
            self,
            JobStatus::Pending | JobStatus::Running | JobStatus::Incomplete
        )
    }
}

/// One job of the connection (`JobResponse`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Job {
    pub id: i64,
    pub status: JobStatus,
    pub job_type: String,
    pub started_at_ms: Option<i64>,
    pub updated_at_ms: Option<i64>,
    /// The API gives no end time: a finished job ended at start + duration.
    pub duration_ms: Option<i64>,
    pub rows: Option<u64>,
    pub bytes: Option<u64>,
}

impl Job {
    /// When a finished job ended (start + duration); `None` while it runs.
    pub fn ended_at_ms(&self) -> Option<i64> {
        if self.status.is_live() {
            return None;
        }
        Some(self.started_at_ms? + self.duration_ms?)
    }
}

/// The connection the settings name, as the API knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    pub id: String,
    pub name: String,
}

/// Why the API gave no answer, in words a person can act on. Never holds a secret: the
/// messages are built from status codes and the server's own error text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum ApiProblem {
    /// Not configured well enough to ask (a URL that does not parse, …).
    Config(String),
    /// No answer: connection refused, DNS, TLS, a timeout.
    Unreachable(String),
    /// The token request was refused, or a fresh token was refused too.
    Credentials(String),
    /// The connection id or name is not one the API knows.
    UnknownConnection(String),
    /// An answer that is not what the API reference documents, or a 4xx/5xx.
    Server { status: u16, message: String },
}

impl fmt::Display for ApiProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiProblem::Config(m)
            | ApiProblem::Unreachable(m)
            | ApiProblem::Credentials(m)
            | ApiProblem::UnknownConnection(m) => f.write_str(m),
            ApiProblem::Server { status, message } => {
                write!(f, "Airbyte's API answered {status}: {message}")
            }
        }
    }
}

/// The API's side of the screen: the connection, its newest jobs (newest first), and
/// whether the last request failed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ApiView {
    pub url: String,
    pub connection: Option<Connection>,
    pub jobs: Vec<Job>,
    /// When jobs were last listed.
    pub fetched_at_ms: Option<i64>,
    /// The last request's failure; cleared by the next success.
    pub problem: Option<ApiProblem>,
    /// A request under way since then (a stalled API shows as stalled).
    #[serde(skip)]
    pub asking_since_ms: Option<i64>,
}

impl ApiView {
    pub fn new(url: impl Into<String>) -> ApiView {
        ApiView {
            url: url.into(),
            ..ApiView::default()
        }
    }

    /// The job still going, if any.
    pub fn live_job(&self) -> Option<&Job> {
        self.jobs.iter().find(|j| j.status.is_live())
    }

    /// The newest job that has ended.
    pub fn last_finished(&self) -> Option<&Job> {
        self.jobs.iter().find(|j| !j.status.is_live())
    }
}

/// What the API's task reports; times are milliseconds since the epoch.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiMsg {
    /// A request went out (a stall shows as its age).
    Asking(i64),
    Connection(Result<Connection, ApiProblem>, i64),
    Jobs(Result<Vec<Job>, ApiProblem>, i64),
    SyncStarted(Result<Job, ApiProblem>, i64),
}

/// How much a line about the API matters, for whoever shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Said {
    Info,
    Warn,
    Error,
}
