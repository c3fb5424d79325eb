//! A stand-in for Airbyte's public API (v1) that answers as its reference documents:
//! `applications/token` (client credentials → a bearer token that expires), `GET
//! connections` (paged) and `connections/{id}`, `GET jobs?connectionId=…` (newest first)
//! and `POST jobs` (a sync; 409 while one runs), RFC 9457 problem bodies on errors, 401
//! for a missing or expired token, 404 for an unknown connection. Airbyte itself cannot
//! run here; this is the contract the client is tested against (README, "Airbyte's API").
//!
//! Blocking, on a thread of its own, so that a test's runtime (or none) does not matter
//! and the real binary in tmux can talk to it while the test waits. A job created with
//! `POST jobs` runs for [`Options::job_runs_for`] and then succeeds.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const PREFIX: &str = "/api/public/v1";

pub struct Options {
    pub client_id: String,
    pub client_secret: String,
    /// `expires_in` of each token, in seconds.
    pub token_lifetime_s: i64,
    /// Connections by (id, name).
    pub connections: Vec<(String, String)>,
    /// How long a job started through `POST jobs` runs before it succeeds.
    pub job_runs_for: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            client_id: "syncwatch-test-client".into(),
            client_secret: "test-client-secret".into(),
            token_lifetime_s: 180,
            connections: vec![(CONNECTION_ID.into(), "pg to pg".into())],
            job_runs_for: Duration::from_secs(3),
        }
    }
}

/// The default connection's id (a UUID, as Airbyte's are).
pub const CONNECTION_ID: &str = "9924bcd0-99be-453d-ba47-c2c9766f7da5";

#[derive(Clone, Debug)]
struct FakeJob {
    id: i64,
    connection: String,
    status: String,
    started_ms: i64,
    /// Set when the job ends by itself at this time (jobs started through the API).
    ends_ms: Option<i64>,
    duration_ms: Option<i64>,
    rows: Option<u64>,
    bytes: Option<u64>,
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The bearer token it carried.
    pub bearer: Option<String>,
    pub body: String,
    pub status: u16,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, i64>,
    issued: u32,
    jobs: Vec<FakeJob>,
    next_job: i64,
    seen: Vec<Seen>,
    /// The next n requests other than the token's answer this status.
    failing: Option<(u16, u32)>,
}

pub struct FakeAirbyte {
    pub url: String,
    opts: Arc<Options>,
    state: Arc<Mutex<State>>,
    stalled: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn iso_duration(ms: i64) -> String {
    let s = ms / 1000;
    format!("PT{}H{}M{}S", s / 3600, s / 60 % 60, s % 60)
}

fn problem(status: u16, title: &str, detail: &str) -> (u16, Value) {
    (
        status,
        json!({
            "type": format!("https://reference.airbyte.com/reference/errors#{title}"),
            "title": title,
            "status": status,
            "detail": detail,
        }),
    )
}

impl FakeAirbyte {
    pub fn start(opts: Options) -> FakeAirbyte {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the fake API");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let me = FakeAirbyte {
            url,
            opts: Arc::new(opts),
            state: Arc::new(Mutex::new(State {
                next_job: 100,
                ..State::default()
            })),
            stalled: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (opts, state, stalled, stop) = (
            me.opts.clone(),
            me.state.clone(),
            me.stalled.clone(),
            me.stop.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (opts, state, stalled) = (opts.clone(), state.clone(), stalled.clone());
                // A thread per request: a stalled one must not hold the others.
                std::thread::spawn(move || serve(conn, &opts, &state, &stalled));
            }
        });
        me
    }

    /// A job the connection ran before the test began.
    pub fn add_job(&self, status: &str, started_ms: i64, duration_ms: i64, rows: u64) -> i64 {
        let mut st = self.state.lock().unwrap();
        st.next_job += 1;
        let id = st.next_job;
        st.jobs.push(FakeJob {
            id,
            connection: self.opts.connections[0].0.clone(),
            status: status.into(),
            started_ms,
            ends_ms: None,
            duration_ms: Some(duration_ms),
            rows: Some(rows),
            bytes: Some(rows * 97),
        });
        id
    }

    /// Every token handed out so far stops working: the next use gets a 401.
    pub fn expire_tokens(&self) {
        self.state.lock().unwrap().tokens.clear();
    }

    /// The next `n` requests (not the token's) answer `status` with a problem body.
    pub fn fail_next(&self, status: u16, n: u32) {
        self.state.lock().unwrap().failing = Some((status, n));
    }

    /// While stalled, requests are read and never answered.
    pub fn stall(&self, on: bool) {
        self.stalled.store(on, Ordering::SeqCst);
    }

    pub fn tokens_issued(&self) -> u32 {
        self.state.lock().unwrap().issued
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Jobs created through `POST jobs` (answered 200).
    pub fn jobs_created(&self) -> usize {
        self.seen()
            .iter()
            .filter(|s| {
                s.method == "POST" && s.target == format!("{PREFIX}/jobs") && s.status == 200
            })
            .count()
    }
}

