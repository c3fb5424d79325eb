//! The row-level diff against real servers: two plain servers filled alike, then
//! differences planted on one side and found again, kind by kind; and native
//! replication, where rows still in flight are told apart from real drift.
//!
//! The plain pair is shared by the tests of this binary (one per installation); each test
//! has its own role and database on it.

mod common;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use syncwatch::model::side::Side;

use serde_json::Value;
use syncwatch::cmd::diff::{self as cli, DiffArgs};
use syncwatch::config::{Endpoint, Engine, Settings};
use syncwatch::io::diff::{self as driver, DiffOptions};
use syncwatch::logic::diff::{self, DiffError, DiffKind, Phase, Progress, ProgressFn, TableDiff};
use syncwatch::logic::quote;
use syncwatch::sandbox::cluster::{Cluster, PgBin};
use syncwatch::sandbox::lab::{self, exec};

struct Pair {
    source: Cluster,
    dest: Cluster,
}

/// The plain pair for `bin`, started on first use and stopped when the process exits.
async fn shared_pair(bin: &PgBin) -> &'static Pair {
    static PAIRS: Mutex<Vec<(PathBuf, &'static Pair)>> = Mutex::new(Vec::new());
    let bin = bin.clone();
    tokio::task::spawn_blocking(move || {
        let mut pairs = PAIRS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, p)) = pairs.iter().find(|(dir, _)| *dir == bin.dir) {
            return *p;
        }
        let (source, dest) = std::thread::scope(|s| {
            let a = s.spawn(|| Cluster::start(&bin, &[]));
            let b = s.spawn(|| Cluster::start(&bin, &[]));
            (a.join().unwrap(), b.join().unwrap())
        });
        let pair: &'static Pair = Box::leak(Box::new(Pair {
            source: source.unwrap(),
            dest: dest.unwrap(),
        }));
        pairs.push((bin.dir.clone(), pair));
        pair
    })
    .await
    .unwrap()
}

/// One test's own role and database on both servers of the shared pair.
struct Tenant {
    settings: Settings,
    src_admin: Endpoint,
    dst_admin: Endpoint,
}

impl Tenant {
    async fn both(&self, sql: &str) {
        self.src(sql).await;
        self.dst(sql).await;
    }
    async fn src(&self, sql: &str) {
        exec(&self.settings.source, sql)
            .await
            .unwrap_or_else(|e| panic!("source: {e:#}\n{sql}"));
    }
    async fn dst(&self, sql: &str) {
        exec(&self.settings.dest, sql)
            .await
            .unwrap_or_else(|e| panic!("destination: {e:#}\n{sql}"));
    }
}

async fn tenant(bin: &PgBin, name: &str) -> Tenant {
    let pair = shared_pair(bin).await;
    let (user, db) = (format!("u_{name}"), format!("db_{name}"));
    for c in [&pair.source, &pair.dest] {
        lab::create_role_and_db(c, &user, &user, &db).await.unwrap();
    }
    Tenant {
        settings: Settings {
            source: pair.source.tcp(&user, &user, &db),
            dest: pair.dest.tcp(&user, &user, &db),
            // The same names on both sides, as a subscription keeps them (Airbyte's
            // would rename "Tâche Ω").
            engine: Engine::Native,
            ..Settings::default()
        },
        src_admin: pair.source.admin(&db),
        dst_admin: pair.dest.admin(&db),
    }
}

fn any_bin() -> PgBin {
    common::all_bins().remove(0)
}

/// Options for the plain pair: no slot to wait for, so no wait before the re-check.
fn opts() -> DiffOptions {
    DiffOptions {
        wait_without_slot: Duration::ZERO,
        ..DiffOptions::default()
    }
}

/// Small segments, so that even small tables are cut, descended and split by key.
fn small_segments() -> DiffOptions {
    DiffOptions {
        segment_rows: 20,
        max_segments: 8,
        fanout: 4,
        fetch_rows: 30,
        ..opts()
    }
}

async fn diff_of(t: &Tenant, table: &str, o: &DiffOptions) -> TableDiff {
    driver::diff_table(&t.settings, "public", table, o, None)
        .await
        .unwrap_or_else(|e| panic!("diff of {table}: {e}"))
}

fn keys(rows: &[diff::RowDiff]) -> Vec<String> {
    rows.iter().map(|r| r.key.join("|")).collect()
}

