//! The destination's checks: reachable, pgvector, every published table present with
//! compatible columns and, for the native engine, the subscription and its tables.

use std::collections::{HashMap, HashSet};

use crate::config::{Engine, Settings};
use crate::logic::format::abbreviate;
use crate::logic::mapping::{Mapping, RAW_SCHEMA};
use crate::logic::quote;
use crate::logic::types;
use crate::model::check::{Check, CheckId, Fix, Needs, Status};
use crate::model::side::Side;
use crate::model::snapshot::{
    SideSnapshot, SubscriptionInfo, TableInfo, TableKey, is_airbyte_column,
};

use super::common::{Builder, key_of, published_tables, reach_check, vector_check};

pub(super) fn checks(dst: &SideSnapshot, src: &SideSnapshot, s: &Settings) -> Vec<Check> {
    let mut b = Builder::new(Side::Dest, dst);
    reach_check(&mut b, CheckId::DestReachable);
    b.with(CheckId::DestVector, &dst.extensions, |e| {
        vector_check(e, dst.version_num)
    });

    let source_tables: Vec<&TableInfo> = src
        .tables
        .ok()
        .map(|ts| published_tables(src, ts))
        .unwrap_or_default();
    let src_known = src.tables.ok().is_some();
    let mapping = Mapping::new(s);
    b.with(CheckId::DestTables, &dst.tables, |dtables| {
        if !src_known {
            return (Status::Unknown, "source tables unknown".into(), None);
        }
        let on_dest: HashSet<(&str, &str)> = dtables.iter().map(key_of).collect();
        let found = |key: &TableKey| on_dest.contains(&(key.0.as_str(), key.1.as_str()));
        // Airbyte writing raw tables only keeps a table as records in airbyte_internal.
        let raw_only = |t: &TableInfo| {
            !found(&mapping.dest_of(&t.key())) && mapping.raw_of(&t.key()).is_some_and(|k| found(&k))
        };
        let raw = source_tables.iter().filter(|t| raw_only(t)).count();
        let missing_tables: Vec<&TableInfo> = source_tables
            .iter()
            .filter(|t| !found(&mapping.dest_of(&t.key())) && !raw_only(t))
            .copied()
            .collect();
        let missing: Vec<String> = missing_tables
            .iter()
            .map(|t| {
                let (schema, name) = mapping.dest_of(&t.key());
                format!("{schema}.{name}")
            })
            .collect();
        if missing.is_empty() {
            let detail = if raw > 0 {
                format!(
                    "all {} published tables exist on the destination, {raw} only as Airbyte raw tables in {RAW_SCHEMA} (records, not rows: not compared)",
                    source_tables.len()
                )
            } else {
                format!(
                    "all {} published tables exist on the destination",
                    source_tables.len()
                )
            };
            (Status::Ok, detail, None)
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
    b.with(CheckId::DestColumns, &dst.tables, |dtables| {
        if !src_known {
            return (Status::Unknown, "source tables unknown".into(), None);
        }
        column_check(&source_tables, dtables, s.engine, &mapping)
    });
    if s.engine == Engine::Native {
        b.with(CheckId::DestSubscription, &dst.subscription, |sub| {
            subscription_check(sub.as_ref(), s)
        });
        b.with(CheckId::DestSubscriptionTables, &dst.subscription, |sub| {
            let Some(sub) = sub else {
                return (Status::Unknown, "no subscription".into(), None);
            };
            let pending: Vec<String> = sub
                .table_states
                .iter()
                .filter(|(_, st)| !st.is_ready())
                .map(|(t, st)| format!("{t} ({})", st.label()))
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
        });
        b.with(CheckId::DestSubscriptionErrors, &dst.subscription, |sub| {
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
        needs: None,
    }
}

fn column_check(
    source: &[&TableInfo],
    dest: &[TableInfo],
    engine: Engine,
    mapping: &Mapping,
) -> (Status, String, Option<Fix>) {
    // Airbyte widens types on the way; a subscription applies values as they are.
    let fits = match engine {
        Engine::Airbyte => types::airbyte_compatible,
        Engine::Native => types::compatible,
    };
    let mut problems = Vec::new();
    let on_dest: HashMap<(&str, &str), &TableInfo> = dest.iter().map(|d| (key_of(d), d)).collect();
    for st in source {
        let (schema, name) = mapping.dest_of(&st.key());
        let Some(dt) = on_dest.get(&(schema.as_str(), name.as_str())) else {
            continue;
        };
        for sc in &st.columns {
            let wanted = mapping.column_of(&sc.name);
            match dt.columns.iter().find(|c| c.name == wanted) {
                None => problems.push(format!("{}.{} missing", st.name, sc.name)),
                Some(dc) if !fits(&sc.data_type, &dc.data_type) => problems.push(format!(
                    "{}.{} is {} on the source but {} on the destination",
                    st.name, sc.name, sc.data_type, dc.data_type
                )),
                Some(_) => {}
            }
        }
        for dc in &dt.columns {
            if !is_airbyte_column(&dc.name)
                && !st
                    .columns
                    .iter()
                    .any(|c| mapping.column_of(&c.name) == dc.name)
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
    sub: Option<&SubscriptionInfo>,
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
                needs: Some(Needs::CreateSubscription),
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
