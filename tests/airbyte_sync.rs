//! Airbyte for real (issue 13): real Debezium syncs by `tests/airbyte/sync.py` — bounded
//! runs, the previous offset confirmed to the slot when the next sync starts, a
//! destination shaped as Airbyte's Postgres destination writes it — and what syncwatch
//! shows between, during and after them: rows waiting for the next sync are pending,
//! never stuck; rows lost behind Airbyte's back are stuck once a sync has passed them;
//! deletes, a prefix and another schema, and Airbyte's widened types are understood; the
//! diff does not wait on a consumer that is not connected.
//!
//! Each test has its own lab (two throwaway servers, see `common::airbyte`). The runner
//! needs `.ci/install-debezium`; without it the tests skip (fail under
//! `SYNCWATCH_REQUIRE_DEBEZIUM=1`). `SYNCWATCH_AIRBYTE_TRACE=1` prints every poll.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::airbyte::{AirbyteLab, SyncOpts, Watch, dest_table, key, slot_active};
use syncwatch::config::Settings;
use syncwatch::io::diff::{DiffOptions, diff_table};
use syncwatch::logic::diff::{RowDiff, TableDiff};
use syncwatch::logic::divergence::State;
use syncwatch::model::check::{Check, CheckId, Status};

const USERS: i64 = 20;
const TASKS: i64 = 200;
const TABLES: [&str; 2] = ["tache", "utilisateur"];
/// Bound on reaching a state that the next polls should show (a bound, not a timing).
const SETTLE: Duration = Duration::from_secs(30);

/// The critical checks, but for a server built without pgvector (the version matrix's
/// 13, 14, 17 and 18): that is the machine's, not the sync's.
fn critical(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| c.status == Status::Critical)
        .filter(|c| {
            !(c.id.as_str().ends_with(".vector")
                && c.detail
                    .contains("pgvector is not installed on this server"))
        })
        .map(|c| format!("{}: {}", c.id.as_str(), c.detail))
        .collect()
}

fn check(checks: &[Check], id: CheckId) -> &Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {} check in {checks:#?}", id.as_str()))
}

/// The difference (source − destination) of the newest sample of `public.<table>`.
fn difference(w: &Watch, table: &str) -> Option<i64> {
    w.tracker.history(&key(table))?.back()?.difference()
}

fn keys(rows: &[RowDiff]) -> Vec<Vec<String>> {
    rows.iter().map(|r| r.key.clone()).collect()
}

/// What the destination's `table` says of its own freshness at the newest poll.
fn freshness(w: &Watch, table: &str) -> syncwatch::model::snapshot::Freshness {
    w.snap()
        .dest
        .tables
        .ok()
        .and_then(|ts| ts.iter().find(|t| t.name == table))
        .and_then(|t| t.freshness)
        .unwrap_or_else(|| panic!("no freshness for {table}: {}", w.describe()))
}

/// The lab's `tache` diffed with `opts`; a diff that fails fails the test.
async fn diff_tache(lab: &AirbyteLab, opts: &DiffOptions) -> TableDiff {
    diff_table(&lab.settings(), "public", "tache", opts, None)
        .await
        .unwrap_or_else(|e| panic!("diff: {e}"))
}

fn summary(d: &TableDiff) -> String {
    format!(
        "{}: {} source rows, {} destination rows; missing {:?} extra {:?} changed {:?} pending {:?}; notes {:?}",
        d.qualified_name(),
        d.source_rows,
        d.dest_rows,
        keys(&d.missing),
        keys(&d.extra),
        d.changed
            .iter()
            .map(|r| (r.key.clone(), r.columns.clone()))
            .collect::<Vec<_>>(),
        keys(&d.pending),
        d.notes
    )
}

