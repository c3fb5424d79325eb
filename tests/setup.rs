//! `setup` and the fixes on real servers: from a bare pair to every check ok, dry runs,
//! a second run that does nothing, odd identifiers, roles without privileges, and a slot
//! that is never dropped.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;
use syncwatch::cmd::setup::SetupArgs;

use syncwatch::config::{Engine, Settings};
use syncwatch::io::poll;
use syncwatch::logic::checks;
use syncwatch::logic::syncs::Syncs;
use syncwatch::model::check::{Check, Status};
use syncwatch::sandbox::cluster::{Cluster, PgBin};
use syncwatch::sandbox::lab::{self, exec};

const SCHEMA_SQL: &str = include_str!("../sql/10-schema.sql");

/// A source with the default `wal_level=replica` (not on the command line, where it
/// would outrank ALTER SYSTEM), the schema and nothing else; a destination with the
/// database only. Settings connect as the superuser over the unix sockets.
async fn bare_pair(bin: &PgBin) -> (Cluster, Cluster, Settings) {
    let b = bin.clone();
    let (src, dst) = tokio::task::spawn_blocking(move || {
        (
            Cluster::start(&b, &[]).unwrap(),
            Cluster::start(&b, &[]).unwrap(),
        )
    })
    .await
    .unwrap();
    for c in [&src, &dst] {
        lab::create_role_and_db(c, "airbyte", "airbyte", "tasks_list")
            .await
            .unwrap();
    }
    exec(&src.admin("tasks_list"), SCHEMA_SQL).await.unwrap();
    exec(
        &src.admin("tasks_list"),
        "INSERT INTO utilisateur (username, email) VALUES ('ana', 'ana@x'), ('bo', 'bo@x')",
    )
    .await
    .unwrap();
    let settings = Settings {
        source: src.admin("tasks_list"),
        dest: dst.admin("tasks_list"),
        engine: Engine::Native,
        ..Settings::default()
    };
    (src, dst, settings)
}

async fn checks_now(settings: &Settings) -> Vec<Check> {
    let snap = poll::poll_once(settings, &HashSet::new()).await;
    checks::evaluate(&snap, settings, &Syncs::once(&snap))
}

fn failing(checks: &[Check]) -> Vec<&'static str> {
    checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .map(|c| c.id.as_str())
        .collect()
}

async fn stop(a: Cluster, b: Cluster) {
    tokio::task::spawn_blocking(move || drop((a, b)))
        .await
        .unwrap();
}

