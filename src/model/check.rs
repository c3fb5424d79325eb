//! What a check says: which one ([`CheckId`]), how bad ([`Status`]), why, and the fix.
//! The ids are an interface (`check --json`, the README): each serialises to the string
//! it always had, and the enum, not string matching, carries a check's side, title, place
//! in the fix order and the privilege its fix needs.

use std::fmt;

use serde::Serialize;

use super::side::Side;

/// Ordered by severity, so the worst of a list is its `max()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    /// Could not be determined (side down, not allowed to read): could hide a problem,
    /// so it ranks above a warning.
    Unknown,
    Critical,
}

impl Status {
    /// Nagios convention: 0 ok, 1 warning, 2 critical, 3 unknown.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Warning => "!",
            Status::Critical => "✗",
            Status::Unknown => "?",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Critical => "critical",
            Status::Unknown => "unknown",
        }
    }
}

/// Every check, in the order the guide sets things up (the order they are listed in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CheckId {
    SourceReachable,
    SourceWalLevel,
    SourceMaxReplicationSlots,
    SourceMaxWalSenders,
    SourceReplicationRole,
    SourceSlot,
    SourceSlotHealth,
    SourceSyncs,
    SourceSyncJob,
    SourcePublication,
    SourcePublicationTables,
    SourceReplicaIdentity,
    SourceVector,
    DestReachable,
    DestVector,
    DestTables,
    DestColumns,
    DestSubscription,
    DestSubscriptionTables,
    DestSubscriptionErrors,
}

impl CheckId {
    pub const ALL: [CheckId; 20] = [
        CheckId::SourceReachable,
        CheckId::SourceWalLevel,
        CheckId::SourceMaxReplicationSlots,
        CheckId::SourceMaxWalSenders,
        CheckId::SourceReplicationRole,
        CheckId::SourceSlot,
        CheckId::SourceSlotHealth,
        CheckId::SourceSyncs,
        CheckId::SourceSyncJob,
        CheckId::SourcePublication,
        CheckId::SourcePublicationTables,
        CheckId::SourceReplicaIdentity,
        CheckId::SourceVector,
        CheckId::DestReachable,
        CheckId::DestVector,
        CheckId::DestTables,
        CheckId::DestColumns,
        CheckId::DestSubscription,
        CheckId::DestSubscriptionTables,
        CheckId::DestSubscriptionErrors,
    ];

