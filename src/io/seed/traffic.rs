//! Change traffic: a steady rate of inserts, updates and deletes on the source so that a
//! person can watch the sync move. Foreign keys are never violated, by construction
//! rather than by luck:
//! - an insert names its parent keys and is guarded by `EXISTS` on the parent, so a
//!   parent deleted since its key was drawn turns the insert into a no-op;
//! - a delete is guarded by `NOT EXISTS` on every child whose foreign key would refuse
//!   it (`NO ACTION`, `RESTRICT`, `SET DEFAULT`); `CASCADE` and `SET NULL` children let
//!   the server do what the schema says;
//! - updates never touch key, unique or foreign-key columns.
//!
//! Rows to update or delete are drawn from a small pool of keys sampled from the table
//! (and fed by our own inserts), so a large table is never scanned. A statement that
//! finds nothing to do is counted as skipped, not as an error.

use std::str::FromStr;
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement};

use super::copy::Cancel;
use super::run;
use crate::config::Settings;
use crate::io::pg;
use crate::logic::quote;
use crate::logic::seed::facts::TableFacts;
use crate::logic::seed::generate::Source;
use crate::logic::seed::prng::{self, Rng};
use crate::logic::seed::rows::RowGen;
use crate::logic::seed::value::{RawValue, Value};

/// Keys kept per table to pick rows to update and delete from.
const KEY_POOL: i64 = 500;
/// Refill the key pool below this.
const KEY_POOL_LOW: usize = 20;
/// How often the parent keys of inserts are re-read when inserts start finding their
/// parents gone.
const PARENT_REFRESH: Duration = Duration::from_secs(2);
/// Parent keys held per foreign key: enough variety, cheap to re-read.
const PARENT_POOL: i64 = 5_000;

/// Relative weights of inserts, updates and deletes (`--mix 60,30,10`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix {
    pub insert: u32,
    pub update: u32,
    pub delete: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            insert: 60,
            update: 30,
            delete: 10,
        }
    }
}

impl FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Mix, String> {
        let parts: Vec<&str> = s.split(',').map(str::trim).collect();
        let bad = || {
            format!(
                "bad mix `{s}`: expected three whole numbers INSERTS,UPDATES,DELETES such as 60,30,10 (weights, not all zero)"
            )
        };
        if parts.len() != 3 {
            return Err(bad());
        }
        let n: Vec<u32> = parts
            .iter()
            .map(|p| p.parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        if n.iter().all(|x| *x == 0) {
            return Err(bad());
        }
        Ok(Mix {
            insert: n[0],
            update: n[1],
            delete: n[2],
        })
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{}", self.insert, self.update, self.delete)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Insert,
    Update,
    Delete,
}

impl Mix {
    pub fn choose(&self, rng: &mut Rng) -> Op {
        let total = u64::from(self.insert) + u64::from(self.update) + u64::from(self.delete);
        let r = rng.below(total.max(1));
        if r < u64::from(self.insert) {
            Op::Insert
        } else if r < u64::from(self.insert) + u64::from(self.update) {
            Op::Update
        } else {
            Op::Delete
        }
    }
}

#[derive(Clone, Debug)]
pub struct TrafficOptions {
    /// Statements per second.
    pub rate: f64,
    pub mix: Mix,
    /// Stop by itself after this long.
    pub duration: Option<Duration>,
    /// One table of the settings' schema; else every published table (else the schema's).
    pub table: Option<String>,
    pub seed: u64,
}

impl Default for TrafficOptions {
    fn default() -> Self {
        TrafficOptions {
            rate: 10.0,
            mix: Mix::default(),
            duration: None,
            table: None,
            seed: 0x7AFF,
        }
    }
}

/// What the traffic has done so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrafficStats {
    pub inserts: u64,
    pub updates: u64,
    /// Rows deleted by our statements (not counting the server's cascades).
    pub deletes: u64,
    /// Statements that found nothing to do (a row already gone, a parent deleted since).
    pub skipped: u64,
    pub elapsed: Duration,
    pub running: bool,
    /// Why the last statement was skipped, for a log line.
    pub last_skip: Option<String>,
}

