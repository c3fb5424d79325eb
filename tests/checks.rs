//! Every check of `src/checks.rs` against real PostgreSQL servers: each condition is
//! broken on a live server, the check is seen to fail, then the condition is mended
//! (where SQL can mend it, with the check's own fix) and the check is seen to pass.
//!
//! To save server starts, most tests share one source/destination pair per installation
//! and get a tenant of their own on it: their own role, database (on both sides), slot,
//! publication and subscription. Tests that restart or stop a server start their own.

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use syncwatch::config::{Endpoint, Engine, Settings};
use syncwatch::io::pg;
use syncwatch::io::poll::poll_once;
use syncwatch::logic::checks;
use syncwatch::logic::divergence::{State, Tracker};
use syncwatch::logic::mapping::Mapping;
use syncwatch::logic::quote;
use syncwatch::logic::syncs::Syncs;
use syncwatch::model::check::{Check, Status};
use syncwatch::model::snapshot::TableKey;
use syncwatch::model::snapshot::{RowCount, Snapshot};
use syncwatch::sandbox::cluster::{Cluster, PgBin};
use syncwatch::sandbox::lab::{self, Lab, SCRIPTS, exec};

/// Bound on waiting for replication to reach a state (not a timing assertion).
const WAIT: Duration = Duration::from_secs(30);
/// A poll of a side that is down must still come back well within this.
const POLL_LIMIT: Duration = Duration::from_secs(20);

/// The shared source has room for every tenant's slot and sender.
const SHARED_SOURCE: &[(&str, &str)] = &[
    ("wal_level", "logical"),
    ("max_replication_slots", "64"),
    ("max_wal_senders", "64"),
];
/// The shared destination runs several tenants' subscriptions at once.
const SHARED_DEST: &[(&str, &str)] = &[
    ("max_replication_slots", "64"),
    ("max_logical_replication_workers", "24"),
    ("max_worker_processes", "40"),
    // A failed apply worker restarts soon, so a mended conflict is applied quickly.
    ("wal_retrieve_retry_interval", "200ms"),
];

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The first installation the tests cover (Debian's 15 when installed).
fn any_bin() -> PgBin {
    common::all_bins().remove(0)
}

/// The pgvector build when there is one, else the first installation: spreads the tests
/// over both versions' catalog queries.
fn newest_bin() -> PgBin {
    common::pgvector().unwrap_or_else(any_bin)
}

/// The source/destination pair shared by the tests of this binary for `bin`, started on
/// first use. Held in a static, it is stopped and deleted when the test process exits.
async fn shared_lab(bin: &PgBin) -> &'static Lab {
    static LABS: Mutex<Vec<(PathBuf, &'static Lab)>> = Mutex::new(Vec::new());
    let bin = bin.clone();
    tokio::task::spawn_blocking(move || {
        let mut labs = LABS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, lab)) = labs.iter().find(|(dir, _)| *dir == bin.dir) {
            return *lab;
        }
        let (source, dest) = std::thread::scope(|s| {
            let source = s.spawn(|| Cluster::start(&bin, SHARED_SOURCE));
            let dest = s.spawn(|| Cluster::start(&bin, SHARED_DEST));
            (source.join().unwrap(), dest.join().unwrap())
        });
        let lab: &'static Lab = Box::leak(Box::new(Lab {
            source: source.unwrap(),
            dest: dest.unwrap(),
        }));
        labs.push((bin.dir.clone(), lab));
        lab
    })
    .await
    .unwrap()
}

fn script(name: &str) -> &'static str {
    SCRIPTS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sql/{name}"))
        .text
}

/// One test's own objects on a shared lab, set up as the guide's scripts do.
struct Tenant {
    lab: &'static Lab,
    db: String,
    settings: Settings,
}

async fn tenant(bin: &PgBin, name: &str) -> Tenant {
    tenant_as(bin, name, &format!("u_{name}"), &format!("db_{name}")).await
}

/// A tenant whose role and database are called `user` and `db` (password = user).
async fn tenant_as(bin: &PgBin, name: &str, user: &str, db: &str) -> Tenant {
    let lab = shared_lab(bin).await;
    let settings = Settings {
        source: lab.source.tcp(user, user, db),
        dest: lab.dest.tcp(user, user, db),
        slot: format!("slot_{name}"),
        publication: format!("pub_{name}"),
        subscription: format!("sub_{name}"),
        engine: Engine::Native,
        ..Settings::default()
    };
    let vector = bin.pgvector;
    let source = async {
        lab::create_role_and_db(&lab.source, user, user, db)
            .await
            .unwrap();
        sql(
            &lab.source.admin("postgres"),
            &format!("ALTER ROLE {} REPLICATION", quote::ident(user)),
        )
        .await;
        if vector {
            sql(&lab.source.admin(db), script("00-vector.sql")).await;
        }
        let app = &settings.source;
        sql(app, script("10-schema.sql")).await;
        sql(app, script("30-replica-identity.sql")).await;
        sql(
            app,
            &format!(
                "CREATE PUBLICATION {} FOR TABLE utilisateur, tache",
                quote::ident(&settings.publication)
            ),
        )
        .await;
        sql(
            app,
            &format!(
                "SELECT pg_create_logical_replication_slot({}, 'pgoutput')",
                quote::literal(&settings.slot)
            ),
        )
        .await;
    };
    let dest = async {
        lab::create_role_and_db(&lab.dest, user, user, db)
            .await
            .unwrap();
        if vector {
            sql(&lab.dest.admin(db), script("00-vector.sql")).await;
        }
        sql(&settings.dest, script("10-schema.sql")).await;
    };
    tokio::join!(source, dest);
    Tenant {
        lab,
        db: db.to_string(),
        settings,
    }
}

impl Tenant {
    async fn version_num(&self) -> i32 {
        pg::connect(&self.settings.source, Duration::from_secs(10))
            .await
            .unwrap()
            .version_num
    }

    fn source_admin(&self) -> Endpoint {
        self.lab.source.admin(&self.db)
    }
    fn dest_admin(&self) -> Endpoint {
        self.lab.dest.admin(&self.db)
    }

    /// Native replication of the tenant's publication through its slot, as the guide's
    /// native variant does it.
    async fn subscribe(&self) {
        let s = &self.settings;
        sql(
            &self.dest_admin(),
            &format!(
                "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (create_slot = false, slot_name = {})",
                quote::ident(&s.subscription),
                quote::literal(&s.source.conninfo(true)),
                quote::ident(&s.publication),
                quote::literal(&s.slot),
            ),
        )
        .await;
    }

    /// Stops the tenant's replication so the shared servers carry no idle workers.
    async fn finish(self) {
        let s = &self.settings;
        let exists = pg::connect(&self.dest_admin(), Duration::from_secs(10))
            .await
            .unwrap()
            .client
            .query_one(
                "SELECT count(*) FROM pg_subscription WHERE subname = $1",
                &[&s.subscription],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
            > 0;
        if exists {
            sql(
                &self.dest_admin(),
                &format!("DROP SUBSCRIPTION {}", quote::ident(&s.subscription)),
            )
            .await;
        }
    }
}

async fn sql(ep: &Endpoint, text: &str) {
    if let Err(e) = exec(ep, text).await {
        panic!("{text}\nfailed on {ep}: {e:#}");
    }
}

/// Runs a check's fix, statement by statement, as the check's side would.
async fn apply_fix(ep: &Endpoint, check: &Check) {
    let fix = check
        .fix
        .as_ref()
        .unwrap_or_else(|| panic!("{} has no fix: {check:?}", check.id));
    assert!(!fix.sql.is_empty(), "{} fix has no SQL: {fix:?}", check.id);
    for statement in &fix.sql {
        sql(ep, statement).await;
    }
}

async fn poll_with(s: &Settings, forced: &HashSet<TableKey>) -> (Snapshot, Vec<Check>) {
    let snap = tokio::time::timeout(POLL_LIMIT, poll_once(s, forced))
        .await
        .expect("a poll must finish, whatever state the servers are in");
    let checks = checks::evaluate(&snap, s, &Syncs::once(&snap));
    (snap, checks)
}

async fn poll(s: &Settings) -> Vec<Check> {
    poll_with(s, &HashSet::new()).await.1
}

fn find<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
}

