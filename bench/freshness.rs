//! Cost of reading an Airbyte table's freshness: `cargo bench --bench freshness [-- ROWS]`.
//! One throwaway server holds ROWS (default 2 000 000) rows in a table shaped as
//! Airbyte's Postgres destination writes it (its columns, and its three indexes: the
//! key, the cursor `_ab_cdc_lsn`, `_airbyte_extracted_at`). Times, median of many:
//! - syncwatch's freshness read, as every poll of the destination runs it;
//! - the same two `max()` without the indexes: what reading it would cost each poll if
//!   syncwatch did not insist on an index (it then leaves the column unread).
//!
//! Prints a table and the plan of the indexed read.

use std::time::{Duration, Instant};

use syncwatch::io::pg::{self, catalog};
use syncwatch::sandbox::cluster::{self, Cluster};
use syncwatch::sandbox::lab;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn shape(rows: i64) -> String {
    format!(
        "CREATE TABLE tache (
             id bigint, title varchar, description varchar, due_date date,
             is_completed boolean, utilisateur_id bigint,
             _airbyte_raw_id varchar NOT NULL, _airbyte_extracted_at timestamptz NOT NULL,
             _airbyte_meta jsonb NOT NULL, _airbyte_generation_id bigint,
             _ab_cdc_lsn decimal, _ab_cdc_updated_at timestamptz, _ab_cdc_deleted_at timestamptz);
         INSERT INTO tache
         SELECT g, 'Tâche n°' || g, 'Préparer le dossier ' || g, date '2024-01-01' + (g % 700),
                g % 3 = 0, 1 + g % 1000,
                md5(g::text), now() - make_interval(secs => ({rows} - g) / 100.0), '{{}}', 0,
                25000000 + g * 120, now(), NULL
           FROM generate_series(1, {rows}) g;
         CREATE INDEX tache_pk ON tache (id);
         CREATE INDEX tache_cursor ON tache (_ab_cdc_lsn);
         CREATE INDEX tache_extracted_at ON tache (_airbyte_extracted_at);"
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> color_eyre::Result<()> {
    let rows: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let bin = cluster::first_found()?;
    let version = bin.version.clone();
    let conf: &[(&str, &str)] = &[("shared_buffers", "1GB")];
    let server = tokio::task::spawn_blocking(move || Cluster::start(&bin, conf)).await??;
    lab::create_role_and_db(&server, lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB).await?;
    let ep = server.tcp(lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB);
    println!("PostgreSQL {version} · {rows} rows in an Airbyte-shaped table · filling …");
    let t = Instant::now();
    lab::exec(&ep, &shape(rows)).await?;
    lab::exec(&ep, "VACUUM ANALYZE tache").await?;
    println!("filled in {:.1} s", t.elapsed().as_secs_f64());

    let s = pg::connect(&ep, Duration::from_secs(600)).await?;
    let c = &s.client;
    let tables = catalog::tables(c, "public", &[]).await?;
    let all: Vec<_> = tables.iter().collect();
    let read = || async {
        let t = Instant::now();
        let f = catalog::freshness(c, &all).await?;
        Ok::<_, color_eyre::Report>((t.elapsed().as_secs_f64() * 1000.0, f))
    };
    read().await?;
    let mut indexed = Vec::new();
    let mut last = None;
    for _ in 0..200 {
        let (ms, f) = read().await?;
        indexed.push(ms);
        last = f.into_iter().next().map(|(_, f)| f);
    }
    let f = last.ok_or_else(|| color_eyre::eyre::eyre!("no freshness read"))?;
    assert!(f.loaded_indexed && f.applied_indexed && f.loaded_at_ms.is_some());
    let plan: Vec<String> = c
        .query(
            "EXPLAIN SELECT (SELECT max(_airbyte_extracted_at) FROM tache), (SELECT max(_ab_cdc_lsn) FROM tache)",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();

    // Without the indexes syncwatch reads neither column; this is what it would cost.
    lab::exec(
        &ep,
        "DROP INDEX tache_cursor; DROP INDEX tache_extracted_at",
    )
    .await?;
    let unread = catalog::freshness(c, &all).await?;
    assert!(
        unread
            .iter()
            .all(|(_, f)| !f.loaded_indexed && f.loaded_at_ms.is_none())
    );
    let scan_sql = "SELECT (SELECT max(_airbyte_extracted_at) FROM tache), (SELECT max(_ab_cdc_lsn) FROM tache)";
    c.query(scan_sql, &[]).await?;
    let mut scans = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        c.query(scan_sql, &[]).await?;
        scans.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (ours, scan) = (median(indexed), median(scans));
    println!("\n{:<44} {:>12}", "", "median");
    println!(
        "{:<44} {:>9.3} ms",
        "freshness read, indexed (every poll)", ours
    );
    println!("{:<44} {:>9.3} ms", "the same two max() by full scan", scan);
    println!("{:<44} {:>11.0}×", "saved per poll", scan / ours);
    println!("\nplan of the indexed read:");
    for line in plan {
        println!("  {line}");
    }
    drop(s);
    tokio::task::spawn_blocking(move || drop(server)).await?;
    Ok(())
}
