//! Row-level diff between source and destination: which keys are missing, extra or
//! changed on the destination. Both sides are cut into primary-key segments whose row
//! count and order-independent hash are compared; only segments that differ are cut
//! further, until they are small enough to compare row by row. Read-only.
//!
//! - [`plan`]: the pure decisions (segments, verdicts, row comparison);
//! - [`sql`]: the SQL text;
//! - [`output`]: human and JSON reports.
//!
//! The driver over two sessions is [`crate::io::diff`]; the command, [`crate::cmd::diff`].

pub mod output;
pub mod plan;
pub mod sql;

use crate::model::side::Side;
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::model::error::PgError;

/// How a row differs on the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// On the source, not on the destination.
    Missing,
    /// On the destination, not on the source.
    Extra,
    /// On both, with different values.
    Changed,
}

impl fmt::Display for DiffKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DiffKind::Missing => "missing",
            DiffKind::Extra => "extra",
            DiffKind::Changed => "changed",
        })
    }
}

/// One row found different.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowDiff {
    pub kind: DiffKind,
    /// Key values as text, in [`TableDiff::key_columns`] order; for a table without a
    /// primary key, one value: the whole row in record syntax.
    pub key: Vec<String>,
    /// Changed rows: the compared columns whose values differ.
    pub columns: Vec<String>,
    /// Tables without a primary key: how many more copies one side holds (else 1).
    pub count: i64,
}

/// How the re-check of differing rows went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recheck {
    /// The source's WAL position when its snapshot was taken.
    pub target_lsn: Option<String>,
    /// Whether the slot's consumer confirmed that position before the re-check; `None`
    /// when there was no slot to watch (a short wait instead).
    pub caught_up: Option<bool>,
    /// Whether a consumer was reading the slot. An Airbyte source between syncs is not:
    /// then nothing is waited for.
    pub consumer_active: Option<bool>,
    pub waited_ms: u64,
}

/// What the diff cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiffStats {
    /// Levels of segments compared (1 when the first cut settled everything).
    pub levels: u32,
    pub segments: u64,
    pub segments_equal: u64,
    /// Rows read one by one, both sides together.
    pub rows_fetched: u64,
    pub elapsed_ms: u64,
}

/// The diff of one table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableDiff {
    pub schema: String,
    pub table: String,
    /// The source's primary key; empty when whole rows were compared as multisets.
    pub key_columns: Vec<String>,
    /// Whether each key column is an integer (for display and sorting).
    pub key_integer: Vec<bool>,
    pub compared_columns: Vec<String>,
    /// Live rows in the first snapshot of each side.
    pub source_rows: i64,
    pub dest_rows: i64,
    /// Real drift: rows still different after replication caught up (or, without a
    /// re-check, different in the snapshots).
    pub missing: Vec<RowDiff>,
    pub extra: Vec<RowDiff>,
    pub changed: Vec<RowDiff>,
    /// Rows that differed in the snapshots and matched once replication caught up.
    pub in_flight: Vec<RowDiff>,
    /// Rows that differ but changed on the source after the position the consumer has
    /// reached (or, on the destination only, whose delete it may not have read yet):
    /// not judged — the next sync brings them.
    pub pending: Vec<RowDiff>,
    pub recheck: Option<Recheck>,
    /// Things worth knowing: columns not compared, key choices.
    pub notes: Vec<String>,
    pub stats: DiffStats,
}

impl TableDiff {
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }
    /// Whether any real drift was found (rows in flight do not count).
    pub fn is_different(&self) -> bool {
        !(self.missing.is_empty() && self.extra.is_empty() && self.changed.is_empty())
    }
    pub fn drift_count(&self) -> usize {
        self.missing.len() + self.extra.len() + self.changed.len()
    }
}

/// Where a diff is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    /// Catalog and the first cut of the key range.
    Planning,
    /// Comparing segments' counts and hashes, `level` 0 first.
    Segments {
        level: u32,
    },
    /// Comparing the rows of the segments that differ.
    Rows,
    /// Waiting for the slot's consumer to confirm the source's position.
    WaitingForReplication,
    /// Reading the differing rows again.
    Rechecking,
    Done,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Phase::Connecting => f.write_str("connecting"),
            Phase::Planning => f.write_str("planning"),
            Phase::Segments { level } => write!(f, "comparing segments (level {})", level + 1),
            Phase::Rows => f.write_str("comparing rows"),
            Phase::WaitingForReplication => f.write_str("waiting for replication"),
            Phase::Rechecking => f.write_str("re-checking"),
            Phase::Done => f.write_str("done"),
        }
    }
}

/// Progress of one table's diff. Segments are found as the diff descends, so the total
/// grows; `segments_done <= segments_total` always.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub segments_done: u64,
    pub segments_total: u64,
    pub rows_fetched: u64,
}

/// Called at every step of a diff; cheap and non-blocking (e.g. a channel send).
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Why a table could not be diffed, or a difference too big to list (a missing table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DiffError {
    Connect {
        side: Side,
        endpoint: String,
        error: PgError,
    },
    Query {
        side: Side,
        error: PgError,
    },
    /// The table is on one side only (`present_on`), or on neither (`None`).
    Missing {
        table: String,
        present_on: Option<Side>,
    },
    /// The two sides share no column to compare.
    NoCommonColumns {
        table: String,
    },
    /// Airbyte keeps the table only as raw records (one per change, in JSON).
    RawOnly {
        table: String,
        raw: String,
    },
}

impl DiffError {
    /// A table on one side only is a difference, not a failure to diff.
    pub fn is_difference(&self) -> bool {
        matches!(
            self,
            DiffError::Missing {
                present_on: Some(_),
                ..
            }
        )
    }
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffError::Connect {
                side,
                endpoint,
                error,
            } => write!(f, "cannot connect to the {side} {endpoint}: {error}"),
            DiffError::Query { side, error } => write!(f, "on the {side}: {error}"),
            DiffError::RawOnly { table, raw } => write!(
                f,
                "table {table} is kept by Airbyte as raw records only ({raw}): a row-level diff needs its final table — turn off raw tables only in Airbyte's Postgres destination"
            ),
            DiffError::Missing {
                table,
                present_on: None,
            } => write!(
                f,
                "table {table} exists on neither the source nor the destination"
            ),
            DiffError::Missing {
                table,
                present_on: Some(Side::Source),
            } => write!(
                f,
                "table {table} exists on the source but not on the destination: all its rows are missing there"
            ),
            DiffError::Missing {
                table,
                present_on: Some(Side::Dest),
            } => write!(
                f,
                "table {table} exists on the destination but not on the source: all its rows are extra"
            ),
            DiffError::NoCommonColumns { table } => write!(
                f,
                "table {table} has no column in common on both sides (Airbyte's columns aside): nothing to compare"
            ),
        }
    }
}

impl std::error::Error for DiffError {}