impl TrafficStats {
    pub fn changes(&self) -> u64 {
        self.inserts + self.updates + self.deletes
    }

    /// Changes per second so far.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.changes() as f64 / s
        } else {
            0.0
        }
    }
}

/// Traffic running in a task of its own. [`Traffic::stop`] (or the cancel from
/// [`Traffic::stop_handle`]) ends it after the statement under way.
pub struct Traffic {
    cancel: Cancel,
    stats: watch::Receiver<TrafficStats>,
    task: JoinHandle<Result<TrafficStats>>,
}

impl Traffic {
    /// Connects to the source, reads the tables and starts the traffic.
    pub async fn start(settings: &Settings, opts: TrafficOptions) -> Result<Traffic> {
        run::refuse_read_only(settings, "change traffic")?;
        if !(opts.rate > 0.0 && opts.rate.is_finite()) {
            bail!("the traffic rate must be a positive number of statements per second");
        }
        let timeout = settings.statement_timeout.max(Duration::from_secs(30));
        let session = pg::connect(&settings.source, timeout)
            .await
            .wrap_err_with(|| format!("connecting to the source {}", settings.source))?;
        let targets = run::choose_targets(
            &session.client,
            &settings.schema,
            &settings.publication,
            opts.table.as_deref(),
            0,
        )
        .await?;
        let facts: Vec<TableFacts> = targets.into_iter().map(|(f, _)| f).collect();
        let (tx, rx) = watch::channel(TrafficStats {
            running: true,
            ..TrafficStats::default()
        });
        let cancel = Cancel::new();
        let task_cancel = cancel.clone();
        let task = tokio::spawn(async move {
            let r = run(&session.client, &facts, &opts, &task_cancel, &tx).await;
            tx.send_modify(|s| s.running = false);
            r
        });
        Ok(Traffic {
            cancel,
            stats: rx,
            task,
        })
    }

    /// The latest counts.
    pub fn stats(&self) -> TrafficStats {
        self.stats.borrow().clone()
    }

    /// Counts as they change (e.g. for a header that shows the traffic).
    pub fn watch(&self) -> watch::Receiver<TrafficStats> {
        self.stats.clone()
    }

    /// A handle that stops the traffic when cancelled (for Ctrl-C while waiting).
    pub fn stop_handle(&self) -> Cancel {
        self.cancel.clone()
    }

    /// Ended: its duration passed, it was stopped, or it failed.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops after the statement under way and returns the final counts.
    pub async fn stop(self) -> Result<TrafficStats> {
        self.cancel.cancel();
        self.wait().await
    }

    /// Waits for the traffic to end by itself (or through its stop handle).
    pub async fn wait(self) -> Result<TrafficStats> {
        self.task
            .await
            .map_err(|e| eyre!("the traffic task ended abnormally: {e}"))?
    }
}

/// The prepared statements and the key pool for one table.
struct TableOps {
    facts: TableFacts,
    rowgen: RowGen,
    insert: Statement,
    /// The insert returns the new row's key (the table has a locator).
    returns_key: bool,
    /// With each updatable column's index in the plan.
    updates: Vec<(usize, Statement)>,
    delete: Option<Statement>,
    keys: Vec<Vec<Value>>,
    sample_keys: String,
    parents_read: Instant,
    inserted: u64,
}

/// How a row is found again: its primary key, else its physical address (tables
/// without a primary key can only change under replica identity FULL or USING INDEX,
/// and then `ctid` is as good as anything for picking a row).
fn locator(facts: &TableFacts) -> Option<Vec<(String, Type)>> {
    if !facts.primary_key.is_empty() {
        return facts
            .primary_key
            .iter()
            .map(|k| {
                let c = facts.column(k)?;
                Some((
                    quote::ident(k),
                    Type::from_oid(c.type_oid).unwrap_or_else(|| {
                        Type::new(
                            c.type_name.clone(),
                            c.type_oid,
                            tokio_postgres::types::Kind::Simple,
                            c.type_schema.clone(),
                        )
                    }),
                ))
            })
            .collect();
    }
    matches!(facts.replica_identity, 'f' | 'i').then(|| vec![("ctid".to_string(), Type::TID)])
}

