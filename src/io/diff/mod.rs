//! The diff driver: two sessions, each side read in one `REPEATABLE READ READ ONLY`
//! snapshot, the same query sent to both sides at once at every step, the plan of
//! [`crate::logic::diff::plan`] deciding where to descend. Rows found different are read again once
//! the slot's consumer has confirmed the source's position, and those that then match
//! are reported as in flight rather than drift. Never writes.

use crate::model::side::Side;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::{Duration, Instant};

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::config::Settings;
use crate::io::pg::{self, PgError, Session};
use crate::logic::diff::plan::{self, Key, Range, RowSets, Sums};
use crate::logic::diff::sql::{self, Shape};
use crate::logic::diff::{
    DiffError, DiffKind, DiffStats, Phase, Progress, ProgressFn, Recheck, RowDiff, TableDiff,
};
use crate::logic::mapping::Mapping;

/// Tuning of a diff. The defaults suit tables from empty to tens of millions of rows.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Rows per segment aimed at when cutting.
    pub segment_rows: u64,
    /// Most segments the first cut makes, and most segments compared by one query.
    pub max_segments: usize,
    /// Most parts a differing segment is cut into below the first level.
    pub fanout: usize,
    /// A differing segment with at most this many rows (on its fuller side) is compared
    /// row by row instead of being cut again.
    pub fetch_rows: u64,
    /// Levels of cutting before every differing segment is compared row by row.
    pub max_levels: u32,
    /// Above this estimate, the first cut of a table whose key is not a single integer
    /// is placed from a sample of its pages rather than from every key.
    pub sample_above_rows: i64,
    /// Read the differing rows again after replication caught up.
    pub recheck: bool,
    /// Longest wait for the slot's consumer to confirm the source's position.
    pub catch_up_limit: Duration,
    /// Wait before the re-check when there is no slot to watch.
    pub wait_without_slot: Duration,
    /// More differing rows than this are reported without a re-check.
    pub recheck_max_rows: usize,
    /// Bound on each statement of the diff (the sessions' own bound is for polls).
    pub statement_timeout: Duration,
    /// A transaction horizon (64-bit xid) the consumer is known to have read past, from
    /// a monitor that watched its syncs ([`crate::logic::syncs::Syncs::read_horizon`]):
    /// rows written before it are judged even before the slot confirms them (Airbyte
    /// confirms a sync's position only when the next one starts).
    pub read_horizon: Option<u64>,
    /// The source table's insert + delete counter at a poll where the consumer had
    /// passed the table's last change (from a monitor). While the counter still reads
    /// that, no row was deleted since: rows only on the destination are drift, not
    /// deletes on their way. Without it they wait as pending while the consumer is behind.
    pub settled_modifications: Option<i64>,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            segment_rows: 1000,
            max_segments: 4096,
            // Cutting a 1000-row segment into 16 parts of about 64 rows costs one more
            // query over rows the server has just read; reading 1000 rows per side and
            // difference instead costs far more on the wire and in the client.
            fanout: 32,
            fetch_rows: 64,
            max_levels: 24,
            sample_above_rows: 200_000,
            recheck: true,
            catch_up_limit: Duration::from_secs(30),
            wait_without_slot: Duration::from_secs(2),
            recheck_max_rows: 100_000,
            statement_timeout: Duration::from_secs(600),
            read_horizon: None,
            settled_modifications: None,
        }
    }
}

/// A session on each side.
pub struct Sides {
    pub source: Session,
    pub dest: Session,
}

/// Opens both sessions at once.
pub async fn connect(settings: &Settings) -> Result<Sides, DiffError> {
    let t = settings.statement_timeout;
    let (s, d) = tokio::join!(
        pg::connect(&settings.source, t),
        pg::connect(&settings.dest, t)
    );
    let err = |side, ep: &crate::config::Endpoint, error| DiffError::Connect {
        side,
        endpoint: ep.to_string(),
        error,
    };
    Ok(Sides {
        source: s.map_err(|e| err(Side::Source, &settings.source, e))?,
        dest: d.map_err(|e| err(Side::Dest, &settings.dest, e))?,
    })
}

/// Airbyte's raw table for a source table, when that is all the destination has.
async fn raw_only(
    dst: &tokio_postgres::Client,
    settings: &Settings,
    schema: &str,
    table: &str,
) -> Option<(String, String)> {
    let (rs, rt) = Mapping::new(settings).raw_of(&(schema.to_string(), table.to_string()))?;
    pg::catalog::describe_table(dst, &rs, &rt).await.ok()??;
    Some((rs, rt))
}

