//! Checks on hand-built snapshots: each condition broken alone.

use super::*;
use crate::config::Engine;
use crate::logic::format::human_bytes;
use crate::logic::syncs::Syncs;
use crate::model::check::{Fix, Status};
use crate::model::side::Side;
use crate::model::snapshot::*;
use crate::testing::{healthy, table};

fn native() -> Settings {
    Settings {
        engine: Engine::Native,
        ..Settings::default()
    }
}

fn status_of(snap: &Snapshot, id: &str) -> (Status, String, Option<Fix>) {
    let checks = evaluate(snap, &native(), &Syncs::once(snap));
    let c = checks
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"));
    (c.status, c.detail, c.fix)
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let checks = evaluate(&healthy(), &native(), &Syncs::default());
    let failing: Vec<_> = checks.iter().filter(|c| c.status != Status::Ok).collect();
    assert!(failing.is_empty(), "{failing:#?}");
    assert_eq!(worst(&checks), Status::Ok);
}

#[test]
fn wal_level_replica_is_critical_with_alter_system_and_restart() {
    let mut s = healthy();
    if let Fetched::Ok(st) = &mut s.source.settings {
        st.wal_level = "replica".into();
    }
    let (status, detail, fix) = status_of(&s, "source.wal_level");
    assert_eq!(status, Status::Critical);
    assert!(detail.contains("replica"));
    let fix = fix.unwrap();
    assert_eq!(
        fix.sql,
        [
            "ALTER SYSTEM SET wal_level = logical",
            "SELECT pg_reload_conf()"
        ]
    );
    assert!(fix.restart_needed);
}

#[test]
fn missing_slot_offers_to_create_it_with_pgoutput_and_wrong_plugin_does_nothing_destructive() {
    let mut s = healthy();
    s.source.slot = Fetched::Ok(None);
    let (status, _, fix) = status_of(&s, "source.slot");
    assert_eq!(status, Status::Critical);
    assert_eq!(
        fix.unwrap().sql,
        ["SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')"]
    );
    if let Fetched::Ok(Some(slot)) = &mut healthy().source.slot {
        slot.plugin = Some("test_decoding".into());
        let mut s = healthy();
        s.source.slot = Fetched::Ok(Some(slot.clone()));
        let (status, detail, fix) = status_of(&s, "source.slot");
        assert_eq!(status, Status::Critical);
        assert!(detail.contains("test_decoding"));
        assert!(fix.is_none());
    }
}

#[test]
fn idle_slot_retaining_wal_past_the_threshold_warns_then_goes_critical() {
    let mut s = healthy();
    if let Fetched::Ok(Some(slot)) = &mut s.source.slot {
        slot.active = false;
        slot.retained_bytes = Some(2 << 30);
    }
    let (status, detail, _) = status_of(&s, "source.slot_health");
    assert_eq!(status, Status::Warning);
    assert!(detail.contains("no consumer"), "{detail}");
    if let Fetched::Ok(Some(slot)) = &mut s.source.slot {
        slot.retained_bytes = Some(20 << 30);
    }
    assert_eq!(status_of(&s, "source.slot_health").0, Status::Critical);
    if let Fetched::Ok(Some(slot)) = &mut s.source.slot {
        slot.retained_bytes = Some(0);
        slot.wal_status = Some("lost".into());
    }
    assert_eq!(status_of(&s, "source.slot_health").0, Status::Critical);
}

#[test]
fn table_without_primary_key_is_critical_and_offers_full_or_a_unique_index() {
    let mut s = healthy();
    let mut t = table("notes", false);
    if let Fetched::Ok(ts) = &mut s.source.tables {
        ts.push(t.clone());
    }
    if let Fetched::Ok(Some(p)) = &mut s.source.publication {
        p.tables.push(PublishedTable {
            schema: "public".into(),
            name: "notes".into(),
            columns: None,
            row_filter: None,
        });
    }
    let (status, detail, fix) = status_of(&s, "source.replica_identity");
    assert_eq!(status, Status::Critical);
    assert!(detail.contains("notes"));
    let fix = fix.unwrap();
    assert_eq!(
        fix.sql,
        ["ALTER TABLE \"public\".\"notes\" REPLICA IDENTITY FULL"]
    );
    assert!(fix.caution.unwrap().contains("FULL"));

    t.unique_index = Some("notes_code_key".into());
    if let Fetched::Ok(ts) = &mut s.source.tables {
        *ts.last_mut().unwrap() = t;
    }
    let fix = status_of(&s, "source.replica_identity").2.unwrap();
    assert_eq!(
        fix.sql,
        ["ALTER TABLE \"public\".\"notes\" REPLICA IDENTITY USING INDEX \"notes_code_key\""]
    );
}

