//! Writing sample data and change traffic to the source (what to write is decided in
//! [`crate::logic::seed`]).
//!
//! - [`copy`]: binary COPY in batches, progress and cancel.
//! - [`run`]: a whole seed (which tables, how many rows, in which order).
//! - [`traffic`]: a steady mix of inserts, updates and deletes that keeps foreign keys.

pub mod copy;
pub mod run;
pub mod traffic;

use crate::logic::seed::{facts, prng};

use color_eyre::eyre::{Result, WrapErr, eyre};
use tokio_postgres::Client;

pub use copy::{Cancel, CopyOptions, CopyOutcome, Progress};
pub use run::{SeedReport, SeedRequest, TableReport, seed};
pub use traffic::{Mix, Traffic, TrafficOptions, TrafficStats};

use crate::io::pg::seed_catalog;

/// Looks a sample table up through the session's search_path.
async fn sample_table(client: &Client, name: &str) -> Result<facts::TableFacts> {
    let oid = seed_catalog::resolve_table(client, name)
        .await?
        .ok_or_else(|| {
            eyre!("no table {name} on the search_path: apply sql/10-schema.sql first")
        })?;
    Ok(seed_catalog::table_facts(client, oid).await?)
}

/// Inserts `users` users and `tasks` tasks spread over all users, through COPY, on one
/// session (the sample schema of `sql/10-schema.sql`).
pub async fn sample(client: &Client, users: i64, tasks: i64) -> Result<()> {
    let opts = CopyOptions::default();
    let cancel = Cancel::new();
    let mut quiet = |_: &Progress| {};
    for (name, rows) in [("utilisateur", users), ("tache", tasks)] {
        let facts = sample_table(client, name).await?;
        run::seed_table(
            &[client],
            &facts,
            rows.max(0) as u64,
            &opts,
            &mut quiet,
            &cancel,
        )
        .await
        .wrap_err_with(|| format!("seeding {name}"))?;
    }
    Ok(())
}

/// Inserts `tasks` tasks owned by existing users.
pub async fn trickle(client: &Client, tasks: i64) -> Result<()> {
    let facts = sample_table(client, "tache").await?;
    let rowgen = run::prepare_with_pool(client, &facts, prng::mix(tasks as u64), 1_000).await?;
    traffic::insert_rows(client, &rowgen, tasks.max(0) as u64)
        .await
        .wrap_err("inserting tasks")?;
    Ok(())
}
