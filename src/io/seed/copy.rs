//! Writes generated rows through binary COPY (`COPY … FROM STDIN (FORMAT binary)`, each
//! value in its type's binary receive format, pgvector's included), in batches that are
//! each their own transaction: a cancelled or failed seed leaves whole batches only, and
//! says how many rows it wrote. Batches may go over several connections at once (the server then
//! checks foreign keys and updates indexes in several backends).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, eyre};
use futures_util::SinkExt;
use futures_util::future::try_join_all;
use tokio::sync::watch;
use tokio_postgres::Client;
use tokio_postgres::types::private::BytesMut;

use crate::io::pg;
use crate::logic::quote;
use crate::logic::seed::prng::{self, Rng};
use crate::logic::seed::rows::RowGen;
use crate::logic::seed::value::Value;

/// Rows per batch (one COPY, one transaction) unless told otherwise: big enough that
/// the per-batch round trips cost nothing, small enough that a cancel is quick.
pub const DEFAULT_BATCH_ROWS: u64 = 20_000;

/// A stop request shared by whoever asks (Ctrl-C, Esc, a `g` key) and whoever works.
#[derive(Clone, Debug)]
pub struct Cancel(Arc<watch::Sender<bool>>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel(Arc::new(watch::channel(false).0))
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.0.send_replace(true);
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once [`Cancel::cancel`] has been called (at once if it was already).
    pub async fn cancelled(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|c| *c).await;
    }
}

/// Where a seed of one table stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// `schema.table`.
    pub table: String,
    /// Rows committed so far (whole batches).
    pub written: u64,
    /// Rows asked for.
    pub target: u64,
    pub batches: u64,
    pub elapsed: Duration,
}

impl Progress {
    pub fn rows_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.written as f64 / s
        } else {
            0.0
        }
    }

    /// Time left at the rate so far; unknown before the first batch.
    pub fn eta(&self) -> Option<Duration> {
        let rate = self.rows_per_sec();
        (rate > 0.0).then(|| {
            Duration::from_secs_f64(self.target.saturating_sub(self.written) as f64 / rate)
        })
    }

    /// 0.0 to 1.0, for a gauge.
    pub fn fraction(&self) -> f64 {
        if self.target == 0 {
            1.0
        } else {
            (self.written as f64 / self.target as f64).min(1.0)
        }
    }
}

/// How a COPY of one table ended.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyOutcome {
    pub written: u64,
    pub batches: u64,
    pub elapsed: Duration,
    /// Stopped by a cancel before writing every row asked for.
    pub cancelled: bool,
}

#[derive(Clone, Debug)]
pub struct CopyOptions {
    pub batch_rows: u64,
    /// Seeds the PRNG: the same seed and row count give the same rows.
    pub seed: u64,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            batch_rows: DEFAULT_BATCH_ROWS,
            seed: 0x5EED,
        }
    }
}

/// What the workers of one COPY share.
struct Job<'a> {
    rowgen: &'a RowGen,
    statement: String,
    label: String,
    rows: u64,
    batch_rows: u64,
    batch_count: u64,
    stream_seed: u64,
    started: Instant,
    cancel: &'a Cancel,
    next_batch: AtomicU64,
    written: AtomicU64,
    batches: AtomicU64,
    progress: Mutex<&'a mut (dyn FnMut(&Progress) + Send)>,
}