/// Between syncs the slot is inactive and the source has moved on: the new rows are
/// pending (they wait for the next sync), never stuck, and nothing is critical. The next
/// sync brings them, and the sync is seen from the slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_after_a_sync_are_pending_never_stuck_and_the_next_sync_brings_them() {
    const TEST: &str = "changes_after_a_sync_are_pending_never_stuck_and_the_next_sync_brings_them";
    assert_eq!(serde_json::to_value(State::Pending).unwrap(), "pending");
    let Some(lab) = AirbyteLab::start(TEST, USERS, TASKS).await else {
        return;
    };
    let settings = lab.settings();
    let mut w = Watch::new(settings.clone());
    let first = lab.sync_watched(&SyncOpts::default(), &mut w).await;
    assert!(first.first_sync);
    assert_eq!(first.rows, USERS + TASKS, "{}", first.json);
    w.until_all(&TABLES, State::InSync, SETTLE).await;

    let src = lab.source().await;
    syncwatch::io::seed::trickle(&src.client, 10).await.unwrap();
    // About 8 s between syncs, at least 8 polls: the slot stays inactive, the rows wait.
    let since = Instant::now();
    let (mut polls, mut pending) = (0, 0);
    while polls < 8 || since.elapsed() < Duration::from_secs(8) {
        let snap = w.poll().await;
        polls += 1;
        let state = w.state("tache");
        assert_ne!(state, State::Stuck, "poll {polls}: {}", w.describe());
        if difference(&w, "tache").is_some_and(|d| d != 0) {
            assert_eq!(
                state,
                State::Pending,
                "poll {polls}: rows that wait for the next sync: {}",
                w.describe()
            );
            pending += 1;
        }
        assert_ne!(w.state("utilisateur"), State::Stuck, "{}", w.describe());
        assert_eq!(
            slot_active(&snap),
            Some(false),
            "no sync runs: {}",
            w.describe()
        );
        let bad = critical(&w.checks());
        assert!(
            bad.is_empty(),
            "poll {polls}: between syncs nothing is critical: {bad:#?}"
        );
        tokio::time::sleep(common::airbyte::POLL_EVERY).await;
    }
    assert!(
        pending > 0,
        "the 10 new rows never showed as a difference in {polls} polls: {}",
        w.describe()
    );

    let before = freshness(&w, "tache");
    assert!(
        before.loaded_indexed && before.applied_indexed,
        "Airbyte's indexes are found: {before:?}"
    );
    let second = lab.sync_watched(&SyncOpts::default(), &mut w).await;
    assert_eq!(second.inserted, 10, "{}", second.json);
    w.until_all(&TABLES, State::InSync, SETTLE).await;
    // The destination says how fresh it is: loaded during the second sync, applied
    // further into the source's WAL than after the first.
    let after = freshness(&w, "tache");
    let loaded = after.loaded_at_ms.expect("a loaded time");
    assert!(
        loaded >= second.started_at_ms - 2000 && loaded <= second.ended_at_ms + 2000,
        "loaded at {loaded}, the sync ran {} → {}",
        second.started_at_ms,
        second.ended_at_ms
    );
    assert!(
        after.applied_lsn > before.applied_lsn && before.applied_lsn.is_some(),
        "{before:?} → {after:?}"
    );
    let last = w
        .syncs()
        .last()
        .unwrap_or_else(|| panic!("no sync seen from the slot: {}", w.describe()));
    let ended = last
        .ended_at_ms
        .unwrap_or_else(|| panic!("the last sync has not ended: {last:?}; {}", w.describe()));
    assert!(
        last.started_at_ms >= second.started_at_ms - 1000
            && last.started_at_ms <= second.ended_at_ms
            && ended >= last.started_at_ms,
        "the last session seen ({last:?}) is the second sync ({} → {})",
        second.started_at_ms,
        second.ended_at_ms
    );
}

