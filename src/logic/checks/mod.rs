//! Snapshot → the ordered list of checks, each with a status, a one-line detail a person
//! can act on and, where SQL can repair it, that SQL. Pure: same snapshot, same checks.
//! The list is stable (a side that is down yields `unknown` checks, not fewer checks) so
//! that the screen does not jump.

use crate::model::side::Side;
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::config::{Engine, Settings};
use crate::logic::quote;
use crate::model::snapshot::{
    Fetched, PublicationInfo, SideSnapshot, SlotInfo, Snapshot, TableInfo, is_airbyte_column,
};

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
}

impl Fix {
    fn sql(statements: Vec<String>) -> Self {
        Fix {
            sql: statements,
            restart_needed: false,
            manual: None,
            caution: None,
        }
    }
    fn manual(text: String) -> Self {
        Fix {
            sql: Vec::new(),
            restart_needed: false,
            manual: Some(text),
            caution: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier, e.g. `source.wal_level`.
    pub id: &'static str,
    pub side: Side,
    /// Short label for the checks bar, e.g. `wal_level`.
    pub title: &'static str,
    pub status: Status,
    pub detail: String,
    pub fix: Option<Fix>,
}

/// The worst status of a list (ok when empty).
pub fn worst(checks: &[Check]) -> Status {
    checks.iter().map(|c| c.status).max().unwrap_or(Status::Ok)
}

struct Builder<'a> {
    side: Side,
    snap: &'a SideSnapshot,
    out: Vec<Check>,
}

impl Builder<'_> {
    fn push(
        &mut self,
        id: &'static str,
        title: &'static str,
        status: Status,
        detail: String,
        fix: Option<Fix>,
    ) {
        self.out.push(Check {
            id,
            side: self.side,
            title,
            status,
            detail,
            fix,
        });
    }

    /// Runs `f` on a readable part, or records why it could not be checked.
    fn with<T>(
        &mut self,
        id: &'static str,
        title: &'static str,
        part: &Fetched<T>,
        f: impl FnOnce(&T) -> (Status, String, Option<Fix>),
    ) {
        let (status, detail, fix) = match (&self.snap.reach.reason(), part) {
            // The reason is on the side's `reachable` check; repeating it says nothing new.
            (Some(_), _) => (
                Status::Unknown,
                format!("{} not reachable", self.side.label()),
                None,
            ),
            (None, Fetched::Ok(v)) => f(v),
            (None, Fetched::Denied(why)) => (
                Status::Unknown,
                format!("not allowed to read this: {why} (grant pg_monitor to the role)"),
                None,
            ),
            (None, Fetched::Failed(why)) => {
                (Status::Unknown, format!("could not read: {why}"), None)
            }
            (None, Fetched::NotRead) => (Status::Unknown, "not read".to_string(), None),
        };
        self.push(id, title, status, detail, fix);
    }
}

/// Every check for this snapshot, source first, in the order the guide sets things up.
pub fn evaluate(snap: &Snapshot, s: &Settings) -> Vec<Check> {
    let mut checks = source_checks(&snap.source, s);
    checks.extend(dest_checks(&snap.dest, &snap.source, s));
    checks
}

fn reach_check(b: &mut Builder<'_>, id: &'static str) {
    let snap = b.snap;
    match (&snap.reach.reason(), snap.version_num) {
        (None, Some(v)) => b.push(
            id,
            "reachable",
            Status::Ok,
            format!(
                "PostgreSQL {} at {}",
                crate::io::pg::version_label(v),
                snap.endpoint
            ),
            None,
        ),
        (Some(reason), _) => b.push(id, "reachable", Status::Critical, reason.to_string(), None),
        (None, None) => b.push(
            id,
            "reachable",
            Status::Unknown,
            "version unknown".into(),
            None,
        ),
    }
}

