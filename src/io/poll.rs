//! Polling one side: owns its connection, reconnects with backoff, bounds every poll in
//! time, and always returns a [`SideSnapshot`] — a side that is down, stalled or refusing
//! is a state in the snapshot, never an error.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::config::{Endpoint, Engine, Settings};
use crate::io::pg::catalog;
use crate::io::pg::{self, Kind, PgError, Session};
use crate::logic::counts::{self, CountCache};
use crate::logic::mapping::Mapping;
use crate::model::side::Side;
use crate::model::snapshot::{Fetched, Reach, SideSnapshot, Snapshot, TableInfo};
use crate::model::snapshot::{RawTable, TableKey};

/// Time a poll may spend on exact counts beyond those asked for.
pub const COUNT_BUDGET: Duration = Duration::from_millis(40);
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Short enough that polling resumes within about two seconds of a server coming back.
const BACKOFF_MAX: Duration = Duration::from_millis(1500);

/// One side's poller state. Not shared: each poller task owns one.
pub struct SidePoller {
    role: Side,
    endpoint: Endpoint,
    settings: Settings,
    session: Option<Session>,
    counts: CountCache,
    failures: u32,
    next_connect: Option<Instant>,
    last_down: Option<Reach>,
}

impl SidePoller {
    pub fn new(role: Side, settings: &Settings) -> Self {
        let endpoint = role.pick(&settings.source, &settings.dest).clone();
        SidePoller {
            role,
            endpoint,
            settings: settings.clone(),
            session: None,
            counts: CountCache::default(),
            failures: 0,
            next_connect: None,
            last_down: None,
        }
    }

    /// One poll. `wanted`: tables to read besides the watched schema (the source's
    /// published tables, on the destination). `forced`: tables to count exactly now.
    pub async fn poll(&mut self, wanted: &[TableKey], forced: &HashSet<TableKey>) -> SideSnapshot {
        let endpoint = self.endpoint.to_string();
        if self.session.is_none() {
            if let Some(at) = self.next_connect
                && Instant::now() < at
            {
                let reach = self
                    .last_down
                    .clone()
                    .unwrap_or_else(|| Reach::Unreachable("reconnecting".into()));
                return SideSnapshot::down(endpoint, reach);
            }
            match self.connect().await {
                Ok(s) => {
                    self.session = Some(s);
                    self.failures = 0;
                    self.last_down = None;
                }
                Err(e) => return self.went_down(endpoint, &e),
            }
        }
        let limit = self.settings.statement_timeout + Duration::from_secs(1);
        let started = Instant::now();
        let result = tokio::time::timeout(limit, self.read_side(wanted, forced)).await;
        let elapsed = started.elapsed();
        match result {
            Ok(Ok(mut snap)) => {
                snap.poll_ms = elapsed.as_secs_f64() * 1000.0;
                snap
            }
            Ok(Err(e)) => self.went_down(endpoint, &e),
            Err(_) => {
                let e = PgError::timeout(&self.endpoint, "polling", limit.as_secs_f64());
                self.went_down(endpoint, &e)
            }
        }
    }

    /// A session whose statements wait at most a quarter of `statement_timeout` for a
    /// lock: a table locked elsewhere (ALTER TABLE, VACUUM FULL, TRUNCATE in a long
    /// transaction) then fails the one part that reads it, with the reason, instead of
    /// holding the whole poll past its limit and the side looking down.
    async fn connect(&self) -> Result<Session, PgError> {
        let session = pg::connect(&self.endpoint, self.settings.statement_timeout).await?;
        let lock_ms = (self.settings.statement_timeout / 4).as_millis().max(1);
        session
            .client
            .batch_execute(&format!("SET lock_timeout = {lock_ms}"))
            .await
            .map_err(|e| PgError::from_query(&e))?;
        Ok(session)
    }

    fn went_down(&mut self, endpoint: String, e: &PgError) -> SideSnapshot {
        self.session = None;
        self.failures = self.failures.saturating_add(1);
        let backoff = BACKOFF_START
            .saturating_mul(1 << self.failures.min(6))
            .min(BACKOFF_MAX);
        self.next_connect = Some(Instant::now() + backoff);
        let text = e.to_string();
        let reach = match e.kind {
            Kind::Timeout => Reach::Timeout(text),
            Kind::Auth | Kind::Rejected | Kind::PermissionDenied | Kind::NoDatabase => {
                Reach::Denied(text)
            }
            _ => Reach::Unreachable(text),
        };
        self.last_down = Some(reach.clone());
        SideSnapshot::down(endpoint, reach)
    }