#[test]
fn unpublished_table_is_named_and_added_by_the_fix() {
    let mut s = healthy();
    if let Fetched::Ok(ts) = &mut s.source.tables {
        ts.push(table("a\"b", true));
    }
    let (status, detail, fix) = status_of(&s, "source.publication_tables");
    assert_eq!(status, Status::Warning);
    assert!(detail.contains("a\"b"));
    assert_eq!(
        fix.unwrap().sql,
        ["ALTER PUBLICATION \"airbyte_publication\" ADD TABLE \"public\".\"a\"\"b\""]
    );
}

#[test]
fn vector_missing_names_the_package_for_the_major_version() {
    let mut s = healthy();
    s.dest.version_num = Some(170002);
    s.dest.extensions = Fetched::Ok(Extensions {
        vector_installed: None,
        vector_available: false,
    });
    let (status, detail, fix) = status_of(&s, "dest.vector");
    assert_eq!(status, Status::Critical);
    assert!(detail.contains("postgresql-17-pgvector"), "{detail}");
    assert!(fix.unwrap().sql.is_empty());
    s.dest.extensions = Fetched::Ok(Extensions {
        vector_installed: None,
        vector_available: true,
    });
    let fix = status_of(&s, "dest.vector").2.unwrap();
    assert_eq!(fix.sql, ["CREATE EXTENSION IF NOT EXISTS vector"]);
}

#[test]
fn missing_destination_table_and_type_drift_are_critical() {
    let mut s = healthy();
    if let Fetched::Ok(ts) = &mut s.dest.tables {
        ts.retain(|t| t.name != "tache");
        ts[0].columns[1].data_type = "vector(3)".into();
    }
    let (status, detail, _) = status_of(&s, "dest.tables");
    assert_eq!(status, Status::Critical);
    assert!(detail.contains("public.tache"));
    let (status, detail, _) = status_of(&s, "dest.columns");
    assert_eq!(status, Status::Critical);
    assert!(detail.contains("vector(3)"), "{detail}");
}

#[test]
fn a_destination_written_by_airbyte_may_hold_strings_for_uuid_and_vector_but_not_integers_for_text()
{
    let mut s = healthy();
    if let Fetched::Ok(ts) = &mut s.source.tables {
        ts[0].columns[1].data_type = "vector(3)".into();
        ts[1].columns[1].data_type = "uuid".into();
    }
    if let Fetched::Ok(ts) = &mut s.dest.tables {
        ts[0].columns[1].data_type = "character varying".into();
        ts[1].columns[1].data_type = "character varying".into();
    }
    let airbyte = Settings::default();
    let column = |snap: &Snapshot, settings: &Settings| {
        evaluate(snap, settings, &Syncs::once(snap))
            .into_iter()
            .find(|c| c.id == "dest.columns")
            .unwrap()
    };
    assert_eq!(column(&s, &airbyte).status, Status::Ok);
    // A subscription would apply a vector into varchar as text, and back it would not go.
    assert_eq!(column(&s, &native()).status, Status::Critical);
    if let Fetched::Ok(ts) = &mut s.source.tables {
        ts[0].columns[1].data_type = "text".into();
    }
    if let Fetched::Ok(ts) = &mut s.dest.tables {
        ts[0].columns[1].data_type = "bigint".into();
    }
    let c = column(&s, &airbyte);
    assert_eq!(c.status, Status::Critical, "{}", c.detail);
    assert!(
        c.detail.contains("is text on the source but bigint"),
        "{}",
        c.detail
    );
}

#[test]
fn airbyte_columns_and_width_changes_are_not_drift() {
    let mut s = healthy();
    if let Fetched::Ok(ts) = &mut s.dest.tables {
        for t in ts.iter_mut() {
            t.columns[0].data_type = "bigint".into();
            t.columns[1].data_type = "character varying".into();
            t.columns.push(Column {
                name: "_airbyte_raw_id".into(),
                data_type: "character varying".into(),
                not_null: true,
            });
        }
    }
    assert_eq!(status_of(&s, "dest.columns").0, Status::Ok);
}

