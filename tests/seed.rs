//! Seeding and change traffic on real servers: exact counts, every generated type
//! accepted (vector(n) on the pgvector build), foreign keys holding, a cancelled seed
//! leaving whole batches only, traffic replicated until the destination catches up, the
//! error for a type that cannot be generated, and identifiers that need quoting.

mod common;

use std::process::ExitCode;
use std::time::Duration;

use syncwatch::cmd::seed::{self as cli, SeedArgs};
use syncwatch::config::Settings;
use syncwatch::io::pg;
use syncwatch::io::seed::traffic;
use syncwatch::io::seed::{self, Cancel, Mix, Progress, SeedRequest, Traffic, TrafficOptions};
use syncwatch::sandbox::cluster::PgBin;
use syncwatch::sandbox::lab::{self, Lab};

const T: Duration = Duration::from_secs(30);
const CATCH_UP: Duration = Duration::from_secs(120);

async fn stop(lab: Lab) {
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

async fn count(c: &tokio_postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}

async fn try_count(c: &tokio_postgres::Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.map(|r| r.get(0)).unwrap_or(-1)
}

fn quiet() -> impl FnMut(&Progress) + Send {
    |_: &Progress| {}
}

/// Runs superuser SQL on the lab's source database.
async fn admin(lab: &Lab, sql: &str) {
    lab::exec(&lab.source.admin(lab::APP_DB), sql)
        .await
        .unwrap();
}

async fn app(lab: &Lab, sql: &str) {
    lab::exec(&lab.settings().source, sql).await.unwrap();
}

const ORPHAN_TASKS: &str = "SELECT count(*) FROM tache t WHERE t.utilisateur_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM utilisateur u WHERE u.id = t.utilisateur_id)";

async fn sample_schema_counts_rows_and_keys(bin: PgBin) {
    let lab = common::guide_lab_on(&bin).await;
    let settings = lab.settings();
    let src = pg::connect(&settings.source, T).await.unwrap();

    // Every published table; utilisateur is referenced, so it gets a twentieth.
    let mut seen = Vec::new();
    let mut on_progress = |p: &Progress| seen.push(p.clone());
    let req = SeedRequest {
        rows: 4_000,
        batch_rows: 700,
        ..SeedRequest::default()
    };
    let report = seed::seed(&settings, &req, &mut on_progress, &Cancel::new())
        .await
        .unwrap();
    assert!(!report.cancelled);
    assert_eq!(report.written(), 4_200);
    assert_eq!(report.tables[0].table, "public.utilisateur");
    assert_eq!(
        count(&src.client, "SELECT count(*) FROM utilisateur").await,
        200
    );
    assert_eq!(
        count(&src.client, "SELECT count(*) FROM tache").await,
        4_000
    );
    // Progress after each batch, ending at the target.
    let last = seen.iter().rfind(|p| p.table == "public.tache").unwrap();
    assert_eq!((last.written, last.target, last.batches), (4_000, 4_000, 6));
    assert!(
        seen.windows(2)
            .all(|w| w[0].table != w[1].table || w[0].written < w[1].written)
    );

    // Realistic and consistent rows.
    assert_eq!(count(&src.client, ORPHAN_TASKS).await, 0);
    assert_eq!(
        count(
            &src.client,
            "SELECT count(*) FROM utilisateur WHERE email NOT LIKE '%_@_%._%' OR length(username) > 50"
        )
        .await,
        0
    );
    let owners = count(
        &src.client,
        "SELECT count(DISTINCT utilisateur_id) FROM tache",
    )
    .await;
    assert!(owners > 150, "tasks spread over users: {owners}");
    let no_description = count(
        &src.client,
        "SELECT count(*) FROM tache WHERE description IS NULL",
    )
    .await;
    assert!((100..800).contains(&no_description), "{no_description}");
    let done = count(&src.client, "SELECT count(*) FROM tache WHERE is_completed").await;
    assert!((200..3_800).contains(&done), "{done}");
    let due_spread = count(&src.client, "SELECT count(DISTINCT due_date) FROM tache").await;
    assert!(due_spread > 60, "{due_spread}");
    let accents = count(
        &src.client,
        "SELECT count(*) FROM tache WHERE title ~ '[éèàù]' OR description ~ '[éèàù]'",
    )
    .await;
    assert!(accents > 0);

    // Seeding again adds rows without colliding with the unique user names and e-mails,
    // and one table alone gets exactly the rows asked.
    let again = SeedRequest {
        rows: 333,
        table: Some("utilisateur".into()),
        connections: 1,
        ..SeedRequest::default()
    };
    seed::seed(&settings, &again, &mut quiet(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(
        count(&src.client, "SELECT count(*) FROM utilisateur").await,
        533
    );

    // The helpers demo and the end-to-end test use.
    seed::sample(&src.client, 7, 50).await.unwrap();
    seed::trickle(&src.client, 5).await.unwrap();
    assert_eq!(
        count(&src.client, "SELECT count(*) FROM utilisateur").await,
        540
    );
    assert_eq!(
        count(&src.client, "SELECT count(*) FROM tache").await,
        4_055
    );
    assert_eq!(count(&src.client, ORPHAN_TASKS).await, 0);

    // The command: exact rows, exit 0.
    let args = SeedArgs {
        rows: 120,
        table: Some("tache".into()),
        seed: Some(1),
        ..SeedArgs::default()
    };
    let code = cli::run(&settings, args).await.unwrap();
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(
        count(&src.client, "SELECT count(*) FROM tache").await,
        4_175
    );
    drop(src);
    stop(lab).await;
}

#[tokio::test]
async fn sample_schema_exact_counts_and_foreign_keys_on_every_server() {
    for bin in common::all_bins() {
        sample_schema_counts_rows_and_keys(bin).await;
    }
}

/// A table with a column of every type the generator knows (vector only with pgvector).
async fn every_type_is_accepted(bin: PgBin) {
    let lab = common::guide_lab_on(&bin).await;
    let settings = lab.settings();
    let src = pg::connect(&settings.source, T).await.unwrap();
    let citext: bool = src
        .client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'citext')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    if citext {
        admin(&lab, "CREATE EXTENSION IF NOT EXISTS citext").await;
    }
    let vector = if bin.pgvector {
        "emb vector(8) NOT NULL, embs vector(3)[], loose vector,"
    } else {
        ""
    };
    let citext_col = if citext { "ci citext NOT NULL," } else { "" };
    app(
        &lab,
        &format!(
            "CREATE TYPE humeur AS ENUM ('bien', 'bof', 'très bien');
             CREATE DOMAIN code_postal AS varchar(5) NOT NULL;
             CREATE DOMAIN petit AS int2;
             CREATE TABLE parent (a int, b text, PRIMARY KEY (a, b));
             INSERT INTO parent SELECT g, 'p' || g FROM generate_series(1, 30) g;
             CREATE TABLE tout (
                 id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                 ext_id int NOT NULL UNIQUE,
                 b boolean NOT NULL, i2 smallint NOT NULL, i4 integer NOT NULL, i8 bigint,
                 f4 real NOT NULL, f8 double precision, n numeric(7,3) NOT NULL, n_free numeric,
                 m money, t text NOT NULL, vc varchar(12) NOT NULL, ch char(4) NOT NULL,
                 nm name, {citext_col}
                 by bytea NOT NULL, d date NOT NULL, tm time NOT NULL, ttz timetz,
                 ts timestamp(3) NOT NULL, tstz timestamptz NOT NULL, iv interval NOT NULL,
                 u uuid NOT NULL UNIQUE, j json NOT NULL, jb jsonb NOT NULL,
                 ip inet NOT NULL, net cidr, mac macaddr NOT NULL,
                 {vector}
                 mood humeur NOT NULL, moods humeur[], cp code_postal, p petit NOT NULL,
                 tags text[] NOT NULL, nums int4[], stamps timestamptz[],
                 code varchar(8) NOT NULL UNIQUE,
                 created_at timestamptz NOT NULL DEFAULT now(),
                 status text NOT NULL DEFAULT 'todo',
                 twice int GENERATED ALWAYS AS (i4 * 2) STORED,
                 pa int, pb text, FOREIGN KEY (pa, pb) REFERENCES parent (a, b)
             );
             INSERT INTO tout (ext_id, b, i2, i4, f4, n, t, vc, ch, by, d, tm, ts, tstz, iv, u,
                               j, jb, ip, mac, mood, cp, p, tags, code {}{})
             VALUES (1000, true, 1, 1, 1, 1, 'x', 'x', 'x', '\\x00', current_date, '12:00',
                     now(), now(), '1 day', gen_random_uuid(), '{{}}', '{{}}', '10.0.0.1',
                     '02:00:00:00:00:01', 'bien', '75001', 1, '{{}}', 'zzzz' {}{});",
            if citext { ", ci" } else { "" },
            if bin.pgvector { ", emb" } else { "" },
            if citext { ", 'x'" } else { "" },
            if bin.pgvector {
                ", '[1,2,3,4,5,6,7,8]'"
            } else {
                ""
            },
        ),
    )
    .await;

    let req = SeedRequest {
        rows: 3_000,
        table: Some("tout".into()),
        batch_rows: 512,
        ..SeedRequest::default()
    };
    let report = seed::seed(&settings, &req, &mut quiet(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(report.written(), 3_000);
    let left: Vec<&str> = report.tables[0]
        .left_to_server
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    assert_eq!(left, ["id", "created_at", "twice"]);
    assert!(
        report.tables[0].warnings.is_empty(),
        "{:?}",
        report.tables[0].warnings
    );
    let c = &src.client;
    assert_eq!(count(c, "SELECT count(*) FROM tout").await, 3_001);
    // Unique values continue after existing ones; limits are kept.
    assert_eq!(
        count(c, "SELECT min(ext_id)::bigint FROM tout WHERE id > 1").await,
        1_001
    );
    assert_eq!(
        count(c, "SELECT count(DISTINCT code) FROM tout").await,
        3_001
    );
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM tout WHERE length(vc) > 12 OR length(code) > 8"
        )
        .await,
        0
    );
    assert_eq!(
        count(c, "SELECT count(*) FROM tout WHERE abs(n) >= 10000").await,
        0
    );
    // Nullable columns are sometimes NULL, never all of them.
    let null_i8 = count(c, "SELECT count(*) FROM tout WHERE i8 IS NULL").await;
    assert!((100..700).contains(&null_i8), "{null_i8}");
    // Composite foreign keys point at whole parent keys.
    assert_eq!(
        count(
            c,
            "SELECT count(*) FROM tout t WHERE pa IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM parent p WHERE (p.a, p.b) = (t.pa, t.pb))"
        )
        .await,
        0
    );
    assert!(count(c, "SELECT count(DISTINCT (pa, pb)) FROM tout").await > 20);
    // Values read back as the types say.
    assert_eq!(
        count(c, "SELECT count(*) FROM tout WHERE jb ? 'source'").await,
        3_000
    );
    assert_eq!(
        count(c, "SELECT count(*) FROM tout WHERE tags IS NOT NULL AND coalesce(array_length(tags, 1), 0) <= 3").await,
        3_001
    );
    assert_eq!(count(c, "SELECT count(DISTINCT mood) FROM tout").await, 3);
    if bin.pgvector {
        assert_eq!(
            count(c, "SELECT count(*) FROM tout WHERE vector_dims(emb) = 8").await,
            3_001
        );
        assert_eq!(
            count(
                c,
                "SELECT count(*) FROM tout WHERE loose IS NOT NULL AND vector_dims(loose) <> 3"
            )
            .await,
            0
        );
    }
    // A table whose every column the server fills still gets its rows.
    app(
        &lab,
        "CREATE TABLE vide (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())",
    )
    .await;
    let req = SeedRequest {
        rows: 7,
        table: Some("vide".into()),
        ..SeedRequest::default()
    };
    seed::seed(&settings, &req, &mut quiet(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(count(c, "SELECT count(*) FROM vide").await, 7);
    // The traffic works on such a table too: updates of every kind of column.
    let tx = tokio::sync::watch::channel(seed::TrafficStats::default()).0;
    let opts = TrafficOptions {
        rate: 2_000.0,
        mix: Mix {
            insert: 2,
            update: 6,
            delete: 2,
        },
        table: Some("tout".into()),
        ..TrafficOptions::default()
    };
    let facts = syncwatch::io::pg::seed_catalog::table_facts(
        c,
        syncwatch::io::pg::seed_catalog::find_table(c, "public", "tout")
            .await
            .unwrap()
            .unwrap(),
    )
    .await
    .unwrap();
    let cancel = Cancel::new();
    let stopper = cancel.clone();
    let mut rx = tx.subscribe();
    let watcher = tokio::spawn(async move {
        let _ = rx
            .wait_for(|s: &seed::TrafficStats| s.changes() >= 300)
            .await;
        stopper.cancel();
    });
    let stats = traffic::run(c, &[facts], &opts, &cancel, &tx)
        .await
        .unwrap();
    watcher.await.unwrap();
    assert!(
        stats.updates > 0 && stats.inserts > 0 && stats.deletes > 0,
        "{stats:?}"
    );
    drop(src);
    stop(lab).await;
}

#[tokio::test]
async fn every_generated_type_is_accepted_by_the_server() {
    for bin in common::all_bins() {
        every_type_is_accepted(bin).await;
    }
}

#[tokio::test]
async fn a_cancelled_seed_leaves_whole_batches_and_says_how_many_rows() {
    let bin = common::all_bins().remove(0);
    let lab = common::guide_lab_on(&bin).await;
    let settings = lab.settings();
    let src = pg::connect(&settings.source, T).await.unwrap();
    seed::sample(&src.client, 50, 0).await.unwrap();
    for connections in [1, 2] {
        let before = count(&src.client, "SELECT count(*) FROM tache").await;
        let cancel = Cancel::new();
        let stopper = cancel.clone();
        let req = SeedRequest {
            rows: 1_000_000,
            table: Some("tache".into()),
            batch_rows: 1_000,
            connections,
            ..SeedRequest::default()
        };
        // In a task of its own, as a TUI action runs it. Cancelled from the progress
        // report itself: after the third batch, while more are due; batches under way
        // finish.
        let task_settings = settings.clone();
        let report = tokio::spawn(async move {
            let mut on_progress = move |p: &Progress| {
                if p.batches >= 3 {
                    stopper.cancel();
                }
            };
            seed::seed(&task_settings, &req, &mut on_progress, &cancel).await
        })
        .await
        .unwrap()
        .unwrap();
        assert!(report.cancelled);
        let outcome = &report.tables[0].outcome;
        assert!(outcome.cancelled);
        assert!(
            outcome.written >= 3_000 && outcome.written < 1_000_000,
            "{outcome:?}"
        );
        assert_eq!(outcome.written % 1_000, 0);
        assert_eq!(outcome.written, outcome.batches * 1_000);
        let after = count(&src.client, "SELECT count(*) FROM tache").await;
        assert_eq!(after - before, outcome.written as i64);
    }
    drop(src);
    stop(lab).await;
}

#[tokio::test]
async fn refusals_name_the_type_the_missing_table_and_read_only_mode() {
    let bin = common::all_bins().remove(0);
    let lab = common::guide_lab_on(&bin).await;
    let settings = lab.settings();
    app(
        &lab,
        "CREATE TABLE docs (id serial PRIMARY KEY, body xml NOT NULL, spot point);",
    )
    .await;
    let req = SeedRequest {
        rows: 10,
        table: Some("docs".into()),
        ..SeedRequest::default()
    };
    let err = seed::seed(&settings, &req, &mut quiet(), &Cancel::new())
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("public.docs"), "{text}");
    assert!(text.contains("\"body\""), "{text}");
    assert!(text.contains("type xml"), "{text}");
    // A table that is not there: the error lists those that are.
    let req = SeedRequest {
        rows: 10,
        table: Some("tâches".into()),
        ..SeedRequest::default()
    };
    let err = seed::seed(&settings, &req, &mut quiet(), &Cancel::new())
        .await
        .unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("\"tâches\"") && text.contains("tache, utilisateur"),
        "{text}"
    );
    // Read-only mode refuses seeding and traffic and writes nothing.
    let read_only = Settings {
        read_only: true,
        ..settings.clone()
    };
    let req = SeedRequest {
        rows: 10,
        ..SeedRequest::default()
    };
    let err = seed::seed(&read_only, &req, &mut quiet(), &Cancel::new())
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("read-only"), "{err:#}");
    let err = Traffic::start(&read_only, TrafficOptions::default())
        .await
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("read-only"), "{err:#}");
    let code = cli::run(&read_only, SeedArgs::default()).await.unwrap();
    assert_eq!(code, ExitCode::from(1));
    let src = pg::connect(&settings.source, T).await.unwrap();
    assert_eq!(count(&src.client, "SELECT count(*) FROM tache").await, 0);
    drop(src);
    stop(lab).await;
}