#[tokio::test]
async fn setup_brings_a_bare_pair_to_every_check_ok_with_one_restart() {
    let bin = common::pgvector().unwrap_or_else(|| common::all_bins().remove(0));
    let (mut src, dst, settings) = bare_pair(&bin).await;
    let before = failing(&checks_now(&settings).await);
    for id in [
        "source.wal_level",
        "source.slot",
        "source.publication",
        "dest.tables",
        "dest.subscription",
    ] {
        assert!(
            before.contains(&id),
            "{id} should fail on a bare pair: {before:?}"
        );
    }

    // A dry run changes nothing.
    syncwatch::cmd::setup::run(
        &settings,
        SetupArgs {
            dry_run: true,
            side: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(failing(&checks_now(&settings).await), before);

    // First run: everything but what waits for wal_level.
    syncwatch::cmd::setup::run(
        &settings,
        SetupArgs {
            dry_run: false,
            side: None,
        },
    )
    .await
    .unwrap();
    let after_first = failing(&checks_now(&settings).await);
    assert!(after_first.contains(&"source.wal_level"), "{after_first:?}");
    let wal = checks_now(&settings)
        .await
        .into_iter()
        .find(|c| c.id == "source.wal_level")
        .unwrap();
    assert!(wal.detail.contains("restart"), "{}", wal.detail);
    assert!(
        wal.fix.is_none(),
        "already set: a second ALTER SYSTEM would change nothing"
    );
    for id in [
        "source.publication",
        "source.replica_identity",
        "dest.tables",
        "dest.columns",
    ] {
        assert!(
            !after_first.contains(&id),
            "{id} still failing: {after_first:?}"
        );
    }

    // The restart is the user's to do (here: the test's); then setup finishes the job.
    let settings2 = settings.clone();
    src = tokio::task::spawn_blocking(move || {
        src.restart_with(&[]).unwrap();
        src
    })
    .await
    .unwrap();
    syncwatch::cmd::setup::run(
        &settings2,
        SetupArgs {
            dry_run: false,
            side: None,
        },
    )
    .await
    .unwrap();
    let ok = common::eventually(Duration::from_secs(60), || async {
        let f = failing(&checks_now(&settings2).await);
        // Without pgvector the vector checks can only be fixed by installing it.
        f.iter().all(|id| !bin.pgvector && id.ends_with(".vector"))
    })
    .await;
    assert!(
        ok,
        "still failing: {:?}",
        failing(&checks_now(&settings2).await)
    );

    // Rows flow through the subscription setup created.
    exec(
        &settings2.source,
        "INSERT INTO utilisateur (username, email) VALUES ('cy', 'cy@x')",
    )
    .await
    .unwrap();
    let arrived = common::eventually(Duration::from_secs(60), || async {
        let s = syncwatch::io::pg::connect(&settings2.dest, Duration::from_secs(5))
            .await
            .unwrap();
        let n: i64 = s
            .client
            .query_one("SELECT count(*) FROM utilisateur", &[])
            .await
            .unwrap()
            .get(0);
        n == 3
    })
    .await;
    assert!(
        arrived,
        "the subscription created by setup does not replicate"
    );

    // A second run does nothing.
    let plan_steps = {
        let snap = poll::poll_once(&settings2, &HashSet::new()).await;
        let c = checks::evaluate(&snap, &settings2, &Syncs::once(&snap));
        syncwatch::logic::fixplan::plan(&c, &snap)
    };
    assert!(plan_steps.is_empty(), "{plan_steps:?}");
    stop(src, dst).await;
}

#[tokio::test]
async fn odd_identifiers_are_quoted_in_every_fix() {
    let bin = common::all_bins().remove(0);
    let (src, dst, mut settings) = bare_pair(&bin).await;
    exec(
        &src.admin("tasks_list"),
        r#"CREATE SCHEMA "my schema";
           CREATE TABLE "my schema"."Tâche Ω" (code text NOT NULL UNIQUE, v int);
           CREATE TABLE "my schema"."a""b" (v int);
           CREATE TABLE "my schema"."select" (id int PRIMARY KEY);
           INSERT INTO "my schema"."a""b" VALUES (1), (2);"#,
    )
    .await
    .unwrap();
    settings.schema = "my schema".into();
    settings.publication = "pub \"ω\"".into();
    settings.engine = Engine::Airbyte;
    syncwatch::cmd::setup::run(
        &settings,
        SetupArgs {
            dry_run: false,
            side: Some(syncwatch::model::side::Side::Source),
        },
    )
    .await
    .unwrap();
    let checks = checks_now(&settings).await;
    let by_id = |id: &str| checks.iter().find(|c| c.id == id).unwrap();
    assert_eq!(
        by_id("source.publication").status,
        Status::Ok,
        "{}",
        by_id("source.publication").detail
    );
    assert_eq!(by_id("source.publication_tables").status, Status::Ok);
    assert_eq!(
        by_id("source.replica_identity").status,
        Status::Ok,
        "{}",
        by_id("source.replica_identity").detail
    );
    // The catalog agrees: USING INDEX where a unique index exists, FULL otherwise.
    let s = syncwatch::io::pg::connect(&settings.source, Duration::from_secs(5))
        .await
        .unwrap();
    let rows = s
        .client
        .query(
            "SELECT c.relname::text, c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'my schema' AND c.relkind = 'r' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let idents: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        idents,
        [
            ("Tâche Ω".to_string(), "i".to_string()),
            ("a\"b".to_string(), "f".to_string()),
            ("select".to_string(), "d".to_string())
        ]
    );
    stop(src, dst).await;
}

fn syncwatch(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .args(args)
        .env_remove("PGPASSWORD")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn a_role_without_privileges_gets_explanations_and_nothing_is_dropped() {
    // Its wrong-plugin slot needs the test_decoding module, which not every build has.
    let Some(bin) = common::all_bins()
        .into_iter()
        .find(|b| common::has_module(b, "test_decoding"))
    else {
        common::skip(
            "a_role_without_privileges…",
            "no server here has test_decoding for the wrong-plugin slot",
        );
        return;
    };
    let (src, dst, _) = bare_pair(&bin).await;
    // A slot of the guide's name with the wrong plugin, in use by nobody: never dropped.
    exec(
        &src.admin("tasks_list"),
        "ALTER SYSTEM SET wal_level = logical",
    )
    .await
    .unwrap();
    let mut src = src;
    src = tokio::task::spawn_blocking(move || {
        src.restart_with(&[]).unwrap();
        src
    })
    .await
    .unwrap();
    exec(
        &src.admin("tasks_list"),
        "SELECT pg_create_logical_replication_slot('airbyte_slot', 'test_decoding')",
    )
    .await
    .unwrap();
    exec(
        &src.admin("tasks_list"),
        "CREATE ROLE mon LOGIN PASSWORD 'mon' IN ROLE pg_monitor",
    )
    .await
    .unwrap();
    let source = src.tcp("mon", "mon", "tasks_list").conninfo(true);
    let dest = dst.tcp("airbyte", "airbyte", "tasks_list").conninfo(true);
    let (code, text) = syncwatch(&[
        "setup", "--source", &source, "--dest", &dest, "--engine", "native",
    ]);
    assert_eq!(code, 2, "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        text.contains("role mon"),
        "explanations name the role: {text}"
    );
    assert!(text.contains("needs"), "{text}");
    assert!(
        !text.contains("password=mon") && !text.contains("password=airbyte"),
        "no password shown: {text}"
    );
    assert!(!text.contains("DROP"), "nothing is dropped: {text}");
    let s = syncwatch::io::pg::connect(&src.admin("tasks_list"), Duration::from_secs(5))
        .await
        .unwrap();
    let plugin: String = s
        .client
        .query_one(
            "SELECT plugin::text FROM pg_replication_slots WHERE slot_name = 'airbyte_slot'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(plugin, "test_decoding", "the existing slot is left alone");

    // --read-only refuses setup outright.
    let (code, text) = syncwatch(&["setup", "--read-only", "--source", &source, "--dest", &dest]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("read-only"), "{text}");
    stop(src, dst).await;
}