    /// Reads every part; a connection-level failure aborts the whole side (`Err`), other
    /// failures leave that part `Denied`/`Failed` and the rest is still read.
    async fn read_side(
        &mut self,
        wanted: &[TableKey],
        forced: &HashSet<TableKey>,
    ) -> Result<SideSnapshot, PgError> {
        let session = self.session.as_ref().expect("connected above");
        let c = &session.client;
        let v = session.version_num;
        let s = &self.settings;
        let mut snap = SideSnapshot::down(self.endpoint.to_string(), Reach::Up);
        snap.version_num = Some(v);
        snap.settings = part(catalog::settings(c).await)?;
        snap.role = part(catalog::role(c).await)?;
        if let Fetched::Ok(at) = part(catalog::position(c).await)? {
            snap.current_lsn = at.written;
            snap.insert_lsn = at.inserted;
            snap.xmin_horizon = at.horizon;
        }
        snap.extensions = part(catalog::extensions(c).await)?;

        let mut keys: Vec<TableKey> = wanted.to_vec();
        if self.role == Side::Source {
            snap.slot = part(catalog::slot(c, v, &s.slot).await)?;
            snap.publication = part(catalog::publication(c, v, &s.publication).await)?;
            if let Some(Some(p)) = snap.publication.ok() {
                keys.extend(p.tables.iter().map(|t| (t.schema.clone(), t.name.clone())));
            }
        } else if s.engine == Engine::Native {
            snap.subscription = part(catalog::subscription(c, v, &s.subscription).await)?;
        }
        keys.sort();
        keys.dedup();

        let raw = match catalog::tables(c, &s.schema, &keys).await {
            Ok(t) => t,
            Err(e) if is_fatal(&e) => return Err(e),
            Err(e) => {
                snap.tables = failed(e);
                return Ok(snap);
            }
        };
        self.counts.retain_only(&raw);
        let now = Instant::now();
        let planned = self.counts.plan(&raw, forced, s.exact_count_max_rows, now);
        count_exactly(&mut self.counts, c, &planned, forced).await?;
        let fresh = if self.role == Side::Dest && s.engine == Engine::Airbyte {
            let all: Vec<&RawTable> = raw.iter().collect();
            match catalog::freshness(c, &all).await {
                Ok(f) => f.into_iter().collect(),
                Err(e) if is_fatal(&e) => return Err(e),
                // A table dropped or locked meanwhile: freshness waits for the next poll.
                Err(_) => HashMap::new(),
            }
        } else {
            HashMap::new()
        };
        // The catalog rows moved into the snapshot rather than cloned: with 10 000 tables
        // the copies of names and columns were a fifth of a poll's CPU.
        let now = Instant::now();
        let tables = raw
            .into_iter()
            .map(|t| {
                let freshness = fresh.get(&t.oid).copied();
                TableInfo {
                    freshness,
                    ..self.table_info(t, now)
                }
            })
            .collect();
        snap.tables = Fetched::Ok(tables);
        Ok(snap)
    }

    fn table_info(&self, t: RawTable, now: Instant) -> TableInfo {
        let rows = Some(self.counts.resolve(&t, now));
        let soft_delete_column = has_soft_delete(&t);
        TableInfo {
            schema: t.schema,
            name: t.name,
            replica_identity: t.replica_identity,
            has_primary_key: t.has_primary_key,
            primary_key: t.primary_key,
            unique_index: t.unique_index,
            partitioned: t.partitioned,
            columns: t.columns,
            rows,
            soft_delete_column,
            modifications: t.modifications,
            changes: t.changes,
            freshness: None,
        }
    }
}

