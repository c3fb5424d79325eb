//! The source's checks: settings, role, slot and its health, publication and what it
//! covers, replica identity, pgvector.

use crate::config::{Engine, Settings};
use crate::logic::format::{abbreviate, age_ms, human_bytes, millis};
use crate::logic::quote;
use crate::logic::timeline::Breaks;
use crate::model::check::{Check, CheckId, Fix, Status};
use crate::model::side::Side;
use crate::model::snapshot::{
    Fetched, PublicationInfo, ReplicaIdentity, SideSnapshot, SlotInfo, TableInfo,
};

use super::common::{
    Builder, key_of, published_keys, published_tables, reach_check, table_list, vector_check,
};
use super::syncs::syncs_check;
use crate::logic::syncs::Syncs;

pub(super) fn checks(src: &SideSnapshot, s: &Settings, history: &Syncs, now_ms: i64) -> Vec<Check> {
    let mut b = Builder::new(Side::Source, src);
    reach_check(&mut b, CheckId::SourceReachable);

    b.with(CheckId::SourceWalLevel, &src.settings, |st| {
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
    b.with(CheckId::SourceMaxReplicationSlots, &src.settings, |st| {
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

    b.with(CheckId::SourceMaxWalSenders, &src.settings, |st| {
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

    b.with(CheckId::SourceReplicationRole, &src.role, |r| {
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

    b.with(CheckId::SourceSlot, &src.slot, |slot| {
        slot_check(slot.as_ref(), s)
    });
    b.with(CheckId::SourceSlotHealth, &src.slot, |slot| match slot {
        None => (
            Status::Unknown,
            format!("no slot {} to watch", s.slot),
            None,
        ),
        Some(slot) => with_recreated(
            with_forecast(slot_health(slot, src, s), slot, s, history, now_ms),
            s,
            history,
            now_ms,
        ),
    });
    // Syncs are Airbyte's: a subscription streams, and the one thing to say of it (its
    // slot recreated under it) belongs to the slot's health.
    if s.engine == Engine::Airbyte {
        b.with(CheckId::SourceSyncs, &src.slot, |slot| match slot {
            None => (Status::Unknown, format!("no slot {} to read", s.slot), None),
            Some(slot) => syncs_check(slot, history, s, now_ms),
        });
    }

    b.with(CheckId::SourcePublication, &src.publication, |p| {
        publication_check(p.as_ref(), src, s)
    });
    b.with(
        CheckId::SourcePublicationTables,
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
    b.with(CheckId::SourceReplicaIdentity, &src.tables, |tables| {
        replica_identity_check(&published_tables(src, tables))
    });
    b.with(CheckId::SourceVector, &src.extensions, |e| {
        vector_check(e, src.version_num)
    });
    // A setting already changed and waiting for a restart needs the restart, not the same
    // ALTER SYSTEM again: running setup twice must do nothing the second time.
    if let Some(st) = src.settings.ok() {
        for c in b.out.iter_mut() {
            let Some(param) = c.id.server_setting() else {
                continue;
            };
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
        needs: None,
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

/// The heartbeat table the fix creates, as Airbyte's troubleshooting guide names it.
const HEARTBEAT_TABLE: &str = "airbyte_heartbeat";
/// What to set as Airbyte's `heartbeat_action_query` for it.
const HEARTBEAT_QUERY: &str = "INSERT INTO airbyte_heartbeat (text) VALUES ('heartbeat')";

/// A table of the publication that looks like a heartbeat table.
fn heartbeat_published(src: &SideSnapshot) -> bool {
    src.publication
        .ok()
        .and_then(|p| p.as_ref())
        .is_some_and(|p| {
            p.all_tables
                || p.tables
                    .iter()
                    .any(|t| t.name.to_ascii_lowercase().contains("heartbeat"))
        })
}

fn heartbeat_fix(s: &Settings) -> Fix {
    let table = quote::qualified(&s.schema, HEARTBEAT_TABLE);
    Fix::sql(vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {table} (id serial PRIMARY KEY, \"timestamp\" timestamp NOT NULL DEFAULT current_timestamp, text text)"
        ),
        format!(
            "ALTER PUBLICATION {} ADD TABLE {table}",
            quote::ident(&s.publication)
        ),
    ])
    .with_caution(format!(
        "then, in Airbyte's Postgres source, set heartbeat_action_query to {HEARTBEAT_QUERY} and select the table in the connection"
    ))
}

fn slot_health(slot: &SlotInfo, src: &SideSnapshot, s: &Settings) -> (Status, String, Option<Fix>) {
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
    // Airbyte's syncs can only move the slot past WAL its published tables wrote:
    // while they sit idle and the database writes elsewhere, WAL piles up. A heartbeat
    // table in the publication, written at each sync, lets the slot advance.
    let heartbeat =
        (s.engine == Engine::Airbyte && !heartbeat_published(src)).then(|| heartbeat_fix(s));
    let behind = match &heartbeat {
        Some(_) => format!(
            "{behind} — with Airbyte, add a heartbeat table to the publication and set the source's heartbeat_action_query to {HEARTBEAT_QUERY:?}"
        ),
        None => behind.to_string(),
    };
    if retained >= s.retained_wal_critical_bytes as i64 {
        (
            Status::Critical,
            format!(
                "{detail} — over {}: {behind}",
                human_bytes(s.retained_wal_critical_bytes as i64)
            ),
            heartbeat,
        )
    } else if retained >= s.retained_wal_warning_bytes as i64 {
        (
            Status::Warning,
            format!(
                "{detail} — over {}: {behind}",
                human_bytes(s.retained_wal_warning_bytes as i64)
            ),
            heartbeat,
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

/// A subscription takes a recreated slot at once and silently skips what lay between:
/// the slot's health says so (a warning that stays while syncwatch runs).
fn with_recreated(
    (status, detail, fix): (Status, String, Option<Fix>),
    s: &Settings,
    history: &Syncs,
    now_ms: i64,
) -> (Status, String, Option<Fix>) {
    match super::syncs::native_break(history, s, now_ms) {
        Some(text) => (
            status.max(Status::Warning),
            format!("{detail} — {text}"),
            fix,
        ),
        None => (status, detail, fix),
    }
}

/// The slot health check, made worse when retained WAL at its current growth breaks
/// something within `forecast_warning`/`forecast_critical`: the slot invalidated
/// (`max_slot_wal_keep_size` set), else the critical size reached. With Airbyte, growth
/// between syncs is normal: only a break due before the next sync counts.
fn with_forecast(
    (status, detail, fix): (Status, String, Option<Fix>),
    slot: &SlotInfo,
    s: &Settings,
    history: &Syncs,
    now_ms: i64,
) -> (Status, String, Option<Fix>) {
    let Some(f) = crate::logic::syncs::forecast_for(history, slot, s.retained_wal_critical_bytes)
    else {
        return (status, detail, fix);
    };
    let due = crate::logic::syncs::next_due_ms(history, s.sync_interval);
    // A sync due before the break resets the slot's retained WAL; one already late
    // is no help.
    if s.engine == Engine::Airbyte && due.is_some_and(|d| d > now_ms && d - now_ms < f.in_ms) {
        return (status, detail, fix);
    }
    let by_time = if f.in_ms <= millis(s.forecast_critical) {
        Status::Critical
    } else if f.in_ms <= millis(s.forecast_warning) {
        Status::Warning
    } else {
        return (status, detail, fix);
    };
    let what = match f.breaks {
        Breaks::Invalidated => "the slot is invalidated (max_slot_wal_keep_size)".to_string(),
        Breaks::Critical => format!(
            "it reaches {}",
            human_bytes(s.retained_wal_critical_bytes as i64)
        ),
    };
    let detail = format!(
        "{detail} — growing {}/s: {what} in ~{} at this rate",
        human_bytes(f.rate.round() as i64),
        age_ms(f.in_ms)
    );
    (status.max(by_time), detail, fix)
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

fn replica_identity_check(tables: &[&TableInfo]) -> (Status, String, Option<Fix>) {
    let mut broken = Vec::new();
    let mut sql = Vec::new();
    let mut full = false;
    for t in tables {
        let usable = match t.replica_identity {
            ReplicaIdentity::Default => t.has_primary_key,
            ReplicaIdentity::Nothing => false,
            ReplicaIdentity::Full | ReplicaIdentity::Index => true,
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
        needs: None,
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