fn source_checks(src: &SideSnapshot, s: &Settings) -> Vec<Check> {
    let mut b = Builder {
        side: Side::Source,
        snap: src,
        out: Vec::new(),
    };
    reach_check(&mut b, "source.reachable");

    b.with("source.wal_level", "wal_level", &src.settings, |st| {
        if st.wal_level == "logical" {
            (Status::Ok, "wal_level = logical".into(), None)
        } else if st.pending_restart.iter().any(|p| p == "wal_level") {
            (
                Status::Critical,
                format!("wal_level is {} and logical is set but waits for a restart of the source server", st.wal_level),
                Some(restart_fix("ALTER SYSTEM SET wal_level = logical")),
            )
        } else {
            (
                Status::Critical,
                format!("wal_level is {}: logical replication needs logical (then restart the server)", st.wal_level),
                Some(restart_fix("ALTER SYSTEM SET wal_level = logical")),
            )
        }
    });

    let slot_missing = matches!(src.slot, Fetched::Ok(None));
    b.with("source.max_replication_slots", "slots", &src.settings, |st| {
        let needed = st.slots_used + i64::from(slot_missing);
        if st.max_replication_slots == 0 || needed > st.max_replication_slots {
            (
                Status::Critical,
                format!(
                    "max_replication_slots = {} with {} in use: no room for the slot",
                    st.max_replication_slots, st.slots_used
                ),
                Some(restart_fix(&format!(
                    "ALTER SYSTEM SET max_replication_slots = {}",
                    (needed + 4).max(10)
                ))),
            )
        } else if needed == st.max_replication_slots {
            (
                Status::Warning,
                format!(
                    "max_replication_slots = {}, all in use: table synchronisation and new consumers need spare slots",
                    st.max_replication_slots
                ),
                Some(restart_fix(&format!(
                    "ALTER SYSTEM SET max_replication_slots = {}",
                    (needed + 4).max(10)
                ))),
            )
        } else {
            (
                Status::Ok,
                format!("{} of {} slots in use", st.slots_used, st.max_replication_slots),
                None,
            )
        }
    });

    b.with("source.max_wal_senders", "senders", &src.settings, |st| {
        if st.max_wal_senders == 0 {
            (
                Status::Critical,
                "max_wal_senders = 0: no consumer can stream changes".into(),
                Some(restart_fix("ALTER SYSTEM SET max_wal_senders = 10")),
            )
        } else if st.senders_used >= st.max_wal_senders {
            (
                Status::Warning,
                format!(
                    "all {} WAL senders in use: a new consumer will be refused",
                    st.max_wal_senders
                ),
                Some(restart_fix(&format!(
                    "ALTER SYSTEM SET max_wal_senders = {}",
                    st.max_wal_senders + 5
                ))),
            )
        } else {
            (
                Status::Ok,
                format!(
                    "{} of {} WAL senders in use",
                    st.senders_used, st.max_wal_senders
                ),
                None,
            )
        }
    });

    b.with("source.replication_role", "REPLICATION", &src.role, |r| {
        if r.replication || r.superuser {
            let how = if r.superuser {
                "superuser"
            } else {
                "REPLICATION"
            };
            (Status::Ok, format!("role {} has {how}", r.name), None)
        } else {
            (
                Status::Critical,
                format!(
                    "role {} lacks the REPLICATION attribute: it cannot read the slot",
                    r.name
                ),
                Some(Fix::sql(vec![format!(
                    "ALTER ROLE {} REPLICATION",
                    quote::ident(&r.name)
                )])),
            )
        }
    });

    b.with("source.slot", "slot", &src.slot, |slot| {
        slot_check(slot.as_ref(), s)
    });
    b.with(
        "source.slot_health",
        "slot health",
        &src.slot,
        |slot| match slot {
            None => (
                Status::Unknown,
                format!("no slot {} to watch", s.slot),
                None,
            ),
            Some(slot) => slot_health(slot, s),
        },
    );

    b.with("source.publication", "publication", &src.publication, |p| {
        publication_check(p.as_ref(), src, s)
    });
    b.with(
        "source.publication_tables",
        "published tables",
        &src.publication,
        |p| match p {
            None => (
                Status::Unknown,
                format!("no publication {}", s.publication),
                None,
            ),
            Some(p) => coverage_check(p, src, s),
        },
    );
    b.with(
        "source.replica_identity",
        "replica identity",
        &src.tables,
        |tables| replica_identity_check(&published_tables(src, tables)),
    );
    b.with("source.vector", "vector", &src.extensions, |e| {
        vector_check(e, src.version_num)
    });
    // A setting already changed and waiting for a restart needs the restart, not the same
    // ALTER SYSTEM again: running setup twice must do nothing the second time.
    if let Some(st) = src.settings.ok() {
        for c in b.out.iter_mut() {
            let param = c.id.strip_prefix("source.").unwrap_or_default();
            if c.status != Status::Ok
                && c.fix.as_ref().is_some_and(|f| f.restart_needed)
                && st.pending_restart.iter().any(|p| p == param)
            {
                c.fix = None;
                if !c.detail.contains("restart") {
                    c.detail.push_str(
                        " — the new value is set and waits for a restart of the source server",
                    );
                }
            }
        }
    }
    b.out
}