impl TableOps {
    async fn prepare(c: &Client, facts: &TableFacts, seed: u64) -> Result<TableOps> {
        let rowgen = run::prepare_with_pool(c, facts, seed, PARENT_POOL).await?;
        let table = facts.qualified();
        let loc = locator(facts);
        let returning = match &loc {
            Some(cols) => {
                let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
                format!(" RETURNING {}", names.join(", "))
            }
            None => String::new(),
        };
        let insert = prepare_insert(c, &rowgen, &returning).await?;

        let mut updates = Vec::new();
        let mut delete = None;
        let mut sample_keys = String::new();
        if let Some(loc) = &loc {
            let key_types: Vec<Type> = loc.iter().map(|(_, t)| t.clone()).collect();
            let key_match = |first: usize, alias: &str| -> String {
                loc.iter()
                    .enumerate()
                    .map(|(i, (name, _))| format!("{alias}.{name} = ${}", first + i))
                    .collect::<Vec<_>>()
                    .join(" AND ")
            };
            for (i, col) in rowgen.plan.columns.iter().enumerate() {
                // Keys stay: rows are found by them, and children point at them.
                let key = facts.primary_key.contains(&col.name)
                    || facts
                        .referenced_by
                        .iter()
                        .any(|r| r.columns.contains(&col.name));
                if !col.generated() || key {
                    continue;
                }
                let sql = format!(
                    "UPDATE {table} AS x SET {} = $1 WHERE {}",
                    quote::ident(&col.name),
                    key_match(2, "x")
                );
                let mut types = vec![col.ty.clone()];
                types.extend(key_types.iter().cloned());
                let stmt = c
                    .prepare_typed(&sql, &types)
                    .await
                    .map_err(|e| pg::PgError::from_query(&e))
                    .wrap_err_with(|| format!("preparing updates of {}", facts.label()))?;
                updates.push((i, stmt));
            }
            let mut guards = String::new();
            for r in facts.referenced_by.iter().filter(|r| r.blocks_delete()) {
                let pairs: Vec<String> = r
                    .child_columns
                    .iter()
                    .zip(&r.columns)
                    .map(|(cc, pc)| format!("ch.{} = x.{}", quote::ident(cc), quote::ident(pc)))
                    .collect();
                guards.push_str(&format!(
                    " AND NOT EXISTS (SELECT 1 FROM {} ch WHERE {})",
                    quote::qualified(&r.child_schema, &r.child_table),
                    pairs.join(" AND ")
                ));
            }
            let sql = format!(
                "DELETE FROM {table} AS x WHERE {}{guards}",
                key_match(1, "x")
            );
            delete = Some(
                c.prepare_typed(&sql, &key_types)
                    .await
                    .map_err(|e| pg::PgError::from_query(&e))
                    .wrap_err_with(|| format!("preparing deletes of {}", facts.label()))?,
            );
            let names: Vec<&str> = loc.iter().map(|(n, _)| n.as_str()).collect();
            sample_keys = names.join(", ");
        }
        Ok(TableOps {
            facts: facts.clone(),
            rowgen,
            insert,
            returns_key: loc.is_some(),
            updates,
            delete,
            keys: Vec::new(),
            sample_keys,
            parents_read: Instant::now(),
            inserted: 0,
        })
    }

    /// Refills the key pool from a sample of the table: a page sample when it is big, so
    /// that a two-million-row table is not read whole.
    async fn refill(&mut self, c: &Client) -> Result<()> {
        if self.sample_keys.is_empty() {
            return Ok(());
        }
        let table = self.facts.qualified();
        let estimate: i64 = c
            .query_one(
                "SELECT greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0))
                   FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
                  WHERE c.oid = $1",
                &[&self.facts.oid],
            )
            .await
            .map_err(|e| pg::PgError::from_query(&e))?
            .get(0);
        let sql = if estimate > 20 * KEY_POOL {
            let pct = (100.0 * 4.0 * KEY_POOL as f64 / estimate as f64).min(100.0);
            format!(
                "SELECT {} FROM {table} TABLESAMPLE SYSTEM ({pct:.4}) LIMIT {KEY_POOL}",
                self.sample_keys
            )
        } else {
            format!(
                "SELECT {} FROM {table} ORDER BY random() LIMIT {KEY_POOL}",
                self.sample_keys
            )
        };
        let rows = c
            .query(&sql, &[])
            .await
            .map_err(|e| pg::PgError::from_query(&e))
            .wrap_err_with(|| format!("sampling rows of {}", self.facts.label()))?;
        self.keys = rows.iter().map(key_of).collect();
        Ok(())
    }
}