/// Rows deleted from the destination behind Airbyte's back: not in sync, and once a sync
/// has passed the table's last change without bringing them back, stuck — not pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_removed_behind_airbytes_back_read_stuck_once_a_sync_has_passed_them() {
    const TEST: &str = "rows_removed_behind_airbytes_back_read_stuck_once_a_sync_has_passed_them";
    let Some(lab) = AirbyteLab::start(TEST, USERS, TASKS).await else {
        return;
    };
    let mut w = lab.watch();
    lab.sync_watched(&SyncOpts::default(), &mut w).await;
    w.until_all(&TABLES, State::InSync, SETTLE).await;

    lab.dst("DELETE FROM tache WHERE id IN (SELECT id FROM tache ORDER BY id LIMIT 3)")
        .await;
    // A busy database: WAL that no published table wrote (about 2 MB, in a schema
    // syncwatch does not watch), so the slot trails by far more than an idle one. Only
    // positions tell that the next sync has nothing for tache: lag bytes alone cannot.
    lab.src(
        "CREATE SCHEMA noise;
         CREATE TABLE noise.wal AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 8000) g",
    )
    .await;
    w.until("tache no longer in sync", SETTLE, |_, t| {
        t.state(&key("tache")) != State::InSync
    })
    .await;
    for _ in 0..3 {
        w.poll().await;
        assert_ne!(w.state("tache"), State::InSync, "{}", w.describe());
    }

    // A sync with nothing to carry: the source did not change.
    let second = lab.sync_watched(&SyncOpts::default(), &mut w).await;
    assert_eq!(
        (second.inserted, second.updated, second.deleted),
        (0, 0, 0),
        "{}",
        second.json
    );
    assert_eq!(
        lab.dst_i64("SELECT count(*) FROM tache").await,
        TASKS - 3,
        "a sync carries changes: the rows deleted on the destination stay gone"
    );
    // From the first poll that sees the slot inactive again, never pending, until stuck.
    w.until("the slot inactive after the sync", SETTLE, |s, _| {
        slot_active(s) == Some(false)
    })
    .await;
    let deadline = Instant::now() + SETTLE;
    loop {
        let state = w.state("tache");
        assert_ne!(
            state,
            State::Pending,
            "a sync has passed the table's last change: {}",
            w.describe()
        );
        if state == State::Stuck {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not stuck after {SETTLE:?}: {}",
            w.describe()
        );
        tokio::time::sleep(common::airbyte::POLL_EVERY).await;
        w.poll().await;
    }
    assert_eq!(w.state("utilisateur"), State::InSync, "{}", w.describe());
    assert!(w.syncs().last().is_some_and(|s| s.ended_at_ms.is_some()));

    // A row only on the destination: a delete on its way, or drift? The monitor knows
    // the source table has not changed since the sync passed it; a one-shot diff
    // between syncs cannot tell and holds it back.
    lab.dst(
        "INSERT INTO tache (id, title, is_completed, utilisateur_id,
                            _airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta,
                            _airbyte_generation_id)
         SELECT 999999, 'only here', false, utilisateur_id, 'extra', now(), '{}', 0
           FROM tache LIMIT 1",
    )
    .await;
    w.poll().await;
    let settled = w
        .tracker
        .table(&key("tache"))
        .and_then(|h| h.settled_modifications);
    assert!(settled.is_some(), "{}", w.describe());
    let monitors = DiffOptions {
        read_horizon: w.syncs().read_horizon(),
        settled_modifications: settled,
        ..DiffOptions::default()
    };
    let d = diff_tache(&lab, &monitors).await;
    assert_eq!(
        (d.missing.len(), d.extra.len(), d.pending.len()),
        (3, 1, 0),
        "{}",
        summary(&d)
    );
    let d = diff_tache(&lab, &DiffOptions::default()).await;
    assert!(
        d.extra.is_empty() && keys(&d.pending).contains(&vec!["999999".to_string()]),
        "without the monitor's knowledge the extra row waits: {}",
        summary(&d)
    );
}

/// One case of [`soft_and_hard_deletes_are_counted_as_the_destination_keeps_them`].
async fn deletes_case(test: &str, soft: bool) {
    let Some(lab) = AirbyteLab::start(test, USERS, TASKS).await else {
        return;
    };
    let opts = if soft {
        SyncOpts::soft_delete()
    } else {
        SyncOpts::default()
    };
    let mode = if soft { "soft delete" } else { "hard delete" };
    let mut w = lab.watch();
    lab.sync_watched(&opts, &mut w).await;
    w.until_all(&TABLES, State::InSync, SETTLE).await;

    lab.src("DELETE FROM tache WHERE id IN (SELECT id FROM tache ORDER BY id LIMIT 5)")
        .await;
    let sync = lab.sync_watched(&opts, &mut w).await;
    assert_eq!(sync.deleted, 5, "{mode}: {}", sync.json);

    let source_rows = lab.src_i64("SELECT count(*) FROM tache").await;
    assert_eq!(source_rows, TASKS - 5);
    let dest_all = lab.dst_i64("SELECT count(*) FROM tache").await;
    let dest_deleted = lab
        .dst_i64("SELECT count(*) FROM tache WHERE _ab_cdc_deleted_at IS NOT NULL")
        .await;
    if soft {
        assert_eq!(
            (dest_all, dest_deleted),
            (source_rows + 5, 5),
            "{mode}: the destination keeps the rows, marked"
        );
    } else {
        assert_eq!(
            (dest_all, dest_deleted),
            (source_rows, 0),
            "{mode}: the rows are gone"
        );
    }

    let snap = w.until_all(&TABLES, State::InSync, SETTLE).await;
    let dest = dest_table(&snap, "public", "tache")
        .unwrap_or_else(|| panic!("{mode}: no destination tache in the snapshot"));
    assert!(dest.soft_delete_column, "{mode}: {dest:?}");
    assert_eq!(
        dest.rows.map(|c| c.rows),
        Some(source_rows),
        "{mode}: syncwatch counts live rows: {}",
        w.describe()
    );
    let bad = critical(&w.checks());
    assert!(bad.is_empty(), "{mode}: {bad:#?}");
}