/// Connects and diffs one table: what the TUI spawns for the selected table.
pub async fn diff_table(
    settings: &Settings,
    schema: &str,
    table: &str,
    opts: &DiffOptions,
    progress: Option<ProgressFn>,
) -> Result<TableDiff, DiffError> {
    let mut reporter = Reporter::new(progress);
    reporter.phase(Phase::Connecting);
    let sides = connect(settings).await?;
    diff_table_with(&sides, settings, schema, table, opts, reporter.f.clone()).await
}

/// The tables `diff` covers by default: the publication's, or when there is no such
/// publication, every table of the watched schema (read on the source).
pub async fn tables_to_diff(
    sides: &Sides,
    settings: &Settings,
) -> Result<Vec<(String, String)>, DiffError> {
    let c = &sides.source.client;
    let qe = |error| DiffError::Query {
        side: Side::Source,
        error,
    };
    let publication = pg::catalog::publication(c, sides.source.version_num, &settings.publication)
        .await
        .map_err(qe)?;
    if let Some(p) = publication {
        return Ok(p.tables.into_iter().map(|t| (t.schema, t.name)).collect());
    }
    Ok(pg::catalog::tables(c, &settings.schema, &[])
        .await
        .map_err(qe)?
        .into_iter()
        .map(|t| (t.schema, t.name))
        .collect())
}

/// Diffs one table over open sessions (the sessions are left outside any transaction).
pub async fn diff_table_with(
    sides: &Sides,
    settings: &Settings,
    schema: &str,
    table: &str,
    opts: &DiffOptions,
    progress: Option<ProgressFn>,
) -> Result<TableDiff, DiffError> {
    let mut reporter = Reporter::new(progress);
    let (src, dst) = (&sides.source.client, &sides.dest.client);
    let result = run(src, dst, settings, schema, table, opts, &mut reporter).await;
    if result.is_err() {
        // A failed statement leaves its transaction aborted: end it so the sessions can
        // serve the next table.
        let _ = tokio::join!(src.batch_execute("ROLLBACK"), dst.batch_execute("ROLLBACK"));
    }
    reporter.phase(Phase::Done);
    result
}

/// Sends [`Progress`] to the caller's function, if any.
struct Reporter {
    f: Option<ProgressFn>,
    p: Progress,
}

impl Reporter {
    fn new(f: Option<ProgressFn>) -> Self {
        Reporter {
            f,
            p: Progress {
                phase: Phase::Connecting,
                segments_done: 0,
                segments_total: 0,
                rows_fetched: 0,
            },
        }
    }
    fn send(&self) {
        if let Some(f) = &self.f {
            f(&self.p);
        }
    }
    fn phase(&mut self, phase: Phase) {
        self.p.phase = phase;
        self.send();
    }
}

fn on(side: Side) -> impl Fn(PgError) -> DiffError {
    move |error| DiffError::Query { side, error }
}

/// Runs the same kind of request on both sides at once.
async fn both<T, A, B>(a: A, b: B) -> Result<(T, T), DiffError>
where
    A: Future<Output = Result<T, PgError>>,
    B: Future<Output = Result<T, PgError>>,
{
    let (a, b) = tokio::join!(a, b);
    Ok((a.map_err(on(Side::Source))?, b.map_err(on(Side::Dest))?))
}

