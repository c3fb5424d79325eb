//! Test support, compiled only for tests and with the `testing` feature (integration
//! tests and benchmarks): hand-built snapshots — a healthy native setup of the guide's two
//! tables, helpers to make many tables — in [`faults`], fault injection, and in
//! [`airbyte_api`], a stand-in for Airbyte's API.

pub mod airbyte_api;
pub mod faults;

use crate::model::snapshot::*;

pub fn table(name: &str, pk: bool) -> TableInfo {
    TableInfo {
        schema: "public".into(),
        name: name.into(),
        replica_identity: ReplicaIdentity::Default,
        has_primary_key: pk,
        primary_key: if pk { vec!["id".into()] } else { vec![] },
        unique_index: None,
        partitioned: false,
        columns: vec![
            Column {
                name: "id".into(),
                data_type: "integer".into(),
                not_null: true,
            },
            Column {
                name: "title".into(),
                data_type: "character varying(255)".into(),
                not_null: false,
            },
        ],
        rows: Some(RowCount {
            rows: 10,
            exact: true,
        }),
        soft_delete_column: false,
        modifications: Some(1),
        changes: Some(1),
        freshness: None,
    }
}

/// A snapshot where every check passes (native engine).
pub fn healthy() -> Snapshot {
    let tables = vec![table("tache", true), table("utilisateur", true)];
    let up = |endpoint: &str| SideSnapshot {
        version_num: Some(160014),
        settings: Fetched::Ok(ServerSettings {
            wal_level: "logical".into(),
            max_replication_slots: 10,
            max_wal_senders: 10,
            slots_used: 1,
            senders_used: 1,
            pending_restart: vec![],
        }),
        role: Fetched::Ok(RoleInfo {
            name: "airbyte".into(),
            replication: true,
            superuser: false,
            pg_monitor: false,
        }),
        extensions: Fetched::Ok(Extensions {
            vector_installed: Some("0.8.5".into()),
            vector_available: true,
        }),
        tables: Fetched::Ok(tables.clone()),
        ..SideSnapshot::down(endpoint.into(), Reach::Up)
    };
    let mut source = up("airbyte@localhost:5432/tasks_list");
    source.slot = Fetched::Ok(Some(SlotInfo {
        name: "airbyte_slot".into(),
        plugin: Some("pgoutput".into()),
        slot_type: "logical".into(),
        database: Some("tasks_list".into()),
        active: true,
        retained_bytes: Some(4096),
        lag_bytes: Some(0),
        wal_status: Some("reserved".into()),
        ..Default::default()
    }));
    source.publication = Fetched::Ok(Some(PublicationInfo {
        name: "airbyte_publication".into(),
        all_tables: false,
        insert: true,
        update: true,
        delete: true,
        truncate: true,
        via_root: false,
        tables: tables
            .iter()
            .map(|t| PublishedTable {
                schema: t.schema.clone(),
                name: t.name.clone(),
                columns: None,
                row_filter: None,
            })
            .collect(),
    }));
    let mut dest = up("airbyte@localhost:5433/tasks_list");
    dest.subscription = Fetched::Ok(Some(SubscriptionInfo {
        name: "airbyte_subscription".into(),
        enabled: true,
        slot_name: Some("airbyte_slot".into()),
        publications: vec!["airbyte_publication".into()],
        worker_pid: Some(42),
        table_states: vec![
            ("public.tache".into(), SubState::Ready),
            ("public.utilisateur".into(), SubState::Ready),
        ],
        apply_error_count: Some(0),
        sync_error_count: Some(0),
        ..Default::default()
    }));
    Snapshot {
        taken_at_ms: 0,
        source,
        dest,
    }
}

/// A healthy snapshot with `n` tables `t000`… instead of the guide's two, every seventh
/// counted by estimate, published FOR ALL TABLES.
pub fn many_tables(n: usize) -> Snapshot {
    let mut snap = healthy();
    let tables: Vec<_> = (0..n)
        .map(|i| {
            let mut t = table(&format!("t{i:03}"), true);
            t.rows = Some(RowCount {
                rows: i as i64 * 10,
                exact: i % 7 != 0,
            });
            t
        })
        .collect();
    snap.source.tables = Fetched::Ok(tables.clone());
    snap.dest.tables = Fetched::Ok(tables);
    if let Fetched::Ok(Some(p)) = &mut snap.source.publication {
        p.all_tables = true;
    }
    snap
}