fn ids(checks: &[Check]) -> Vec<&'static str> {
    checks.iter().map(|c| c.id.as_str()).collect()
}

/// Polls until check `id` satisfies `want`; returns it (fails with the last one seen).
async fn wait_for(s: &Settings, id: &str, want: impl Fn(&Check) -> bool) -> Check {
    let last: Mutex<Option<Check>> = Mutex::new(None);
    let reached = common::eventually(WAIT, || async {
        let checks = poll(s).await;
        let c = find(&checks, id).clone();
        let good = want(&c);
        *last.lock().unwrap() = Some(c);
        good
    })
    .await;
    let c = last.into_inner().unwrap().expect("polled at least once");
    assert!(
        reached,
        "{id} never reached the expected state; last: {c:#?}"
    );
    c
}

async fn wait_status(s: &Settings, id: &str, status: Status) -> Check {
    wait_for(s, id, |c| c.status == status).await
}

/// Asserts status and that the detail contains every fragment.
#[track_caller]
fn expect(checks: &[Check], id: &str, status: Status, fragments: &[&str]) -> Check {
    let c = find(checks, id);
    assert_eq!(c.status, status, "{id}: {c:#?}");
    for f in fragments {
        assert!(
            c.detail.contains(f),
            "{id}: detail lacks {f:?}: {}",
            c.detail
        );
    }
    c.clone()
}