#[tokio::test]
async fn identifiers_that_need_quoting_work_for_seed_and_traffic() {
    let bin = common::all_bins().remove(0);
    let lab = common::guide_lab_on(&bin).await;
    app(
        &lab,
        r#"CREATE SCHEMA "Schéma ω";
           CREATE TABLE "Schéma ω"."a""b" ("clé" serial PRIMARY KEY, "nom d'usage" text NOT NULL,
                                           "x""y" varchar(10) NOT NULL UNIQUE);
           CREATE TABLE "Schéma ω"."Tâche Ω" (
               "Ω" int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
               "titre ""court""" varchar(30) NOT NULL,
               "fait ?" boolean NOT NULL DEFAULT false,
               "réf" int NOT NULL REFERENCES "Schéma ω"."a""b" ("clé"));"#,
    )
    .await;
    let settings = Settings {
        schema: "Schéma ω".into(),
        // No publication of that name: every table of the schema is seeded.
        publication: "pas de publication".into(),
        ..lab.settings()
    };
    let report = seed::seed(
        &settings,
        &SeedRequest {
            rows: 400,
            batch_rows: 150,
            ..SeedRequest::default()
        },
        &mut quiet(),
        &Cancel::new(),
    )
    .await
    .unwrap();
    assert_eq!(report.tables[0].table, "Schéma ω.a\"b");
    assert_eq!(report.tables[0].outcome.written, 20);
    assert_eq!(report.tables[1].outcome.written, 400);
    let src = pg::connect(&settings.source, T).await.unwrap();
    let c = &src.client;
    assert_eq!(
        count(c, r#"SELECT count(*) FROM "Schéma ω"."Tâche Ω""#).await,
        400
    );
    assert_eq!(
        count(c, r#"SELECT count(DISTINCT "x""y") FROM "Schéma ω"."a""b""#).await,
        20
    );

    // Traffic on the same tables, by the public API a TUI key would use.
    let traffic = Traffic::start(
        &settings,
        TrafficOptions {
            rate: 500.0,
            mix: Mix {
                insert: 4,
                update: 3,
                delete: 3,
            },
            ..TrafficOptions::default()
        },
    )
    .await
    .unwrap();
    let mut rx = traffic.watch();
    let moved = tokio::time::timeout(CATCH_UP, async {
        rx.wait_for(|s| s.changes() >= 200).await.is_ok()
    })
    .await
    .unwrap_or(false);
    assert!(moved, "traffic did not move: {:?}", traffic.stats());
    let stats = traffic.stop().await.unwrap();
    assert!(!stats.running);
    assert!(
        stats.inserts > 0 && stats.updates > 0 && stats.deletes > 0,
        "{stats:?}"
    );
    assert_eq!(
        count(
            c,
            r#"SELECT count(*) FROM "Schéma ω"."Tâche Ω" t
                WHERE NOT EXISTS (SELECT 1 FROM "Schéma ω"."a""b" p WHERE p."clé" = t."réf")"#
        )
        .await,
        0
    );
    drop(src);
    stop(lab).await;
}

async fn traffic_replicates(bin: PgBin) {
    let lab = common::guide_lab_on(&bin).await;
    let settings = lab.settings();
    let src = pg::connect(&settings.source, T).await.unwrap();
    let dst = pg::connect(&settings.dest, T).await.unwrap();
    seed::sample(&src.client, 100, 2_000).await.unwrap();
    lab.subscribe().await.unwrap();

    let traffic = Traffic::start(
        &settings,
        TrafficOptions {
            rate: 300.0,
            mix: Mix {
                insert: 5,
                update: 3,
                delete: 2,
            },
            ..TrafficOptions::default()
        },
    )
    .await
    .unwrap();
    // The destination receives changes while the traffic runs.
    let initial_copy = common::eventually(CATCH_UP, || async {
        try_count(&dst.client, "SELECT count(*) FROM tache").await > 0
    })
    .await;
    assert!(initial_copy, "no row reached the destination");
    let mut rx = traffic.watch();
    let moved = tokio::time::timeout(CATCH_UP, async {
        rx.wait_for(|s| s.changes() >= 600).await.is_ok()
    })
    .await
    .unwrap_or(false);
    assert!(moved, "traffic did not move: {:?}", traffic.stats());
    let stats = traffic.stop().await.unwrap();
    assert!(
        stats.inserts > 0 && stats.updates > 0 && stats.deletes > 0,
        "{stats:?}"
    );
    assert_eq!(count(&src.client, ORPHAN_TASKS).await, 0);

    // Stopped: the destination catches up to the same rows, not just the same counts.
    let digest =
        "SELECT (SELECT count(*) FROM utilisateur) * 1000000 + (SELECT count(*) FROM tache),
                         (SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM tache t)";
    let src_state = src.client.query_one(digest, &[]).await.unwrap();
    let (src_counts, src_md5): (i64, String) = (src_state.get(0), src_state.get(1));
    let caught_up = common::eventually(CATCH_UP, || async {
        match dst.client.query_one(digest, &[]).await {
            Ok(r) => {
                r.get::<_, i64>(0) == src_counts
                    && r.get::<_, Option<String>>(1).as_deref() == Some(src_md5.as_str())
            }
            Err(_) => false,
        }
    })
    .await;
    assert!(
        caught_up,
        "the destination never caught up: source {src_counts}, destination {}",
        try_count(
            &dst.client,
            "SELECT (SELECT count(*) FROM utilisateur) * 1000000 + (SELECT count(*) FROM tache)"
        )
        .await
    );
    // And the traffic ended for good: the source no longer changes.
    assert_eq!(
        src.client
            .query_one(digest, &[])
            .await
            .unwrap()
            .get::<_, i64>(0),
        src_counts
    );

    // The command's traffic: a duration ends it by itself, exit 0.
    let args = SeedArgs {
        rows: 0,
        traffic: true,
        rate: 100.0,
        duration: Some(Duration::from_millis(500)),
        ..SeedArgs::default()
    };
    assert_eq!(cli::run(&settings, args).await.unwrap(), ExitCode::SUCCESS);
    drop((src, dst));
    stop(lab).await;
}

#[tokio::test]
async fn traffic_runs_stops_and_the_destination_catches_up() {
    for bin in common::all_bins() {
        traffic_replicates(bin).await;
    }
}