/// Writes `rows` rows of `rowgen` through `clients` (one batch at a time per client) and
/// reports progress after every batch. A cancel lets batches under way finish, starts
/// no new one, and the outcome says how many rows were committed. On an error the
/// batches committed before it stay; the error says how many rows that was.
pub async fn copy_rows(
    clients: &[&Client],
    rowgen: &RowGen,
    rows: u64,
    opts: &CopyOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
    cancel: &Cancel,
) -> Result<CopyOutcome> {
    let label = format!("{}.{}", rowgen.plan.schema, rowgen.plan.table);
    let batch_rows = opts.batch_rows.max(1);
    let job = Job {
        rowgen,
        statement: copy_statement(rowgen),
        stream_seed: opts.seed ^ prng::hash_str(&label),
        label,
        rows,
        batch_rows,
        batch_count: rows.div_ceil(batch_rows),
        started: Instant::now(),
        cancel,
        next_batch: AtomicU64::new(0),
        written: AtomicU64::new(0),
        batches: AtomicU64::new(0),
        progress: Mutex::new(progress),
    };
    try_join_all(clients.iter().map(|c| work(c, &job))).await?;
    let written = job.written.load(Ordering::SeqCst);
    Ok(CopyOutcome {
        written,
        batches: job.batches.load(Ordering::SeqCst),
        elapsed: job.started.elapsed(),
        cancelled: written < rows,
    })
}

/// One session's share of a COPY: batches taken in turn until none is left or a cancel.
async fn work(client: &Client, job: &Job<'_>) -> Result<()> {
    loop {
        if job.cancel.is_cancelled() {
            return Ok(());
        }
        let b = job.next_batch.fetch_add(1, Ordering::SeqCst);
        if b >= job.batch_count {
            return Ok(());
        }
        let first = b * job.batch_rows;
        let len = job.batch_rows.min(job.rows - first);
        let mut rng = Rng::for_stream(job.stream_seed, b);
        write_batch(client, job, first, len, &mut rng)
            .await
            .wrap_err_with(|| {
                format!(
                    "writing rows into {} (COPY batch {} of {}; {} rows committed before it)",
                    job.label,
                    b + 1,
                    job.batch_count,
                    job.written.load(Ordering::SeqCst)
                )
            })?;
        let written = job.written.fetch_add(len, Ordering::SeqCst) + len;
        let batches = job.batches.fetch_add(1, Ordering::SeqCst) + 1;
        let p = Progress {
            table: job.label.clone(),
            written,
            target: job.rows,
            batches,
            elapsed: job.started.elapsed(),
        };
        if let Ok(mut f) = job.progress.lock() {
            (*f)(&p);
        }
    }
}

/// `COPY "schema"."table" ("a", "b") FROM STDIN (FORMAT binary)`.
pub fn copy_statement(rowgen: &RowGen) -> String {
    let cols: Vec<String> = rowgen
        .plan
        .columns
        .iter()
        .map(|c| quote::ident(&c.name))
        .collect();
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary)",
        quote::qualified(&rowgen.plan.schema, &rowgen.plan.table),
        cols.join(", ")
    )
}

/// The binary COPY stream (`PGCOPY` header, rows of length-prefixed fields, trailer),
/// built here rather than through `tokio_postgres::binary_copy::BinaryCopyInWriter`:
/// that writer hands the connection a 4 KB message at a time and awaits each row, which
/// measured at 0.79 s of client CPU per 525 000 tasks against 0.35 s for this framing in
/// 64 KB messages (bench/seed.rs) — CPU that a seed running inside the TUI takes from it,
/// and that a busy two-core machine takes from the server.
pub struct CopyFrame {
    buf: BytesMut,
}

/// Bytes gathered before they are handed to the connection as one CopyData message.
const MESSAGE_BYTES: usize = 64 << 10;

impl Default for CopyFrame {
    fn default() -> Self {
        CopyFrame::new()
    }
}

impl CopyFrame {
    /// A stream that starts with the header: signature, flags (no OIDs), no extension.
    pub fn new() -> CopyFrame {
        let mut buf = BytesMut::with_capacity(MESSAGE_BYTES + 4096);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        CopyFrame { buf }
    }