fn changed(d: &TableDiff) -> Vec<(String, Vec<String>)> {
    d.changed
        .iter()
        .map(|r| (r.key.join("|"), r.columns.clone()))
        .collect()
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn every_kind_of_difference_with_nulls_and_unicode() {
    let t = tenant(&any_bin(), "kinds").await;
    t.both(
        "CREATE TABLE tache (id int PRIMARY KEY, title text NOT NULL, note text,
                             amount numeric(10,2), due timestamptz);
         INSERT INTO tache
         SELECT g, 'tâche ' || g || ' — ünïcødé',
                CASE WHEN g % 3 = 0 THEN NULL ELSE 'n' || g END,
                g * 1.5, '2024-01-01 00:00+00'::timestamptz + g * interval '1 minute'
           FROM generate_series(1, 500) g;",
    )
    .await;
    t.dst(
        "DELETE FROM tache WHERE id IN (10, 20);
         INSERT INTO tache VALUES (1001, 'en trop', NULL, NULL, NULL);
         UPDATE tache SET title = 'Ω changé' WHERE id = 30;
         UPDATE tache SET note = NULL WHERE id = 31;
         UPDATE tache SET note = '' WHERE id = 33;
         UPDATE tache SET title = title || ' ', amount = 60.01 WHERE id = 40;
         UPDATE tache SET due = due + interval '1 microsecond' WHERE id = 499;",
    )
    .await;
    for o in [opts(), small_segments()] {
        let d = diff_of(&t, "tache", &o).await;
        assert_eq!(d.key_columns, s(&["id"]));
        assert_eq!(d.source_rows, 500);
        assert_eq!(d.dest_rows, 499);
        assert_eq!(keys(&d.missing), s(&["10", "20"]));
        assert_eq!(keys(&d.extra), s(&["1001"]));
        assert_eq!(
            changed(&d),
            vec![
                ("30".to_string(), s(&["title"])),
                ("31".to_string(), s(&["note"])),
                // NULL on the source, empty on the destination: not the same.
                ("33".to_string(), s(&["note"])),
                ("40".to_string(), s(&["title", "amount"])),
                ("499".to_string(), s(&["due"])),
            ]
        );
        assert!(d.in_flight.is_empty());
        // No slot on these servers: re-checked without waiting for one.
        assert_eq!(d.recheck.as_ref().and_then(|r| r.caught_up), None);
    }
    // The small-segment run went down several levels and never read most rows.
    let d = diff_of(&t, "tache", &small_segments()).await;
    assert!(d.stats.levels >= 2, "{:?}", d.stats);
    assert!(d.stats.segments_equal > 0, "{:?}", d.stats);

    // The command: a table for people, JSON for scripts, exit code 1.
    let args = DiffArgs {
        table: Some("tache".into()),
        ..DiffArgs::default()
    };
    let r = cli::report(&t.settings, &args, &opts(), None).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.starts_with(
            "public.tache: 2 missing, 1 extra, 5 changed on the destination (source 500 rows, destination 499 rows;"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\n  missing  id=10\n"), "{}", r.stdout);
    assert!(r.stdout.contains("\n  extra    id=1001\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("\n  changed  id=40    title, amount\n"),
        "{}",
        r.stdout
    );
    let args = DiffArgs {
        table: Some("public.tache".into()),
        json: true,
        limit: Some(3),
        ..DiffArgs::default()
    };
    let r = cli::report(&t.settings, &args, &opts(), None).await;
    assert_eq!(r.code, 1);
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(doc["exit_code"], 1);
    let table = &doc["tables"][0];
    assert_eq!(table["status"], "different");
    assert_eq!(table["changed_count"], 5);
    assert_eq!(table["missing"][1]["key"]["id"], "20");
    assert_eq!(table["extra"][0]["key"]["id"], "1001");
    assert_eq!(table["changed"].as_array().unwrap().len(), 0);
    assert_eq!(table["truncated"], true);
}

#[tokio::test]
async fn equal_tables_canonical_forms_and_airbyte_columns_exit_zero() {
    let t = tenant(&any_bin(), "equal").await;
    t.both(
        "CREATE TABLE plain (id bigint PRIMARY KEY, v text);
         INSERT INTO plain SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
         CREATE TABLE empty (id int PRIMARY KEY, v text);",
    )
    .await;
    // The same values in other types on the destination, as a sync may write them.
    t.src(
        "CREATE TABLE typed (id int PRIMARY KEY, amount numeric(10,2), at timestamp,
                             doc json, label varchar(20), small int2);
         INSERT INTO typed VALUES
           (1, 1.50, '2024-05-01 10:00:00', '{\"b\": 1, \"a\": [1, 2]}', 'x', 1),
           (2, 3, '2024-05-01 23:59:59.123456', '{}', NULL, NULL);",
    )
    .await;
    t.dst(
        "SET TimeZone = 'Europe/Paris';
         CREATE TABLE typed (id bigint PRIMARY KEY, amount numeric, at timestamptz,
                             doc jsonb, label text, small numeric(5,1),
                             _airbyte_raw_id varchar, _airbyte_extracted_at timestamptz,
                             _ab_cdc_deleted_at timestamptz);
         INSERT INTO typed VALUES
           (1, 1.5, '2024-05-01 10:00:00+00', '{\"a\": [1, 2], \"b\": 1}', 'x', 1.0, 'r1', now(), NULL),
           (2, 3.000, '2024-05-02 01:59:59.123456+02', '{}', NULL, NULL, 'r2', now(), NULL),
           (3, 9, NULL, NULL, 'soft-deleted', NULL, 'r3', now(), now());",
    )
    .await;
    for table in ["plain", "empty", "typed"] {
        let d = diff_of(&t, table, &opts()).await;
        assert!(!d.is_different(), "{table}: {d:#?}");
    }
    let d = diff_of(&t, "typed", &opts()).await;
    assert_eq!(
        d.compared_columns,
        s(&["id", "amount", "at", "doc", "label", "small"])
    );
    assert_eq!(d.dest_rows, 2, "a soft-deleted row is not live");
    let d = diff_of(&t, "empty", &opts()).await;
    assert_eq!((d.source_rows, d.dest_rows), (0, 0));

    // Without TABLE: every table of the schema (no publication here), all equal.
    let r = cli::report(&t.settings, &DiffArgs::default(), &opts(), None).await;
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("public.empty: equal (0 rows;"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("public.plain: equal (3 000 rows;"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with("3 tables: 3 equal, 0 different\n"),
        "{}",
        r.stdout
    );

    // A real change behind the canonical forms is still seen.
    t.dst("UPDATE typed SET amount = 1.51 WHERE id = 1").await;
    let d = diff_of(&t, "typed", &opts()).await;
    assert_eq!(changed(&d), vec![("1".to_string(), s(&["amount"]))]);
}

#[tokio::test]
async fn odd_identifiers_and_text_uuid_composite_keys() {
    let t = tenant(&any_bin(), "keys").await;
    t.both(
        "CREATE SCHEMA \"Schéma ω\";
         CREATE TABLE \"Schéma ω\".\"Tâche Ω\" (\"a\"\"b\" text PRIMARY KEY, \"select\" int, \"x.y\" text);
         INSERT INTO \"Schéma ω\".\"Tâche Ω\"
         SELECT 'clé ' || lpad(g::text, 4, '0') || CASE WHEN g % 7 = 0 THEN ' it''s' ELSE '' END,
                g, 'ü' || g
           FROM generate_series(1, 400) g;
         CREATE TABLE u (id uuid PRIMARY KEY, v int);
         INSERT INTO u SELECT md5(g::text)::uuid, g FROM generate_series(1, 400) g;
         CREATE TABLE c (tenant int, code text, v text, PRIMARY KEY (tenant, code));
         INSERT INTO c SELECT g % 5, 'code-' || g, 'v' || g FROM generate_series(1, 400) g;
         ANALYZE;",
    )
    .await;
    t.dst(
        "DELETE FROM \"Schéma ω\".\"Tâche Ω\" WHERE \"a\"\"b\" = 'clé 0007 it''s';
         UPDATE \"Schéma ω\".\"Tâche Ω\" SET \"select\" = -1 WHERE \"a\"\"b\" = 'clé 0100';
         INSERT INTO \"Schéma ω\".\"Tâche Ω\" VALUES ('zzz \"quoted\"', 0, NULL);
         DELETE FROM u WHERE v = 5;
         UPDATE u SET v = -v WHERE v = 300;
         INSERT INTO u VALUES ('00000000-0000-0000-0000-000000000000', 0);
         DELETE FROM c WHERE tenant = 1 AND code = 'code-1';
         UPDATE c SET v = 'changé' WHERE tenant = 3 AND code = 'code-3';
         INSERT INTO c VALUES (9, 'code-x', 'new');",
    )
    .await;
    // Keys that the two sides sort by different collations are compared byte by byte.
    t.src(
        "CREATE TABLE coll (name text PRIMARY KEY, v int);
         INSERT INTO coll SELECT w || g, g FROM generate_series(1, 200) g,
                unnest(ARRAY['a', 'B', 'é', 'Z', '_']) w;",
    )
    .await;
    t.dst(
        "CREATE TABLE coll (name text COLLATE \"POSIX\" PRIMARY KEY, v int);
         INSERT INTO coll SELECT w || g, g FROM generate_series(1, 200) g,
                unnest(ARRAY['a', 'B', 'é', 'Z', '_']) w;
         UPDATE coll SET v = 0 WHERE name IN ('é7', 'B150');
         DELETE FROM coll WHERE name = 'a1';
         INSERT INTO coll VALUES ('~', 1);",
    )
    .await;
    for o in [opts(), small_segments()] {
        let d = diff_of(&t, "coll", &o).await;
        assert!(
            d.notes.iter().any(|n| n.contains("COLLATE")),
            "{:?}",
            d.notes
        );
        assert_eq!(keys(&d.missing), s(&["a1"]));
        assert_eq!(keys(&d.extra), s(&["~"]));
        assert_eq!(keys(&d.changed), s(&["B150", "é7"]));
    }
    let five = "e4da3b7f-bbce-2345-d777-2b0674a318d5";
    for o in [opts(), small_segments()] {
        let mut sampled = o.clone();
        sampled.sample_above_rows = 0;
        for o in [o, sampled] {
            let d = driver::diff_table(&t.settings, "Schéma ω", "Tâche Ω", &o, None)
                .await
                .unwrap();
            assert_eq!(d.key_columns, s(&["a\"b"]));
            assert_eq!(keys(&d.missing), s(&["clé 0007 it's"]));
            assert_eq!(keys(&d.extra), s(&["zzz \"quoted\""]));
            assert_eq!(changed(&d), vec![("clé 0100".to_string(), s(&["select"]))]);

            let d = diff_of(&t, "u", &o).await;
            assert_eq!(keys(&d.missing), s(&[five]));
            assert_eq!(keys(&d.extra), s(&["00000000-0000-0000-0000-000000000000"]));
            assert_eq!(d.changed.len(), 1);
            assert_eq!(d.changed[0].columns, s(&["v"]));

            let d = diff_of(&t, "c", &o).await;
            assert_eq!(d.key_columns, s(&["tenant", "code"]));
            assert_eq!(keys(&d.missing), s(&["1|code-1"]));
            assert_eq!(keys(&d.extra), s(&["9|code-x"]));
            assert_eq!(changed(&d), vec![("3|code-3".to_string(), s(&["v"]))]);
        }
    }
    // The command takes quoted names and prints keys as literals.
    let args = DiffArgs {
        table: Some("\"Schéma ω\".Tâche Ω".into()),
        ..DiffArgs::default()
    };
    let r = cli::report(&t.settings, &args, &opts(), None).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("missing  a\"b='clé 0007 it''s'"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn a_table_on_one_side_only_or_nowhere_is_named() {
    let t = tenant(&any_bin(), "onesided").await;
    t.src("CREATE TABLE only_src (id int PRIMARY KEY)").await;
    t.dst("CREATE TABLE only_dst (id int PRIMARY KEY)").await;
    let e = driver::diff_table(&t.settings, "public", "only_src", &opts(), None)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        DiffError::Missing {
            table: "public.only_src".into(),
            present_on: Some(Side::Source)
        }
    );
    assert_eq!(
        e.to_string(),
        "table public.only_src exists on the source but not on the destination: all its rows are missing there"
    );
    let e = driver::diff_table(&t.settings, "public", "only_dst", &opts(), None)
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("exists on the destination but not on the source")
    );

    let one = |table: &str| DiffArgs {
        table: Some(table.into()),
        ..DiffArgs::default()
    };
    let r = cli::report(&t.settings, &one("only_src"), &opts(), None).await;
    assert_eq!(r.code, 1, "a missing table is a difference");
    assert!(
        r.stdout
            .contains("exists on the source but not on the destination")
    );
    let r = cli::report(&t.settings, &one("nowhere"), &opts(), None).await;
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("table public.nowhere exists on neither the source nor the destination"),
        "{}",
        r.stdout
    );
    // A side that cannot be reached is an error, said without the password.
    let mut down = t.settings.clone();
    down.dest.port = 1;
    let r = cli::report(&down, &one("only_src"), &opts(), None).await;
    assert_eq!(r.code, 2);
    let err = r.stderr.unwrap();
    assert!(err.contains("cannot connect to the destination"), "{err}");
}

#[tokio::test]
async fn a_table_without_primary_key_compares_multisets_of_rows() {
    let t = tenant(&any_bin(), "keyless").await;
    t.both(
        "CREATE TABLE log (at int, msg text);
         INSERT INTO log SELECT g % 50, 'm' || (g % 50) FROM generate_series(1, 2000) g;
         INSERT INTO log VALUES (1, NULL), (2, 'a,b'), (2, 'a,b');",
    )
    .await;
    t.dst(
        "DELETE FROM log WHERE ctid = (SELECT ctid FROM log WHERE msg = 'a,b' LIMIT 1);
         INSERT INTO log VALUES (7, 'nouveau'), (7, 'nouveau');
         UPDATE log SET msg = 'changé' WHERE at IS NOT NULL AND msg IS NULL;",
    )
    .await;
    let d = diff_of(&t, "log", &opts()).await;
    assert!(d.key_columns.is_empty());
    assert!(
        d.notes.iter().any(|n| n.contains("multisets")),
        "{:?}",
        d.notes
    );
    let rows = |v: &[diff::RowDiff]| -> Vec<(String, i64)> {
        v.iter().map(|r| (r.key[0].clone(), r.count)).collect()
    };
    assert_eq!(
        rows(&d.missing),
        vec![("(1,)".to_string(), 1), ("(2,\"a,b\")".to_string(), 1)]
    );
    assert_eq!(
        rows(&d.extra),
        vec![
            ("(1,changé)".to_string(), 1),
            ("(7,nouveau)".to_string(), 2)
        ]
    );
    assert_eq!((d.source_rows, d.dest_rows), (2003, 2004));
}

#[tokio::test]
async fn fifty_thousand_rows_with_a_handful_of_differences_descend_into_few_segments() {
    let t = tenant(&any_bin(), "descent").await;
    t.both(
        "CREATE TABLE tache (id int PRIMARY KEY, title text, done bool);
         INSERT INTO tache SELECT g, 'tâche ' || g, g % 2 = 0 FROM generate_series(1, 50000) g;
         ANALYZE tache;",
    )
    .await;
    t.dst(
        "DELETE FROM tache WHERE id IN (17, 31337);
         INSERT INTO tache VALUES (50001, 'de plus', false), (-3, 'négatif', true);
         UPDATE tache SET done = NOT done WHERE id IN (25000, 49999);",
    )
    .await;
    let forced = DiffOptions {
        segment_rows: 100,
        max_segments: 16,
        fanout: 4,
        fetch_rows: 150,
        ..opts()
    };
    for o in [opts(), forced] {
        let d = diff_of(&t, "tache", &o).await;
        assert_eq!(keys(&d.missing), s(&["17", "31337"]));
        assert_eq!(keys(&d.extra), s(&["-3", "50001"]));
        assert_eq!(
            changed(&d),
            vec![
                ("25000".to_string(), s(&["done"])),
                ("49999".to_string(), s(&["done"])),
            ]
        );
        // Only the segments around the six differences were read row by row.
        assert!(
            d.stats.rows_fetched <= 6 * 2 * o.fetch_rows,
            "{:?} with {o:?}",
            d.stats
        );
        assert!(d.stats.segments_equal > 0);
    }
    let d = diff_of(
        &t,
        "tache",
        &DiffOptions {
            segment_rows: 100,
            max_segments: 16,
            fanout: 4,
            fetch_rows: 150,
            ..opts()
        },
    )
    .await;
    assert!(d.stats.levels >= 3, "{:?}", d.stats);
}

#[tokio::test]
async fn a_row_that_differs_only_in_a_vector_value() {
    let Some(bin) = common::pgvector() else {
        return;
    };
    let t = tenant(&bin, "vector").await;
    for admin in [&t.src_admin, &t.dst_admin] {
        exec(admin, "CREATE EXTENSION IF NOT EXISTS vector")
            .await
            .unwrap();
    }
    t.both(
        "CREATE TABLE emb (id int PRIMARY KEY, title text, embedding vector(3));
         INSERT INTO emb SELECT g, 'doc ' || g, ARRAY[g, g / 2.0, 0.1]::vector
           FROM generate_series(1, 300) g;",
    )
    .await;
    // The text form on one side (as a sync without pgvector writes it) reads equal.
    t.src(
        "CREATE TABLE emb_text (id int PRIMARY KEY, embedding vector(3));
         INSERT INTO emb_text VALUES (1, '[1,2.5,0.1]'), (2, '[0,-1,3]');",
    )
    .await;
    t.dst(
        "CREATE TABLE emb_text (id int PRIMARY KEY, embedding text);
         INSERT INTO emb_text VALUES (1, '[1, 2.5, 0.1]'), (2, '[0.0,-1.0,3.0]');",
    )
    .await;
    let d = diff_of(&t, "emb_text", &opts()).await;
    assert!(!d.is_different(), "{d:#?}");

    t.dst("UPDATE emb SET embedding = '[42,21,0.10001]' WHERE id = 42")
        .await;
    for o in [opts(), small_segments()] {
        let d = diff_of(&t, "emb", &o).await;
        assert!(d.missing.is_empty() && d.extra.is_empty());
        assert_eq!(changed(&d), vec![("42".to_string(), s(&["embedding"]))]);
    }
    t.dst("UPDATE emb_text SET embedding = '[0,-1,3.5]' WHERE id = 2")
        .await;
    let d = diff_of(&t, "emb_text", &opts()).await;
    assert_eq!(changed(&d), vec![("2".to_string(), s(&["embedding"]))]);
}

#[tokio::test]
async fn an_idle_consumer_is_not_waited_for_and_rows_it_has_not_read_are_pending_not_drift() {
    let lab = common::guide_lab().await;
    lab.subscribe().await.unwrap();
    let settings = lab.settings();
    exec(
        &settings.source,
        "INSERT INTO utilisateur (username, email)
         SELECT 'u' || g, 'u' || g || '@example.com' FROM generate_series(1, 20) g;
         INSERT INTO tache (title, utilisateur_id)
         SELECT 'tâche ' || g, 1 + g % 20 FROM generate_series(1, 2000) g;",
    )
    .await
    .unwrap();
    let dst = syncwatch::io::pg::connect(&settings.dest, Duration::from_secs(10))
        .await
        .unwrap();
    let arrived = common::eventually(Duration::from_secs(60), || async {
        dst.client
            .query_one("SELECT count(*) FROM tache", &[])
            .await
            .map(|r| r.get::<_, i64>(0) == 2000)
            .unwrap_or(false)
    })
    .await;
    assert!(arrived, "the initial rows never reached the destination");
    // The slot's horizon moves past the rows once a checkpoint has logged the running
    // transactions and the subscriber has confirmed it: then the consumer has read them.
    let src = syncwatch::io::pg::connect(&settings.source, Duration::from_secs(10))
        .await
        .unwrap();
    exec(&lab.source.admin(lab::APP_DB), "CHECKPOINT")
        .await
        .unwrap();
    let read = common::eventually(Duration::from_secs(60), || async {
        src.client
            .query_one(
                "SELECT age(s.catalog_xmin) < age(t.xmin)
                   FROM pg_replication_slots s, tache t
                  WHERE s.slot_name = $1 AND t.id = 2000",
                &[&settings.slot],
            )
            .await
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false)
    })
    .await;
    assert!(read, "the slot's horizon never passed the first rows");

    // Real drift: written on the destination behind replication's back.
    exec(
        &settings.dest,
        "UPDATE tache SET title = 'dérive' WHERE id = 1",
    )
    .await
    .unwrap();
    // Then the consumer goes away, as an Airbyte source does between syncs, and the
    // source changes.
    let sub = quote::ident(&settings.subscription);
    exec(
        &lab.dest.admin(lab::APP_DB),
        &format!("ALTER SUBSCRIPTION {sub} DISABLE"),
    )
    .await
    .unwrap();
    let stopped = common::eventually(Duration::from_secs(60), || async {
        src.client
            .query_one(
                "SELECT NOT active FROM pg_replication_slots WHERE slot_name = $1",
                &[&settings.slot],
            )
            .await
            .map(|r| r.get::<_, bool>(0))
            .unwrap_or(false)
    })
    .await;
    assert!(stopped, "the subscription's worker never stopped");
    exec(
        &settings.source,
        "INSERT INTO tache (title, utilisateur_id) SELECT 'nouvelle ' || g, 1 FROM generate_series(1, 3) g;
         UPDATE tache SET is_completed = true WHERE id = 500;
         DELETE FROM tache WHERE id = 600;",
    )
    .await
    .unwrap();

    let o = DiffOptions {
        catch_up_limit: Duration::from_secs(120),
        segment_rows: 100,
        ..opts()
    };
    let started = std::time::Instant::now();
    let d = driver::diff_table(&settings, "public", "tache", &o, None)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("diff with the consumer away: {elapsed:?}");
    let rc = d.recheck.as_ref().expect("differences were re-checked");
    assert_eq!(rc.consumer_active, Some(false));
    assert_eq!(rc.caught_up, Some(false));
    // Not the two-minute catch-up limit: nothing was waited for.
    assert!(
        rc.waited_ms < o.catch_up_limit.as_millis() as u64 / 2,
        "{rc:?}"
    );
    assert!(d.missing.is_empty() && d.extra.is_empty(), "{d:#?}");
    assert_eq!(changed(&d), vec![("1".to_string(), s(&["title"]))]);
    let mut pending: Vec<(DiffKind, String)> = d
        .pending
        .iter()
        .map(|r| (r.kind, r.key.join("|")))
        .collect();
    pending.sort_by(|a, b| a.1.len().cmp(&b.1.len()).then(a.1.cmp(&b.1)));
    assert_eq!(
        pending,
        vec![
            (DiffKind::Changed, "500".to_string()),
            (DiffKind::Extra, "600".to_string()),
            (DiffKind::Missing, "2001".to_string()),
            (DiffKind::Missing, "2002".to_string()),
            (DiffKind::Missing, "2003".to_string()),
        ]
    );
    assert!(
        driver::diff_table(&settings, "public", "utilisateur", &o, None)
            .await
            .unwrap()
            .pending
            .is_empty()
    );

    // The consumer back, connected but held up by a lock on the destination: the diff
    // waits for it while it is reading, and what it then brings is in flight, not drift.
    exec(
        &lab.dest.admin(lab::APP_DB),
        &format!("ALTER SUBSCRIPTION {sub} ENABLE"),
    )
    .await
    .unwrap();
    let caught_up = common::eventually(Duration::from_secs(60), || async {
        dst.client
            .query_one("SELECT count(*) FROM tache WHERE id > 2000", &[])
            .await
            .map(|r| r.get::<_, i64>(0) == 3)
            .unwrap_or(false)
    })
    .await;
    assert!(caught_up, "the subscription never brought the pending rows");
    dst.client
        .batch_execute("BEGIN; LOCK TABLE tache IN SHARE MODE")
        .await
        .unwrap();
    exec(
        &settings.source,
        "UPDATE tache SET is_completed = true WHERE id = 700",
    )
    .await
    .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let tx = Mutex::new(Some(tx));
    let phases = Arc::new(Mutex::new(Vec::new()));
    let seen = phases.clone();
    let progress: ProgressFn = Arc::new(move |p: &Progress| {
        seen.lock().unwrap().push(*p);
        if p.phase == Phase::WaitingForReplication
            && let Some(tx) = tx.lock().unwrap().take()
        {
            let _ = tx.send(());
        }
    });
    let s2 = settings.clone();
    let o2 = o.clone();
    let diff = tokio::spawn(async move {
        driver::diff_table(&s2, "public", "tache", &o2, Some(progress)).await
    });
    rx.await.expect("the diff never waited for replication");
    dst.client.batch_execute("COMMIT").await.unwrap();
    let d = diff.await.unwrap().unwrap();
    let rc = d.recheck.as_ref().unwrap();
    assert_eq!(rc.caught_up, Some(true), "{rc:?}");
    assert_eq!(rc.consumer_active, Some(true));
    assert!(d.pending.is_empty(), "{d:#?}");
    assert_eq!(changed(&d), vec![("1".to_string(), s(&["title"]))]);
    let in_flight: Vec<(DiffKind, String)> = d
        .in_flight
        .iter()
        .map(|r| (r.kind, r.key.join("|")))
        .collect();
    assert_eq!(in_flight, vec![(DiffKind::Changed, "700".to_string())]);
    // Progress went through every phase, segments never counted past their total.
    let phases: Vec<Progress> = phases.lock().unwrap().clone();
    for p in phases.iter() {
        assert!(p.segments_done <= p.segments_total, "{p:?}");
    }
    let names: Vec<Phase> = phases.iter().map(|p| p.phase).collect();
    for want in [
        Phase::Planning,
        Phase::Segments { level: 0 },
        Phase::Rows,
        Phase::WaitingForReplication,
        Phase::Rechecking,
        Phase::Done,
    ] {
        assert!(names.contains(&want), "{want:?} not in {names:?}");
    }
    drop((src, dst));
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test]
async fn huge_values_and_rows_of_nulls_are_told_apart_without_reading_the_values() {
    let t = tenant(&any_bin(), "huge").await;
    // Four rows of 48 MB of text (compressed on disk, whole in memory), 2 MB of bytea,
    // and rows NULL in every column but the key.
    t.both(
        "CREATE TABLE doc (id int PRIMARY KEY, body text, data bytea, meta jsonb,
                           n numeric, at timestamptz, flag bool);
         ALTER TABLE doc ALTER body SET STORAGE EXTENDED;
         INSERT INTO doc SELECT g, repeat(md5(g::text), 1500000),
                                decode(repeat('ab', 1000000), 'hex'),
                                jsonb_build_object('g', g), g, '2024-05-01 12:00+02', true
           FROM generate_series(1, 4) g;
         INSERT INTO doc (id) SELECT g FROM generate_series(100, 299) g;",
    )
    .await;
    t.dst(
        "UPDATE doc SET body = body || 'x' WHERE id = 1;
         UPDATE doc SET data = data || '\\x00'::bytea WHERE id = 2;
         UPDATE doc SET body = NULL WHERE id = 3;
         UPDATE doc SET body = repeat(md5('0'), 1500000) WHERE id = 4;
         UPDATE doc SET body = '' WHERE id = 101;
         UPDATE doc SET flag = false WHERE id = 102;
         DELETE FROM doc WHERE id = 103;
         INSERT INTO doc (id) VALUES (999);",
    )
    .await;
    let d = diff_of(&t, "doc", &opts()).await;
    assert_eq!(keys(&d.missing), s(&["103"]));
    assert_eq!(keys(&d.extra), s(&["999"]));
    assert_eq!(
        changed(&d),
        vec![
            ("1".to_string(), s(&["body"])),
            ("2".to_string(), s(&["data"])),
            ("3".to_string(), s(&["body"])),
            ("4".to_string(), s(&["body"])),
            // NULL against empty text, and NULL against false, are changes.
            ("101".to_string(), s(&["body"])),
            ("102".to_string(), s(&["flag"])),
        ]
    );

    // The command finds the same while its memory stays far below one value's size: the
    // changed columns are told apart by their hashes, computed by the servers.
    let (code, out, peak_kib) = common::run_with_peak_rss(
        std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .args(["diff", "doc", "--json", "--source"])
            .arg(t.settings.source.conninfo_without_password())
            .arg("--dest")
            .arg(t.settings.dest.conninfo_without_password())
            .env(
                "PGPASSWORD",
                t.settings.source.password.as_ref().unwrap().expose(),
            ),
    );
    assert_eq!(code, Some(1), "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["tables"][0]["changed_count"], 6, "{out}");
    eprintln!("diff of 4 × 48 MB values: peak RSS {} MiB", peak_kib / 1024);
    assert!(
        peak_kib < 40 * 1024,
        "peak RSS {peak_kib} KiB: values were read by the client"
    );
}