#[test]
fn unreachable_destination_is_critical_and_leaves_its_checks_unknown() {
    let mut s = healthy();
    s.dest = SideSnapshot::down(
        "airbyte@localhost:5433/tasks_list".into(),
        Reach::Unreachable("cannot reach localhost:5433".into()),
    );
    let checks = evaluate(&s, &native(), &Syncs::once(&s));
    let dest: Vec<&Check> = checks.iter().filter(|c| c.side == Side::Dest).collect();
    assert_eq!(dest[0].status, Status::Critical);
    assert!(dest[1..].iter().all(|c| c.status == Status::Unknown));
    // Same list of checks as when up: the screen does not jump.
    assert_eq!(
        checks.len(),
        evaluate(&healthy(), &native(), &Syncs::default()).len()
    );
    assert_eq!(worst(&checks).exit_code(), 2);
}

#[test]
fn denied_parts_are_unknown_with_the_privilege_to_grant() {
    let mut s = healthy();
    s.source.slot = Fetched::Denied("permission denied for view pg_replication_slots".into());
    let (status, detail, _) = status_of(&s, "source.slot");
    assert_eq!(status, Status::Unknown);
    assert!(detail.contains("pg_monitor"));
}

#[test]
fn disabled_subscription_offers_enable_and_errors_warn() {
    let mut s = healthy();
    if let Fetched::Ok(Some(sub)) = &mut s.dest.subscription {
        sub.enabled = false;
    }
    let (status, _, fix) = status_of(&s, "dest.subscription");
    assert_eq!(status, Status::Critical);
    assert_eq!(
        fix.unwrap().sql,
        ["ALTER SUBSCRIPTION \"airbyte_subscription\" ENABLE"]
    );
    let mut s = healthy();
    if let Fetched::Ok(Some(sub)) = &mut s.dest.subscription {
        sub.apply_error_count = Some(3);
    }
    assert_eq!(status_of(&s, "dest.subscription_errors").0, Status::Warning);
}

#[test]
fn exit_codes_follow_nagios() {
    assert_eq!(Status::Ok.exit_code(), 0);
    assert_eq!(Status::Warning.exit_code(), 1);
    assert_eq!(Status::Critical.exit_code(), 2);
    assert_eq!(Status::Unknown.exit_code(), 3);
    assert!(Status::Critical > Status::Unknown && Status::Unknown > Status::Warning);
}

#[test]
fn human_bytes_reads_well() {
    assert_eq!(human_bytes(300), "300 B");
    assert_eq!(human_bytes(4300), "4.2 kB");
    assert_eq!(human_bytes(12 << 20), "12 MB");
}

#[test]
fn airbyte_with_wal_piling_up_and_no_heartbeat_table_is_told_to_add_one() {
    let mut s = healthy();
    if let Fetched::Ok(Some(slot)) = &mut s.source.slot {
        slot.active = false;
        slot.retained_bytes = Some(2 << 30);
    }
    let airbyte = Settings::default();
    let health = |snap: &Snapshot, settings: &Settings| {
        evaluate(snap, settings, &Syncs::once(snap))
            .into_iter()
            .find(|c| c.id == "source.slot_health")
            .unwrap()
    };
    let c = health(&s, &airbyte);
    assert_eq!(c.status, Status::Warning);
    assert!(c.detail.contains("heartbeat_action_query"), "{}", c.detail);
    let fix = c.fix.unwrap();
    assert_eq!(
        fix.sql,
        [
            "CREATE TABLE IF NOT EXISTS \"public\".\"airbyte_heartbeat\" (id serial PRIMARY KEY, \"timestamp\" timestamp NOT NULL DEFAULT current_timestamp, text text)",
            "ALTER PUBLICATION \"airbyte_publication\" ADD TABLE \"public\".\"airbyte_heartbeat\"",
        ]
    );
    assert!(
        fix.caution
            .unwrap()
            .contains("INSERT INTO airbyte_heartbeat")
    );
    // Published already: the warning stays, without the heartbeat advice.
    if let Fetched::Ok(Some(p)) = &mut s.source.publication {
        p.tables.push(crate::model::snapshot::PublishedTable {
            schema: "public".into(),
            name: "airbyte_heartbeat".into(),
            ..Default::default()
        });
    }
    let c = health(&s, &airbyte);
    assert_eq!(c.status, Status::Warning);
    assert!(c.fix.is_none() && !c.detail.contains("heartbeat_action_query"));
    // A subscription keeps the slot moving by itself: no heartbeat advice.
    assert!(health(&s, &native()).fix.is_none());
}

/// The syncs check after feeding `polls` (slot active?, confirmed position) one second
/// apart, judged at the last one.
fn syncs_after(settings: &Settings, polls: &[Option<(bool, &str)>]) -> (Status, String) {
    check_after(settings, polls, "source.syncs")
}

