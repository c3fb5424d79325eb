//! A whole seed: which tables, how many rows each, in which order, then COPY into each.

use std::collections::HashMap;
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail};
use tokio_postgres::Client;

use super::copy::{self, Cancel, CopyOptions, CopyOutcome, Progress};
use crate::config::Settings;
use crate::io::pg::{self, seed_catalog};
use crate::logic::seed::facts::TableFacts;
use crate::logic::seed::generate;
use crate::logic::seed::rows::{GenContext, RowGen};

/// At most this many parent keys are held to draw foreign keys from.
pub const PARENT_POOL: i64 = 200_000;

/// A table referenced by another seeded table gets this many times fewer rows (the
/// sample's 2 000 000 tasks for 100 000 users).
pub const CHILDREN_PER_PARENT: u64 = 20;

#[derive(Clone, Debug)]
pub struct SeedRequest {
    pub rows: u64,
    /// A table of the settings' schema; all published tables (else the schema's) when None.
    pub table: Option<String>,
    pub batch_rows: u64,
    /// Sessions writing batches at once.
    pub connections: usize,
    pub seed: u64,
}

impl Default for SeedRequest {
    fn default() -> Self {
        SeedRequest {
            rows: 1_000,
            table: None,
            batch_rows: copy::DEFAULT_BATCH_ROWS,
            connections: 2,
            seed: 0x5EED,
        }
    }
}

#[derive(Clone, Debug)]
pub struct TableReport {
    /// `schema.table`.
    pub table: String,
    pub outcome: CopyOutcome,
    /// Columns the server filled, and why.
    pub left_to_server: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct SeedReport {
    pub tables: Vec<TableReport>,
    /// Stopped by a cancel: some tables have fewer rows than asked, or none.
    pub cancelled: bool,
}

impl SeedReport {
    pub fn written(&self) -> u64 {
        self.tables.iter().map(|t| t.outcome.written).sum()
    }
}

/// Seeds the source of `settings` as `req` says. Progress is reported per table after
/// every batch; a cancel stops after the batches under way.
pub async fn seed(
    settings: &Settings,
    req: &SeedRequest,
    progress: &mut (dyn FnMut(&Progress) + Send),
    cancel: &Cancel,
) -> Result<SeedReport> {
    refuse_read_only(settings, "seeding")?;
    let timeout = settings.statement_timeout.max(Duration::from_secs(120));
    let mut sessions = Vec::new();
    for _ in 0..req.connections.max(1) {
        let s = pg::connect(&settings.source, timeout)
            .await
            .wrap_err_with(|| format!("connecting to the source {}", settings.source))?;
        sessions.push(s);
    }
    let clients: Vec<&Client> = sessions.iter().map(|s| &s.client).collect();
    let targets = choose_targets(
        clients[0],
        &settings.schema,
        &settings.publication,
        req.table.as_deref(),
        req.rows,
    )
    .await?;
    let opts = CopyOptions {
        batch_rows: req.batch_rows,
        seed: req.seed,
    };
    let mut report = SeedReport::default();
    for (facts, rows) in targets {
        if cancel.is_cancelled() {
            report.cancelled = true;
            break;
        }
        let t = seed_table(&clients, &facts, rows, &opts, progress, cancel).await?;
        report.cancelled |= t.outcome.cancelled;
        report.tables.push(t);
    }
    Ok(report)
}

/// Seeding and traffic write rows: `--read-only` (or `read_only = true`) refuses them.
pub fn refuse_read_only(settings: &Settings, what: &str) -> Result<()> {
    if settings.read_only {
        bail!(
            "read-only mode (--read-only or read_only = true in the config file): {what} writes rows, so it is refused"
        );
    }
    Ok(())
}

/// The tables to seed, parents first, with their row counts: `table` alone (of
/// `schema`) when given, else every table the publication names, else every table of
/// `schema`.
pub async fn choose_targets(
    c: &Client,
    schema: &str,
    publication: &str,
    table: Option<&str>,
    rows: u64,
) -> Result<Vec<(TableFacts, u64)>> {
    let oids: Vec<u32> = match table {
        Some(name) => match seed_catalog::find_table(c, schema, name).await? {
            Some(oid) => vec![oid],
            None => {
                let there: Vec<String> = seed_catalog::tables_in(c, schema)
                    .await?
                    .into_iter()
                    .map(|(_, n)| n)
                    .collect();
                bail!(
                    "no table {} in schema {} of the source (tables there: {}); --table takes a table name of --schema",
                    crate::logic::quote::ident(name),
                    crate::logic::quote::ident(schema),
                    if there.is_empty() {
                        "none".to_string()
                    } else {
                        there.join(", ")
                    }
                );
            }
        },
        None => {
            let published = seed_catalog::published_tables(c, publication).await?;
            if published.is_empty() {
                seed_catalog::tables_in(c, schema)
                    .await?
                    .into_iter()
                    .map(|(oid, _)| oid)
                    .collect()
            } else {
                published
            }
        }
    };
    if oids.is_empty() {
        bail!(
            "nothing to seed: publication {publication} names no table and schema {schema} has none; create the tables first (sql/10-schema.sql has the sample's)"
        );
    }
    let mut facts = Vec::new();
    for oid in oids {
        facts.push(
            seed_catalog::table_facts(c, oid)
                .await
                .wrap_err("reading the table's columns and keys")?,
        );
    }
    let order = order_and_count(&facts, rows, table.is_some());
    let mut by_index: Vec<Option<TableFacts>> = facts.into_iter().map(Some).collect();
    Ok(order
        .into_iter()
        .filter_map(|(i, n)| by_index[i].take().map(|f| (f, n)))
        .collect())
}

/// Parents before children (foreign keys within the set; cycles broken by name order),
/// with `rows` for each table, or `rows / 20` for one that another table of the set
/// references — unless a single table was asked for, which gets `rows`.
pub fn order_and_count(tables: &[TableFacts], rows: u64, single: bool) -> Vec<(usize, u64)> {
    let index = |schema: &str, name: &str| tables.iter().position(|t| t.is(schema, name));
    let parents: Vec<Vec<usize>> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| {
            t.foreign_keys
                .iter()
                .filter_map(|fk| index(&fk.parent_schema, &fk.parent_table))
                .filter(|&p| p != i)
                .collect()
        })
        .collect();
    let referenced: Vec<bool> = (0..tables.len())
        .map(|i| {
            parents
                .iter()
                .enumerate()
                .any(|(c, ps)| c != i && ps.contains(&i))
        })
        .collect();
    let mut done = vec![false; tables.len()];
    let mut order = Vec::new();
    while order.len() < tables.len() {
        let ready = (0..tables.len())
            .filter(|&i| !done[i] && parents[i].iter().all(|&p| done[p]))
            .min_by_key(|&i| (&tables[i].schema, &tables[i].name));
        // A cycle: take the first remaining table; nullable keys will be NULL for now.
        let next = ready.or_else(|| (0..tables.len()).find(|&i| !done[i]));
        let Some(i) = next else { break };
        done[i] = true;
        let n = if !single && referenced[i] {
            (rows / CHILDREN_PER_PARENT).max(1)
        } else {
            rows
        };
        order.push((i, n));
    }
    order
}

