//! The `sql/` scripts on real servers, and the demo's native replication carrying rows.

mod common;

use std::time::Duration;

use syncwatch::io::pg;
use syncwatch::sandbox::cluster::PgBin;
use syncwatch::sandbox::lab::Lab;

const T: Duration = Duration::from_secs(10);

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or(-1)
}

async fn scripts_apply_and_an_insert_replicates(bin: PgBin) {
    let b = bin.clone();
    let lab = tokio::task::spawn_blocking(move || Lab::start(&b, &b))
        .await
        .unwrap()
        .unwrap();
    let report = lab.bootstrap().await.unwrap();
    // Applying the guide's scripts again changes nothing and fails nowhere.
    let again = lab.bootstrap().await.unwrap();
    assert_eq!(report.warnings.len(), again.warnings.len());
    if bin.pgvector {
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    } else {
        assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
        let expected = format!("postgresql-{}-pgvector", bin.major);
        assert!(
            report.warnings.iter().all(|w| w.contains(&expected)),
            "{:?}",
            report.warnings
        );
    }
    let settings = lab.settings();
    let src = pg::connect(&settings.source, T).await.unwrap();
    let dst = pg::connect(&settings.dest, T).await.unwrap();

    // What the scripts set up, read back from the catalogs.
    let row = src
        .client
        .query_one(
            "SELECT plugin, database FROM pg_replication_slots WHERE slot_name = 'airbyte_slot'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "pgoutput");
    assert_eq!(row.get::<_, String>(1), "tasks_list");
    let published = count(
        &src.client,
        "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'airbyte_publication'",
    )
    .await;
    assert_eq!(published, 2);
    let replication: bool = src
        .client
        .query_one(
            "SELECT rolreplication FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(replication);
    for c in [&src.client, &dst.client] {
        let vector = count(
            c,
            "SELECT count(*) FROM pg_extension WHERE extname = 'vector'",
        )
        .await;
        assert_eq!(vector, i64::from(bin.pgvector));
        let tables = count(
            c,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('utilisateur', 'tache')",
        )
        .await;
        assert_eq!(tables, 2);
    }

    lab.subscribe().await.unwrap();
    src.client
        .batch_execute(
            "INSERT INTO utilisateur (username, email) VALUES ('zoé', 'zoe@example.com');
             INSERT INTO tache (title, utilisateur_id) SELECT 'Écrire le rapport', id FROM utilisateur WHERE username = 'zoé';",
        )
        .await
        .unwrap();
    let arrived = common::eventually(Duration::from_secs(60), || async {
        count(
            &dst.client,
            "SELECT count(*) FROM tache WHERE title = 'Écrire le rapport'",
        )
        .await
            == 1
    })
    .await;
    assert!(
        arrived,
        "the insert on the source never reached the destination"
    );
    drop((src, dst));
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test]
async fn guide_scripts_and_replication_on_postgres_15() {
    match common::pg15() {
        Some(bin) => scripts_apply_and_an_insert_replicates(bin).await,
        None => common::skip(
            "guide_scripts_and_replication_on_postgres_15",
            "no PostgreSQL 15 here",
        ),
    }
}

#[tokio::test]
async fn guide_scripts_and_replication_on_postgres_16_with_pgvector() {
    match common::pgvector() {
        Some(bin) => scripts_apply_and_an_insert_replicates(bin).await,
        None => common::skip(
            "guide_scripts_and_replication_on_postgres_16_with_pgvector",
            "no PostgreSQL with pgvector here",
        ),
    }
}

/// Under the version matrix, its server when the two cases above do not cover it.
#[tokio::test]
async fn guide_scripts_and_replication_on_the_matrix_version() {
    if let Some(bin) = common::matrix()
        && bin.major != 15
        && !bin.pgvector
    {
        scripts_apply_and_an_insert_replicates(bin).await;
    }
}
