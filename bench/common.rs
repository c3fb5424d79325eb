//! Shared by the benchmarks: a source and a destination with many published tables.

use syncwatch::config::Settings;
use syncwatch::sandbox::cluster::{self, Cluster};
use syncwatch::sandbox::lab;

pub struct ManyTables {
    pub source: Cluster,
    pub dest: Cluster,
    pub settings: Settings,
    pub version: String,
}

/// `tables` tables `t0000`… with up to 49 rows each on both sides, published FOR ALL
/// TABLES from the source with the guide's slot.
pub async fn many_tables(tables: usize) -> color_eyre::Result<ManyTables> {
    let bin = cluster::first_found()?;
    let version = bin.version.clone();
    let (source, dest) = tokio::task::spawn_blocking(move || {
        (
            Cluster::start(&bin, lab::SOURCE_SETTINGS),
            Cluster::start(&bin, &[]),
        )
    })
    .await?;
    let (source, dest) = (source?, dest?);
    for c in [&source, &dest] {
        lab::create_role_and_db(c, "airbyte", "airbyte", "tasks_list").await?;
        // In batches: one transaction creating thousands of tables would run out of
        // lock slots (max_locks_per_transaction).
        let ep = c.tcp("airbyte", "airbyte", "tasks_list");
        for batch in (0..tables).collect::<Vec<_>>().chunks(500) {
            let mut ddl = String::new();
            for i in batch {
                ddl.push_str(&format!(
                    "CREATE TABLE t{i:04} (id int PRIMARY KEY, v text); INSERT INTO t{i:04} SELECT g, 'x' FROM generate_series(1, {}) g;",
                    i % 50
                ));
            }
            lab::exec(&ep, &ddl).await?;
        }
        lab::exec(&ep, "ANALYZE").await?;
    }
    // A slot cannot be created in a transaction that wrote: one statement per exec.
    for sql in [
        "ALTER ROLE airbyte REPLICATION",
        "CREATE PUBLICATION airbyte_publication FOR ALL TABLES",
        "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')",
    ] {
        lab::exec(&source.admin("tasks_list"), sql).await?;
    }
    let settings = Settings {
        source: source.tcp("airbyte", "airbyte", "tasks_list"),
        dest: dest.tcp("airbyte", "airbyte", "tasks_list"),
        ..Default::default()
    };
    Ok(ManyTables {
        source,
        dest,
        settings,
        version,
    })
}

impl ManyTables {
    pub async fn stop(self) {
        let _ = tokio::task::spawn_blocking(move || drop((self.source, self.dest))).await;
    }
}