async fn rows(
    c: &Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, PgError> {
    c.query(sql, params)
        .await
        .map_err(|e| PgError::from_query(&e))
}

/// Starts the read-only snapshot transaction of one side.
async fn begin(c: &Client, opts: &DiffOptions) -> Result<(), PgError> {
    c.batch_execute(&format!(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; {}; SET LOCAL statement_timeout = {}",
        sql::SESSION_SETUP,
        opts.statement_timeout.as_millis().max(1)
    ))
    .await
    .map_err(|e| PgError::from_query(&e))
}

async fn commit(c: &Client) -> Result<(), PgError> {
    c.batch_execute("COMMIT")
        .await
        .map_err(|e| PgError::from_query(&e))
}

/// The source's WAL position, read as the snapshot's first statement so that every
/// transaction the snapshot sees ends at or before it. The insert position, not the
/// flush position: with `synchronous_commit = off` a commit is visible before its WAL
/// is flushed.
async fn snapshot_lsn(c: &Client) -> Result<Option<String>, PgError> {
    let r = rows(
        c,
        "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text
                     ELSE pg_current_wal_insert_lsn()::text END",
        &[],
    )
    .await?;
    Ok(r.first().and_then(|r| r.get(0)))
}

async fn run(
    src: &Client,
    dst: &Client,
    settings: &Settings,
    schema: &str,
    table: &str,
    opts: &DiffOptions,
    rep: &mut Reporter,
) -> Result<TableDiff, DiffError> {
    let started = Instant::now();
    rep.phase(Phase::Planning);
    both(begin(src, opts), begin(dst, opts)).await?;
    let lsn = snapshot_lsn(src).await.map_err(on(Side::Source))?;
    // The destination's snapshot is its first statement: taken right after the source's.
    // The destination's table is where the consumer writes the source's.
    let (dest_schema, dest_table) =
        Mapping::new(settings).dest_of(&(schema.to_string(), table.to_string()));
    let (sd, dd) = both(
        pg::catalog::describe_table(src, schema, table),
        pg::catalog::describe_table(dst, &dest_schema, &dest_table),
    )
    .await?;
    let qualified = format!("{schema}.{table}");
    let raw = match (&sd, &dd) {
        (Some(_), None) => raw_only(dst, settings, schema, table).await,
        _ => None,
    };
    let (sd, dd) = match (sd, dd) {
        (Some(s), Some(d)) => (s, d),
        _ if raw.is_some() => {
            let _ = tokio::join!(commit(src), commit(dst));
            let (rs, rt) = raw.unwrap_or_default();
            return Err(DiffError::RawOnly {
                table: qualified,
                raw: format!("{rs}.{rt}"),
            });
        }
        (s, d) => {
            let _ = tokio::join!(commit(src), commit(dst));
            return Err(DiffError::Missing {
                table: qualified,
                present_on: match (s.is_some(), d.is_some()) {
                    (true, _) => Some(Side::Source),
                    (_, true) => Some(Side::Dest),
                    _ => None,
                },
            });
        }
    };
    let Ok((shape, notes)) = sql::build_shape(
        (schema, table),
        (&dest_schema, &dest_table),
        &sd,
        &dd,
        &Mapping::new(settings),
    ) else {
        let _ = tokio::join!(commit(src), commit(dst));
        return Err(DiffError::NoCommonColumns { table: qualified });
    };
    let mut stats = DiffStats::default();
    let estimate = sd.estimate.max(dd.estimate).max(0) as u64;
    let mut out = TableDiff {
        schema: schema.to_string(),
        table: table.to_string(),
        key_columns: shape.key.iter().map(|k| k.name.clone()).collect(),
        key_integer: shape.int_cols(),
        compared_columns: shape.column_names(),
        source_rows: 0,
        dest_rows: 0,
        missing: Vec::new(),
        extra: Vec::new(),
        changed: Vec::new(),
        in_flight: Vec::new(),
        pending: Vec::new(),
        recheck: None,
        notes,
        stats: DiffStats::default(),
    };

    if shape.key.is_empty() {
        let (counts, (missing, extra)) =
            compare_bags(src, dst, &shape, estimate, opts, rep, &mut stats).await?;
        (out.source_rows, out.dest_rows) = counts;
        both(commit(src), commit(dst)).await?;
        let found = missing.len() + extra.len();
        let (missing, extra) = if opts.recheck && found > 0 && found <= opts.recheck_max_rows {
            let rc = wait_for_catch_up(src, settings, lsn.clone(), opts, rep).await;
            out.recheck = Some(rc);
            rep.phase(Phase::Rechecking);
            let (m2, e2) = recheck_bags(src, dst, &shape, &missing, &extra, opts).await?;
            let still: HashSet<&String> = m2.iter().chain(e2.iter()).map(|(r, _)| r).collect();
            for (kind, list) in [(DiffKind::Missing, &missing), (DiffKind::Extra, &extra)] {
                for (row, n) in list.iter().filter(|(r, _)| !still.contains(r)) {
                    out.in_flight.push(bag_row(kind, row, *n));
                }
            }
            (m2, e2)
        } else {
            (missing, extra)
        };
        out.missing = missing
            .iter()
            .map(|(r, n)| bag_row(DiffKind::Missing, r, *n))
            .collect();
        out.extra = extra
            .iter()
            .map(|(r, n)| bag_row(DiffKind::Extra, r, *n))
            .collect();
    } else {
        let (counts, sets) =
            compare_keyed(src, dst, &shape, estimate, opts, rep, &mut stats).await?;
        (out.source_rows, out.dest_rows) = counts;
        let recheck = opts.recheck && !sets.is_empty() && sets.len() <= opts.recheck_max_rows;
        let final_sets = if recheck {
            both(commit(src), commit(dst)).await?;
            let rc = wait_for_catch_up(src, settings, lsn.clone(), opts, rep).await;
            out.recheck = Some(rc);
            rep.phase(Phase::Rechecking);
            both(begin(src, opts), begin(dst, opts)).await?;
            let keys: Vec<Key> = sets.keys().cloned().collect();
            let (s, d) = both(
                keyed_hashes(src, &shape, Side::Source, &keys),
                keyed_hashes(dst, &shape, Side::Dest, &keys),
            )
            .await?;
            let now = plan::compare_rows(s, d, &shape.int_cols());
            let still: HashSet<&Key> = now.keys().collect();
            for (kind, list) in [
                (DiffKind::Missing, &sets.missing),
                (DiffKind::Extra, &sets.extra),
                (DiffKind::Changed, &sets.changed),
            ] {
                for k in list.iter().filter(|k| !still.contains(k)) {
                    out.in_flight.push(keyed_row(kind, k.clone(), Vec::new()));
                }
            }
            now
        } else {
            sets
        };
        // Changed columns are read in the snapshot that last classified the rows.
        let columns = changed_columns(src, dst, &shape, &final_sets.changed).await?;
        both(commit(src), commit(dst)).await?;
        out.missing = final_sets
            .missing
            .into_iter()
            .map(|k| keyed_row(DiffKind::Missing, k, Vec::new()))
            .collect();
        out.extra = final_sets
            .extra
            .into_iter()
            .map(|k| keyed_row(DiffKind::Extra, k, Vec::new()))
            .collect();
        out.changed = final_sets
            .changed
            .into_iter()
            .zip(columns)
            .map(|(k, c)| keyed_row(DiffKind::Changed, k, c))
            .collect();
        if opts.recheck && out.recheck.is_none() && out.is_different() {
            // Too many rows to re-check: still, rows an idle consumer has not read are
            // not drift.
            out.recheck = Some(wait_for_catch_up(src, settings, lsn, &no_wait(opts), rep).await);
        }
        hold_back_unread(src, settings, opts, &shape, &mut out).await?;
    }
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    out.stats = stats;
    Ok(out)
}

fn keyed_row(kind: DiffKind, key: Key, columns: Vec<String>) -> RowDiff {
    RowDiff {
        kind,
        key,
        columns,
        count: 1,
    }
}

fn bag_row(kind: DiffKind, row: &str, count: i64) -> RowDiff {
    RowDiff {
        kind,
        key: vec![row.to_string()],
        columns: Vec::new(),
        count,
    }
}

/// Per 1-based segment index: count and hash.
fn read_sums(rows: &[tokio_postgres::Row], one_based: bool) -> HashMap<usize, Sums> {
    rows.iter()
        .filter_map(|r| {
            let b: i64 = if one_based {
                i64::from(r.get::<_, i32>(0)) - 1
            } else {
                r.get::<_, i64>(0)
            };
            let sums = Sums {
                count: r.get(1),
                hash: r.get::<_, Option<String>>(2).unwrap_or_default(),
            };
            usize::try_from(b).ok().map(|b| (b, sums))
        })
        .collect()
}

/// Sums of every range, `chunk` ranges per query at most (keeps the SQL bounded).
async fn aggregate(
    c: &Client,
    shape: &Shape,
    side: Side,
    ranges: &[Range],
    chunk: usize,
) -> Result<HashMap<usize, Sums>, PgError> {
    let mut out = HashMap::new();
    for (n, part) in ranges.chunks(chunk.max(1)).enumerate() {
        let (sql, starts) = shape.aggregate_sql(side, part);
        let r = match &starts {
            sql::Bounds::Ints(s) => rows(c, &sql, &[s]).await?,
            sql::Bounds::Texts(s) => rows(c, &sql, &[s]).await?,
            sql::Bounds::None => rows(c, &sql, &[]).await?,
        };
        let base = n * chunk.max(1);
        out.extend(read_sums(&r, true).into_iter().map(|(i, s)| (base + i, s)));
    }
    Ok(out)
}

fn read_key(r: &tokio_postgres::Row, n: usize) -> Key {
    (0..n)
        .map(|i| r.get::<_, Option<String>>(i).unwrap_or_default())
        .collect()
}

/// `(key, row hash)` of every row of `ranges`, in batches that keep the SQL short.
async fn row_hashes(
    c: &Client,
    shape: &Shape,
    side: Side,
    ranges: &[Range],
) -> Result<Vec<(Key, i64)>, PgError> {
    let n = shape.key.len();
    let mut out = Vec::new();
    for chunk in ranges.chunks(256) {
        for r in rows(c, &shape.row_hashes_sql(side, chunk), &[]).await? {
            out.push((read_key(&r, n), r.get(n)));
        }
    }
    Ok(out)
}

/// One `text[]` per key column, from keys.
fn key_arrays(shape: &Shape, keys: &[Key]) -> Vec<Vec<String>> {
    (0..shape.key.len())
        .map(|i| keys.iter().map(|k| k[i].clone()).collect())
        .collect()
}

/// Runs `sql` with `keys` bound as one `text[]` per key column, in chunks small enough
/// for one statement, handing every row it returns to `each`.
async fn for_keyed_rows(
    c: &Client,
    shape: &Shape,
    sql: &str,
    keys: &[Key],
    mut each: impl FnMut(tokio_postgres::Row),
) -> Result<(), PgError> {
    for chunk in keys.chunks(10_000) {
        let arrays = key_arrays(shape, chunk);
        let params: Vec<&(dyn ToSql + Sync)> =
            arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        for r in rows(c, sql, &params).await? {
            each(r);
        }
    }
    Ok(())
}

async fn keyed_hashes(
    c: &Client,
    shape: &Shape,
    side: Side,
    keys: &[Key],
) -> Result<Vec<(Key, i64)>, PgError> {
    let n = shape.key.len();
    let mut out = Vec::new();
    for_keyed_rows(c, shape, &shape.keyed_hashes_sql(side), keys, |r| {
        out.push((read_key(&r, n), r.get(n)));
    })
    .await?;
    Ok(out)
}

/// The compared columns' hashes for `keys` (NULL as `None`).
async fn keyed_column_hashes(
    c: &Client,
    shape: &Shape,
    side: Side,
    keys: &[Key],
) -> Result<HashMap<Key, Vec<Option<i64>>>, PgError> {
    let n = shape.key.len();
    let compared = shape.compared.len();
    let mut out = HashMap::new();
    for_keyed_rows(c, shape, &shape.keyed_column_hashes_sql(side), keys, |r| {
        let hashes = (n..n + compared).map(|i| r.get(i)).collect();
        out.insert(read_key(&r, n), hashes);
    })
    .await?;
    Ok(out)
}

/// The names of the changed columns of each changed key, in `keys` order.
async fn changed_columns(
    src: &Client,
    dst: &Client,
    shape: &Shape,
    keys: &[Key],
) -> Result<Vec<Vec<String>>, DiffError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (s, d) = both(
        keyed_column_hashes(src, shape, Side::Source, keys),
        keyed_column_hashes(dst, shape, Side::Dest, keys),
    )
    .await?;
    let names = shape.column_names();
    Ok(keys
        .iter()
        .map(|k| match (s.get(k), d.get(k)) {
            (Some(a), Some(b)) => plan::changed_columns(&names, a, b),
            _ => Vec::new(),
        })
        .collect())
}