fn key_of(row: &tokio_postgres::Row) -> Vec<Value> {
    (0..row.len())
        .map(|i| Value::from(row.get::<_, RawValue>(i)))
        .collect()
}

/// `INSERT … SELECT $1, … WHERE <each parent exists>`: typed parameters, since a SELECT
/// list does not take its types from the target columns as VALUES does.
async fn prepare_insert(c: &Client, rowgen: &RowGen, returning: &str) -> Result<Statement> {
    let table = crate::logic::quote::qualified(&rowgen.plan.schema, &rowgen.plan.table);
    let plan = &rowgen.plan;
    let sql = if plan.columns.is_empty() {
        format!("INSERT INTO {table} DEFAULT VALUES{returning}")
    } else {
        let cols: Vec<String> = plan.columns.iter().map(|c| quote::ident(&c.name)).collect();
        let params: Vec<String> = (1..=plan.columns.len()).map(|i| format!("${i}")).collect();
        let mut guards = Vec::new();
        for (f, fk) in plan.foreign_keys.iter().enumerate() {
            let mut first = None;
            let pairs: Vec<String> = fk
                .fk
                .parent_columns
                .iter()
                .enumerate()
                .filter_map(|(pos, pc)| {
                    let i = plan.columns.iter().position(|c| {
                        c.source
                            == Source::ForeignKey {
                                fk: f,
                                position: pos,
                            }
                    })?;
                    first.get_or_insert(i + 1);
                    Some(format!("p.{} = ${}", quote::ident(pc), i + 1))
                })
                .collect();
            if let Some(first) = first {
                guards.push(format!(
                    "(${first} IS NULL OR EXISTS (SELECT 1 FROM {} p WHERE {}))",
                    quote::qualified(&fk.fk.parent_schema, &fk.fk.parent_table),
                    pairs.join(" AND ")
                ));
            }
        }
        let filter = if guards.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", guards.join(" AND "))
        };
        format!(
            "INSERT INTO {table} ({}) SELECT {}{filter}{returning}",
            cols.join(", "),
            params.join(", ")
        )
    };
    let types: Vec<Type> = plan.columns.iter().map(|c| c.ty.clone()).collect();
    c.prepare_typed(&sql, &types)
        .await
        .map_err(|e| pg::PgError::from_query(&e))
        .wrap_err_with(|| format!("preparing inserts into {}.{}", plan.schema, plan.table))
}

/// Inserts `n` generated rows into the generator's table, one statement each (the
/// demo's trickle). Returns how many were inserted (a vanished parent skips a row).
pub async fn insert_rows(c: &Client, rowgen: &RowGen, n: u64) -> Result<u64> {
    let stmt = prepare_insert(c, rowgen, "").await?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    let mut rng = Rng::new(prng::mix(nanos));
    let mut row = Vec::new();
    let mut done = 0;
    for i in 0..n {
        rowgen.fill(i, &mut rng, &mut row);
        let params: Vec<&(dyn ToSql + Sync)> =
            row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        done += c
            .execute(&stmt, &params)
            .await
            .map_err(|e| pg::PgError::from_query(&e))?;
    }
    Ok(done)
}

/// Whether an error means "this statement could not apply now" rather than "stop".
fn skippable(e: &tokio_postgres::Error) -> Option<String> {
    let db = e.as_db_error()?;
    match db.code().code() {
        // foreign key, unique, check, not null; serialization and deadlock.
        "23503" | "23505" | "23514" | "23502" | "40001" | "40P01" => Some(db.message().to_string()),
        _ => None,
    }
}