/// Hard delete (the default) removes the row; soft delete keeps it with
/// `_ab_cdc_deleted_at` set, and syncwatch does not count it as a live row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_and_hard_deletes_are_counted_as_the_destination_keeps_them() {
    const TEST: &str = "soft_and_hard_deletes_are_counted_as_the_destination_keeps_them";
    // One lab after the other: two syncs each, and the machine has two cores.
    deletes_case(TEST, false).await;
    deletes_case(TEST, true).await;
}

/// Airbyte writes to another schema with a stream prefix; with the same mapping in its
/// settings, syncwatch finds the tables; without it, they are missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_and_another_schema_are_mapped() {
    const TEST: &str = "a_prefix_and_another_schema_are_mapped";
    let Some(lab) = AirbyteLab::start(TEST, USERS, TASKS).await else {
        return;
    };
    // The runner creates the schema (CREATE SCHEMA IF NOT EXISTS), as Airbyte does.
    let opts = SyncOpts::mapped("airbyte_dst", "ab_");
    let mapped = Settings {
        dest_schema: Some("airbyte_dst".to_string()),
        dest_prefix: "ab_".to_string(),
        ..lab.settings()
    };
    let mut w = Watch::new(mapped);
    lab.sync_watched(&opts, &mut w).await;
    assert_eq!(
        lab.dst_i64("SELECT count(*) FROM airbyte_dst.ab_tache")
            .await,
        TASKS
    );
    assert_eq!(
        lab.dst_i64("SELECT count(*) FROM airbyte_dst.ab_utilisateur")
            .await,
        USERS
    );
    assert_eq!(
        lab.dst_i64(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('tache', 'utilisateur')"
        )
        .await,
        0,
        "nothing under the source's names"
    );

    w.until_all(&TABLES, State::InSync, SETTLE).await;
    let checks = w.checks();
    let tables = check(&checks, CheckId::DestTables);
    assert_eq!(tables.status, Status::Ok, "{tables:?}");
    let columns = check(&checks, CheckId::DestColumns);
    assert_ne!(columns.status, Status::Critical, "{columns:?}");

    // Without the mapping, the same destination has none of the tables.
    let mut plain = lab.watch();
    plain.until_all(&TABLES, State::Missing, SETTLE).await;
    let checks = plain.checks();
    let tables = check(&checks, CheckId::DestTables);
    assert_ne!(tables.status, Status::Ok, "{tables:?}");

    // Airbyte's name rules: a schema and a prefix with characters other than letters,
    // digits and `_` land as `Airbyte_Data`.`ab_tache`; the settings name them as the
    // user typed them into Airbyte. A second connection, on its own slot.
    lab.src("SELECT 1 FROM pg_create_logical_replication_slot('airbyte_slot2', 'pgoutput')")
        .await;
    let opts = SyncOpts {
        connection: Some("second".to_string()),
        slot: Some("airbyte_slot2".to_string()),
        ..SyncOpts::mapped("Airbyte Data", "ab-")
    };
    let renamed = Settings {
        slot: "airbyte_slot2".to_string(),
        dest_schema: Some("Airbyte Data".to_string()),
        dest_prefix: "ab-".to_string(),
        ..lab.settings()
    };
    let mut w = Watch::new(renamed);
    lab.sync_watched(&opts, &mut w).await;
    assert_eq!(
        lab.dst_i64(r#"SELECT count(*) FROM "Airbyte_Data".ab_tache"#)
            .await,
        TASKS
    );
    w.until_all(&TABLES, State::InSync, SETTLE).await;
    let checks = w.checks();
    let tables = check(&checks, CheckId::DestTables);
    assert_eq!(tables.status, Status::Ok, "{tables:?}");
}