/// Counts `planned` tables exactly, in order, within [`COUNT_BUDGET`] (forced ones
/// whatever the time), several small tables per statement. `Err` only when the
/// connection is lost.
async fn count_exactly(
    counts: &mut CountCache,
    c: &tokio_postgres::Client,
    planned: &[&RawTable],
    forced: &HashSet<TableKey>,
) -> Result<(), PgError> {
    let started = Instant::now();
    let is_forced = |t: &RawTable| !forced.is_empty() && forced.contains(&t.key());
    let over_budget = |batch: &[&RawTable]| {
        !batch.iter().any(|t| is_forced(t)) && started.elapsed() > COUNT_BUDGET
    };
    for batch in counts::batches(planned) {
        if over_budget(&batch) {
            break;
        }
        let targets: Vec<catalog::CountTarget> = batch.iter().map(|t| count_target(t)).collect();
        match catalog::count_rows_many(c, &targets).await {
            Ok(rows) => {
                let at = Instant::now();
                for (t, n) in batch.iter().zip(rows) {
                    counts.record(t, n, at);
                }
            }
            Err(e) if is_fatal(&e) => return Err(e),
            // One table gone, unreadable or altered fails the whole statement: the others
            // are counted one by one, still within the budget.
            Err(e) if batch.len() > 1 && is_about_one_table(&e) => {
                for t in &batch {
                    if over_budget(std::slice::from_ref(t)) {
                        break;
                    }
                    match catalog::count_rows_many(c, &[count_target(t)]).await {
                        Ok(rows) => counts.record(t, rows[0], Instant::now()),
                        Err(e) if is_fatal(&e) => return Err(e),
                        Err(_) => counts.refused(t, Instant::now()),
                    }
                }
            }
            Err(e) if is_about_one_table(&e) => counts.refused(batch[0], Instant::now()),
            // A lock or a statement timeout: the time is spent, the rest waits for the
            // next poll. A table counted alone that fails keeps its estimate for a while.
            Err(_) => {
                if let [t] = batch.as_slice() {
                    counts.refused(t, Instant::now());
                }
                break;
            }
        }
    }
    Ok(())
}

fn count_target(t: &RawTable) -> catalog::CountTarget<'_> {
    (t.schema.as_str(), t.name.as_str(), has_soft_delete(t))
}

/// Errors that one table of a statement causes: gone, unreadable, a column dropped.
fn is_about_one_table(e: &PgError) -> bool {
    matches!(
        e.sqlstate.as_deref(),
        Some("42P01" | "42501" | "42703" | "3F000")
    )
}

fn has_soft_delete(t: &RawTable) -> bool {
    t.columns.iter().any(|c| c.name == "_ab_cdc_deleted_at")
}

fn is_fatal(e: &PgError) -> bool {
    matches!(e.kind, Kind::Unreachable | Kind::NotReady)
}

fn failed<T>(e: PgError) -> Fetched<T> {
    if e.kind == Kind::PermissionDenied {
        Fetched::Denied(e.to_string())
    } else {
        Fetched::Failed(e.to_string())
    }
}

/// A part of the snapshot: connection-level errors propagate, others are recorded.
fn part<T>(r: Result<T, PgError>) -> Result<Fetched<T>, PgError> {
    match r {
        Ok(v) => Ok(Fetched::Ok(v)),
        Err(e) if is_fatal(&e) => Err(e),
        Err(e) => Ok(failed(e)),
    }
}

/// The tables the destination should be asked about: where the source's published and
/// watched tables land there.
pub fn wanted_on_dest(source: &SideSnapshot, mapping: &Mapping) -> Vec<TableKey> {
    let Some(tables) = source.tables.ok() else {
        return Vec::new();
    };
    let mut keys: Vec<TableKey> = tables.iter().map(|t| mapping.dest_of(&t.key())).collect();
    // Airbyte writing raw tables only keeps each table in `airbyte_internal`.
    keys.extend(tables.iter().filter_map(|t| mapping.raw_of(&t.key())));
    keys
}

/// One poll of both sides (source first, so the destination knows which tables to read).
pub async fn poll_once(settings: &Settings, forced: &HashSet<TableKey>) -> Snapshot {
    let taken_at_ms = chrono::Utc::now().timestamp_millis();
    let mut src = SidePoller::new(Side::Source, settings);
    let mut dst = SidePoller::new(Side::Dest, settings);
    let source = src.poll(&[], forced).await;
    let dest = dst
        .poll(&wanted_on_dest(&source, &Mapping::new(settings)), forced)
        .await;
    Snapshot {
        taken_at_ms,
        source,
        dest,
    }
}