/// Runs traffic on `c` over `tables` until `cancel`, the duration, or an error that is
/// not about one row. Counts are sent on `stats` after every tick.
pub async fn run(
    c: &Client,
    tables: &[TableFacts],
    opts: &TrafficOptions,
    cancel: &Cancel,
    stats: &watch::Sender<TrafficStats>,
) -> Result<TrafficStats> {
    if tables.is_empty() {
        bail!("no table to send traffic to");
    }
    let mut ops = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        ops.push(TableOps::prepare(c, t, opts.seed ^ i as u64).await?);
    }
    let mut rng = Rng::new(opts.seed);
    let started = Instant::now();
    let mut s = TrafficStats {
        running: true,
        ..TrafficStats::default()
    };
    // Statements due so far follow the rate; the loop sleeps until the next is due.
    let mut issued: u64 = 0;
    loop {
        let elapsed = started.elapsed();
        if cancel.is_cancelled() || opts.duration.is_some_and(|d| elapsed >= d) {
            break;
        }
        let due = (elapsed.as_secs_f64() * opts.rate).floor() as u64 + 1;
        // After a stall, do not rush to catch up more than a second's worth.
        let backlog_cap = opts.rate.ceil() as u64;
        if due > issued + backlog_cap {
            issued = due - backlog_cap;
        }
        while issued < due && !cancel.is_cancelled() {
            issued += 1;
            let weights: Vec<u64> = ops
                .iter()
                .map(|o| o.facts.estimated_rows.max(0) as u64 + 1)
                .collect();
            let t = pick_weighted(&weights, &mut rng);
            let op = opts.mix.choose(&mut rng);
            step(c, &mut ops[t], op, &mut rng, &mut s)
                .await
                .wrap_err_with(|| format!("change traffic on {}", ops[t].facts.label()))?;
        }
        s.elapsed = started.elapsed();
        stats.send_replace(s.clone());
        let next = started + Duration::from_secs_f64(issued as f64 / opts.rate);
        let mut wake = tokio::time::Instant::from_std(next);
        if let Some(d) = opts.duration {
            wake = wake.min(tokio::time::Instant::from_std(started + d));
        }
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
    s.elapsed = started.elapsed();
    s.running = false;
    stats.send_replace(s.clone());
    Ok(s)
}

fn pick_weighted(weights: &[u64], rng: &mut Rng) -> usize {
    let total: u64 = weights.iter().sum();
    let mut r = rng.below(total.max(1));
    for (i, w) in weights.iter().enumerate() {
        if r < *w {
            return i;
        }
        r -= w;
    }
    0
}