    /// One row: the field count, then each field's length (−1 for NULL) and bytes.
    pub fn row(&mut self, values: &[Value]) -> Result<()> {
        let fields = i16::try_from(values.len())
            .map_err(|_| eyre!("{} columns are more than COPY takes", values.len()))?;
        self.buf.extend_from_slice(&fields.to_be_bytes());
        for v in values {
            let at = self.buf.len();
            self.buf.extend_from_slice(&0i32.to_be_bytes());
            let not_null = v
                .encode(&mut self.buf)
                .map_err(|e| eyre!("encoding a value: {e}"))?;
            let len = if not_null {
                i32::try_from(self.buf.len() - at - 4)
                    .map_err(|_| eyre!("a value is larger than 2 GB"))?
            } else {
                -1
            };
            self.buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    /// The end-of-data marker.
    pub fn trailer(&mut self) {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
    }

    /// Enough gathered to be worth a message.
    pub fn full(&self) -> bool {
        self.buf.len() >= MESSAGE_BYTES
    }

    /// What was gathered since the last take.
    pub fn take(&mut self) -> BytesMut {
        self.buf.split()
    }
}

/// One batch: one COPY statement, which outside an explicit transaction is its own
/// transaction — all of its rows or none.
async fn write_batch(
    client: &Client,
    job: &Job<'_>,
    first: u64,
    len: u64,
    rng: &mut Rng,
) -> Result<()> {
    let rowgen = job.rowgen;
    if rowgen.plan.columns.is_empty() {
        // Every column is the server's: COPY needs at least one column, INSERT does not.
        let sql = format!(
            "INSERT INTO {} SELECT FROM generate_series(1, {len})",
            quote::qualified(&rowgen.plan.schema, &rowgen.plan.table)
        );
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| pg::PgError::from_query(&e))?;
        return Ok(());
    }
    let sink = client
        .copy_in::<_, BytesMut>(&job.statement)
        .await
        .map_err(|e| pg::PgError::from_query(&e))?;
    futures_util::pin_mut!(sink);
    let mut frame = CopyFrame::new();
    let mut row: Vec<Value> = Vec::with_capacity(rowgen.plan.columns.len());
    for i in 0..len {
        rowgen.fill(first + i, rng, &mut row);
        frame.row(&row)?;
        if frame.full() {
            sink.send(frame.take())
                .await
                .map_err(|e| pg::PgError::from_query(&e))?;
        }
    }
    frame.trailer();
    sink.send(frame.take())
        .await
        .map_err(|e| pg::PgError::from_query(&e))?;
    // Dropping the sink without `finish` would abort the COPY: the batch is all or none.
    sink.as_mut()
        .finish()
        .await
        .map_err(|e| pg::PgError::from_query(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_rate_eta_and_fraction() {
        let p = Progress {
            table: "public.tache".into(),
            written: 500,
            target: 2_000,
            batches: 5,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(p.rows_per_sec(), 250.0);
        assert_eq!(p.eta(), Some(Duration::from_secs(6)));
        assert_eq!(p.fraction(), 0.25);
        assert_eq!(Progress::default().eta(), None);
        assert_eq!(Progress::default().fraction(), 1.0);
    }

    #[test]
    fn frame_is_header_rows_and_trailer_as_postgres_reads_them() {
        let mut f = CopyFrame::new();
        f.row(&[Value::I32(7), Value::Null, Value::Text("é".into())])
            .unwrap();
        f.trailer();
        let b = f.take().to_vec();
        let mut want = b"PGCOPY\n\xff\r\n\0".to_vec();
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&3i16.to_be_bytes());
        want.extend_from_slice(&4i32.to_be_bytes());
        want.extend_from_slice(&7i32.to_be_bytes());
        want.extend_from_slice(&(-1i32).to_be_bytes());
        want.extend_from_slice(&2i32.to_be_bytes());
        want.extend_from_slice("é".as_bytes());
        want.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(b, want);
        assert!(!f.full());
        assert!(f.take().is_empty());
    }

    #[tokio::test]
    async fn cancel_is_seen_by_clones_and_waiters() {
        let c = Cancel::new();
        let d = c.clone();
        assert!(!d.is_cancelled());
        let waiter = tokio::spawn(async move { d.cancelled().await });
        c.cancel();
        waiter.await.unwrap();
        assert!(c.is_cancelled());
        // Already cancelled: resolves at once.
        c.cancelled().await;
    }
}