fn check_after(settings: &Settings, polls: &[Option<(bool, &str)>], id: &str) -> (Status, String) {
    let mut history = Syncs::default();
    let mut last = healthy();
    for (i, p) in polls.iter().enumerate() {
        let mut snap = healthy();
        snap.taken_at_ms = 1_000 * i as i64;
        snap.source.slot = match p {
            None => Fetched::Ok(None),
            Some((active, confirmed)) => {
                let Fetched::Ok(Some(mut slot)) = snap.source.slot.clone() else {
                    unreachable!()
                };
                slot.active = *active;
                slot.confirmed_flush_lsn = Some(confirmed.to_string());
                Fetched::Ok(Some(slot))
            }
        };
        history.observe(&snap);
        last = snap;
    }
    let c = evaluate(&last, settings, &history)
        .into_iter()
        .find(|c| c.id == id)
        .unwrap();
    (c.status, c.detail)
}

#[test]
fn a_slot_recreated_between_airbyte_syncs_means_the_next_sync_will_fail() {
    let airbyte = Settings::default();
    let polls = [Some((false, "0/100")), None, Some((false, "0/900"))];
    let (status, detail) = syncs_after(&airbyte, &polls);
    assert_eq!(status, Status::Critical, "{detail}");
    assert!(
        detail.starts_with("the next sync will fail: the slot was recreated"),
        "{detail}"
    );
    assert!(
        detail.contains("invalid_cdc_cursor_position_behavior"),
        "{detail}"
    );
    // Once a sync has taken the slot, Airbyte has dealt with it.
    let mut taken = polls.to_vec();
    taken.push(Some((true, "0/900")));
    assert_eq!(syncs_after(&airbyte, &taken).0, Status::Ok);
    // A subscription takes it at once and skips what lay between: that stays said, by
    // the slot's health (a subscription has no syncs check).
    assert!(
        evaluate(&healthy(), &native(), &Syncs::default())
            .iter()
            .all(|c| c.id != "source.syncs")
    );
    let (status, detail) = check_after(&native(), &taken, "source.slot_health");
    assert_eq!(status, Status::Warning, "{detail}");
    assert!(detail.contains("never reach the destination"), "{detail}");
}

#[test]
fn a_slot_that_lost_its_wal_fails_the_next_airbyte_sync_and_an_idle_slot_is_not_a_fault() {
    let airbyte = Settings::default();
    let (status, detail) = syncs_after(&airbyte, &[Some((false, "0/100"))]);
    assert_eq!(status, Status::Ok, "{detail}");
    let mut snap = healthy();
    if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
        slot.active = false;
        slot.wal_status = Some("lost".into());
        slot.restart_lsn = None;
    }
    let c = evaluate(&snap, &airbyte, &Syncs::once(&snap))
        .into_iter()
        .find(|c| c.id == "source.syncs")
        .unwrap();
    assert_eq!(c.status, Status::Critical, "{}", c.detail);
    assert!(c.detail.contains("(wal_status lost)"), "{}", c.detail);
}

#[test]
fn a_one_shot_check_on_17_says_a_sync_is_overdue_against_the_configured_interval() {
    let mut snap = healthy();
    if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
        slot.active = false;
        slot.inactive_for_ms = Some(3 * 3_600_000);
    }
    let hourly = Settings {
        sync_interval: Some(std::time::Duration::from_secs(3600)),
        ..Settings::default()
    };
    let c = evaluate(&snap, &hourly, &Syncs::once(&snap))
        .into_iter()
        .find(|c| c.id == "source.syncs")
        .unwrap();
    assert_eq!(c.status, Status::Warning, "{}", c.detail);
    assert_eq!(
        c.detail,
        "no sync for 3h00m, every ~1h00m (sync_interval): the next is 2h00m late — is the connection's schedule paused, or did its last job fail?"
    );
    // Without a schedule to judge by, an idle slot is what Airbyte's slots look like.
    let c = evaluate(&snap, &Settings::default(), &Syncs::once(&snap))
        .into_iter()
        .find(|c| c.id == "source.syncs")
        .unwrap();
    assert_eq!(c.status, Status::Ok, "{}", c.detail);
}