/// Plans `facts`, reads what the plan needs (maxima, parent keys) and returns a row
/// generator, with the plan's warnings.
pub async fn prepare(c: &Client, facts: &TableFacts, seed: u64) -> Result<RowGen> {
    prepare_with_pool(c, facts, seed, PARENT_POOL).await
}

/// [`prepare`] holding at most `pool` keys per parent: a few rows at a time need fewer,
/// and re-reading them often must stay cheap.
pub async fn prepare_with_pool(
    c: &Client,
    facts: &TableFacts,
    seed: u64,
    pool: i64,
) -> Result<RowGen> {
    let plan = generate::plan(facts)?;
    let max: HashMap<String, i64> = seed_catalog::column_max(c, facts, &plan.needs_max())
        .await
        .wrap_err_with(|| format!("reading the largest values of {}", facts.label()))?;
    let mut pools = Vec::new();
    for fk in &plan.foreign_keys {
        let keys = seed_catalog::parent_keys(c, fk, pool)
            .await
            .wrap_err_with(|| {
                format!(
                    "reading keys of {}.{} for foreign key {} of {}",
                    fk.fk.parent_schema,
                    fk.fk.parent_table,
                    fk.fk.name,
                    facts.label()
                )
            })?;
        pools.push(keys);
    }
    RowGen::new(plan, GenContext::now(seed), &max, pools)
}

/// Seeds one table with `rows` rows.
pub async fn seed_table(
    clients: &[&Client],
    facts: &TableFacts,
    rows: u64,
    opts: &CopyOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
    cancel: &Cancel,
) -> Result<TableReport> {
    let rowgen = prepare(clients[0], facts, opts.seed).await?;
    let outcome = copy::copy_rows(clients, &rowgen, rows, opts, progress, cancel).await?;
    Ok(TableReport {
        table: facts.label(),
        outcome,
        left_to_server: rowgen.plan.left_to_server.clone(),
        warnings: rowgen.plan.warnings.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::seed::facts::sample::{tache, utilisateur};

    #[test]
    fn parents_first_and_fewer_of_them() {
        let tables = vec![tache(), utilisateur()];
        let order = order_and_count(&tables, 2_000_000, false);
        assert_eq!(order, vec![(1, 100_000), (0, 2_000_000)]);
        // One table asked for: exactly the rows asked.
        let order = order_and_count(&tables[..1], 10, true);
        assert_eq!(order, vec![(0, 10)]);
        assert_eq!(order_and_count(&tables, 5, false)[0].1, 1);
    }

    #[test]
    fn a_cycle_still_orders_every_table() {
        let mut a = utilisateur();
        let mut b = tache();
        a.foreign_keys = b.foreign_keys.clone();
        a.foreign_keys[0].parent_table = "tache".into();
        b.foreign_keys[0].parent_table = "utilisateur".into();
        let order = order_and_count(&[a, b], 100, false);
        assert_eq!(order.len(), 2);
    }
}