/// The first cut of a keyed table: integer ranges between both sides' extremes, or key
/// ranges placed from the fuller side's keys (all of them, or a sample of pages).
async fn first_cut(
    src: &Client,
    dst: &Client,
    shape: &Shape,
    estimate: u64,
    opts: &DiffOptions,
) -> Result<Vec<Range>, DiffError> {
    let parts = plan::segment_count(estimate, opts.segment_rows, opts.max_segments);
    if shape.int_key() {
        let (s, d) = both(
            rows(src, &shape.min_max_sql(Side::Source), &[]),
            rows(dst, &shape.min_max_sql(Side::Dest), &[]),
        )
        .await?;
        let ext = |r: &[tokio_postgres::Row]| {
            r.first()
                .map(|r| (r.get::<_, Option<i64>>(0), r.get::<_, Option<i64>>(1)))
                .unwrap_or((None, None))
        };
        let ((smin, smax), (dmin, dmax)) = (ext(&s), ext(&d));
        let lo = [smin, dmin].into_iter().flatten().min();
        let hi = [smax, dmax].into_iter().flatten().max();
        return Ok(match (lo, hi) {
            (Some(lo), Some(hi)) => plan::split_int(lo, hi, parts),
            _ => Vec::new(),
        });
    }
    if parts <= 1 {
        return Ok(vec![Range::everything()]);
    }
    let n = shape.key.len();
    if estimate as i64 > opts.sample_above_rows {
        // About 20 sampled keys per segment place the cuts well enough; sizes are
        // evened out by the descent anyway.
        let percent = (100.0 * (parts as f64 * 20.0) / estimate as f64).clamp(0.0001, 100.0);
        let r = rows(src, &shape.sample_sql(Side::Source, percent), &[])
            .await
            .map_err(on(Side::Source))?;
        let sample: Vec<Key> = r.iter().map(|r| read_key(r, n)).collect();
        let points = plan::cut_points(&sample, parts);
        return Ok(plan::split_at(None, None, points));
    }
    let every = estimate.div_ceil(parts as u64).max(1);
    let all = Range::everything();
    let r = rows(
        src,
        &shape.split_points_sql(Side::Source, &[(0, &all, every)]),
        &[],
    )
    .await
    .map_err(on(Side::Source))?;
    let points: Vec<Key> = r.iter().map(|r| read_key_at(r, 1, n)).collect();
    Ok(plan::split_at(None, None, points))
}