fn fix_sql(c: &Check) -> String {
    c.fix
        .as_ref()
        .map(|f| f.sql.join(";\n"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Source: server settings and role
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn wal_level_replica_fails_then_passes_after_a_restart_with_logical() {
    let bin = any_bin();
    let mut cluster = tokio::task::spawn_blocking(move || {
        Cluster::start(&bin, &[("wal_level", "replica"), ("max_wal_senders", "10")])
    })
    .await
    .unwrap()
    .unwrap();
    lab::create_role_and_db(&cluster, lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB)
        .await
        .unwrap();
    let app = cluster.tcp(lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB);
    let admin = cluster.admin(lab::APP_DB);
    let s = Settings {
        source: app.clone(),
        dest: app.clone(),
        engine: Engine::Airbyte,
        ..Settings::default()
    };

    let checks = poll(&s).await;
    let wal = expect(
        &checks,
        "source.wal_level",
        Status::Critical,
        &["wal_level is replica", "needs logical"],
    );
    let fix = wal.fix.as_ref().expect("wal_level has a fix");
    assert!(fix.restart_needed, "{fix:?}");
    assert_eq!(
        fix.sql,
        vec![
            "ALTER SYSTEM SET wal_level = logical",
            "SELECT pg_reload_conf()"
        ]
    );
    // No logical slot can exist at this wal_level, and the server refuses to make one.
    let slot = expect(
        &checks,
        "source.slot",
        Status::Critical,
        &["does not exist"],
    );
    let err = exec(&admin, &fix_sql(&slot)).await.unwrap_err();
    assert!(format!("{err:#}").contains("wal_level"), "{err:#}");

    // The fix applied and reloaded: the check now says it waits for the restart.
    apply_fix(&admin, &wal).await;
    sql(&admin, "SELECT pg_reload_conf()").await;
    let c = wait_for(&s, "source.wal_level", |c| {
        c.detail.contains("waits for a restart")
    })
    .await;
    assert_eq!(c.status, Status::Critical, "{c:?}");

    cluster = tokio::task::spawn_blocking(move || {
        cluster.restart_with(&[("wal_level", "logical")]).unwrap();
        cluster
    })
    .await
    .unwrap();
    expect(
        &poll(&s).await,
        "source.wal_level",
        Status::Ok,
        &["wal_level = logical"],
    );
    // And now the slot check's fix works.
    apply_fix(&admin, &slot).await;
    expect(&poll(&s).await, "source.slot", Status::Ok, &["pgoutput"]);

    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}

#[tokio::test]
async fn full_slots_and_no_wal_senders_fail_then_pass_when_raised() {
    let bin = newest_bin();
    let mut cluster = tokio::task::spawn_blocking(move || {
        Cluster::start(
            &bin,
            &[
                ("wal_level", "logical"),
                ("max_replication_slots", "1"),
                ("max_wal_senders", "0"),
            ],
        )
    })
    .await
    .unwrap()
    .unwrap();
    lab::create_role_and_db(&cluster, lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB)
        .await
        .unwrap();
    let app = cluster.tcp(lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB);
    sql(
        &cluster.admin(lab::APP_DB),
        "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')",
    )
    .await;
    let s = Settings {
        source: app.clone(),
        dest: app,
        engine: Engine::Airbyte,
        ..Settings::default()
    };

    let checks = poll(&s).await;
    let slots = expect(
        &checks,
        "source.max_replication_slots",
        Status::Warning,
        &["max_replication_slots = 1", "all in use"],
    );
    assert!(slots.fix.as_ref().is_some_and(|f| f.restart_needed));
    let senders = expect(
        &checks,
        "source.max_wal_senders",
        Status::Critical,
        &["max_wal_senders = 0"],
    );
    assert!(senders.fix.as_ref().is_some_and(|f| f.restart_needed));
    expect(&checks, "source.slot", Status::Ok, &[]);

    cluster = tokio::task::spawn_blocking(move || {
        cluster
            .restart_with(&[("max_replication_slots", "10"), ("max_wal_senders", "10")])
            .unwrap();
        cluster
    })
    .await
    .unwrap();
    let checks = poll(&s).await;
    expect(
        &checks,
        "source.max_replication_slots",
        Status::Ok,
        &["1 of 10 slots in use"],
    );
    expect(
        &checks,
        "source.max_wal_senders",
        Status::Ok,
        &["0 of 10 WAL senders"],
    );

    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}

#[tokio::test]
async fn role_without_replication_fails_then_passes_when_granted() {
    let t = tenant(&any_bin(), "role").await;
    let s = &t.settings;
    expect(
        &poll(s).await,
        "source.replication_role",
        Status::Ok,
        &["role u_role has REPLICATION"],
    );

    sql(&t.source_admin(), "ALTER ROLE u_role NOREPLICATION").await;
    let c = expect(
        &poll(s).await,
        "source.replication_role",
        Status::Critical,
        &["u_role", "lacks the REPLICATION attribute"],
    );
    assert_eq!(fix_sql(&c), r#"ALTER ROLE "u_role" REPLICATION"#);
    // Without the attribute the role really cannot read the slot.
    let peek = "SELECT count(*) FROM pg_logical_slot_peek_binary_changes('slot_role', NULL, 1, 'proto_version', '1', 'publication_names', 'pub_role')";
    let err = exec(&s.source, peek).await.unwrap_err();
    assert!(
        format!("{err:#}").to_lowercase().contains("replication"),
        "{err:#}"
    );

    apply_fix(&t.source_admin(), &c).await;
    expect(
        &poll(s).await,
        "source.replication_role",
        Status::Ok,
        &["has REPLICATION"],
    );
    sql(&s.source, peek).await;
    t.finish().await;
}

#[tokio::test]
async fn pg_monitor_only_role_gets_every_check_without_panic() {
    let t = tenant(&newest_bin(), "monitor").await;
    t.subscribe().await;
    let as_app = &t.settings;
    wait_status(as_app, "dest.subscription", Status::Ok).await;
    wait_status(as_app, "dest.subscription_tables", Status::Ok).await;
    let full = poll(as_app).await;

    for c in [&t.lab.source, &t.lab.dest] {
        sql(
            &c.admin("postgres"),
            "CREATE ROLE mon LOGIN PASSWORD 'mon' IN ROLE pg_monitor",
        )
        .await;
    }
    let s = Settings {
        source: t.lab.source.tcp("mon", "mon", &t.db),
        dest: t.lab.dest.tcp("mon", "mon", &t.db),
        ..as_app.clone()
    };
    let (snap, checks) = poll_with(&s, &HashSet::new()).await;
    // The same list of checks as for the application role: nothing went missing.
    assert_eq!(ids(&checks), ids(&full));
    expect(&checks, "source.reachable", Status::Ok, &["mon@"]);
    expect(&checks, "dest.reachable", Status::Ok, &["mon@"]);
    // What pg_monitor may read is read, not reported as unknown.
    for id in [
        "source.wal_level",
        "source.max_replication_slots",
        "source.max_wal_senders",
        "source.slot",
        "source.publication",
        "source.publication_tables",
        "source.replica_identity",
        "dest.tables",
        "dest.columns",
        "dest.subscription",
        "dest.subscription_tables",
    ] {
        expect(&checks, id, Status::Ok, &[]);
    }
    // The role check is about the role that polls, and mon lacks REPLICATION.
    expect(
        &checks,
        "source.replication_role",
        Status::Critical,
        &["role mon lacks"],
    );
    let role = snap.source.role.ok().expect("role read");
    assert!(role.pg_monitor && !role.superuser, "{role:?}");
    // Rows it may not count still have an estimate.
    let tache = snap.source.table("public", "tache").expect("tache listed");
    assert!(tache.rows.is_some(), "{tache:?}");
    t.finish().await;
}

// ---------------------------------------------------------------------------------------
// Source: slot
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_slot_fails_then_passes_when_recreated_with_the_fix() {
    let t = tenant(&newest_bin(), "noslot").await;
    let s = &t.settings;
    expect(&poll(s).await, "source.slot", Status::Ok, &["slot_noslot"]);

    sql(&s.source, "SELECT pg_drop_replication_slot('slot_noslot')").await;
    let checks = poll(s).await;
    let slot = expect(
        &checks,
        "source.slot",
        Status::Critical,
        &["slot_noslot does not exist"],
    );
    assert_eq!(
        fix_sql(&slot),
        "SELECT pg_create_logical_replication_slot('slot_noslot', 'pgoutput')"
    );
    expect(&checks, "source.slot_health", Status::Unknown, &["no slot"]);

    apply_fix(&s.source, &slot).await;
    let checks = poll(s).await;
    expect(
        &checks,
        "source.slot",
        Status::Ok,
        &["pgoutput", "database db_noslot"],
    );
    assert_ne!(find(&checks, "source.slot_health").status, Status::Unknown);
    t.finish().await;
}

#[tokio::test]
async fn slot_with_wrong_plugin_or_type_fails_then_passes_when_recreated_with_pgoutput() {
    let bin = any_bin();
    let t = tenant(&bin, "plugin").await;
    let s = &t.settings;
    let drop_slot = "SELECT pg_drop_replication_slot('slot_plugin')";

    if common::has_module(&bin, "test_decoding") {
        sql(&s.source, drop_slot).await;
        sql(
            &s.source,
            "SELECT pg_create_logical_replication_slot('slot_plugin', 'test_decoding')",
        )
        .await;
        let c = expect(
            &poll(s).await,
            "source.slot",
            Status::Critical,
            &["uses plugin test_decoding", "need pgoutput"],
        );
        assert!(c.fix.is_none(), "dropping a slot is left to a person");
    } else {
        common::skip(
            "slot_with_wrong_plugin_or_type…: wrong-plugin case",
            &format!("{bin} has no test_decoding (type case still run)"),
        );
    }

    // A physical slot under the configured name: the type is wrong.
    sql(&s.source, drop_slot).await;
    sql(
        &s.source,
        "SELECT pg_create_physical_replication_slot('slot_plugin')",
    )
    .await;
    expect(
        &poll(s).await,
        "source.slot",
        Status::Critical,
        &["is a physical slot", "needs a logical slot"],
    );

    sql(&s.source, drop_slot).await;
    sql(
        &s.source,
        "SELECT pg_create_logical_replication_slot('slot_plugin', 'pgoutput')",
    )
    .await;
    expect(&poll(s).await, "source.slot", Status::Ok, &["pgoutput"]);
    t.finish().await;
}

#[tokio::test]
async fn slot_with_a_consumer_passes_while_an_idle_slot_retaining_wal_warns() {
    let t = tenant(&any_bin(), "idle").await;
    t.subscribe().await;
    let s = &t.settings;

    // Consumed by the subscription: active, healthy.
    let c = wait_for(s, "source.slot_health", |c| {
        c.status == Status::Ok && c.detail.starts_with("active")
    })
    .await;
    assert!(c.detail.contains("wal_status reserved"), "{c:?}");
    wait_status(s, "dest.subscription", Status::Ok).await;

    // The consumer goes away: the slot is idle.
    sql(&t.dest_admin(), "ALTER SUBSCRIPTION sub_idle DISABLE").await;
    let c = wait_for(s, "source.slot_health", |c| {
        c.detail.starts_with("inactive")
    })
    .await;
    assert_eq!(c.status, Status::Warning, "{c:?}");
    assert!(c.detail.contains("not connected"), "{c:?}");
    let sub = expect(
        &poll(s).await,
        "dest.subscription",
        Status::Critical,
        &["sub_idle is disabled"],
    );

    // WAL written while nobody reads it piles up behind the slot.
    let rows = 3000;
    sql(
        &s.source,
        &format!(
            "INSERT INTO tache (title) SELECT 'tâche ' || g FROM generate_series(1, {rows}) g"
        ),
    )
    .await;
    let tight = Settings {
        retained_wal_warning_bytes: 64 * 1024,
        engine: Engine::Airbyte,
        ..s.clone()
    };
    // With synchronous_commit off the WAL reaches pg_current_wal_lsn() (the write
    // position) within wal_writer_delay, not at commit: wait for it.
    let c = wait_status(&tight, "source.slot_health", Status::Warning).await;
    for f in ["inactive", "over 64 kB", "no consumer is reading it"] {
        assert!(c.detail.contains(f), "{c:?}");
    }
    let tighter = Settings {
        retained_wal_critical_bytes: 128 * 1024,
        ..tight.clone()
    };
    expect(
        &poll(&tighter).await,
        "source.slot_health",
        Status::Critical,
        &["over 128 kB"],
    );

    // Mend: the check's fix enables the subscription; it catches up and the slot is fine.
    apply_fix(&t.dest_admin(), &sub).await;
    wait_status(s, "dest.subscription", Status::Ok).await;
    let c = wait_status(s, "source.slot_health", Status::Ok).await;
    assert!(c.detail.starts_with("active"), "{c:?}");
    let dst = pg::connect(&s.dest, Duration::from_secs(10)).await.unwrap();
    let arrived = common::eventually(WAIT, || async {
        dst.client
            .query_one("SELECT count(*) FROM tache", &[])
            .await
            .map(|r| r.get::<_, i64>(0))
            .unwrap_or(-1)
            == rows
    })
    .await;
    assert!(
        arrived,
        "rows written while idle never reached the destination"
    );
    drop(dst);
    t.finish().await;
}

// ---------------------------------------------------------------------------------------
// Source: publication and replica identity
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_publication_fails_then_passes_when_created_with_the_fix() {
    let t = tenant(&newest_bin(), "nopub").await;
    let s = &t.settings;
    sql(&s.source, "DROP PUBLICATION pub_nopub").await;

    let checks = poll(s).await;
    let c = expect(
        &checks,
        "source.publication",
        Status::Critical,
        &["pub_nopub does not exist"],
    );
    assert_eq!(
        fix_sql(&c),
        r#"CREATE PUBLICATION "pub_nopub" FOR TABLE "public"."tache", "public"."utilisateur""#
    );
    expect(
        &checks,
        "source.publication_tables",
        Status::Unknown,
        &["no publication"],
    );

    apply_fix(&s.source, &c).await;
    let checks = poll(s).await;
    expect(
        &checks,
        "source.publication",
        Status::Ok,
        &["pub_nopub (2 tables)"],
    );
    expect(
        &checks,
        "source.publication_tables",
        Status::Ok,
        &["all 2 tables of schema public"],
    );
    t.finish().await;
}

#[tokio::test]
async fn table_missing_from_the_publication_warns_naming_it_then_passes_when_added() {
    let t = tenant(&any_bin(), "coverage").await;
    let s = &t.settings;
    expect(&poll(s).await, "source.publication_tables", Status::Ok, &[]);

    sql(
        &s.source,
        "CREATE TABLE commentaire (id serial PRIMARY KEY, texte text)",
    )
    .await;
    let c = expect(
        &poll(s).await,
        "source.publication_tables",
        Status::Warning,
        &["1 table(s) of public", "commentaire"],
    );
    assert_eq!(
        fix_sql(&c),
        r#"ALTER PUBLICATION "pub_coverage" ADD TABLE "public"."commentaire""#
    );

    apply_fix(&s.source, &c).await;
    expect(
        &poll(s).await,
        "source.publication_tables",
        Status::Ok,
        &["all 3 tables"],
    );
    t.finish().await;
}

#[tokio::test]
async fn publication_without_updates_and_deletes_warns_then_passes_with_the_fix() {
    let t = tenant(&any_bin(), "publish").await;
    let s = &t.settings;
    sql(
        &s.source,
        "ALTER PUBLICATION pub_publish SET (publish = 'insert')",
    )
    .await;
    let c = expect(
        &poll(s).await,
        "source.publication",
        Status::Warning,
        &["does not publish update, delete"],
    );
    assert_eq!(
        fix_sql(&c),
        r#"ALTER PUBLICATION "pub_publish" SET (publish = 'insert, update, delete, truncate')"#
    );
    apply_fix(&s.source, &c).await;
    expect(&poll(s).await, "source.publication", Status::Ok, &[]);
    t.finish().await;
}

#[tokio::test]
async fn partitioned_table_published_without_its_root_warns_then_passes_with_the_fix() {
    let t = tenant(&newest_bin(), "partition").await;
    let s = &t.settings;
    sql(
        &s.source,
        "CREATE TABLE mesure (id int, jour date, PRIMARY KEY (id, jour)) PARTITION BY RANGE (jour);
         CREATE TABLE mesure_2026 PARTITION OF mesure FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         ALTER PUBLICATION pub_partition ADD TABLE mesure",
    )
    .await;
    let checks = poll(s).await;
    let c = expect(
        &checks,
        "source.publication_tables",
        Status::Warning,
        &[
            "\"public\".\"mesure\"",
            "without publish_via_partition_root",
        ],
    );
    assert_eq!(
        fix_sql(&c),
        r#"ALTER PUBLICATION "pub_partition" SET (publish_via_partition_root = true)"#
    );
    // The partitioned table is published, through its partition: not "unpublished".
    expect(&checks, "source.publication", Status::Ok, &["(3 tables)"]);

    apply_fix(&s.source, &c).await;
    let checks = poll(s).await;
    expect(
        &checks,
        "source.publication_tables",
        Status::Ok,
        &["all 3 tables of schema public"],
    );
    expect(&checks, "source.replica_identity", Status::Ok, &[]);

    // Its rows live in its partitions: counted exactly all the same (the partitions'
    // counters stand for the table's).
    sql(
        &s.source,
        "INSERT INTO mesure SELECT g, '2026-03-01' FROM generate_series(1, 3) g",
    )
    .await;
    let exact = common::eventually(Duration::from_secs(30), || async {
        let (snap, _) = poll_with(s, &HashSet::new()).await;
        snap.source.table("public", "mesure").and_then(|t| t.rows)
            == Some(RowCount {
                rows: 3,
                exact: true,
            })
    })
    .await;
    assert!(exact, "a partitioned table gets an exact count");

    // Only one partition of another partitioned table is published: that table is not.
    sql(
        &s.source,
        "CREATE TABLE releve (id int, jour date, PRIMARY KEY (id, jour)) PARTITION BY RANGE (jour);
         CREATE TABLE releve_2026 PARTITION OF releve FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         ALTER PUBLICATION pub_partition ADD TABLE releve_2026",
    )
    .await;
    expect(
        &poll(s).await,
        "source.publication_tables",
        Status::Warning,
        &["not in the publication", "releve"],
    );
    t.finish().await;
}

#[tokio::test]
async fn published_table_without_primary_key_is_critical_and_the_fix_fits_its_indexes() {
    let t = tenant(&newest_bin(), "identity").await;
    let s = &t.settings;
    expect(&poll(s).await, "source.replica_identity", Status::Ok, &[]);

    sql(
        &s.source,
        "CREATE TABLE etiquette (code text, nom text);
         INSERT INTO etiquette VALUES ('a', 'urgent');
         ALTER PUBLICATION pub_identity ADD TABLE etiquette",
    )
    .await;
    // The source really refuses an UPDATE on it now.
    let err = exec(&s.source, "UPDATE etiquette SET nom = 'x'")
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("replica identity"), "{err:#}");

    // No unique index: only FULL can help, with its caution.
    let c = expect(
        &poll(s).await,
        "source.replica_identity",
        Status::Critical,
        &["no usable replica identity", "etiquette"],
    );
    assert_eq!(
        fix_sql(&c),
        r#"ALTER TABLE "public"."etiquette" REPLICA IDENTITY FULL"#
    );
    assert!(c.fix.as_ref().unwrap().caution.is_some(), "{c:?}");

    // A unique index on NOT NULL columns: the fix uses it instead.
    sql(
        &s.source,
        "ALTER TABLE etiquette ALTER code SET NOT NULL;
         CREATE UNIQUE INDEX etiquette_code_key ON etiquette (code)",
    )
    .await;
    let c = expect(
        &poll(s).await,
        "source.replica_identity",
        Status::Critical,
        &["etiquette"],
    );
    assert_eq!(
        fix_sql(&c),
        r#"ALTER TABLE "public"."etiquette" REPLICA IDENTITY USING INDEX "etiquette_code_key""#
    );
    assert!(c.fix.as_ref().unwrap().caution.is_none(), "{c:?}");

    apply_fix(&s.source, &c).await;
    expect(
        &poll(s).await,
        "source.replica_identity",
        Status::Ok,
        &["all 3 published tables"],
    );
    sql(&s.source, "UPDATE etiquette SET nom = 'x'").await;
    t.finish().await;
}

// ---------------------------------------------------------------------------------------
// pgvector
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn vector_missing_is_critical_naming_the_package_of_the_major() {
    let Some(bin) = common::all_bins().into_iter().find(|b| !b.pgvector) else {
        common::skip(
            "vector_missing_is_critical…",
            "every server here has pgvector: the missing case cannot be shown",
        );
        return;
    };
    let package = format!("postgresql-{}-pgvector", bin.major);
    let t = tenant(&bin, "novector").await;
    let checks = poll(&t.settings).await;
    for id in ["source.vector", "dest.vector"] {
        let c = expect(
            &checks,
            id,
            Status::Critical,
            &["pgvector is not installed", &package],
        );
        let fix = c.fix.as_ref().expect("a manual fix");
        assert!(fix.sql.is_empty(), "{fix:?}");
        assert!(
            fix.manual.as_deref().is_some_and(|m| m.contains(&package)),
            "{fix:?}"
        );
    }
    // And the server indeed has no such extension.
    let err = exec(&t.source_admin(), script("00-vector.sql"))
        .await
        .unwrap_err();
    assert!(format!("{err:#}").contains("vector"), "{err:#}");
    t.finish().await;
}

#[tokio::test]
async fn vector_installed_passes_and_a_dropped_extension_fails_until_recreated() {
    let Some(bin) = common::pgvector() else {
        common::skip("vector_installed_passes…", "no server with pgvector here");
        return;
    };
    let t = tenant(&bin, "vector").await;
    let s = &t.settings;
    let checks = poll(s).await;
    for id in ["source.vector", "dest.vector"] {
        expect(&checks, id, Status::Ok, &["installed"]);
    }

    sql(&t.dest_admin(), "DROP EXTENSION vector").await;
    let checks = poll(s).await;
    expect(&checks, "source.vector", Status::Ok, &[]);
    let c = expect(
        &checks,
        "dest.vector",
        Status::Critical,
        &["available but not installed"],
    );
    assert_eq!(fix_sql(&c), "CREATE EXTENSION IF NOT EXISTS vector");

    apply_fix(&t.dest_admin(), &c).await;
    expect(&poll(s).await, "dest.vector", Status::Ok, &["installed"]);
    t.finish().await;
}

// ---------------------------------------------------------------------------------------
// Destination
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_destination_table_is_critical_then_passes_when_recreated() {
    let t = tenant(&any_bin(), "desttable").await;
    let s = &t.settings;
    expect(
        &poll(s).await,
        "dest.tables",
        Status::Ok,
        &["all 2 published tables"],
    );

    sql(&s.dest, "DROP TABLE tache").await;
    let checks = poll(s).await;
    let c = expect(
        &checks,
        "dest.tables",
        Status::Critical,
        &["missing on the destination: public.tache"],
    );
    assert!(!c.detail.contains("utilisateur"), "{c:?}");
    // The columns of the table that is there still compare fine.
    expect(&checks, "dest.columns", Status::Ok, &[]);

    sql(&s.dest, script("10-schema.sql")).await;
    expect(
        &poll(s).await,
        "dest.tables",
        Status::Ok,
        &["all 2 published tables"],
    );
    t.finish().await;
}

#[tokio::test]
async fn column_type_drift_is_critical_then_passes_when_types_match() {
    let bin = newest_bin();
    let t = tenant(&bin, "drift").await;
    let s = &t.settings;
    expect(&poll(s).await, "dest.columns", Status::Ok, &[]);

    // integer vs text everywhere; vector(3) vs varchar where pgvector is installed.
    sql(&s.source, "ALTER TABLE tache ADD COLUMN priorite integer").await;
    sql(&s.dest, "ALTER TABLE tache ADD COLUMN priorite text").await;
    let mut fragments = vec![
        "column drift",
        "tache.priorite is integer on the source but text on the destination",
    ];
    if bin.pgvector {
        sql(
            &s.source,
            "ALTER TABLE tache ADD COLUMN embedding vector(3)",
        )
        .await;
        sql(&s.dest, "ALTER TABLE tache ADD COLUMN embedding varchar").await;
        fragments.push(
            "tache.embedding is vector(3) on the source but character varying on the destination",
        );
    }
    let checks = poll(s).await;
    expect(&checks, "dest.columns", Status::Critical, &fragments);
    expect(&checks, "dest.tables", Status::Ok, &[]);

    sql(
        &s.dest,
        "ALTER TABLE tache ALTER COLUMN priorite TYPE integer USING priorite::integer",
    )
    .await;
    if bin.pgvector {
        sql(
            &s.dest,
            "ALTER TABLE tache ALTER COLUMN embedding TYPE vector(3) USING embedding::vector(3)",
        )
        .await;
    }
    expect(
        &poll(s).await,
        "dest.columns",
        Status::Ok,
        &["columns and types match"],
    );

    // A source column the destination lacks.
    sql(&s.source, "ALTER TABLE tache ADD COLUMN note text").await;
    expect(
        &poll(s).await,
        "dest.columns",
        Status::Critical,
        &["tache.note missing"],
    );
    sql(&s.dest, "ALTER TABLE tache ADD COLUMN note text").await;
    expect(&poll(s).await, "dest.columns", Status::Ok, &[]);
    t.finish().await;
}

#[tokio::test]
async fn dest_only_not_null_column_breaks_apply_and_is_critical_unless_it_has_a_default() {
    let bin = any_bin();
    // pg_stat_subscription_stats, which counts apply errors, is 15+.
    let counters = bin.major >= 15;
    let t = tenant(&bin, "notnull").await;
    t.subscribe().await;
    let s = &t.settings;
    wait_status(s, "dest.subscription_tables", Status::Ok).await;
    let dst = pg::connect(&s.dest, Duration::from_secs(10)).await.unwrap();
    let arrived = |title: &'static str| {
        let client = &dst.client;
        async move {
            common::eventually(WAIT, || async {
                client
                    .query_one("SELECT count(*) FROM tache WHERE title = $1", &[&title])
                    .await
                    .map(|r| r.get::<_, i64>(0))
                    .unwrap_or(-1)
                    == 1
            })
            .await
        }
    };

    // A destination-only NOT NULL column with a default: inserts fill it in.
    sql(
        &s.dest,
        "ALTER TABLE tache ADD COLUMN recu_le timestamptz NOT NULL DEFAULT now()",
    )
    .await;
    expect(&poll(s).await, "dest.columns", Status::Ok, &[]);
    sql(
        &s.source,
        "INSERT INTO tache (title) VALUES ('avec défaut')",
    )
    .await;
    assert!(arrived("avec défaut").await, "row never replicated");

    // Without a default, the apply worker's inserts fail.
    sql(
        &s.dest,
        "ALTER TABLE tache ADD COLUMN obligatoire int NOT NULL DEFAULT 0;
         ALTER TABLE tache ALTER COLUMN obligatoire DROP DEFAULT",
    )
    .await;
    expect(
        &poll(s).await,
        "dest.columns",
        Status::Critical,
        &["tache.obligatoire exists only on the destination and is NOT NULL"],
    );
    expect(&poll(s).await, "dest.subscription_errors", Status::Ok, &[]);
    sql(
        &s.source,
        "INSERT INTO tache (title) VALUES ('sans défaut')",
    )
    .await;
    let errors = if counters {
        let errors = wait_status(s, "dest.subscription_errors", Status::Warning).await;
        assert!(errors.detail.contains("apply"), "{errors:?}");
        Some(errors)
    } else {
        common::skip(
            "dest_only_not_null_column…: apply error counters",
            &format!("{bin} has no pg_stat_subscription_stats (15+)"),
        );
        expect(
            &poll(s).await,
            "dest.subscription_errors",
            Status::Ok,
            &["n/a before PostgreSQL 15"],
        );
        None
    };

    // Mend the column: the waiting change applies; the check's fix resets the counters.
    sql(
        &s.dest,
        "ALTER TABLE tache ALTER COLUMN obligatoire SET DEFAULT 0",
    )
    .await;
    expect(&poll(s).await, "dest.columns", Status::Ok, &[]);
    assert!(
        arrived("sans défaut").await,
        "row never replicated after the mend"
    );
    if let Some(errors) = errors {
        apply_fix(&t.dest_admin(), &errors).await;
        expect(
            &poll(s).await,
            "dest.subscription_errors",
            Status::Ok,
            &["no apply or sync errors"],
        );
    }
    drop(dst);
    t.finish().await;
}

#[tokio::test]
async fn stopped_destination_is_critical_with_a_reason_and_its_other_checks_are_unknown() {
    let bin = newest_bin();
    let t = tenant(&bin, "stopped").await;
    // A destination of its own, as this test stops it.
    let b = bin.clone();
    let mut dest = tokio::task::spawn_blocking(move || Cluster::start(&b, &[]))
        .await
        .unwrap()
        .unwrap();
    lab::create_role_and_db(&dest, "u_stopped", "u_stopped", "db_stopped")
        .await
        .unwrap();
    let s = Settings {
        dest: dest.tcp("u_stopped", "u_stopped", "db_stopped"),
        ..t.settings.clone()
    };
    sql(&s.dest, script("10-schema.sql")).await;
    let up = poll(&s).await;
    expect(&up, "dest.reachable", Status::Ok, &[]);
    expect(&up, "dest.tables", Status::Ok, &[]);

    dest = tokio::task::spawn_blocking(move || {
        dest.stop().unwrap();
        dest
    })
    .await
    .unwrap();
    let (snap, checks) = poll_with(&s, &HashSet::new()).await;
    assert!(!snap.dest.reach.is_up());
    // Same checks in the same order: the screen does not jump.
    assert_eq!(ids(&checks), ids(&up));
    let port = s.dest.port.to_string();
    expect(
        &checks,
        "dest.reachable",
        Status::Critical,
        &["cannot reach", port.as_str()],
    );
    let others: Vec<&Check> = checks
        .iter()
        .filter(|c| c.id.as_str().starts_with("dest.") && c.id != "dest.reachable")
        .collect();
    assert!(others.len() >= 4, "{others:#?}");
    for c in others {
        assert_eq!(c.status, Status::Unknown, "{c:#?}");
        assert!(c.detail.contains("destination not reachable"), "{c:#?}");
    }
    // The source is polled as usual.
    expect(&checks, "source.reachable", Status::Ok, &[]);
    expect(&checks, "source.slot", Status::Ok, &[]);
    assert_eq!(checks::worst(&checks), Status::Critical);

    dest = tokio::task::spawn_blocking(move || {
        dest.start_again().unwrap();
        dest
    })
    .await
    .unwrap();
    let checks = poll(&s).await;
    expect(&checks, "dest.reachable", Status::Ok, &[]);
    expect(&checks, "dest.tables", Status::Ok, &[]);
    tokio::task::spawn_blocking(move || drop(dest))
        .await
        .unwrap();
    t.finish().await;
}

// ---------------------------------------------------------------------------------------
// Identifiers that need quoting
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unicode_quoted_and_keyword_identifiers_work_in_every_check_and_count() {
    let bin = newest_bin();
    // The role and the database need quoting too.
    let t = tenant_as(&bin, "ident", "rôle \"ω\"", "base des tâches Ω").await;
    let schema = "mon schéma";
    let tables = [("Tâche Ω", 3_i64), ("a\"b", 5), ("select", 7)];
    let publication = "pub \"ω\"";
    let s = Settings {
        schema: schema.into(),
        publication: publication.into(),
        subscription: "sub ω".into(),
        slot: "slot_omega".into(),
        ..t.settings.clone()
    };
    let q = |t: &str| quote::qualified(schema, t);

    let ddl = format!(
        "CREATE SCHEMA {s};
         CREATE TABLE {t0} (id int PRIMARY KEY, \"libellé ü\" text);
         CREATE TABLE {t1} (gone int, id int, \"x\"\"y\" integer DEFAULT 0,
                            PRIMARY KEY (\"x\"\"y\", id));
         ALTER TABLE {t1} DROP COLUMN gone;
         CREATE TABLE {t2} (id int NOT NULL, \"from\" text);
         CREATE UNIQUE INDEX \"clé unique\" ON {t2} (id);",
        s = quote::ident(schema),
        t0 = q(tables[0].0),
        t1 = q(tables[1].0),
        t2 = q(tables[2].0),
    );
    sql(&s.source, &ddl).await;
    sql(&s.dest, &ddl).await;
    for (t, n) in tables {
        sql(
            &s.source,
            &format!(
                "INSERT INTO {} (id) SELECT g FROM generate_series(1, {n}) g",
                q(t)
            ),
        )
        .await;
    }
    // Published without a"b, and "select" has no primary key.
    sql(
        &s.source,
        &format!(
            "CREATE PUBLICATION {} FOR TABLE {}, {}",
            quote::ident(publication),
            q(tables[0].0),
            q(tables[2].0)
        ),
    )
    .await;
    sql(
        &s.source,
        "SELECT pg_create_logical_replication_slot('slot_omega', 'pgoutput')",
    )
    .await;

    let checks = poll(&s).await;
    expect(
        &checks,
        "source.replication_role",
        Status::Ok,
        &["role rôle \"ω\" has REPLICATION"],
    );
    expect(
        &checks,
        "source.slot",
        Status::Ok,
        &["database base des tâches Ω"],
    );
    expect(
        &checks,
        "source.publication",
        Status::Ok,
        &["pub \"ω\" (2 tables)"],
    );
    let coverage = expect(
        &checks,
        "source.publication_tables",
        Status::Warning,
        &["1 table(s) of mon schéma", "a\"b"],
    );
    assert_eq!(
        fix_sql(&coverage),
        r#"ALTER PUBLICATION "pub ""ω""" ADD TABLE "mon schéma"."a""b""#
    );
    let identity = expect(
        &checks,
        "source.replica_identity",
        Status::Critical,
        &["select"],
    );
    assert_eq!(
        fix_sql(&identity),
        r#"ALTER TABLE "mon schéma"."select" REPLICA IDENTITY USING INDEX "clé unique""#
    );
    expect(
        &checks,
        "dest.subscription",
        Status::Critical,
        &["sub ω does not exist"],
    );

    // The checks' own fixes, run as they are, mend the source.
    apply_fix(&s.source, &coverage).await;
    apply_fix(&s.source, &identity).await;
    sql(
        &t.dest_admin(),
        &format!(
            "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (create_slot = false, slot_name = 'slot_omega')",
            quote::ident(&s.subscription),
            quote::literal(&s.source.conninfo(true)),
            quote::ident(publication),
        ),
    )
    .await;

    wait_for(&s, "dest.subscription_tables", |c| {
        c.status == Status::Ok && c.detail == "3 tables ready"
    })
    .await;
    let forced: HashSet<TableKey> = tables
        .iter()
        .map(|(t, _)| (schema.to_string(), t.to_string()))
        .collect();
    let exact = |n: i64| {
        Some(RowCount {
            rows: n,
            exact: true,
        })
    };
    let last: Mutex<Option<(Snapshot, Vec<Check>)>> = Mutex::new(None);
    let settled = common::eventually(WAIT, || async {
        let (snap, checks) = poll_with(&s, &forced).await;
        let all_ok = checks.iter().all(|c| {
            c.status == Status::Ok || (!bin.pgvector && c.id.as_str().ends_with(".vector"))
        });
        let counted = tables
            .iter()
            .all(|(t, n)| snap.dest.table(schema, t).and_then(|x| x.rows) == exact(*n));
        *last.lock().unwrap() = Some((snap, checks));
        all_ok && counted
    })
    .await;
    let (snap, checks) = last.into_inner().unwrap().unwrap();
    assert!(
        settled,
        "never all ok with every row replicated: {checks:#?}"
    );

    for (t, n) in tables {
        for side in [&snap.source, &snap.dest] {
            let info = side
                .table(schema, t)
                .unwrap_or_else(|| panic!("{t} not listed on {}", side.endpoint));
            assert_eq!(info.rows, exact(n), "{t} on {}", side.endpoint);
        }
    }
    // A composite key in its own order, past a dropped column.
    let key = &snap.source.table(schema, "a\"b").unwrap().primary_key;
    assert_eq!(key, &["x\"y", "id"]);
    expect(
        &checks,
        "source.publication_tables",
        Status::Ok,
        &["all 3 tables of schema mon schéma"],
    );
    expect(
        &checks,
        "source.replica_identity",
        Status::Ok,
        &["all 3 published tables"],
    );
    expect(
        &checks,
        "dest.tables",
        Status::Ok,
        &["all 3 published tables"],
    );
    expect(&checks, "source.slot", Status::Ok, &["slot_omega"]);
    expect(
        &checks,
        "dest.subscription",
        Status::Ok,
        &["sub ω streaming from slot slot_omega"],
    );
    sql(
        &t.dest_admin(),
        &format!("DROP SUBSCRIPTION {}", quote::ident(&s.subscription)),
    )
    .await;
    t.finish().await;
}

// ---------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------

/// Every catalog read of a poll on each installation (under `.ci/matrix`, each of 13–18):
/// nothing fails, and a column the server's version lacks reads as `None` (shown as
/// "n/a"), present ones as values.
#[tokio::test]
async fn version_specific_columns_read_as_none_before_their_version_and_never_fail() {
    for bin in common::all_bins() {
        let t = tenant(&bin, "versions").await;
        t.subscribe().await;
        let s = &t.settings;
        wait_status(s, "dest.subscription", Status::Ok).await;
        // Idle, so that 17+ has an inactive_since to show.
        sql(&t.dest_admin(), "ALTER SUBSCRIPTION sub_versions DISABLE").await;
        wait_for(s, "source.slot_health", |c| {
            c.detail.starts_with("inactive")
        })
        .await;

        let (snap, checks) = poll_with(s, &HashSet::new()).await;
        for side in [&snap.source, &snap.dest] {
            let v = side.version_num.expect("version read");
            assert_eq!(v / 10000, bin.major as i32, "{bin}: {v}");
            for (part, problem) in [
                ("settings", side.settings.problem()),
                ("role", side.role.problem()),
                ("slot", side.slot.problem()),
                ("publication", side.publication.problem()),
                ("tables", side.tables.problem()),
                ("extensions", side.extensions.problem()),
                ("subscription", side.subscription.problem()),
            ] {
                assert_eq!(problem, None, "{bin}: {part} on {}", side.endpoint);
            }
        }
        let v = snap.source.version_num.unwrap();
        let slot = snap.source.slot.ok().unwrap().as_ref().expect("the slot");
        assert_eq!(slot.wal_status.as_deref(), Some("reserved"), "{bin}");
        assert_eq!(slot.conflicting.is_some(), v >= 160000, "{bin}: {slot:?}");
        assert_eq!(
            slot.inactive_since.is_some(),
            v >= 170000,
            "{bin}: {slot:?}"
        );
        assert_eq!(slot.invalidation_reason, None, "{bin}: {slot:?}");
        assert_eq!(slot.stats.is_some(), v >= 140000, "{bin}: {slot:?}");
        let publication = snap.source.publication.ok().unwrap().as_ref().unwrap();
        assert_eq!(publication.tables.len(), 2, "{bin}: {publication:?}");
        for table in &publication.tables {
            assert_eq!(table.columns.is_some(), v >= 150000, "{bin}: {table:?}");
            assert_eq!(table.row_filter, None, "{bin}: {table:?}");
        }
        let sub = snap.dest.subscription.ok().unwrap().as_ref().unwrap();
        assert!(!sub.enabled, "{bin}: {sub:?}");
        for count in [sub.apply_error_count, sub.sync_error_count] {
            assert_eq!(count, (v >= 150000).then_some(0), "{bin}: {sub:?}");
        }
        let errors = find(&checks, "dest.subscription_errors");
        assert_eq!(errors.status, Status::Ok, "{bin}: {errors:?}");
        assert_eq!(
            errors.detail.contains("n/a before PostgreSQL 15"),
            v < 150000,
            "{bin}: {errors:?}"
        );
        t.finish().await;
    }
}

/// With Airbyte, WAL retained past the warning and no heartbeat table in the
/// publication: the slot's health says to add one, its fix creates and publishes it on
/// a real server, and the query to give Airbyte then works against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airbyte_is_told_to_add_a_heartbeat_table_and_its_fix_publishes_one() {
    let lab = common::guide_lab().await;
    let s = Settings {
        engine: Engine::Airbyte,
        // Any retained WAL is "piling up" here, so that a quiet test server shows it.
        retained_wal_warning_bytes: 1,
        ..lab.settings()
    };
    exec(
        &s.source,
        "CREATE TABLE churn AS SELECT g FROM generate_series(1, 1000) g",
    )
    .await
    .unwrap();
    let (snap, all) = poll_with(&s, &HashSet::new()).await;
    let c = expect(
        &all,
        "source.slot_health",
        Status::Warning,
        &["heartbeat_action_query"],
    );
    assert!(fix_sql(&c).contains("airbyte_heartbeat"), "{c:#?}");
    let step = syncwatch::logic::fixplan::step_for(&c, &snap).expect("a step to run");
    let outcome = syncwatch::io::fix::apply(&s, &step).await;
    assert_eq!(outcome.error, None, "{outcome:?}");
    let after = poll(&s).await;
    let c = expect(&after, "source.slot_health", Status::Warning, &[]);
    assert!(c.fix.is_none(), "published now: {c:#?}");
    assert!(!c.detail.contains("heartbeat_action_query"), "{c:#?}");
    let session = pg::connect(&s.source, Duration::from_secs(10))
        .await
        .unwrap();
    let published: i64 = session
        .client
        .query_one(
            "SELECT count(*) FROM pg_publication_tables WHERE pubname = $1 AND tablename = 'airbyte_heartbeat'",
            &[&s.publication],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(published, 1);
    session
        .client
        .batch_execute("INSERT INTO airbyte_heartbeat (text) VALUES ('heartbeat')")
        .await
        .expect("the heartbeat_action_query the check names runs");
    drop(session);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

/// Polls `s` once into `history`, as the TUI does.
async fn observed_poll(s: &Settings, history: &mut Syncs) -> Snapshot {
    let snap = tokio::time::timeout(POLL_LIMIT, poll_once(s, &HashSet::new()))
        .await
        .expect("a poll must finish");
    history.observe(&snap);
    snap
}

/// One poll into `history`, and the syncs check it then gives.
async fn poll_syncs(s: &Settings, history: &mut Syncs) -> Check {
    let snap = observed_poll(s, history).await;
    find(&checks::evaluate(&snap, s, history), "source.syncs").clone()
}

/// A poll, and another once the slot's statistics have had time to arrive (14's
/// collector publishes them late): the syncs check the second gives.
async fn settled_poll_syncs(s: &Settings, history: &mut Syncs) -> Check {
    poll_syncs(s, history).await;
    let settle = Duration::from_millis(syncwatch::logic::syncs::STATS_SETTLE_MS as u64);
    tokio::time::sleep(settle + Duration::from_millis(100)).await;
    poll_syncs(s, history).await
}

#[tokio::test]
async fn a_slot_recreated_or_advanced_between_airbyte_syncs_means_the_next_sync_will_fail() {
    let mut t = tenant(&newest_bin(), "slotbreak").await;
    t.settings.engine = Engine::Airbyte;
    let s = &t.settings;
    let mut history = Syncs::default();
    let c = poll_syncs(s, &mut history).await;
    assert_eq!(c.status, Status::Ok, "an idle slot between syncs: {c:?}");

    sql(
        &s.source,
        "SELECT pg_drop_replication_slot('slot_slotbreak')",
    )
    .await;
    let c = poll_syncs(s, &mut history).await;
    assert_eq!(c.status, Status::Unknown, "{c:?}");
    sql(
        &s.source,
        "INSERT INTO utilisateur (username, email) VALUES ('gap', 'gap@example.com')",
    )
    .await;
    sql(
        &s.source,
        "SELECT pg_create_logical_replication_slot('slot_slotbreak', 'pgoutput')",
    )
    .await;
    let c = poll_syncs(s, &mut history).await;
    assert_eq!(c.status, Status::Critical, "{c:?}");
    assert!(
        c.detail
            .starts_with("the next sync will fail: the slot was recreated"),
        "{c:?}"
    );
    assert!(
        c.detail.contains("invalid_cdc_cursor_position_behavior"),
        "{c:?}"
    );

    // Moved by hand, with no consumer, past where the source was. (The sandbox runs
    // with synchronous_commit off: this commit is written before the advance.)
    let mut history = Syncs::default();
    let c = poll_syncs(s, &mut history).await;
    assert_eq!(c.status, Status::Ok, "{c:?}");
    sql(
        &s.source,
        "SET synchronous_commit = on; INSERT INTO utilisateur (username, email) VALUES ('moved', 'moved@example.com')",
    )
    .await;
    sql(
        &s.source,
        "SELECT pg_replication_slot_advance('slot_slotbreak', pg_current_wal_lsn())",
    )
    .await;
    let c = settled_poll_syncs(s, &mut history).await;
    assert_eq!(c.status, Status::Critical, "{c:?}");
    assert!(c.detail.contains("was advanced from"), "{c:?}");

    // A consumer that reads and confirms between two polls (Airbyte's "while reading
    // data", a sync shorter than a poll) decodes what it skips: not an advance (14+,
    // where the slot's statistics say so).
    let mut history = Syncs::default();
    poll_syncs(s, &mut history).await;
    sql(
        &s.source,
        "SET synchronous_commit = on; INSERT INTO utilisateur (username, email) VALUES ('read', 'read@example.com')",
    )
    .await;
    sql(
        &s.source,
        "SELECT count(*) FROM pg_logical_slot_get_binary_changes('slot_slotbreak', NULL, NULL,
                'proto_version', '1', 'publication_names', 'pub_slotbreak')",
    )
    .await;
    let c = settled_poll_syncs(s, &mut history).await;
    if t.version_num().await >= 140000 {
        assert_eq!(c.status, Status::Ok, "a consumer read it: {c:?}");
    }
    t.finish().await;
}

#[tokio::test]
async fn a_table_airbyte_keeps_only_as_raw_records_is_recognised_not_missing() {
    let mut t = tenant(&any_bin(), "rawonly").await;
    t.settings.engine = Engine::Airbyte;
    let s = &t.settings;
    sql(
        &t.dest_admin(),
        &format!(
            "DROP TABLE tache;
             CREATE SCHEMA airbyte_internal AUTHORIZATION {user};
             CREATE TABLE airbyte_internal.public_raw__stream_tache (
                 _airbyte_raw_id varchar NOT NULL, _airbyte_extracted_at timestamptz NOT NULL,
                 _airbyte_loaded_at timestamptz, _airbyte_data jsonb NOT NULL,
                 _airbyte_meta jsonb NOT NULL, _airbyte_generation_id bigint);
             ALTER TABLE airbyte_internal.public_raw__stream_tache OWNER TO {user};
             INSERT INTO airbyte_internal.public_raw__stream_tache
             VALUES ('r1', now(), now(), '{{\"id\": 1}}', '{{}}', 0)",
            user = quote::ident("u_rawonly")
        ),
    )
    .await;
    let (snap, checks) = poll_with(s, &HashSet::new()).await;
    expect(
        &checks,
        "dest.tables",
        Status::Ok,
        &["1 only as Airbyte raw tables in airbyte_internal"],
    );
    let mut tracker = Tracker::new(Mapping::new(s));
    tracker.observe(&snap);
    assert_eq!(
        tracker.state(&("public".to_string(), "tache".to_string())),
        State::Raw
    );
    let e = syncwatch::io::diff::diff_table(s, "public", "tache", &Default::default(), None)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains(
            "kept by Airbyte as raw records only (airbyte_internal.public_raw__stream_tache)"
        ),
        "{e}"
    );
    t.finish().await;
}

/// Inserts a row into `utilisateur` every 200 ms (each commit written at once) until
/// `stop` is set.
fn trickle(
    ep: Endpoint,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let s = pg::connect(&ep, Duration::from_secs(10)).await.unwrap();
        s.client
            .batch_execute("SET synchronous_commit = on")
            .await
            .unwrap();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            s.client
                .batch_execute("INSERT INTO utilisateur (username, email) SELECT 't' || x, 't' || x || '@example.com' FROM txid_current() x")
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
}

/// One poll into `history`, and how far behind it then says the destination is.
async fn behind_now(s: &Settings, history: &mut Syncs) -> syncwatch::logic::timeline::Behind {
    let snap = observed_poll(s, history).await;
    history.behind(snap.taken_at_ms)
}

#[tokio::test]
async fn a_consumer_held_back_falls_behind_at_wall_clock_speed_and_catches_up() {
    use syncwatch::logic::timeline::Behind;
    let t = tenant(&any_bin(), "lagtime").await;
    let s = &t.settings;
    t.subscribe().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let traffic = trickle(s.source.clone(), stop.clone());
    let mut history = Syncs::default();
    // Caught up under traffic first.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let b = behind_now(s, &mut history).await;
        if matches!(b, Behind::By(ms) if ms < 2000) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never caught up: {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sql(
        &t.dest_admin(),
        &format!(
            "ALTER SUBSCRIPTION {} DISABLE",
            quote::ident(&s.subscription)
        ),
    )
    .await;
    // Held back for ten polls while the source keeps writing.
    let mut seen = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let at = std::time::Instant::now();
        seen.push((at, behind_now(s, &mut history).await));
    }
    let (first_at, first) = seen[2];
    let (last_at, last) = *seen.last().unwrap();
    let (Behind::By(a), Behind::By(b)) = (first, last) else {
        panic!("the lag is known from the history: {seen:?}");
    };
    let wall = (last_at - first_at).as_millis() as f64;
    let grew = (b - a) as f64;
    assert!(
        grew > 0.5 * wall && grew < 1.5 * wall,
        "the lag grew {grew} ms over {wall} ms of wall clock: {seen:?}"
    );
    sql(
        &t.dest_admin(),
        &format!(
            "ALTER SUBSCRIPTION {} ENABLE",
            quote::ident(&s.subscription)
        ),
    )
    .await;
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let b = behind_now(s, &mut history).await;
        if matches!(b, Behind::By(ms) if ms < 2000) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never caught up again: {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    traffic.await.unwrap();
    t.finish().await;
}

#[tokio::test]
async fn retained_wal_growing_toward_max_slot_wal_keep_size_is_forecast_and_the_forecast_is_met() {
    use syncwatch::logic::syncs::forecast_for;
    use syncwatch::logic::timeline::Breaks;
    let bin = any_bin();
    let conf: &[(&str, &str)] = &[("wal_level", "logical"), ("max_slot_wal_keep_size", "96MB")];
    let b = bin.clone();
    let c = tokio::task::spawn_blocking(move || Cluster::start(&b, conf))
        .await
        .unwrap()
        .unwrap();
    lab::create_role_and_db(&c, lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB)
        .await
        .unwrap();
    let app = c.tcp(lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB);
    let settings = Settings {
        source: app.clone(),
        dest: app.clone(),
        engine: Engine::Native,
        ..Settings::default()
    };
    sql(&c.admin(lab::APP_DB), "CREATE TABLE filler (pad text)").await;
    sql(
        &c.admin(lab::APP_DB),
        "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')",
    )
    .await;
    // Several MB of WAL a second, steadily, and nobody reading the slot.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (ep, stop) = (c.admin(lab::APP_DB), stop.clone());
        tokio::spawn(async move {
            let s = pg::connect(&ep, Duration::from_secs(10)).await.unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                s.client
                    .batch_execute(
                        "INSERT INTO filler SELECT repeat(md5(g::text), 32) FROM generate_series(1, 600) g",
                    )
                    .await
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut history = Syncs::default();
    let mut forecast = None;
    let mut met = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while met.is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let snap = observed_poll(&settings, &mut history).await;
        let Some(Some(slot)) = snap.source.slot.ok() else {
            continue;
        };
        let at = std::time::Instant::now();
        if slot.safe_wal_size.is_some_and(|s| s <= 0)
            || matches!(slot.wal_status.as_deref(), Some("unreserved" | "lost"))
        {
            met = Some(at);
            break;
        }
        // The first forecast made from 10 s of growth.
        if forecast.is_none()
            && history
                .timeline()
                .points()
                .front()
                .is_some_and(|p| snap.taken_at_ms - p.at_ms >= 10_000)
        {
            let f = forecast_for(&history, slot, settings.retained_wal_critical_bytes)
                .unwrap_or_else(|| panic!("growing WAL has a forecast: {slot:?}"));
            assert_eq!(f.breaks, Breaks::Invalidated, "{f:?}");
            forecast = Some((at, f));
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.await.unwrap();
    let (made, f) = forecast.expect("a forecast was made");
    let met = met.expect("safe_wal_size reached 0 within two minutes");
    let actual = (met - made).as_millis() as f64;
    // Tolerance: ±50 %: the writer's pace varies with the machine, safe_wal_size moves
    // by whole WAL segments, and polls are half a second apart.
    assert!(
        actual > 0.5 * f.in_ms as f64 && actual < 1.5 * f.in_ms as f64,
        "forecast {} ms, met after {actual} ms ({f:?})",
        f.in_ms
    );
    eprintln!(
        "forecast: invalidation in {:.1} s at {:.1} MB/s; met after {:.1} s",
        f.in_ms as f64 / 1000.0,
        f.rate / 1_048_576.0,
        actual / 1000.0
    );
    tokio::task::spawn_blocking(move || drop(c)).await.unwrap();
}

/// `check` over a config of two pairs, one on a server that is not there: one document
/// per pair, the exit code the worst pair's; `--pair` picks one; a one-pair command asks
/// which.
#[tokio::test]
async fn check_covers_every_pair_and_a_one_pair_command_asks_which() {
    let lab = common::guide_lab().await;
    let settings = lab.settings();
    let dir = std::env::temp_dir().join(format!("syncwatch-pairs-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("pairs.toml");
    std::fs::write(
        &config,
        format!(
            "engine = \"native\"\n[[pair]]\nname = \"main\"\nsource = \"{}\"\ndestination = \"{}\"\n[[pair]]\nname = \"gone\"\nsource = \"host=127.0.0.1 port=1 connect_timeout=2\"\ndestination = \"host=127.0.0.1 port=1 connect_timeout=2\"\n",
            settings.source.conninfo_without_password(),
            settings.dest.conninfo_without_password()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .args(args)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, json, _) = run(&["check", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names: Vec<&str> = doc["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pair"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "gone"]);
    assert_eq!(doc["pairs"][1]["status"], "critical");
    assert_eq!(doc["pairs"][0]["source"]["reach"]["state"], "up");
    assert_eq!(code, Some(2), "the worst pair's");
    assert_eq!(doc["exit_code"], 2);

    let (_, json, _) = run(&["check", "--json", "--pair", "main"]);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["pair"], "main");
    assert!(doc["checks"].is_array(), "one pair: its own document");

    let (code, text, _) = run(&["check"]);
    assert!(
        text.contains("== pair main ==") && text.contains("== pair gone =="),
        "{text}"
    );
    assert!(text.contains("all 2 pairs: critical (exit 2)"), "{text}");
    assert_eq!(code, Some(2));

    let (code, _, err) = run(&["setup", "--dry-run"]);
    assert!(code.is_some_and(|c| c != 0), "{err}");
    assert!(
        err.contains("2 pairs (main, gone): choose one with --pair NAME"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let (code, _, err) = run(&["setup", "--dry-run", "--source", "host=x"]);
    assert!(
        err.contains("--source names one pair's server"),
        "{code:?} {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}