    /// The stable identifier, e.g. `source.wal_level`.
    pub fn as_str(self) -> &'static str {
        use CheckId::*;
        match self {
            SourceReachable => "source.reachable",
            SourceWalLevel => "source.wal_level",
            SourceMaxReplicationSlots => "source.max_replication_slots",
            SourceMaxWalSenders => "source.max_wal_senders",
            SourceReplicationRole => "source.replication_role",
            SourceSlot => "source.slot",
            SourceSlotHealth => "source.slot_health",
            SourceSyncs => "source.syncs",
            SourceSyncJob => "source.sync_job",
            SourcePublication => "source.publication",
            SourcePublicationTables => "source.publication_tables",
            SourceReplicaIdentity => "source.replica_identity",
            SourceVector => "source.vector",
            DestReachable => "dest.reachable",
            DestVector => "dest.vector",
            DestTables => "dest.tables",
            DestColumns => "dest.columns",
            DestSubscription => "dest.subscription",
            DestSubscriptionTables => "dest.subscription_tables",
            DestSubscriptionErrors => "dest.subscription_errors",
        }
    }

    pub fn side(self) -> Side {
        if self < CheckId::DestReachable {
            Side::Source
        } else {
            Side::Dest
        }
    }

    /// Short label for the checks pane, e.g. `wal_level`.
    pub fn title(self) -> &'static str {
        use CheckId::*;
        match self {
            SourceReachable | DestReachable => "reachable",
            SourceWalLevel => "wal_level",
            SourceMaxReplicationSlots => "slots",
            SourceMaxWalSenders => "senders",
            SourceReplicationRole => "REPLICATION",
            SourceSlot => "slot",
            SourceSlotHealth => "slot health",
            SourceSyncs => "syncs",
            SourceSyncJob => "sync job",
            SourcePublication => "publication",
            SourcePublicationTables => "published tables",
            SourceReplicaIdentity => "replica identity",
            SourceVector | DestVector => "vector",
            DestTables => "dest tables",
            DestColumns => "columns",
            DestSubscription => "subscription",
            DestSubscriptionTables => "table sync",
            DestSubscriptionErrors => "apply errors",
        }
    }

    /// The server setting this check is about, for those fixed by `ALTER SYSTEM`.
    pub fn server_setting(self) -> Option<&'static str> {
        match self {
            CheckId::SourceWalLevel => Some("wal_level"),
            CheckId::SourceMaxReplicationSlots => Some("max_replication_slots"),
            CheckId::SourceMaxWalSenders => Some("max_wal_senders"),
            _ => None,
        }
    }

    /// Where this check's fix runs among the others: server settings, the role,
    /// extensions, replica identity, the publication, the slot, then the destination
    /// (the subscription last, since it needs all of the source's side). `None`: nothing
    /// SQL can fix.
    pub fn fix_order(self) -> Option<u8> {
        use CheckId::*;
        Some(match self {
            SourceWalLevel => 0,
            SourceMaxReplicationSlots => 1,
            SourceMaxWalSenders => 2,
            SourceReplicationRole => 3,
            SourceVector => 4,
            SourceReplicaIdentity => 5,
            SourcePublication => 6,
            SourcePublicationTables => 7,
            SourceSlot => 8,
            // The heartbeat table goes into a publication that exists.
            SourceSlotHealth => 9,
            DestVector => 10,
            DestTables => 11,
            DestColumns => 12,
            DestSubscription => 13,
            DestSubscriptionErrors => 14,
            SourceReachable
            | DestReachable
            | DestSubscriptionTables
            | SourceSyncs
            | SourceSyncJob => {
                return None;
            }
        })
    }

    /// The privilege this check's fix needs beyond owning what it touches (a fix may
    /// say otherwise: see [`Fix::needs`]).
    pub fn needs(self) -> Option<Needs> {
        use CheckId::*;
        match self {
            SourceWalLevel | SourceMaxReplicationSlots | SourceMaxWalSenders => {
                Some(Needs::AlterSystem)
            }
            // pgvector is not a trusted extension; REPLICATION can only be granted by a
            // superuser; resetting subscription statistics is a superuser's.
            SourceReplicationRole | SourceVector | DestVector | DestSubscriptionErrors => {
                Some(Needs::Superuser)
            }
            SourceSlot => Some(Needs::Replication),
            _ => None,
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the id's string, as scripts and tests name checks.
impl PartialEq<&str> for CheckId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A privilege a fix needs beyond owning the objects it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Needs {
    Superuser,
    /// ALTER SYSTEM: a superuser, or (15+) `GRANT ALTER SYSTEM ON PARAMETER`.
    AlterSystem,
    /// The REPLICATION attribute (or superuser).
    Replication,
    /// A superuser, or (16+) membership in `pg_create_subscription`.
    CreateSubscription,
}

impl Needs {
    pub fn describe(self) -> &'static str {
        match self {
            Needs::Superuser => "a superuser",
            Needs::AlterSystem => {
                "a superuser (or, from PostgreSQL 15, GRANT ALTER SYSTEM ON PARAMETER … to the role)"
            }
            Needs::Replication => "a role with REPLICATION (or a superuser)",
            Needs::CreateSubscription => {
                "a superuser (or, from PostgreSQL 16, a member of pg_create_subscription)"
            }
        }
    }
}

/// How to repair a failing check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// Statements to run, in order, on the check's side. Empty when only a manual step helps.
    pub sql: Vec<String>,
    /// The change takes effect only after a server restart.
    pub restart_needed: bool,
    /// What a person must do that SQL cannot (install a package, edit pg_hba.conf, …).
    pub manual: Option<String>,
    /// Shown before running: costs or risks of this fix.
    pub caution: Option<String>,
    /// The privilege these statements need, when it is not the check's usual one
    /// ([`CheckId::needs`]); not part of the JSON document.
    #[serde(skip)]
    pub needs: Option<Needs>,
}

impl Fix {
    pub fn sql(statements: Vec<String>) -> Self {
        Fix {
            sql: statements,
            restart_needed: false,
            manual: None,
            caution: None,
            needs: None,
        }
    }
    pub fn manual(text: String) -> Self {
        Fix {
            sql: Vec::new(),
            restart_needed: false,
            manual: Some(text),
            caution: None,
            needs: None,
        }
    }
    pub fn with_caution(mut self, caution: impl Into<String>) -> Self {
        self.caution = Some(caution.into());
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub id: CheckId,
    /// The id's side and title, kept as fields for the JSON document.
    pub side: Side,
    pub title: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<Fix>,
}

impl Check {
    pub fn new(id: CheckId, status: Status, detail: String, fix: Option<Fix>) -> Self {
        Check {
            id,
            side: id.side(),
            title: id.title(),
            status,
            detail,
            fix,
        }
    }
}

/// The worst status of a list (ok when empty).
pub fn worst(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_to_their_strings_and_know_their_side() {
        for id in CheckId::ALL {
            let text = serde_json::to_string(&id).unwrap();
            assert_eq!(text, format!("\"{}\"", id.as_str()));
            let prefix = match id.side() {
                Side::Source => "source.",
                Side::Dest => "dest.",
            };
            assert!(id.as_str().starts_with(prefix), "{id}");
        }
        assert!(CheckId::ALL.windows(2).all(|w| w[0] < w[1]), "ALL in order");
    }

    #[test]
    fn every_fixable_check_has_its_own_place_in_the_fix_order() {
        let mut places: Vec<u8> = CheckId::ALL.iter().filter_map(|c| c.fix_order()).collect();
        let n = places.len();
        places.sort();
        places.dedup();
        assert_eq!(places.len(), n);
    }
}
