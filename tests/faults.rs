//! Faults survived, on real servers: servers killed during polls and restarted, a server
//! that stops answering, syncwatch's own backends terminated, objects dropped and
//! privileges revoked under it. Each wait is bounded; recovery *times* are measured by
//! `bench/faults.rs`, not asserted here.

mod common;

use std::collections::HashSet;
use std::time::Duration;
use syncwatch::model::side::Side;

use syncwatch::config::Settings;
use syncwatch::io::poll::{SidePoller, wanted_on_dest};
use syncwatch::model::snapshot::Reach;
use syncwatch::sandbox::lab::{Lab, exec};

fn quick(settings: &Settings) -> Settings {
    let mut s = settings.clone();
    s.statement_timeout = Duration::from_secs(2);
    s.source.connect_timeout = Duration::from_secs(2);
    s.dest.connect_timeout = Duration::from_secs(2);
    s
}

async fn lab() -> Lab {
    let lab = common::guide_lab().await;
    lab.subscribe().await.unwrap();
    lab
}

/// Polls until `pred` holds for a snapshot; false if it never does within the bound.
async fn poll_until(
    poller: &mut SidePoller,
    pred: impl Fn(&syncwatch::model::snapshot::SideSnapshot) -> bool,
) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if pred(&poller.poll(&[], &HashSet::new()).await) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn recovers(poller: &mut SidePoller) -> bool {
    poll_until(poller, |s| s.reach.is_up()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_either_server_during_polls_twenty_times_is_survived() {
    let mut lab = lab().await;
    let settings = quick(&lab.settings());
    for role in [Side::Source, Side::Dest] {
        let mut poller = SidePoller::new(role, &settings);
        assert!(recovers(&mut poller).await);
        for round in 0..20 {
            // Kill the server while a poll is under way on another task.
            let mut p = SidePoller::new(role, &settings);
            let during = tokio::spawn(async move { p.poll(&[], &HashSet::new()).await });
            let cluster = match role {
                Side::Source => &mut lab.source,
                Side::Dest => &mut lab.dest,
            };
            tokio::task::block_in_place(|| cluster.crash()).unwrap();
            // The poll in flight ends with a snapshot, whatever it saw: never a panic.
            let snap = during.await.expect("the poll task must not panic");
            assert!(matches!(
                snap.reach,
                Reach::Up | Reach::Unreachable(_) | Reach::Timeout(_)
            ));
            // The next poll says why, in words.
            let down = poller.poll(&[], &HashSet::new()).await;
            match &down.reach {
                Reach::Unreachable(why) | Reach::Timeout(why) => {
                    assert!(!why.is_empty(), "round {round}")
                }
                other => panic!("round {round}: {} still {other:?}", role.label()),
            }
            tokio::task::block_in_place(|| cluster.start_again()).unwrap();
            assert!(
                recovers(&mut poller).await,
                "round {round}: polling never resumed"
            );
        }
    }
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stalled_server_times_out_and_recovers_after_sigcont() {
    let lab = lab().await;
    let settings = quick(&lab.settings());
    let mut poller = SidePoller::new(Side::Dest, &settings);
    assert!(recovers(&mut poller).await);
    lab.dest.pause();
    let snap = poller.poll(&[], &HashSet::new()).await;
    let timed_out = matches!(snap.reach, Reach::Timeout(_));
    lab.dest.resume();
    assert!(
        timed_out,
        "a stopped server must read as a timeout: {:?}",
        snap.reach
    );
    assert!(recovers(&mut poller).await, "no recovery after SIGCONT");
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test]
async fn terminated_backends_dropped_objects_and_revoked_privileges_are_reported() {
    let lab = lab().await;
    let settings = quick(&lab.settings());
    let admin = lab.source.admin("tasks_list");
    let mut src = SidePoller::new(Side::Source, &settings);
    let mut dst = SidePoller::new(Side::Dest, &settings);
    assert!(recovers(&mut src).await);

    // Its own connection terminated: the next polls reconnect.
    exec(
        &admin,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'syncwatch' AND pid <> pg_backend_pid()",
    )
    .await
    .unwrap();
    assert!(recovers(&mut src).await);

    // A table dropped: it disappears from the snapshot, no stale count remains.
    exec(
        &admin,
        "CREATE TABLE gone (id int PRIMARY KEY); INSERT INTO gone VALUES (1)",
    )
    .await
    .unwrap();
    let s = src.poll(&[], &HashSet::new()).await;
    assert!(s.table("public", "gone").is_some());
    exec(&admin, "DROP TABLE gone").await.unwrap();
    let s = src.poll(&[], &HashSet::new()).await;
    assert!(s.table("public", "gone").is_none());
    // Renamed: shows under its new name only, counted afresh.
    exec(&admin, "ALTER TABLE utilisateur RENAME TO personne")
        .await
        .unwrap();
    let s = src.poll(&[], &HashSet::new()).await;
    assert!(s.table("public", "utilisateur").is_none());
    assert!(s.table("public", "personne").is_some());
    exec(&admin, "ALTER TABLE personne RENAME TO utilisateur")
        .await
        .unwrap();

    // One table unreadable: counted in the same statement as the others, it fails that
    // statement; the others still get exact counts and it keeps an estimate.
    exec(&admin, "REVOKE SELECT ON tache FROM airbyte")
        .await
        .unwrap();
    let both: HashSet<(String, String)> = ["utilisateur", "tache"]
        .iter()
        .map(|t| ("public".to_string(), t.to_string()))
        .collect();
    // A poller of its own: no earlier count of tache to fall back on.
    let mut fresh = SidePoller::new(Side::Source, &settings);
    let s = fresh.poll(&[], &both).await;
    let rows = |t: &str| s.table("public", t).and_then(|t| t.rows);
    assert!(
        rows("utilisateur").is_some_and(|r| r.exact),
        "{:?}",
        rows("utilisateur")
    );
    assert!(
        rows("tache").is_some_and(|r| !r.exact),
        "{:?}",
        rows("tache")
    );
    exec(&admin, "GRANT SELECT ON tache TO airbyte")
        .await
        .unwrap();

    // Publication dropped; slot dropped and recreated (the subscription is disabled
    // first: an active slot cannot be dropped).
    exec(
        &lab.dest.admin("tasks_list"),
        "ALTER SUBSCRIPTION airbyte_subscription DISABLE",
    )
    .await
    .unwrap();
    let slot_free = poll_until(&mut src, |s| {
        s.slot
            .ok()
            .and_then(|s| s.as_ref())
            .is_some_and(|s| !s.active)
    })
    .await;
    assert!(slot_free);
    exec(&admin, "SELECT pg_drop_replication_slot('airbyte_slot')")
        .await
        .unwrap();
    exec(&admin, "DROP PUBLICATION airbyte_publication")
        .await
        .unwrap();
    let s = src.poll(&[], &HashSet::new()).await;
    assert!(matches!(s.slot.ok(), Some(None)), "slot gone");
    assert!(matches!(s.publication.ok(), Some(None)), "publication gone");
    exec(
        &admin,
        "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')",
    )
    .await
    .unwrap();
    let s = src.poll(&[], &HashSet::new()).await;
    assert!(matches!(s.slot.ok(), Some(Some(_))), "slot back");

    // Privileges revoked: CONNECT on the database refuses the session, with a reason.
    exec(&admin, "REVOKE CONNECT ON DATABASE tasks_list FROM PUBLIC; REVOKE CONNECT ON DATABASE tasks_list FROM airbyte").await.unwrap();
    exec(
        &admin,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'syncwatch' AND pid <> pg_backend_pid()",
    )
    .await
    .unwrap();
    let refused = poll_until(
        &mut src,
        |s| matches!(&s.reach, Reach::Denied(why) if why.contains("permission denied")),
    )
    .await;
    assert!(
        refused,
        "a revoked CONNECT reads as denied, with the reason"
    );
    let d = dst
        .poll(
            &wanted_on_dest(
                &src.poll(&[], &HashSet::new()).await,
                &syncwatch::logic::mapping::Mapping::default(),
            ),
            &HashSet::new(),
        )
        .await;
    assert!(d.reach.is_up(), "the other side keeps working");
    exec(&admin, "GRANT CONNECT ON DATABASE tasks_list TO airbyte")
        .await
        .unwrap();
    assert!(recovers(&mut src).await);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_on_a_killed_server_exits_2_quickly_with_the_reason() {
    let mut lab = lab().await;
    let settings = lab.settings();
    let source = settings.source.conninfo(true);
    let dest = settings.dest.conninfo(true);
    tokio::task::block_in_place(|| lab.dest.crash()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .args([
            "check", "--source", &source, "--dest", &dest, "--engine", "native",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("cannot reach"), "{text}");
    assert!(!text.contains("password=airbyte"), "{text}");
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diff_whose_destination_goes_away_mid_way_fails_naming_the_side() {
    use std::sync::{Arc, Mutex, mpsc};
    use syncwatch::io::diff::DiffOptions;
    use syncwatch::logic::diff::{self, DiffError, Phase, Progress};

    let mut lab = lab().await;
    let settings = quick(&lab.settings());
    // A table of its own on both sides, outside the publication, with differences spread
    // over it so that the diff descends through several levels.
    let create = "CREATE TABLE big (id int PRIMARY KEY, v text);
                  INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 100000) g;";
    exec(&lab.source.admin("tasks_list"), create).await.unwrap();
    exec(&lab.dest.admin("tasks_list"), create).await.unwrap();
    exec(
        &lab.dest.admin("tasks_list"),
        "UPDATE big SET v = 'x' WHERE id % 9973 = 0; GRANT SELECT ON big TO airbyte",
    )
    .await
    .unwrap();
    exec(
        &lab.source.admin("tasks_list"),
        "GRANT SELECT ON big TO airbyte",
    )
    .await
    .unwrap();

    // The progress callback holds the diff at its first comparison of segments until the
    // destination is gone, so the fault lands mid-way every time.
    let (reached, at_segments) = mpsc::channel::<()>();
    let (go_on, gone) = mpsc::channel::<()>();
    let gate = Arc::new(Mutex::new(Some((reached, gone))));
    let progress: diff::ProgressFn = Arc::new(move |p: &Progress| {
        if matches!(p.phase, Phase::Segments { .. })
            && let Some((reached, gone)) = gate.lock().unwrap().take()
        {
            reached.send(()).unwrap();
            let _ = gone.recv();
        }
    });
    let opts = DiffOptions {
        segment_rows: 1000,
        wait_without_slot: Duration::ZERO,
        ..DiffOptions::default()
    };
    let run = tokio::spawn({
        let settings = settings.clone();
        async move {
            syncwatch::io::diff::diff_table(&settings, "public", "big", &opts, Some(progress)).await
        }
    });
    tokio::task::block_in_place(|| {
        at_segments
            .recv_timeout(Duration::from_secs(60))
            .expect("the diff reached its segments");
        lab.dest.crash().unwrap();
    });
    go_on.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the diff ends once its server is gone")
        .unwrap();
    let err = result.expect_err("a diff whose destination died cannot succeed");
    let text = err.to_string();
    assert!(
        matches!(
            err,
            DiffError::Query {
                side: Side::Dest,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.starts_with("on the destination: lost the connection"),
        "{text}"
    );
    assert!(text.contains("is PostgreSQL still running?"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    assert!(!text.contains("password"), "{text}");
    eprintln!("diff with its destination gone: {text}");
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test]
async fn ten_thousand_published_tables_are_checked_in_bounded_memory() {
    const TABLES: usize = 10_000;
    let lab = common::guide_lab().await;
    for admin in [lab.source.admin("tasks_list"), lab.dest.admin("tasks_list")] {
        // Granted ahead and created in batches: one transaction touching them all would
        // run out of lock slots.
        exec(
            &admin,
            "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO airbyte",
        )
        .await
        .unwrap();
        for first in (0..TABLES).step_by(1000) {
            let ddl: String = (first..first + 1000)
                .map(|i| format!("CREATE TABLE t{i:05} (id int PRIMARY KEY); INSERT INTO t{i:05} VALUES ({i});"))
                .collect();
            exec(&admin, &ddl).await.unwrap();
        }
        exec(&admin, "ANALYZE").await.unwrap();
    }
    exec(
        &lab.source.admin("tasks_list"),
        "CREATE PUBLICATION many FOR ALL TABLES",
    )
    .await
    .unwrap();

    let settings = lab.settings();
    let (code, out, peak_kib) = common::run_with_peak_rss(
        std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .args([
                "check",
                "--json",
                "--engine",
                "native",
                "--publication",
                "many",
            ])
            .arg("--source")
            .arg(settings.source.conninfo_without_password())
            .arg("--dest")
            .arg(settings.dest.conninfo_without_password()),
    );
    let doc: serde_json::Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("check --json printed no JSON ({e}), exit {code:?}:\n{out}"));
    let tables = doc["tables"].as_array().unwrap();
    // The guide's two tables and the ten thousand, every one with both counts.
    assert_eq!(tables.len(), TABLES + 2, "{}", doc["checks"]);
    let counted = tables
        .iter()
        .filter(|t| t["source_rows"].is_i64() && t["dest_rows"].is_i64())
        .count();
    assert_eq!(counted, TABLES + 2);
    assert!(
        matches!(code, Some(0..=2)),
        "exit code {code:?} is a Nagios status"
    );
    eprintln!(
        "check --json on {} tables: peak RSS {} MiB",
        TABLES + 2,
        peak_kib / 1024
    );
    assert!(
        peak_kib < 128 * 1024,
        "peak RSS {peak_kib} KiB for {TABLES} tables"
    );
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_locked_table_keeps_its_estimate_and_the_side_stays_up() {
    let lab = lab().await;
    let settings = quick(&lab.settings());
    // Another session holds tache locked for the whole test: its count waits for the
    // lock until the statement times out.
    let locker =
        syncwatch::io::pg::connect(&lab.source.admin("tasks_list"), Duration::from_secs(60))
            .await
            .unwrap();
    locker
        .client
        .batch_execute("BEGIN; LOCK TABLE tache IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let mut src = SidePoller::new(Side::Source, &settings);
    for _ in 0..3 {
        let s = src.poll(&[], &HashSet::new()).await;
        assert!(
            s.reach.is_up(),
            "a locked table took the side down: {:?}",
            s.reach
        );
        let rows = |t: &str| s.table("public", t).and_then(|t| t.rows);
        assert!(
            rows("tache").is_some_and(|r| !r.exact),
            "{:?}",
            rows("tache")
        );
        // From 16 the publication's column lists open its tables: that part waits for
        // the lock too, and says so.
        if let syncwatch::model::snapshot::Fetched::Failed(why) = &s.publication {
            assert!(why.contains("holds a lock"), "{why}");
        }
    }
    // Once it is free, it is counted again.
    locker.client.batch_execute("ROLLBACK").await.unwrap();
    let counted = poll_until(&mut src, |s| {
        s.table("public", "tache")
            .and_then(|t| t.rows)
            .is_some_and(|r| r.exact)
    })
    .await;
    assert!(counted, "tache counted once the lock is gone");
    drop(locker);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}