fn restart_fix(sql: &str) -> Fix {
    Fix {
        // The reload makes the server notice the new value, so pending_restart shows it
        // (and a second setup run knows it is done); the value itself needs a restart.
        sql: vec![sql.to_string(), "SELECT pg_reload_conf()".to_string()],
        restart_needed: true,
        manual: None,
        caution: Some("takes effect after the server restarts".into()),
    }
}

fn slot_check(slot: Option<&SlotInfo>, s: &Settings) -> (Status, String, Option<Fix>) {
    let create = || {
        Fix::sql(vec![format!(
            "SELECT pg_create_logical_replication_slot({}, 'pgoutput')",
            quote::literal(&s.slot)
        )])
    };
    let Some(slot) = slot else {
        return (
            Status::Critical,
            format!(
                "slot {} does not exist: create it with the pgoutput plugin",
                s.slot
            ),
            Some(create()),
        );
    };
    if slot.slot_type != "logical" {
        return (
            Status::Critical,
            format!(
                "slot {} is a {} slot; CDC needs a logical slot — drop it when unused and recreate it",
                s.slot, slot.slot_type
            ),
            None,
        );
    }
    if slot.plugin.as_deref() != Some("pgoutput") {
        return (
            Status::Critical,
            format!(
                "slot {} uses plugin {}; Airbyte and subscriptions need pgoutput — drop it when unused and recreate it",
                s.slot,
                slot.plugin.as_deref().unwrap_or("?")
            ),
            None,
        );
    }
    let db = s.source.dbname.as_str();
    if let Some(slot_db) = &slot.database
        && slot_db != db
    {
        return (
            Status::Critical,
            format!(
                "slot {} belongs to database {slot_db}, not {db}: a consumer of {db} cannot use it",
                s.slot
            ),
            None,
        );
    }
    (
        Status::Ok,
        format!(
            "slot {} (pgoutput, database {})",
            s.slot,
            slot.database.as_deref().unwrap_or("?")
        ),
        None,
    )
}

/// Bytes as people read them: 1.5 GB, 12 MB, 300 B.
pub fn human_bytes(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[i])
    } else {
        format!("{v:.0} {}", UNITS[i])
    }
}

fn slot_health(slot: &SlotInfo, s: &Settings) -> (Status, String, Option<Fix>) {
    if let Some(reason) = &slot.invalidation_reason {
        return (
            Status::Critical,
            format!(
                "slot invalidated ({reason}): the consumer must resync — recreate the slot, then run a full refresh"
            ),
            None,
        );
    }
    if slot.conflicting == Some(true) {
        return (
            Status::Critical,
            "slot conflicts with recovery and is invalidated".into(),
            None,
        );
    }
    match slot.wal_status.as_deref() {
        Some("lost") => {
            return (
                Status::Critical,
                "wal_status lost: WAL the slot needs was removed — recreate the slot, then run a full refresh".into(),
                None,
            );
        }
        Some("unreserved") => {
            return (
                Status::Critical,
                format!(
                    "wal_status unreserved: retained WAL ({}) is past max_slot_wal_keep_size and will be removed at the next checkpoint",
                    human_bytes(slot.retained_bytes.unwrap_or(0))
                ),
                None,
            );
        }
        _ => {}
    }
    let retained = slot.retained_bytes.unwrap_or(0);
    let state = if slot.active {
        "active".to_string()
    } else {
        match &slot.inactive_since {
            Some(t) => format!("inactive since {t}"),
            None => "inactive".to_string(),
        }
    };
    let detail = format!(
        "{state}, retains {} of WAL, wal_status {}",
        human_bytes(retained),
        slot.wal_status.as_deref().unwrap_or("n/a")
    );
    let behind = if slot.active {
        "the consumer is falling behind"
    } else {
        "no consumer is reading it: WAL piles up until it connects (idle published tables need a heartbeat table)"
    };
    if retained >= s.retained_wal_critical_bytes as i64 {
        (
            Status::Critical,
            format!(
                "{detail} — over {}: {behind}",
                human_bytes(s.retained_wal_critical_bytes as i64)
            ),
            None,
        )
    } else if retained >= s.retained_wal_warning_bytes as i64 {
        (
            Status::Warning,
            format!(
                "{detail} — over {}: {behind}",
                human_bytes(s.retained_wal_warning_bytes as i64)
            ),
            None,
        )
    } else if !slot.active && s.engine == Engine::Native {
        (
            Status::Warning,
            format!("{detail}: the subscription is not connected"),
            None,
        )
    } else {
        (Status::Ok, detail, None)
    }
}