fn read_key_at(r: &tokio_postgres::Row, from: usize, n: usize) -> Key {
    (from..from + n)
        .map(|i| r.get::<_, Option<String>>(i).unwrap_or_default())
        .collect()
}

/// Cuts each segment to split (in order) into parts; the ones that cannot be cut are
/// returned to be fetched.
async fn next_cut(
    src: &Client,
    dst: &Client,
    shape: &Shape,
    split: Vec<(Range, u64, Side)>,
    opts: &DiffOptions,
) -> Result<(Vec<Range>, Vec<Range>), DiffError> {
    let mut parts: Vec<Option<Vec<Range>>> = vec![None; split.len()];
    let mut by_side: HashMap<Side, Vec<(usize, &Range, u64)>> = HashMap::new();
    for (i, (r, rows_in, side)) in split.iter().enumerate() {
        let n = (rows_in.div_ceil(opts.fetch_rows.max(1)) as usize).clamp(2, opts.fanout.max(2));
        match r {
            Range::Int { lo, hi } => parts[i] = Some(plan::split_int(*lo, *hi, n)),
            Range::Keys { .. } => {
                by_side
                    .entry(*side)
                    .or_default()
                    .push((i, r, rows_in.div_ceil(n as u64).max(1)))
            }
        }
    }
    let empty = Vec::new();
    let (s_list, d_list) = (
        by_side.get(&Side::Source).unwrap_or(&empty),
        by_side.get(&Side::Dest).unwrap_or(&empty),
    );
    let (s_points, d_points) = both(
        split_points(src, shape, Side::Source, s_list),
        split_points(dst, shape, Side::Dest, d_list),
    )
    .await?;
    let mut points: HashMap<usize, Vec<Key>> = s_points;
    points.extend(d_points);
    let mut next = Vec::new();
    let mut fetch = Vec::new();
    for (i, (r, _, _)) in split.into_iter().enumerate() {
        if let Some(p) = parts[i].take() {
            next.extend(p);
            continue;
        }
        let Range::Keys { lo, hi } = r.clone() else {
            continue;
        };
        match points.remove(&i) {
            Some(p) if !p.is_empty() => next.extend(plan::split_at(lo, hi, p)),
            _ => fetch.push(r),
        }
    }
    Ok((next, fetch))
}