#[tokio::test]
async fn airbyte_renamed_tables_and_columns_are_diffed_under_their_destination_names() {
    let mut t = tenant(&any_bin(), "renamed").await;
    t.settings.engine = Engine::Airbyte;
    t.src(
        "CREATE TABLE \"Tâche Ω\" (id int PRIMARY KEY, \"due date\" date, \"a\"\"b\" text);
         INSERT INTO \"Tâche Ω\"
         SELECT g, date '2024-01-01' + g, 'v' || g FROM generate_series(1, 300) g;
         ANALYZE;",
    )
    .await;
    // As Airbyte's destination writes it: names made Postgres-friendly, types widened,
    // its own columns, no primary key.
    t.dst(
        "CREATE TABLE \"Tache__\" (id bigint, due_date date, a_b varchar,
                                  _airbyte_raw_id varchar NOT NULL, _airbyte_extracted_at timestamptz NOT NULL,
                                  _airbyte_meta jsonb NOT NULL, _airbyte_generation_id bigint);
         INSERT INTO \"Tache__\"
         SELECT g, date '2024-01-01' + g, 'v' || g, md5(g::text), now(), '{}', 0
           FROM generate_series(1, 300) g;
         CREATE INDEX ON \"Tache__\" (id);
         ANALYZE;",
    )
    .await;
    let d = diff_of(&t, "Tâche Ω", &opts()).await;
    assert!(!d.is_different(), "{d:?}");
    assert_eq!(d.compared_columns, s(&["id", "due date", "a\"b"]));
    assert!(d.notes.is_empty(), "{:?}", d.notes);
    t.dst("UPDATE \"Tache__\" SET due_date = due_date + 1 WHERE id = 42; UPDATE \"Tache__\" SET a_b = 'x' WHERE id = 7")
        .await;
    let d = diff_of(&t, "Tâche Ω", &opts()).await;
    assert_eq!(
        changed(&d),
        vec![
            ("7".to_string(), s(&["a\"b"])),
            ("42".to_string(), s(&["due date"]))
        ],
        "{d:?}"
    );
}