/// `int4`, `uuid`, `vector`, `numeric`, `jsonb` and `timestamptz` on the source arrive as
/// Airbyte writes them (`bigint`, `varchar`, `varchar`, `decimal`, `varchar`, kept), by
/// the initial load and by CDC: the diff finds them equal, and a changed vector
/// component on the destination is that one row, that one column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airbyte_types_diff_equal_to_vector_uuid_and_int4_sources() {
    const TEST: &str = "airbyte_types_diff_equal_to_vector_uuid_and_int4_sources";
    let Some(bin) = common::pgvector() else {
        common::skip(TEST, "no PostgreSQL with pgvector");
        return;
    };
    let Some(lab) = AirbyteLab::start_on(TEST, &bin, 5, 20).await else {
        return;
    };
    // Rows g in lo..=hi: a vector component that float4 does not hold exactly (g × 0.1),
    // nested jsonb with keys out of order, fractional seconds.
    let rows = |lo: i32, hi: i32| {
        format!(
            "INSERT INTO airbyte_types (id, u, v, n, j, t)
             SELECT g, gen_random_uuid(), format('[%s,%s,%s]', g, g * 0.1, -g / 2.0)::vector,
                    g * 1.25 + 1000000, jsonb_build_object('k', g, 'tags', jsonb_build_array('a', g), 'nested', jsonb_build_object('z', 1, 'a', NULL)),
                    timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour 1.5 seconds'
               FROM generate_series({lo}, {hi}) g"
        )
    };
    lab.src(&format!(
        "CREATE TABLE airbyte_types (id int4 PRIMARY KEY, u uuid, v vector(3), n numeric(10,2), j jsonb, t timestamptz);
         ALTER TABLE airbyte_types REPLICA IDENTITY DEFAULT;
         ALTER PUBLICATION airbyte_publication ADD TABLE airbyte_types;
         {};",
        rows(1, 40)
    ))
    .await;
    // Rows 1..40 by the initial load; 41..80, an all-NULL row and updates by Debezium.
    lab.sync(&SyncOpts::default()).await;
    lab.src(&format!(
        "{};
         INSERT INTO airbyte_types (id) VALUES (1000);
         UPDATE airbyte_types SET v = '[0.5,-0.25,3e-3]', j = '{{\"b\": [1, 2.5, null], \"a\": \"é\"}}', n = -12.5
          WHERE id IN (3, 45);",
        rows(41, 80)
    ))
    .await;
    // Watched as the TUI watches it: its `d` passes what the tracker saw of the sync.
    let mut w = lab.watch();
    w.poll().await;
    let second = lab.sync_watched(&SyncOpts::default(), &mut w).await;
    assert_eq!(second.inserted, 41, "{}", second.json);
    w.poll().await;
    let watched = DiffOptions {
        read_horizon: w.syncs().read_horizon(),
        ..DiffOptions::default()
    };
    assert!(
        watched.read_horizon.is_some(),
        "the watch saw the sync: {}",
        w.describe()
    );

    // The destination is in Airbyte's shape.
    let dest = lab.dest().await;
    let types: Vec<(String, String)> = dest
        .client
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
              WHERE table_schema = 'public' AND table_name = 'airbyte_types'
                AND column_name IN ('id', 'u', 'v', 'n', 'j', 't') ORDER BY column_name",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let want = [
        ("id", "bigint"),
        ("j", "character varying"),
        ("n", "numeric"),
        ("t", "timestamp with time zone"),
        ("u", "character varying"),
        ("v", "character varying"),
    ];
    assert_eq!(
        types,
        want.map(|(c, t)| (c.to_string(), t.to_string())).to_vec()
    );

    let settings = lab.settings();
    let d = diff_table(
        &settings,
        "public",
        "airbyte_types",
        &DiffOptions::default(),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("diff: {e}"));
    eprintln!("{TEST}: {}", summary(&d));
    assert_eq!((d.source_rows, d.dest_rows), (81, 81), "{}", summary(&d));
    assert!(
        d.missing.is_empty() && d.extra.is_empty() && d.changed.is_empty(),
        "widened types compare equal: {}",
        summary(&d)
    );
    assert!(
        d.pending.is_empty(),
        "nothing changed since the sync: {}",
        summary(&d)
    );

    w.poll().await;
    let checks = w.checks();
    let columns = check(&checks, CheckId::DestColumns);
    assert_ne!(
        columns.status,
        Status::Critical,
        "Airbyte's widened types are compatible: {columns:?}"
    );

    // One vector component changed on the destination only (a row loaded by CDC).
    let before: String = dest
        .client
        .query_one("SELECT v FROM airbyte_types WHERE id = 50", &[])
        .await
        .unwrap()
        .get(0);
    lab.dst("UPDATE airbyte_types SET v = '[50,5.25,-25]' WHERE id = 50")
        .await;
    eprintln!("{TEST}: destination v of row 50: {before} → [50,5.25,-25] (source [50,5,-25])");
    // From the command line, without a monitor, only the slot tells what was read: the
    // row the last sync brought waits for the next sync's start to be confirmed.
    let cli = diff_table(
        &settings,
        "public",
        "airbyte_types",
        &DiffOptions::default(),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("diff: {e}"));
    eprintln!("{TEST}: without a monitor: {}", summary(&cli));
    assert!(
        cli.changed.is_empty() && cli.pending.len() == 1,
        "{}",
        summary(&cli)
    );
    let d = diff_table(&settings, "public", "airbyte_types", &watched, None)
        .await
        .unwrap_or_else(|e| panic!("diff: {e}"));
    eprintln!("{TEST}: {}", summary(&d));
    assert!(
        d.missing.is_empty() && d.extra.is_empty(),
        "{}",
        summary(&d)
    );
    // Row 50 was written on the source between the two syncs and applied by the second
    // (the destination's _ab_cdc_lsn for it is below that sync's target): the consumer
    // has read it, although the slot's confirmed position (and catalog_xmin) stays at
    // the first sync's end until a third sync starts. Pending here would hide drift in
    // every row the last sync brought.
    assert_eq!(
        d.changed.len(),
        1,
        "row 50 was applied by the last sync, so a difference in it is drift: {}",
        summary(&d)
    );
    assert_eq!(d.changed[0].key, vec!["50".to_string()], "{}", summary(&d));
    assert_eq!(
        d.changed[0].columns,
        vec!["v".to_string()],
        "{}",
        summary(&d)
    );
}