/// `(schema, table)` without allocating: checks look tables up by it, and with a thousand
/// tables a pairwise search would cost more than the poll.
fn key_of(t: &TableInfo) -> (&str, &str) {
    (t.schema.as_str(), t.name.as_str())
}

fn published_keys(p: &PublicationInfo) -> HashSet<(&str, &str)> {
    p.tables
        .iter()
        .map(|t| (t.schema.as_str(), t.name.as_str()))
        .collect()
}

/// Tables the publication carries, or the watched schema's when there is none.
fn published_tables<'a>(src: &SideSnapshot, tables: &'a [TableInfo]) -> Vec<&'a TableInfo> {
    match src.publication.ok() {
        Some(Some(p)) if !p.all_tables => {
            let published = published_keys(p);
            tables
                .iter()
                .filter(|t| published.contains(&key_of(t)))
                .collect()
        }
        _ => tables.iter().collect(),
    }
}

fn table_list(tables: &[&TableInfo]) -> String {
    tables
        .iter()
        .map(|t| quote::qualified(&t.schema, &t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn publication_check(
    p: Option<&PublicationInfo>,
    src: &SideSnapshot,
    s: &Settings,
) -> (Status, String, Option<Fix>) {
    let Some(p) = p else {
        let tables: Vec<&TableInfo> = src
            .tables
            .ok()
            .map(|ts| ts.iter().filter(|t| t.schema == s.schema).collect())
            .unwrap_or_default();
        let fix = if tables.is_empty() {
            None
        } else {
            Some(Fix::sql(vec![format!(
                "CREATE PUBLICATION {} FOR TABLE {}",
                quote::ident(&s.publication),
                table_list(&tables)
            )]))
        };
        return (
            Status::Critical,
            format!(
                "publication {} does not exist: nothing is published",
                s.publication
            ),
            fix,
        );
    };
    let missing: Vec<&str> = [
        ("insert", p.insert),
        ("update", p.update),
        ("delete", p.delete),
    ]
    .into_iter()
    .filter(|(_, on)| !on)
    .map(|(a, _)| a)
    .collect();
    if !missing.is_empty() {
        return (
            Status::Warning,
            format!(
                "publication {} does not publish {}: those changes never reach the destination",
                p.name,
                missing.join(", ")
            ),
            Some(Fix::sql(vec![format!(
                "ALTER PUBLICATION {} SET (publish = 'insert, update, delete, truncate')",
                quote::ident(&p.name)
            )])),
        );
    }
    let scope = if p.all_tables {
        "all tables".to_string()
    } else {
        format!("{} tables", p.tables.len())
    };
    (
        Status::Ok,
        format!("publication {} ({scope})", p.name),
        None,
    )
}

fn coverage_check(
    p: &PublicationInfo,
    src: &SideSnapshot,
    s: &Settings,
) -> (Status, String, Option<Fix>) {
    let tables = src.tables.ok().map(Vec::as_slice).unwrap_or_default();
    let published = published_keys(p);
    let partitioned: Vec<&TableInfo> = tables
        .iter()
        .filter(|t| t.partitioned && published.contains(&key_of(t)))
        .collect();
    if !partitioned.is_empty() && !p.via_root {
        return (
            Status::Warning,
            format!(
                "partitioned tables {} are published without publish_via_partition_root: changes arrive under partition names",
                table_list(&partitioned)
            ),
            Some(Fix::sql(vec![format!(
                "ALTER PUBLICATION {} SET (publish_via_partition_root = true)",
                quote::ident(&p.name)
            )])),
        );
    }
    if p.all_tables {
        return (
            Status::Ok,
            "FOR ALL TABLES: every table is published".into(),
            None,
        );
    }
    let unpublished: Vec<&TableInfo> = tables
        .iter()
        .filter(|t| t.schema == s.schema)
        .filter(|t| !published.contains(&key_of(t)))
        .collect();
    if p.tables.is_empty() {
        let fix = (!unpublished.is_empty()).then(|| {
            Fix::sql(vec![format!(
                "ALTER PUBLICATION {} ADD TABLE {}",
                quote::ident(&p.name),
                table_list(&unpublished)
            )])
        });
        return (
            Status::Critical,
            format!("publication {} has no tables", p.name),
            fix,
        );
    }
    if unpublished.is_empty() {
        return (
            Status::Ok,
            format!(
                "all {} tables of schema {} are published",
                p.tables.len(),
                s.schema
            ),
            None,
        );
    }
    let names: Vec<String> = unpublished.iter().map(|t| t.name.clone()).collect();
    (
        Status::Warning,
        format!(
            "{} table(s) of {} not in the publication, silently not replicated: {}",
            unpublished.len(),
            s.schema,
            abbreviate(&names, 5)
        ),
        Some(Fix::sql(vec![format!(
            "ALTER PUBLICATION {} ADD TABLE {}",
            quote::ident(&p.name),
            table_list(&unpublished)
        )])),
    )
}

/// `a, b, c and 7 more`.
pub fn abbreviate(names: &[String], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..max].join(", "), names.len() - max)
    }
}