#[test]
fn tables_airbyte_keeps_only_as_raw_records_are_not_missing() {
    let mut snap = healthy();
    if let Fetched::Ok(ts) = &mut snap.dest.tables {
        // tache only as a raw table; utilisateur as a final table.
        ts.retain(|t| t.name != "tache");
        let mut raw = table("public_raw__stream_tache", false);
        raw.schema = "airbyte_internal".into();
        raw.rows = Some(RowCount {
            rows: 37,
            exact: true,
        });
        ts.push(raw);
    }
    let airbyte = Settings::default();
    let checks = evaluate(&snap, &airbyte, &Syncs::once(&snap));
    let tables = checks.iter().find(|c| c.id == "dest.tables").unwrap();
    assert_eq!(tables.status, Status::Ok, "{}", tables.detail);
    assert!(
        tables
            .detail
            .contains("1 only as Airbyte raw tables in airbyte_internal"),
        "{}",
        tables.detail
    );
    let columns = checks.iter().find(|c| c.id == "dest.columns").unwrap();
    assert_eq!(columns.status, Status::Ok, "{}", columns.detail);
    let mut tracker =
        crate::logic::divergence::Tracker::new(crate::logic::mapping::Mapping::new(&airbyte));
    tracker.observe(&snap);
    let key = ("public".to_string(), "tache".to_string());
    assert_eq!(tracker.state(&key), crate::logic::divergence::State::Raw);
    // For a subscription the same destination misses the table.
    let checks = evaluate(&snap, &native(), &Syncs::once(&snap));
    let tables = checks.iter().find(|c| c.id == "dest.tables").unwrap();
    assert_eq!(tables.status, Status::Critical, "{}", tables.detail);
}

#[test]
fn airbyte_renames_odd_column_names_and_the_column_check_follows() {
    let mut snap = healthy();
    if let Fetched::Ok(ts) = &mut snap.source.tables {
        ts[0].columns[1].name = "due date".into();
    }
    if let Fetched::Ok(ts) = &mut snap.dest.tables {
        ts[0].columns[1].name = "due_date".into();
    }
    let column = |s: &Settings| {
        evaluate(&snap, s, &Syncs::once(&snap))
            .into_iter()
            .find(|c| c.id == "dest.columns")
            .unwrap()
    };
    assert_eq!(column(&Settings::default()).status, Status::Ok);
    let native = column(&native());
    assert_eq!(native.status, Status::Critical);
    assert!(
        native.detail.contains("due date missing"),
        "{}",
        native.detail
    );
}

/// A slot retaining `mb_per_s` more WAL each second for two minutes, with `safe_mb`
/// of room left at the end (max_slot_wal_keep_size) when given.
fn growing(settings: &Settings, mb_per_s: i64, safe_mb: Option<i64>) -> Check {
    let mut history = Syncs::default();
    let mut last = healthy();
    for i in 0..120i64 {
        let mut snap = healthy();
        snap.taken_at_ms = i * 1000;
        snap.source.current_lsn =
            Some(crate::model::lsn::Lsn((i * mb_per_s) as u64 * 1_048_576 + 1).to_string());
        if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
            slot.active = false;
            slot.retained_bytes = Some(i * mb_per_s * 1_048_576);
            slot.safe_wal_size = safe_mb.map(|m| (m + (119 - i) * mb_per_s) * 1_048_576);
        }
        history.observe(&snap);
        last = snap;
    }
    evaluate(&last, settings, &history)
        .into_iter()
        .find(|c| c.id == "source.slot_health")
        .unwrap()
}

#[test]
fn retained_wal_that_will_invalidate_the_slot_soon_is_said_with_its_time() {
    let s = native();
    let c = growing(&s, 1, Some(1800));
    assert_eq!(c.status, Status::Critical, "{}", c.detail);
    assert!(
        c.detail.contains("growing 1.0 MB/s: the slot is invalidated (max_slot_wal_keep_size) in ~30m00s at this rate"),
        "{}",
        c.detail
    );
    let c = growing(&s, 1, Some(3 * 3600));
    assert_eq!(c.status, Status::Warning, "{}", c.detail);
    assert!(c.detail.contains("in ~3h00m"), "{}", c.detail);
    // Far off: only the bytes decide (an idle subscription warns on its own).
    let c = growing(&s, 1, Some(10 * 24 * 3600));
    assert!(!c.detail.contains("at this rate"), "{}", c.detail);
    // With Airbyte and no sync in view to cut it, the same.
    let c = growing(&Settings::default(), 1, Some(1800));
    assert_eq!(c.status, Status::Critical, "{}", c.detail);
    // Without max_slot_wal_keep_size: time to the critical size.
    let c = growing(&s, 10, None);
    assert!(c.detail.contains("it reaches 10 GB in ~"), "{}", c.detail);
}
