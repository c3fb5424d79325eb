//! One poll of both sides as plain data: no connections, no I/O handles. Everything that
//! checks, divergence and drawing need comes from here, so they are pure functions of it.

use serde::Serialize;

use crate::model::lsn::Lsn;

/// How a side answered this poll.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum Reach {
    Up,
    Unreachable(String),
    Timeout(String),
    Denied(String),
}

impl Reach {
    pub fn is_up(&self) -> bool {
        matches!(self, Reach::Up)
    }
    pub fn reason(&self) -> Option<&str> {
        match self {
            Reach::Up => None,
            Reach::Unreachable(r) | Reach::Timeout(r) | Reach::Denied(r) => Some(r),
        }
    }
}

/// A part of the snapshot that may not have been readable.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(tag = "read", content = "value", rename_all = "snake_case")]
pub enum Fetched<T> {
    Ok(T),
    /// The role may not read it (SQLSTATE 42501); the text says what is missing.
    Denied(String),
    /// The query failed for another reason (timeout, object dropped mid-poll, …).
    Failed(String),
    /// Not asked for on this side or this version.
    #[default]
    NotRead,
}

impl<T> Fetched<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Fetched::Ok(v) => Some(v),
            _ => None,
        }
    }
    /// Why the value is missing, if it is.
    pub fn problem(&self) -> Option<&str> {
        match self {
            Fetched::Denied(r) | Fetched::Failed(r) => Some(r),
            Fetched::Ok(_) | Fetched::NotRead => None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ServerSettings {
    pub wal_level: String,
    pub max_replication_slots: i64,
    pub max_wal_senders: i64,
    pub slots_used: i64,
    pub senders_used: i64,
    /// Settings changed (e.g. by ALTER SYSTEM) that wait for a restart.
    pub pending_restart: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RoleInfo {
    pub name: String,
    pub replication: bool,
    pub superuser: bool,
    pub pg_monitor: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SlotInfo {
    pub name: String,
    pub plugin: Option<String>,
    pub slot_type: String,
    pub database: Option<String>,
    pub active: bool,
    pub active_pid: Option<i32>,
    pub restart_lsn: Option<String>,
    pub confirmed_flush_lsn: Option<String>,
    /// Bytes of WAL kept for the slot: current LSN − restart_lsn.
    pub retained_bytes: Option<i64>,
    /// Bytes the consumer has not confirmed: current LSN − confirmed_flush_lsn.
    pub lag_bytes: Option<i64>,
    pub wal_status: Option<String>,
    pub safe_wal_size: Option<i64>,
    /// 16+.
    pub conflicting: Option<bool>,
    /// 17+.
    pub inactive_since: Option<String>,
    /// 17+.
    pub invalidation_reason: Option<String>,
    /// 17+: how long ago `inactive_since` was, by the server's clock.
    pub inactive_for_ms: Option<i64>,
    /// The walsender's own lag measure (`pg_stat_replication`: replay, else flush) while
    /// a consumer is connected.
    pub reported_lag_ms: Option<i64>,
    /// 14+, from pg_stat_replication_slots.
    pub stats: Option<SlotStats>,
}

impl SlotInfo {
    /// The WAL the slot needs is gone (`wal_status lost`) or the slot was invalidated:
    /// its consumer cannot continue from it.
    pub fn lost_wal(&self) -> bool {
        self.wal_status.as_deref() == Some("lost") || self.invalidation_reason.is_some()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SlotStats {
    pub spill_txns: i64,
    pub spill_bytes: i64,
    pub stream_txns: i64,
    pub stream_bytes: i64,
    pub total_txns: i64,
    pub total_bytes: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PublicationInfo {
    pub name: String,
    pub all_tables: bool,
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
    pub via_root: bool,
    pub tables: Vec<PublishedTable>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PublishedTable {
    pub schema: String,
    pub name: String,
    /// 15+: the published column list (all columns when the publication names none).
    pub columns: Option<Vec<String>>,
    /// 15+: the row filter, if any.
    pub row_filter: Option<String>,
}

/// A row count and whether it is exact or the planner's/statistics' estimate (`≈`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RowCount {
    pub rows: i64,
    pub exact: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Column {
    pub name: String,
    /// As `format_type` prints it, e.g. `character varying(255)`, `vector(3)`.
    pub data_type: String,
    /// NOT NULL with nothing to fill it in (no default, not an identity or generated
    /// column): an INSERT that leaves the column out fails.
    pub not_null: bool,
}

/// `pg_class.relreplident`: which old values a table's UPDATEs and DELETEs carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplicaIdentity {
    /// The primary key's columns (nothing without a primary key).
    #[default]
    Default,
    Nothing,
    /// Every column.
    Full,
    /// The columns of a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    /// From the catalog's code: `d`, `n`, `f`, `i`.
    pub fn from_code(code: char) -> Option<Self> {
        Some(match code {
            'd' => ReplicaIdentity::Default,
            'n' => ReplicaIdentity::Nothing,
            'f' => ReplicaIdentity::Full,
            'i' => ReplicaIdentity::Index,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            ReplicaIdentity::Default => "default (primary key)",
            ReplicaIdentity::Full => "full",
            ReplicaIdentity::Index => "index",
            ReplicaIdentity::Nothing => "nothing",
        }
    }
}

/// `pg_subscription_rel.srsubstate`: where a subscribed table's initial copy stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubState {
    Init,
    Copying,
    FinishedCopy,
    Synchronized,
    Ready,
    Unknown,
}

impl SubState {
    /// From the catalog's code: `i`, `d`, `f`, `s`, `r`.
    pub fn from_code(code: char) -> Self {
        match code {
            'i' => SubState::Init,
            'd' => SubState::Copying,
            'f' => SubState::FinishedCopy,
            's' => SubState::Synchronized,
            'r' => SubState::Ready,
            _ => SubState::Unknown,
        }
    }

    /// The copy is done and changes are applied.
    pub fn is_ready(self) -> bool {
        matches!(self, SubState::Ready | SubState::Synchronized)
    }

    pub fn label(self) -> &'static str {
        match self {
            SubState::Init => "init",
            SubState::Copying => "copying",
            SubState::FinishedCopy => "finished copy",
            SubState::Synchronized => "synchronized",
            SubState::Ready => "ready",
            SubState::Unknown => "unknown",
        }
    }
}

/// A table's catalog facts, before counting.
#[derive(Clone, Debug, PartialEq)]
pub struct RawTable {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub replica_identity: ReplicaIdentity,
    pub partitioned: bool,
    pub has_primary_key: bool,
    /// Primary-key columns in key order.
    pub primary_key: Vec<String>,
    pub unique_index: Option<String>,
    /// Planner estimate; −1 when never analysed (14+).
    pub reltuples: i64,
    /// Statistics' live rows: follows inserts and deletes within about a second.
    pub n_live_tup: Option<i64>,
    /// Inserts + deletes so far: when unchanged, an earlier exact count still holds.
    pub modifications: Option<i64>,
    /// Inserts + updates + deletes so far (statistics): throughput.
    pub changes: Option<i64>,
    pub columns: Vec<Column>,
}

impl RawTable {
    pub fn key(&self) -> (String, String) {
        (self.schema.clone(), self.name.clone())
    }
    /// Best cheap guess of the row count.
    pub fn estimate(&self) -> i64 {
        self.n_live_tup
            .unwrap_or(self.reltuples)
            .max(self.reltuples)
            .max(0)
    }
}

/// A table named by schema and name, as the tracker, the counts and the diff key it.
pub type TableKey = (String, String);

/// A table of the watched schema or of the publication, on one side.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    pub replica_identity: ReplicaIdentity,
    pub has_primary_key: bool,
    /// Primary-key columns in key order (empty without a primary key).
    pub primary_key: Vec<String>,
    /// A unique index on NOT NULL columns, usable for REPLICA IDENTITY USING INDEX.
    pub unique_index: Option<String>,
    pub partitioned: bool,
    pub columns: Vec<Column>,
    /// Live rows, excluding Airbyte soft-deleted rows where that column exists.
    pub rows: Option<RowCount>,
    /// Airbyte's `_ab_cdc_deleted_at` is present (soft deletes are not live rows).
    pub soft_delete_column: bool,
    /// Inserts + deletes so far (statistics): when it moves, the table changed.
    pub modifications: Option<i64>,
    /// Inserts + updates + deletes so far (statistics): throughput.
    pub changes: Option<i64>,
    /// A destination table written by Airbyte: how fresh its data is.
    pub freshness: Option<Freshness>,
}

/// What a table written by Airbyte says of itself. Each is read only where an index
/// leads with its column (Airbyte's destination creates both), so that reading it is
/// an index lookup and never a scan of a large table at every poll.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Freshness {
    /// The newest `_airbyte_extracted_at`: when a row was last loaded (ms since epoch).
    pub loaded_at_ms: Option<i64>,
    /// The newest `_ab_cdc_lsn`: how far into the source's WAL the table is applied.
    pub applied_lsn: Option<Lsn>,
    /// Which of the two columns could be read through an index.
    pub loaded_indexed: bool,
    pub applied_indexed: bool,
}

impl TableInfo {
    pub fn key(&self) -> (String, String) {
        (self.schema.clone(), self.name.clone())
    }
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Extensions {
    /// Installed version of `vector`, if installed.
    pub vector_installed: Option<String>,
    /// Whether the server has pgvector's files (`pg_available_extensions`).
    pub vector_available: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SubscriptionInfo {
    pub name: String,
    pub enabled: bool,
    pub slot_name: Option<String>,
    pub publications: Vec<String>,
    pub worker_pid: Option<i32>,
    pub received_lsn: Option<String>,
    pub last_msg_receipt: Option<String>,
    /// Each subscribed table (`schema.table`) and its copy state.
    pub table_states: Vec<(String, SubState)>,
    /// 15+.
    pub apply_error_count: Option<i64>,
    /// 15+.
    pub sync_error_count: Option<i64>,
}

/// One side of one poll.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SideSnapshot {
    /// `user@host:port/db`, never a password.
    pub endpoint: String,
    pub reach: Reach,
    pub version_num: Option<i32>,
    /// Wall time this side's poll took, connection excluded.
    pub poll_ms: f64,
    pub settings: Fetched<ServerSettings>,
    pub role: Fetched<RoleInfo>,
    /// Source only. `Ok(None)`: no slot of that name.
    pub slot: Fetched<Option<SlotInfo>>,
    /// Source only. `Ok(None)`: no publication of that name.
    pub publication: Fetched<Option<PublicationInfo>>,
    /// Tables of the watched schema and of the publication (source); on the destination,
    /// those of the source's list that exist.
    pub tables: Fetched<Vec<TableInfo>>,
    pub extensions: Fetched<Extensions>,
    /// Destination with the native engine. `Ok(None)`: no subscription of that name.
    pub subscription: Fetched<Option<SubscriptionInfo>>,
    /// The WAL written so far (`pg_current_wal_lsn`): what a consumer that starts
    /// now reads up to at least.
    pub current_lsn: Option<String>,
    /// The WAL inserted so far: past every commit already visible, written or not.
    pub insert_lsn: Option<String>,
    /// The oldest transaction still running at that position (`pg_snapshot_xmin`, a
    /// 64-bit xid): rows written by older ones were committed before it.
    pub xmin_horizon: Option<u64>,
}

impl SideSnapshot {
    pub fn down(endpoint: String, reach: Reach) -> Self {
        SideSnapshot {
            endpoint,
            reach,
            version_num: None,
            poll_ms: 0.0,
            settings: Fetched::NotRead,
            role: Fetched::NotRead,
            slot: Fetched::NotRead,
            publication: Fetched::NotRead,
            tables: Fetched::NotRead,
            extensions: Fetched::NotRead,
            subscription: Fetched::NotRead,
            current_lsn: None,
            insert_lsn: None,
            xmin_horizon: None,
        }
    }

    pub fn table(&self, schema: &str, name: &str) -> Option<&TableInfo> {
        self.tables
            .ok()?
            .iter()
            .find(|t| t.schema == schema && t.name == name)
    }
}

/// Both sides at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// Milliseconds since the Unix epoch when the poll started.
    pub taken_at_ms: i64,
    pub source: SideSnapshot,
    pub dest: SideSnapshot,
}

/// Airbyte's bookkeeping columns on destination tables: not drift, never compared.
pub fn is_airbyte_column(name: &str) -> bool {
    matches!(
        name,
        "_airbyte_raw_id" | "_airbyte_extracted_at" | "_airbyte_meta" | "_airbyte_generation_id"
    ) || name.starts_with("_ab_cdc_")
        || name.starts_with("_airbyte_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn airbyte_columns_are_recognised() {
        for c in [
            "_airbyte_raw_id",
            "_airbyte_extracted_at",
            "_airbyte_meta",
            "_airbyte_generation_id",
            "_ab_cdc_lsn",
            "_ab_cdc_updated_at",
            "_ab_cdc_deleted_at",
        ] {
            assert!(is_airbyte_column(c), "{c}");
        }
        assert!(!is_airbyte_column("airbyte"));
        assert!(!is_airbyte_column("title"));
    }
}