fn replica_identity_check(tables: &[&TableInfo]) -> (Status, String, Option<Fix>) {
    let mut broken = Vec::new();
    let mut sql = Vec::new();
    let mut full = false;
    for t in tables {
        let usable = match t.replica_identity {
            'd' => t.has_primary_key,
            'n' => false,
            _ => true,
        };
        if usable {
            continue;
        }
        broken.push(t.name.clone());
        let target = quote::qualified(&t.schema, &t.name);
        sql.push(if t.has_primary_key {
            format!("ALTER TABLE {target} REPLICA IDENTITY DEFAULT")
        } else if let Some(idx) = &t.unique_index {
            format!(
                "ALTER TABLE {target} REPLICA IDENTITY USING INDEX {}",
                quote::ident(idx)
            )
        } else {
            full = true;
            format!("ALTER TABLE {target} REPLICA IDENTITY FULL")
        });
    }
    if broken.is_empty() {
        return (
            Status::Ok,
            format!(
                "all {} published tables have a usable replica identity",
                tables.len()
            ),
            None,
        );
    }
    let fix = Fix {
        sql,
        restart_needed: false,
        manual: None,
        caution: full.then(|| {
            "REPLICA IDENTITY FULL logs whole old rows and makes the destination search by every column: add a primary key where you can".to_string()
        }),
    };
    (
        Status::Critical,
        format!(
            "no usable replica identity (no primary key, identity DEFAULT or NOTHING), so UPDATE and DELETE cannot replicate and fail on the source: {}",
            abbreviate(&broken, 5)
        ),
        Some(fix),
    )
}

fn vector_check(
    e: &crate::model::snapshot::Extensions,
    version_num: Option<i32>,
) -> (Status, String, Option<Fix>) {
    if let Some(v) = &e.vector_installed {
        return (Status::Ok, format!("vector {v} installed"), None);
    }
    if e.vector_available {
        return (
            Status::Critical,
            "pgvector is available but not installed in this database".into(),
            Some(Fix::sql(vec![
                "CREATE EXTENSION IF NOT EXISTS vector".into(),
            ])),
        );
    }
    let major = version_num.map(|v| v / 10000).unwrap_or(16);
    (
        Status::Critical,
        format!(
            "pgvector is not installed on this server: install the OS package postgresql-{major}-pgvector, then CREATE EXTENSION vector"
        ),
        Some(Fix::manual(format!(
            "apt install postgresql-{major}-pgvector   # Debian/Ubuntu (PGDG); RHEL: dnf install pgvector_{major}; then CREATE EXTENSION vector"
        ))),
    )
}

/// Broad type families: values of the same family replicate into each other.
pub fn type_family(data_type: &str) -> String {
    let base = data_type.split('(').next().unwrap_or(data_type).trim();
    let array = data_type.ends_with("[]");
    let family = match base {
        "smallint" | "integer" | "bigint" => "integer",
        "numeric" | "real" | "double precision" | "decimal" => "number",
        "text" | "character varying" | "character" | "varchar" | "char" | "name" | "citext" => {
            "text"
        }
        "timestamp without time zone" | "timestamp with time zone" => "timestamp",
        "time without time zone" | "time with time zone" => "time",
        "json" | "jsonb" => "json",
        other => other,
    };
    if array && !family.ends_with("[]") {
        format!("{family}[]")
    } else {
        family.to_string()
    }
}