/// One statement of kind `op` on one table.
async fn step(
    c: &Client,
    t: &mut TableOps,
    op: Op,
    rng: &mut Rng,
    s: &mut TrafficStats,
) -> Result<()> {
    if op != Op::Insert && t.delete.is_none() {
        s.skipped += 1;
        s.last_skip = Some(format!(
            "{}: no primary key (or replica identity FULL / USING INDEX) to find rows by, so only inserts",
            t.facts.label()
        ));
        return Ok(());
    }
    if matches!(op, Op::Update | Op::Delete) && t.keys.len() < KEY_POOL_LOW {
        t.refill(c).await?;
    }
    let outcome = match op {
        Op::Insert => {
            let mut row = Vec::new();
            t.rowgen.fill(t.inserted, rng, &mut row);
            t.inserted += 1;
            let params: Vec<&(dyn ToSql + Sync)> =
                row.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let result = if t.returns_key {
                c.query(&t.insert, &params)
                    .await
                    .map(|rows| (rows.len() as u64, rows.into_iter().next()))
            } else {
                c.execute(&t.insert, &params).await.map(|n| (n, None))
            };
            match result {
                Ok((0, _)) => {
                    // A parent went away since its key was drawn: read parents again.
                    if t.parents_read.elapsed() > PARENT_REFRESH {
                        let seed = rng.next_u64();
                        t.rowgen = run::prepare_with_pool(c, &t.facts, seed, PARENT_POOL).await?;
                        t.parents_read = Instant::now();
                    }
                    Err("the parent row was deleted".to_string())
                }
                Ok((_, key_row)) => {
                    if let Some(r) = key_row
                        && t.keys.len() < KEY_POOL as usize * 2
                    {
                        t.keys.push(key_of(&r));
                    }
                    s.inserts += 1;
                    t.facts.estimated_rows += 1;
                    Ok(())
                }
                Err(e) => Err(skippable(&e).ok_or_else(|| pg::PgError::from_query(&e))?),
            }
        }
        Op::Update | Op::Delete if t.keys.is_empty() => Err("the table is empty".to_string()),
        Op::Update => {
            if t.updates.is_empty() {
                Err("no column can be updated (all are keys)".to_string())
            } else {
                let k = rng.below(t.keys.len() as u64) as usize;
                let (col, stmt) = &t.updates[rng.below(t.updates.len() as u64) as usize];
                // A fresh row number keeps a new unique value apart from all others.
                let value = t.rowgen.value(*col, t.inserted, rng);
                t.inserted += 1;
                let mut params: Vec<&(dyn ToSql + Sync)> = vec![&value];
                params.extend(t.keys[k].iter().map(|v| v as &(dyn ToSql + Sync)));
                match c.execute(stmt, &params).await {
                    Ok(0) => {
                        t.keys.swap_remove(k);
                        Err("the row was deleted".to_string())
                    }
                    Ok(_) => {
                        s.updates += 1;
                        Ok(())
                    }
                    Err(e) => Err(skippable(&e).ok_or_else(|| pg::PgError::from_query(&e))?),
                }
            }
        }
        Op::Delete => {
            let k = rng.below(t.keys.len() as u64) as usize;
            let key = t.keys.swap_remove(k);
            let params: Vec<&(dyn ToSql + Sync)> =
                key.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
            let Some(stmt) = &t.delete else {
                return Ok(());
            };
            match c.execute(stmt, &params).await {
                Ok(0) => Err("the row is gone or still has children".to_string()),
                Ok(n) => {
                    s.deletes += n;
                    t.facts.estimated_rows = (t.facts.estimated_rows - n as i64).max(0);
                    Ok(())
                }
                Err(e) => Err(skippable(&e).ok_or_else(|| pg::PgError::from_query(&e))?),
            }
        }
    };
    if let Err(why) = outcome {
        s.skipped += 1;
        s.last_skip = Some(format!("{}: {why}", t.facts.label()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_explains_its_format() {
        assert_eq!(
            "70,20,10".parse::<Mix>(),
            Ok(Mix {
                insert: 70,
                update: 20,
                delete: 10
            })
        );
        assert_eq!(" 1, 0 ,0".parse::<Mix>().map(|m| m.insert), Ok(1));
        for bad in ["", "1,2", "a,b,c", "0,0,0", "1,2,3,4", "-1,2,3"] {
            let e = bad.parse::<Mix>().unwrap_err();
            assert!(e.contains("INSERTS,UPDATES,DELETES"), "{bad}: {e}");
        }
        assert_eq!(Mix::default().to_string(), "60,30,10");
    }

    #[test]
    fn mix_choice_follows_the_weights() {
        let mix = Mix {
            insert: 6,
            update: 3,
            delete: 1,
        };
        let mut rng = Rng::new(1);
        let mut n = [0u32; 3];
        for _ in 0..10_000 {
            match mix.choose(&mut rng) {
                Op::Insert => n[0] += 1,
                Op::Update => n[1] += 1,
                Op::Delete => n[2] += 1,
            }
        }
        assert!((5_700..6_300).contains(&n[0]), "{n:?}");
        assert!((2_700..3_300).contains(&n[1]), "{n:?}");
        assert!((800..1_200).contains(&n[2]), "{n:?}");
        let only_inserts = Mix {
            insert: 1,
            update: 0,
            delete: 0,
        };
        assert!((0..100).all(|_| only_inserts.choose(&mut rng) == Op::Insert));
    }

    #[test]
    fn weighted_pick_prefers_big_tables() {
        let mut rng = Rng::new(5);
        let big = (0..1_000)
            .filter(|_| pick_weighted(&[1, 19], &mut rng) == 1)
            .count();
        assert!((900..990).contains(&big), "{big}");
    }
}