async fn split_points(
    c: &Client,
    shape: &Shape,
    side: Side,
    segments: &[(usize, &Range, u64)],
) -> Result<HashMap<usize, Vec<Key>>, PgError> {
    let n = shape.key.len();
    let mut out: HashMap<usize, Vec<Key>> = HashMap::new();
    for chunk in segments.chunks(64) {
        for r in rows(c, &shape.split_points_sql(side, chunk), &[]).await? {
            let seg: i32 = r.get(0);
            out.entry(seg as usize)
                .or_default()
                .push(read_key_at(&r, 1, n));
        }
    }
    Ok(out)
}

/// Segments, descent, then rows: the keys that differ in the snapshots, and both sides'
/// row counts.
async fn compare_keyed(
    src: &Client,
    dst: &Client,
    shape: &Shape,
    estimate: u64,
    opts: &DiffOptions,
    rep: &mut Reporter,
    stats: &mut DiffStats,
) -> Result<((i64, i64), RowSets), DiffError> {
    let mut ranges = first_cut(src, dst, shape, estimate, opts).await?;
    let mut fetch: Vec<Range> = Vec::new();
    let mut counts = (0, 0);
    let mut level = 0u32;
    while !ranges.is_empty() {
        rep.p.segments_total += ranges.len() as u64;
        rep.phase(Phase::Segments { level });
        let (s, d) = both(
            aggregate(src, shape, Side::Source, &ranges, opts.max_segments),
            aggregate(dst, shape, Side::Dest, &ranges, opts.max_segments),
        )
        .await?;
        if level == 0 {
            counts = (
                s.values().map(|x| x.count).sum(),
                d.values().map(|x| x.count).sum(),
            );
        }
        let t = plan::triage(
            &ranges,
            &s,
            &d,
            opts.fetch_rows,
            level + 1 < opts.max_levels,
        );
        stats.levels = level + 1;
        stats.segments += ranges.len() as u64;
        stats.segments_equal += t.equal as u64;
        rep.p.segments_done += ranges.len() as u64;
        rep.send();
        fetch.extend(t.fetch);
        let (next, unsplittable) = next_cut(src, dst, shape, t.split, opts).await?;
        fetch.extend(unsplittable);
        ranges = next;
        level += 1;
    }
    if fetch.is_empty() {
        return Ok((counts, RowSets::default()));
    }
    rep.phase(Phase::Rows);
    let (s, d) = both(
        row_hashes(src, shape, Side::Source, &fetch),
        row_hashes(dst, shape, Side::Dest, &fetch),
    )
    .await?;
    stats.rows_fetched += (s.len() + d.len()) as u64;
    rep.p.rows_fetched = stats.rows_fetched;
    rep.send();
    Ok((counts, plan::compare_rows(s, d, &shape.int_cols())))
}