fn dest_checks(dst: &SideSnapshot, src: &SideSnapshot, s: &Settings) -> Vec<Check> {
    let mut b = Builder {
        side: Side::Dest,
        snap: dst,
        out: Vec::new(),
    };
    reach_check(&mut b, "dest.reachable");
    b.with("dest.vector", "vector", &dst.extensions, |e| {
        vector_check(e, dst.version_num)
    });

    let source_tables: Vec<&TableInfo> = src
        .tables
        .ok()
        .map(|ts| published_tables(src, ts))
        .unwrap_or_default();
    let src_known = src.tables.ok().is_some();
    b.with("dest.tables", "dest tables", &dst.tables, |dtables| {
        if !src_known {
            return (Status::Unknown, "source tables unknown".into(), None);
        }
        let on_dest: HashSet<(&str, &str)> = dtables.iter().map(key_of).collect();
        let missing_tables: Vec<&TableInfo> = source_tables
            .iter()
            .filter(|t| !on_dest.contains(&key_of(t)))
            .copied()
            .collect();
        let missing: Vec<String> = missing_tables.iter().map(|t| t.qualified_name()).collect();
        if missing.is_empty() {
            (
                Status::Ok,
                format!(
                    "all {} published tables exist on the destination",
                    source_tables.len()
                ),
                None,
            )
        } else {
            // Native replication applies into existing tables, so syncwatch can create
            // them; Airbyte creates its own (with its extra columns).
            let fix = (s.engine == Engine::Native).then(|| create_tables_fix(&missing_tables));
            (
                Status::Critical,
                format!("missing on the destination: {}", abbreviate(&missing, 5)),
                fix,
            )
        }
    });
    b.with("dest.columns", "columns", &dst.tables, |dtables| {
        if !src_known {
            return (Status::Unknown, "source tables unknown".into(), None);
        }
        column_check(&source_tables, dtables)
    });
    if s.engine == Engine::Native {
        b.with(
            "dest.subscription",
            "subscription",
            &dst.subscription,
            |sub| subscription_check(sub.as_ref(), s),
        );
        b.with(
            "dest.subscription_tables",
            "table sync",
            &dst.subscription,
            |sub| {
                let Some(sub) = sub else {
                    return (Status::Unknown, "no subscription".into(), None);
                };
                let pending: Vec<String> = sub
                    .table_states
                    .iter()
                    .filter(|(_, st)| !matches!(st, 'r' | 's'))
                    .map(|(t, st)| format!("{t} ({})", substate_label(*st)))
                    .collect();
                if pending.is_empty() {
                    (
                        Status::Ok,
                        format!("{} tables ready", sub.table_states.len()),
                        None,
                    )
                } else {
                    (
                        Status::Warning,
                        format!("initial copy not finished: {}", abbreviate(&pending, 4)),
                        None,
                    )
                }
            },
        );
        b.with("dest.subscription_errors", "apply errors", &dst.subscription, |sub| {
            let Some(sub) = sub else {
                return (Status::Unknown, "no subscription".into(), None);
            };
            match (sub.apply_error_count, sub.sync_error_count) {
                (Some(a), Some(y)) if a + y > 0 => (
                    Status::Warning,
                    format!("{a} apply and {y} sync errors since the last reset: read the destination's server log"),
                    Some(Fix::sql(vec![format!(
                        "SELECT pg_stat_reset_subscription_stats(oid) FROM pg_subscription WHERE subname = {}",
                        quote::literal(&sub.name)
                    )])),
                ),
                (Some(_), Some(_)) => (Status::Ok, "no apply or sync errors".into(), None),
                _ => (Status::Ok, "error counters n/a before PostgreSQL 15".into(), None),
            }
        });
    }
    b.out
}