impl Drop for FakeAirbyte {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.stalled.store(false, Ordering::SeqCst);
        // Wakes the accept loop so it sees the stop.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

struct Req {
    method: String,
    target: String,
    bearer: Option<String>,
    body: String,
}

fn read_request(conn: &TcpStream) -> Option<Req> {
    let mut r = BufReader::new(conn);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let (mut len, mut bearer) = (0usize, None);
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 || h == "\r\n" {
            break;
        }
        let (name, value) = h.split_once(':')?;
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => len = value.parse().ok()?,
            "authorization" => bearer = value.strip_prefix("Bearer ").map(str::to_string),
            _ => {}
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Req {
        method,
        target,
        bearer,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn serve(mut conn: TcpStream, opts: &Options, state: &Mutex<State>, stalled: &AtomicBool) {
    let Some(req) = read_request(&conn) else {
        return;
    };
    while stalled.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, body) = {
        let mut st = state.lock().unwrap();
        let (status, body) = answer(&req, opts, &mut st);
        st.seen.push(Seen {
            method: req.method.clone(),
            target: req.target.clone(),
            bearer: req.bearer.clone(),
            body: req.body.clone(),
            status,
        });
        (status, body.to_string())
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        409 => "Conflict",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let reply = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = conn.write_all(reply.as_bytes());
}

fn job_json(j: &FakeJob) -> Value {
    let mut v = json!({
        "jobId": j.id,
        "status": j.status,
        "jobType": "sync",
        "startTime": iso(j.started_ms),
        "connectionId": j.connection,
        "lastUpdatedAt": iso(j.started_ms + j.duration_ms.unwrap_or(0)),
    });
    if let Some(d) = j.duration_ms {
        v["duration"] = json!(iso_duration(d));
    }
    if let Some(r) = j.rows {
        v["rowsSynced"] = json!(r);
    }
    if let Some(b) = j.bytes {
        v["bytesSynced"] = json!(b);
    }
    v
}

fn query(target: &str) -> (String, HashMap<String, String>) {
    let (path, q) = target.split_once('?').unwrap_or((target, ""));
    let params = q
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect();
    (path.to_string(), params)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        if b[i] == b'%'
            && let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn answer(req: &Req, opts: &Options, st: &mut State) -> (u16, Value) {
    let now = now_ms();
    // Jobs started through the API end by themselves.
    for j in st.jobs.iter_mut() {
        if let Some(end) = j.ends_ms
            && now >= end
            && j.status == "running"
        {
            j.status = "succeeded".into();
            j.duration_ms = Some(end - j.started_ms);
            j.rows = Some(20);
            j.bytes = Some(2_048);
        }
        if j.status == "running" {
            j.duration_ms = Some(now - j.started_ms);
        }
    }
    let (path, params) = query(&req.target);
    if req.method == "POST" && path == format!("{PREFIX}/applications/token") {
        let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
        let ok = body["client_id"] == opts.client_id.as_str()
            && body["client_secret"] == opts.client_secret.as_str()
            && body["grant-type"] == "client_credentials";
        if !ok {
            return problem(401, "unauthorized", "Invalid client credentials");
        }
        st.issued += 1;
        let token = format!("token-{}", st.issued);
        st.tokens
            .insert(token.clone(), now + opts.token_lifetime_s * 1000);
        return (
            200,
            json!({"access_token": token, "token_type": "Bearer", "expires_in": opts.token_lifetime_s}),
        );
    }
    let authorized = req
        .bearer
        .as_ref()
        .and_then(|t| st.tokens.get(t))
        .is_some_and(|until| *until > now);
    if !authorized {
        return problem(
            401,
            "unauthorized",
            "The access token is missing, invalid or expired",
        );
    }
    if let Some((status, n)) = st.failing {
        st.failing = (n > 1).then_some((status, n - 1));
        return problem(
            status,
            "internal-server-error",
            "Something went wrong in the Airbyte server",
        );
    }
    let known = |id: &str| opts.connections.iter().find(|(c, _)| c == id);
    let conn_json = |(id, name): &(String, String)| {
        json!({
            "connectionId": id, "name": name, "sourceId": "s", "destinationId": "d",
            "workspaceId": "w", "status": "active", "schedule": {"scheduleType": "manual"},
        })
    };
    if req.method == "GET" && path == format!("{PREFIX}/connections") {
        let limit: usize = params
            .get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        let offset: usize = params
            .get("offset")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = opts
            .connections
            .iter()
            .skip(offset)
            .take(limit)
            .map(conn_json)
            .collect();
        let mut v = json!({"data": page, "previous": ""});
        if offset + limit < opts.connections.len() {
            v["next"] = json!(format!(
                "{PREFIX}/connections?limit={limit}&offset={}",
                offset + limit
            ));
        }
        return (200, v);
    }
    if let Some(id) = path.strip_prefix(&format!("{PREFIX}/connections/")) {
        return match known(id) {
            Some(c) => (200, conn_json(c)),
            None => problem(
                404,
                "resource-not-found",
                &format!("Could not find connection with id: {id}"),
            ),
        };
    }
    if path == format!("{PREFIX}/jobs") && req.method == "GET" {
        let id = params.get("connectionId").cloned().unwrap_or_default();
        if known(&id).is_none() {
            return problem(
                404,
                "resource-not-found",
                &format!("Could not find connection with id: {id}"),
            );
        }
        let limit: usize = params
            .get("limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20);
        let mut jobs: Vec<&FakeJob> = st.jobs.iter().filter(|j| j.connection == id).collect();
        jobs.sort_by_key(|j| std::cmp::Reverse(j.started_ms));
        let data: Vec<Value> = jobs.into_iter().take(limit).map(job_json).collect();
        return (200, json!({"data": data, "previous": "", "next": ""}));
    }
    if path == format!("{PREFIX}/jobs") && req.method == "POST" {
        let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
        let id = body["connectionId"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if known(&id).is_none() {
            return problem(
                404,
                "resource-not-found",
                &format!("Could not find connection with id: {id}"),
            );
        }
        if body["jobType"] != "sync" {
            return problem(400, "bad-request", "jobType must be sync or reset");
        }
        if st
            .jobs
            .iter()
            .any(|j| j.connection == id && j.status == "running")
        {
            return problem(
                409,
                "conflict",
                "A sync is already running for this connection",
            );
        }
        st.next_job += 1;
        let job = FakeJob {
            id: st.next_job,
            connection: id,
            status: "running".into(),
            started_ms: now,
            ends_ms: Some(now + opts.job_runs_for.as_millis() as i64),
            duration_ms: Some(0),
            rows: None,
            bytes: None,
        };
        let v = job_json(&job);
        st.jobs.push(job);
        return (200, v);
    }
    problem(404, "not-found", &format!("no route {} {path}", req.method))
}