/// Tables without a key: rows bucketed by hash; the buckets that differ are read as
/// multisets of rows.
async fn compare_bags(
    src: &Client,
    dst: &Client,
    shape: &Shape,
    estimate: u64,
    opts: &DiffOptions,
    rep: &mut Reporter,
    stats: &mut DiffStats,
) -> Result<((i64, i64), (plan::Multiset, plan::Multiset)), DiffError> {
    let buckets = (plan::segment_count(estimate, opts.segment_rows, opts.max_segments) as u64)
        .next_power_of_two();
    rep.p.segments_total += buckets;
    rep.phase(Phase::Segments { level: 0 });
    let (s, d) = both(
        rows(src, &shape.bag_aggregate_sql(Side::Source, buckets), &[]),
        rows(dst, &shape.bag_aggregate_sql(Side::Dest, buckets), &[]),
    )
    .await?;
    let (s, d) = (read_sums(&s, false), read_sums(&d, false));
    let counts = (
        s.values().map(|x| x.count).sum(),
        d.values().map(|x| x.count).sum(),
    );
    let differing: Vec<i64> = (0..buckets as usize)
        .filter(|b| s.get(b) != d.get(b))
        .map(|b| b as i64)
        .collect();
    stats.levels = 1;
    stats.segments = buckets;
    stats.segments_equal = buckets - differing.len() as u64;
    rep.p.segments_done += buckets;
    rep.send();
    if differing.is_empty() {
        return Ok((counts, (Vec::new(), Vec::new())));
    }
    rep.phase(Phase::Rows);
    let bag = |r: Vec<tokio_postgres::Row>| -> plan::Multiset {
        r.iter()
            .map(|r| (r.get::<_, Option<String>>(0).unwrap_or_default(), r.get(1)))
            .collect()
    };
    let (sr, dr) = both(
        rows(
            src,
            &shape.bag_rows_sql(Side::Source, buckets),
            &[&differing],
        ),
        rows(dst, &shape.bag_rows_sql(Side::Dest, buckets), &[&differing]),
    )
    .await?;
    let (sb, db) = (bag(sr), bag(dr));
    stats.rows_fetched += (sb.len() + db.len()) as u64;
    rep.p.rows_fetched = stats.rows_fetched;
    rep.send();
    Ok((counts, plan::multiset_diff(sb, db)))
}

async fn recheck_bags(
    src: &Client,
    dst: &Client,
    shape: &Shape,
    missing: &plan::Multiset,
    extra: &plan::Multiset,
    opts: &DiffOptions,
) -> Result<(plan::Multiset, plan::Multiset), DiffError> {
    let wanted: Vec<String> = missing
        .iter()
        .chain(extra.iter())
        .map(|(r, _)| r.clone())
        .collect();
    both(begin(src, opts), begin(dst, opts)).await?;
    let (s, d) = both(
        rows(src, &shape.bag_count_sql(Side::Source), &[&wanted]),
        rows(dst, &shape.bag_count_sql(Side::Dest), &[&wanted]),
    )
    .await?;
    both(commit(src), commit(dst)).await?;
    let bag = |r: Vec<tokio_postgres::Row>| -> plan::Multiset {
        r.iter()
            .map(|r| (r.get::<_, Option<String>>(0).unwrap_or_default(), r.get(1)))
            .collect()
    };
    Ok(plan::multiset_diff(bag(s), bag(d)))
}