/// `CREATE TABLE` statements copying the source's columns, types and primary key (not
/// defaults, sequences or foreign keys: the destination only receives rows).
fn create_tables_fix(tables: &[&TableInfo]) -> Fix {
    let mut sql = Vec::new();
    let mut schemas: Vec<&str> = tables.iter().map(|t| t.schema.as_str()).collect();
    schemas.sort();
    schemas.dedup();
    for schema in schemas {
        if schema != "public" {
            sql.push(format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                quote::ident(schema)
            ));
        }
    }
    for t in tables {
        let mut parts: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{} {}", quote::ident(&c.name), c.data_type))
            .collect();
        if !t.primary_key.is_empty() {
            let key: Vec<String> = t.primary_key.iter().map(|k| quote::ident(k)).collect();
            parts.push(format!("PRIMARY KEY ({})", key.join(", ")));
        }
        sql.push(format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            quote::qualified(&t.schema, &t.name),
            parts.join(", ")
        ));
    }
    Fix {
        sql,
        restart_needed: false,
        manual: None,
        caution: Some(
            "an existing subscription copies the new tables only after ALTER SUBSCRIPTION … REFRESH PUBLICATION".into(),
        ),
    }
}

pub fn substate_label(state: char) -> &'static str {
    match state {
        'i' => "init",
        'd' => "copying",
        'f' => "finished copy",
        's' => "synchronized",
        'r' => "ready",
        _ => "unknown",
    }
}

fn column_check(source: &[&TableInfo], dest: &[TableInfo]) -> (Status, String, Option<Fix>) {
    let mut problems = Vec::new();
    let on_dest: HashMap<(&str, &str), &TableInfo> = dest.iter().map(|d| (key_of(d), d)).collect();
    for st in source {
        let Some(dt) = on_dest.get(&key_of(st)) else {
            continue;
        };
        for sc in &st.columns {
            match dt.columns.iter().find(|c| c.name == sc.name) {
                None => problems.push(format!("{}.{} missing", st.name, sc.name)),
                Some(dc) if type_family(&dc.data_type) != type_family(&sc.data_type) => problems
                    .push(format!(
                        "{}.{} is {} on the source but {} on the destination",
                        st.name, sc.name, sc.data_type, dc.data_type
                    )),
                Some(_) => {}
            }
        }
        for dc in &dt.columns {
            if !is_airbyte_column(&dc.name)
                && !st.columns.iter().any(|c| c.name == dc.name)
                && dc.not_null
            {
                problems.push(format!(
                    "{}.{} exists only on the destination and is NOT NULL: inserts will fail",
                    st.name, dc.name
                ));
            }
        }
    }
    if problems.is_empty() {
        (
            Status::Ok,
            "columns and types match (Airbyte's columns ignored)".into(),
            None,
        )
    } else {
        (
            Status::Critical,
            format!("column drift: {}", abbreviate(&problems, 3)),
            None,
        )
    }
}

fn subscription_check(
    sub: Option<&crate::model::snapshot::SubscriptionInfo>,
    s: &Settings,
) -> (Status, String, Option<Fix>) {
    let Some(sub) = sub else {
        // The password stays a placeholder here (checks end up in JSON and on screen); the
        // fix runner puts the real one in.
        let create = format!(
            "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (create_slot = false, slot_name = {})",
            quote::ident(&s.subscription),
            quote::literal(&s.source.conninfo(false)),
            quote::ident(&s.publication),
            quote::literal(&s.slot),
        );
        return (
            Status::Critical,
            format!(
                "subscription {} does not exist on the destination: nothing consumes slot {}",
                s.subscription, s.slot
            ),
            Some(Fix {
                sql: vec![create],
                restart_needed: false,
                manual: None,
                caution: Some(format!(
                    "the destination server itself connects to the source at {}: that address must work from the destination's host",
                    s.source.address()
                )),
            }),
        );
    };
    if !sub.enabled {
        return (
            Status::Critical,
            format!("subscription {} is disabled", sub.name),
            Some(Fix::sql(vec![format!(
                "ALTER SUBSCRIPTION {} ENABLE",
                quote::ident(&sub.name)
            )])),
        );
    }
    if sub.slot_name.as_deref() != Some(s.slot.as_str()) {
        return (
            Status::Warning,
            format!(
                "subscription {} reads slot {}, not {}",
                sub.name,
                sub.slot_name.as_deref().unwrap_or("(none)"),
                s.slot
            ),
            None,
        );
    }
    if sub.worker_pid.is_none() {
        return (
            Status::Critical,
            format!(
                "subscription {} is enabled but its apply worker is not running: read the destination's log (connection refused? slot in use?)",
                sub.name
            ),
            None,
        );
    }
    (
        Status::Ok,
        format!("subscription {} streaming from slot {}", sub.name, s.slot),
        None,
    )
}

#[cfg(test)]
mod tests;