/// With the slot inactive (between syncs) the diff answers without waiting for a
/// consumer, and the rows inserted on the source since the sync are pending, not missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_with_the_slot_inactive_answers_at_once_and_marks_rows_changed_since_the_sync_pending()
{
    const TEST: &str =
        "diff_with_the_slot_inactive_answers_at_once_and_marks_rows_changed_since_the_sync_pending";
    let Some(lab) = AirbyteLab::start(TEST, USERS, TASKS).await else {
        return;
    };
    let mut w = lab.watch();
    lab.sync_watched(&SyncOpts::default(), &mut w).await;
    w.until_all(&TABLES, State::InSync, SETTLE).await;

    let before = lab.src_i64("SELECT max(id) FROM tache").await;
    let src = lab.source().await;
    syncwatch::io::seed::trickle(&src.client, 5).await.unwrap();
    let new: HashSet<Vec<String>> = src
        .client
        .query(
            "SELECT id::text FROM tache WHERE id > $1::int4 ORDER BY id",
            &[&(before as i32)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| vec![r.get::<_, String>(0)])
        .collect();
    assert_eq!(new.len(), 5);
    let snap = w.poll().await;
    assert_eq!(slot_active(&snap), Some(false), "{}", w.describe());

    let t = Instant::now();
    let d = diff_tache(&lab, &DiffOptions::default()).await;
    eprintln!(
        "{TEST}: diff with the slot inactive took {:.2} s (the old wait for a consumer: up to 30 s); {}",
        t.elapsed().as_secs_f64(),
        summary(&d)
    );
    let pending: HashSet<Vec<String>> = keys(&d.pending).into_iter().collect();
    let missing: HashSet<Vec<String>> = keys(&d.missing).into_iter().collect();
    for k in &new {
        assert!(pending.contains(k), "{k:?} is pending: {}", summary(&d));
        assert!(
            !missing.contains(k),
            "{k:?} is not missing: {}",
            summary(&d)
        );
    }
    assert_eq!(
        pending,
        new,
        "only the new rows are pending: {}",
        summary(&d)
    );
    assert!(!d.is_different(), "nothing else differs: {}", summary(&d));
}