/// Waits (bounded) until the slot's consumer has confirmed `lsn`; without a slot to
/// watch, waits a short fixed time instead.
/// Waits, bounded, for the slot's consumer to confirm `lsn` — only while a consumer is
/// reading the slot: an Airbyte source between syncs is not, and would not move it for
/// an hour, so then the answer is given at once.
async fn wait_for_catch_up(
    src: &Client,
    settings: &Settings,
    lsn: Option<String>,
    opts: &DiffOptions,
    rep: &mut Reporter,
) -> Recheck {
    rep.phase(Phase::WaitingForReplication);
    let started = Instant::now();
    let deadline = started + opts.catch_up_limit;
    let mut caught_up = None;
    let mut consumer_active = None;
    if let Some(target) = &lsn {
        loop {
            let r = src
                .query_opt(
                    "SELECT confirmed_flush_lsn >= $2::text::pg_lsn, active
                       FROM pg_replication_slots WHERE slot_name = $1",
                    &[&settings.slot, target],
                )
                .await;
            match r {
                Ok(Some(row)) => {
                    consumer_active = row.get::<_, Option<bool>>(1);
                    match row.get::<_, Option<bool>>(0) {
                        Some(true) => {
                            caught_up = Some(true);
                            break;
                        }
                        Some(false) => caught_up = Some(false),
                        None => break,
                    }
                }
                Ok(None) | Err(_) => break,
            }
            if consumer_active == Some(false) || Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    if caught_up.is_none() {
        tokio::time::sleep(opts.wait_without_slot).await;
    }
    Recheck {
        target_lsn: lsn,
        caught_up,
        consumer_active,
        waited_ms: started.elapsed().as_millis() as u64,
    }
}

/// `opts` without waiting: one look at the slot.
fn no_wait(opts: &DiffOptions) -> DiffOptions {
    DiffOptions {
        catch_up_limit: Duration::ZERO,
        wait_without_slot: Duration::ZERO,
        ..opts.clone()
    }
}

/// Moves the rows the slot's consumer may not have read yet from drift to `pending`,
/// when it has not confirmed the diff's snapshot. A row version written by a transaction
/// older than the slot's `catalog_xmin` ended before the slot's restart point, so the
/// consumer has read it: judged. A newer one may not have been read: pending. A row only
/// on the destination may be a delete not read yet: pending.
async fn hold_back_unread(
    src: &Client,
    settings: &Settings,
    opts: &DiffOptions,
    shape: &Shape,
    out: &mut TableDiff,
) -> Result<(), DiffError> {
    let behind = out.recheck.as_ref().map(|r| r.caught_up) == Some(Some(false));
    if !behind {
        return Ok(());
    }
    // Two horizons the consumer has read past: the slot's catalog_xmin, and the one a
    // monitor saw a finished sync start after. The newer (the smaller age) says more.
    let known = opts
        .read_horizon
        .map(|h| ((h & u64::from(u32::MAX)) as u32).to_string());
    let horizon: Option<i32> = src
        .query_opt(
            "SELECT age(catalog_xmin), age($2::text::xid)
               FROM pg_replication_slots WHERE slot_name = $1",
            &[&settings.slot, &known],
        )
        .await
        .map_err(|e| DiffError::Query {
            side: Side::Source,
            error: PgError::from_query(&e),
        })?
        .and_then(|r| {
            let ages: [Option<i32>; 2] = [r.get(0), r.get(1)];
            ages.into_iter().flatten().min()
        });
    let read: HashSet<Key> = match horizon {
        None => HashSet::new(),
        Some(h) => {
            let keys: Vec<Key> = out
                .missing
                .iter()
                .chain(out.changed.iter())
                .map(|r| r.key.clone())
                .collect();
            let n = shape.key.len();
            let mut read = HashSet::new();
            for_keyed_rows(src, shape, &shape.keyed_xmin_age_sql(), &keys, |r| {
                let age: i32 = r.get(n);
                if age > h {
                    read.insert(read_key(&r, n));
                }
            })
            .await
            .map_err(on(Side::Source))?;
            read
        }
    };
    for list in [&mut out.missing, &mut out.changed] {
        let (judged, unread): (Vec<RowDiff>, Vec<RowDiff>) = std::mem::take(list)
            .into_iter()
            .partition(|r| read.contains(&r.key));
        *list = judged;
        out.pending.extend(unread);
    }
    if !extras_settled(src, shape, opts).await? {
        out.pending.append(&mut out.extra);
    }
    Ok(())
}

/// Whether the source table has seen no insert or delete since the monitor saw the
/// consumer pass its last change.
async fn extras_settled(
    src: &Client,
    shape: &Shape,
    opts: &DiffOptions,
) -> Result<bool, DiffError> {
    let Some(settled) = opts.settled_modifications else {
        return Ok(false);
    };
    let now: Option<i64> = src
        .query_one(
            &format!(
                "SELECT (pg_stat_get_tuples_inserted(c) + pg_stat_get_tuples_deleted(c))::bigint
                   FROM (SELECT {}::regclass::oid AS c) t",
                crate::logic::quote::literal(&shape.src_table)
            ),
            &[],
        )
        .await
        .map_err(|e| DiffError::Query {
            side: Side::Source,
            error: PgError::from_query(&e),
        })?
        .get(0);
    Ok(now == Some(settled))
}
