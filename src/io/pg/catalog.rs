//! Catalog queries, one function per part of a snapshot. Columns are chosen by
//! `server_version_num`: a column the server lacks is selected as a typed NULL, so every
//! supported version (13–18) gets the same result shape and never a query error.

use tokio_postgres::Client;

use super::{Kind, PgError};
use crate::logic::diff::sql::{ColumnInfo, TableDesc};
use crate::logic::quote;
use crate::model::lsn::Lsn;
use crate::model::snapshot::{
    Column, Extensions, Freshness, PublicationInfo, PublishedTable, RawTable, ReplicaIdentity,
    RoleInfo, ServerSettings, SlotInfo, SlotStats, SubState, SubscriptionInfo,
};

type R<T> = Result<T, PgError>;

fn q(e: tokio_postgres::Error) -> PgError {
    PgError::from_query(&e)
}

/// `expr` on servers of at least `min` (e.g. 160000), `null_as` otherwise.
fn since(version: i32, min: i32, expr: &str, null_as: &str) -> String {
    if version >= min {
        expr.to_string()
    } else {
        format!("NULL::{null_as}")
    }
}

pub async fn settings(c: &Client) -> R<ServerSettings> {
    let row = c
        .query_one(
            "SELECT current_setting('wal_level'),
                    current_setting('max_replication_slots')::bigint,
                    current_setting('max_wal_senders')::bigint,
                    (SELECT count(*) FROM pg_replication_slots),
                    (SELECT count(*) FROM pg_stat_replication),
                    ARRAY(SELECT name::text FROM pg_settings WHERE pending_restart ORDER BY name)",
            &[],
        )
        .await
        .map_err(q)?;
    Ok(ServerSettings {
        wal_level: row.get(0),
        max_replication_slots: row.get(1),
        max_wal_senders: row.get(2),
        slots_used: row.get(3),
        senders_used: row.get(4),
        pending_restart: row.get(5),
    })
}

pub async fn role(c: &Client) -> R<RoleInfo> {
    let row = c
        .query_one(
            "SELECT rolname::text, rolreplication, rolsuper,
                    pg_has_role(current_user, 'pg_monitor', 'USAGE')
             FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
        .map_err(q)?;
    Ok(RoleInfo {
        name: row.get(0),
        replication: row.get(1),
        superuser: row.get(2),
        pg_monitor: row.get(3),
    })
}

/// The current WAL position (the replay position on a standby), and the oldest
/// transaction still running (`pg_snapshot_xmin`): every transaction before it has
/// ended by this position.
/// Where the server's WAL is: written (what a consumer starting now can read up to) and
/// inserted (past every transaction already committed — with `synchronous_commit = off`
/// a commit is visible before it is written), and the oldest running transaction.
pub struct Position {
    pub written: Option<String>,
    pub inserted: Option<String>,
    pub horizon: Option<u64>,
}

pub async fn position(c: &Client) -> R<Position> {
    let row = c
        .query_one(
            "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                          ELSE pg_current_wal_lsn() END)::text,
                    (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                          ELSE pg_current_wal_insert_lsn() END)::text,
                    pg_snapshot_xmin(pg_current_snapshot())::text",
            &[],
        )
        .await
        .map_err(q)?;
    let horizon: Option<String> = row.get(2);
    Ok(Position {
        written: row.get(0),
        inserted: row.get(1),
        horizon: horizon.and_then(|h| h.parse().ok()),
    })
}

pub async fn slot(c: &Client, version: i32, name: &str) -> R<Option<SlotInfo>> {
    let sql = format!(
        "SELECT slot_name::text, plugin::text, slot_type, database::text, active, active_pid,
                restart_lsn::text, confirmed_flush_lsn::text,
                pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
                pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint,
                wal_status, safe_wal_size, {}, {}, {}, {},
                (SELECT (extract(epoch FROM coalesce(r.replay_lag, r.flush_lag)) * 1000)::bigint
                   FROM pg_stat_replication r WHERE r.pid = s.active_pid)
         FROM pg_replication_slots s WHERE slot_name = $1",
        since(version, 160000, "conflicting", "boolean"),
        since(version, 170000, "inactive_since::text", "text"),
        since(version, 170000, "invalidation_reason", "text"),
        // The server's own clock: syncwatch's may differ from it.
        since(
            version,
            170000,
            "(extract(epoch FROM now() - inactive_since) * 1000)::bigint",
            "bigint"
        ),
    );
    let Some(row) = c.query_opt(&sql, &[&name]).await.map_err(q)? else {
        return Ok(None);
    };
    let mut slot = SlotInfo {
        name: row.get(0),
        plugin: row.get(1),
        slot_type: row.get(2),
        database: row.get(3),
        active: row.get(4),
        active_pid: row.get(5),
        restart_lsn: row.get(6),
        confirmed_flush_lsn: row.get(7),
        retained_bytes: row.get(8),
        lag_bytes: row.get(9),
        wal_status: row.get(10),
        safe_wal_size: row.get(11),
        conflicting: row.get(12),
        inactive_since: row.get(13),
        invalidation_reason: row.get(14),
        inactive_for_ms: row.get(15),
        reported_lag_ms: row.get(16),
        stats: None,
    };
    if version >= 140000 {
        let stats = c
            .query_opt(
                "SELECT spill_txns, spill_bytes, stream_txns, stream_bytes, total_txns, total_bytes
                 FROM pg_stat_replication_slots WHERE slot_name = $1",
                &[&name],
            )
            .await
            .map_err(q)?;
        slot.stats = stats.map(|r| SlotStats {
            spill_txns: r.get(0),
            spill_bytes: r.get(1),
            stream_txns: r.get(2),
            stream_bytes: r.get(3),
            total_txns: r.get(4),
            total_bytes: r.get(5),
        });
    }
    Ok(Some(slot))
}

pub async fn publication(c: &Client, version: i32, name: &str) -> R<Option<PublicationInfo>> {
    let Some(row) = c
        .query_opt(
            "SELECT pubname::text, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate,
                    pubviaroot
             FROM pg_publication WHERE pubname = $1",
            &[&name],
        )
        .await
        .map_err(q)?
    else {
        return Ok(None);
    };
    // Without publish_via_partition_root, pg_publication_tables lists the partitions of a
    // published partitioned table instead of the table itself: each listed table is mapped
    // back to its top-most ancestor that the publication itself names (all tables, the
    // table, or from 15 its schema), so a published partitioned table reads as published.
    // In a CASE, ancestors are looked up for partitions only: with 10 000 plain tables a
    // lateral join for every table made the query half as slow again. A partition
    // detached while the query runs has no ancestor left: it reads as itself.
    let sql = format!(
        "SELECT DISTINCT ON (1, 2) n.nspname::text, c.relname::text, {}, {}
           FROM pg_publication p
           JOIN pg_publication_tables pt ON pt.pubname = p.pubname
           JOIN pg_namespace ln ON ln.nspname = pt.schemaname
           JOIN pg_class l ON l.relnamespace = ln.oid AND l.relname = pt.tablename
           JOIN pg_class c ON c.oid = CASE WHEN l.relispartition THEN coalesce((
                SELECT a.relid
                  FROM pg_partition_ancestors(l.oid) WITH ORDINALITY AS a(relid, depth)
                  JOIN pg_class ac ON ac.oid = a.relid
                 WHERE a.relid = l.oid
                    OR p.puballtables
                    OR a.relid IN (SELECT prrelid FROM pg_publication_rel
                                    WHERE prpubid = p.oid)
                    {}
                 ORDER BY a.depth DESC
                 LIMIT 1), l.oid) ELSE l.oid END
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE p.pubname = $1
          ORDER BY 1, 2",
        since(version, 150000, "pt.attnames::text[]", "text[]"),
        since(version, 150000, "pt.rowfilter", "text"),
        if version >= 150000 {
            "OR ac.relnamespace IN (SELECT pnnspid FROM pg_publication_namespace WHERE pnpubid = p.oid)"
        } else {
            ""
        },
    );
    let tables = c
        .query(&sql, &[&name])
        .await
        .map_err(q)?
        .iter()
        .map(|r| PublishedTable {
            schema: r.get(0),
            name: r.get(1),
            columns: r.get(2),
            row_filter: r.get(3),
        })
        .collect();
    Ok(Some(PublicationInfo {
        name: row.get(0),
        all_tables: row.get(1),
        insert: row.get(2),
        update: row.get(3),
        delete: row.get(4),
        truncate: row.get(5),
        via_root: row.get(6),
        tables,
    }))
}

/// Ordinary and partitioned tables of `schema` (partitions excluded) plus the `extra`
/// (schema, table) pairs wherever they are, with their columns.
pub async fn tables(c: &Client, schema: &str, extra: &[(String, String)]) -> R<Vec<RawTable>> {
    let schemas: Vec<&str> = extra.iter().map(|(s, _)| s.as_str()).collect();
    let names: Vec<&str> = extra.iter().map(|(_, t)| t.as_str()).collect();
    let rows = c
        .query(
            // The statistics functions rather than pg_stat_user_tables, and the primary
            // key's attnums rather than a subquery for its names: with 10 000 tables the
            // view and the per-table subqueries made this query four times slower. A
            // partitioned table's rows live in its leaves: their counters add up, so that
            // writes to any partition make its cached count due again.
            "SELECT c.oid, n.nspname::text, c.relname::text, c.relreplident::text, c.relkind = 'p',
                    pk.indkey IS NOT NULL,
                    (SELECT ic.relname::text
                       FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                      WHERE i.indrelid = c.oid AND i.indisunique AND NOT i.indisprimary
                        AND i.indimmediate AND i.indisvalid
                        AND i.indpred IS NULL AND i.indexprs IS NULL
                        AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                                         WHERE a.attrelid = c.oid AND a.attnum = ANY (i.indkey)
                                           AND NOT a.attnotnull)
                      ORDER BY ic.relname LIMIT 1),
                    c.reltuples::bigint,
                    CASE WHEN c.relkind = 'p'
                         THEN (SELECT sum(pg_stat_get_live_tuples(p.relid))::bigint
                                 FROM pg_partition_tree(c.oid) p WHERE p.isleaf)
                         ELSE pg_stat_get_live_tuples(c.oid) END,
                    CASE WHEN c.relkind = 'p'
                         THEN (SELECT sum(pg_stat_get_tuples_inserted(p.relid)
                                          + pg_stat_get_tuples_deleted(p.relid))::bigint
                                 FROM pg_partition_tree(c.oid) p WHERE p.isleaf)
                         ELSE pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_deleted(c.oid) END,
                    pk.indkey::int2[],
                    CASE WHEN c.relkind = 'p'
                         THEN (SELECT sum(pg_stat_get_tuples_inserted(p.relid)
                                          + pg_stat_get_tuples_updated(p.relid)
                                          + pg_stat_get_tuples_deleted(p.relid))::bigint
                                 FROM pg_partition_tree(c.oid) p WHERE p.isleaf)
                         ELSE pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)
                              + pg_stat_get_tuples_deleted(c.oid) END
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_index pk ON pk.indrelid = c.oid AND pk.indisprimary
              WHERE c.relkind IN ('r', 'p')
                AND ((n.nspname = $1 AND NOT c.relispartition)
                     OR (n.nspname, c.relname) IN
                        (SELECT x.s, x.t FROM unnest($2::text[], $3::text[]) AS x(s, t)))
              ORDER BY 2, 3",
            &[&schema, &schemas, &names],
        )
        .await
        .map_err(q)?;
    // The primary key's attnums, named once the columns are read.
    let key_attnums: Vec<Option<Vec<i16>>> = rows.iter().map(|r| r.get(10)).collect();
    let mut tables: Vec<RawTable> = rows
        .iter()
        .map(|r| RawTable {
            oid: r.get(0),
            schema: r.get(1),
            name: r.get(2),
            replica_identity: ReplicaIdentity::from_code(
                r.get::<_, String>(3).chars().next().unwrap_or('d'),
            )
            .unwrap_or_default(),
            partitioned: r.get(4),
            has_primary_key: r.get(5),
            primary_key: Vec::new(),
            unique_index: r.get(6),
            reltuples: r.get(7),
            n_live_tup: r.get(8),
            modifications: r.get(9),
            changes: r.get(11),
            columns: Vec::new(),
        })
        .collect();
    if tables.is_empty() {
        return Ok(tables);
    }
    let oids: Vec<u32> = tables.iter().map(|t| t.oid).collect();
    let cols = c
        .query(
            "SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod),
                    a.attnotnull AND NOT a.atthasdef AND a.attidentity = '', a.attnum
               FROM pg_attribute a
              WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attrelid, a.attnum",
            &[&oids],
        )
        .await
        .map_err(q)?;
    let mut by_oid: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (i, t) in tables.iter().enumerate() {
        by_oid.insert(t.oid, i);
    }
    let mut attnums: Vec<Vec<i16>> = vec![Vec::new(); tables.len()];
    for r in &cols {
        let oid: u32 = r.get(0);
        if let Some(&i) = by_oid.get(&oid) {
            tables[i].columns.push(Column {
                name: r.get(1),
                data_type: r.get(2),
                not_null: r.get(3),
            });
            attnums[i].push(r.get(4));
        }
    }
    for (i, t) in tables.iter_mut().enumerate() {
        let Some(key) = &key_attnums[i] else { continue };
        let names: Option<Vec<String>> = key
            .iter()
            .map(|n| {
                let at = attnums[i].iter().position(|a| a == n)?;
                Some(t.columns[at].name.clone())
            })
            .collect();
        // A table altered between the two queries: no half key; the next poll has it.
        t.primary_key = names.unwrap_or_default();
    }
    Ok(tables)
}

/// Airbyte's columns that say how fresh a destination table is.
pub const LOADED_AT: &str = "_airbyte_extracted_at";
pub const APPLIED_LSN: &str = "_ab_cdc_lsn";

/// Freshness of destination tables written by Airbyte, by oid. A column is read only
/// where a valid, whole-table btree index leads with it: `max()` is then one index
/// lookup, whatever the table's size. Airbyte's destination indexes both (the cursor
/// in dedup mode, `_airbyte_extracted_at` always); a table without them gets `None`
/// for that column rather than a full scan at every poll.
pub async fn freshness(c: &Client, tables: &[&RawTable]) -> R<Vec<(u32, Freshness)>> {
    let has = |t: &RawTable, col: &str| t.columns.iter().any(|c| c.name == col);
    let candidates: Vec<&RawTable> = tables
        .iter()
        .copied()
        .filter(|t| has(t, LOADED_AT) || has(t, APPLIED_LSN))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let oids: Vec<u32> = candidates.iter().map(|t| t.oid).collect();
    let indexed = c
        .query(
            "SELECT DISTINCT i.indrelid, a.attname::text
               FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_am am ON am.oid = ic.relam AND am.amname = 'btree'
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
              WHERE i.indrelid = ANY ($1::oid[]) AND i.indisvalid AND i.indpred IS NULL
                AND a.attname IN ($2, $3)",
            &[&oids, &LOADED_AT, &APPLIED_LSN],
        )
        .await
        .map_err(q)?;
    let indexed: std::collections::HashSet<(u32, String)> =
        indexed.iter().map(|r| (r.get(0), r.get(1))).collect();
    let is_indexed = |oid: u32, col: &str| indexed.contains(&(oid, col.to_string()));
    let mut parts = Vec::new();
    let mut out = Vec::new();
    for t in candidates {
        let loaded = is_indexed(t.oid, LOADED_AT);
        let applied = is_indexed(t.oid, APPLIED_LSN);
        out.push((
            t.oid,
            Freshness {
                loaded_indexed: loaded,
                applied_indexed: applied,
                ..Freshness::default()
            },
        ));
        if !loaded && !applied {
            continue;
        }
        let from = quote::qualified(&t.schema, &t.name);
        let loaded_expr = if loaded {
            format!(
                "(SELECT (extract(epoch FROM max({})) * 1000)::bigint FROM {from})",
                quote::ident(LOADED_AT)
            )
        } else {
            "NULL::bigint".to_string()
        };
        // A decimal that holds a 64-bit position; cast so that any numeric type reads.
        let applied_expr = if applied {
            format!(
                "(SELECT max({})::numeric(20, 0)::text FROM {from})",
                quote::ident(APPLIED_LSN)
            )
        } else {
            "NULL::text".to_string()
        };
        parts.push(format!(
            "SELECT {}::oid, {loaded_expr}, {applied_expr}",
            t.oid
        ));
    }
    if parts.is_empty() {
        return Ok(out);
    }
    let rows = c.query(&parts.join(" UNION ALL "), &[]).await.map_err(q)?;
    let at: std::collections::HashMap<u32, usize> = out
        .iter()
        .enumerate()
        .map(|(i, (oid, _))| (*oid, i))
        .collect();
    for r in rows {
        if let Some(&i) = at.get(&r.get::<_, u32>(0)) {
            let f = &mut out[i].1;
            f.loaded_at_ms = r.get(1);
            f.applied_lsn = r
                .get::<_, Option<String>>(2)
                .and_then(|t| t.parse::<u64>().ok())
                .map(Lsn);
        }
    }
    Ok(out)
}

/// A table to count: schema, name, and whether soft-deleted rows are left out.
pub type CountTarget<'a> = (&'a str, &'a str, bool);

fn count_expr((schema, table, soft_delete): CountTarget) -> String {
    let filter = if soft_delete {
        " WHERE _ab_cdc_deleted_at IS NULL"
    } else {
        ""
    };
    format!(
        "(SELECT count(*) FROM {}{filter})",
        quote::qualified(schema, table)
    )
}

/// Exact live rows of several tables in one statement (one round trip, one snapshot);
/// fails as a whole if any table is gone or unreadable.
pub async fn count_rows_many(c: &Client, targets: &[CountTarget<'_>]) -> R<Vec<i64>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let exprs: Vec<String> = targets.iter().map(|t| count_expr(*t)).collect();
    let row = c
        .query_one(&format!("SELECT {}", exprs.join(", ")), &[])
        .await
        .map_err(q)?;
    Ok((0..targets.len()).map(|i| row.get(i)).collect())
}

pub async fn extensions(c: &Client) -> R<Extensions> {
    let row = c
        .query_one(
            "SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector'),
                    EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')",
            &[],
        )
        .await
        .map_err(q)?;
    Ok(Extensions {
        vector_installed: row.get(0),
        vector_available: row.get(1),
    })
}

/// How to read a subscription's oid. PostgreSQL 13 grants non-superusers SELECT on every
/// column of pg_subscription but `oid` (and `subconninfo`); 14 adds `oid`. Without it, the
/// oid comes from pg_stat_subscription (readable by all) by name: NULL when that name is
/// used in another database of the cluster too.
async fn subscription_oid(c: &Client, version: i32) -> R<&'static str> {
    if version >= 140000 {
        return Ok("s.oid");
    }
    let readable: bool = c
        .query_one(
            "SELECT has_column_privilege('pg_catalog.pg_subscription', 'oid', 'SELECT')",
            &[],
        )
        .await
        .map_err(q)?
        .get(0);
    Ok(if readable {
        "s.oid"
    } else {
        "(SELECT min(st.subid) FROM pg_stat_subscription st WHERE st.subname = s.subname
           HAVING count(DISTINCT st.subid) = 1)"
    })
}

pub async fn subscription(c: &Client, version: i32, name: &str) -> R<Option<SubscriptionInfo>> {
    let sql = format!(
        "SELECT s.oid, s.subname::text, s.subenabled, s.subslotname::text,
                s.subpublications::text[],
                w.pid, w.received_lsn::text, w.last_msg_receipt_time::text
           FROM (SELECT {} AS oid, s.subdbid, s.subname, s.subenabled, s.subslotname,
                        s.subpublications
                   FROM pg_subscription s) s
           LEFT JOIN LATERAL (SELECT pid, received_lsn, last_msg_receipt_time
                                FROM pg_stat_subscription st
                               WHERE st.subid = s.oid AND st.relid IS NULL {}
                               ORDER BY pid LIMIT 1) w ON true
          WHERE s.subname = $1
            AND s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
        subscription_oid(c, version).await?,
        // 16+: parallel apply workers (streaming = parallel, the default from 18) have no
        // relid either, and receive nothing: the leader is the one without a leader_pid.
        if version >= 160000 {
            "AND st.leader_pid IS NULL"
        } else {
            ""
        },
    );
    let Some(row) = c.query_opt(&sql, &[&name]).await.map_err(q)? else {
        return Ok(None);
    };
    let Some(oid) = row.get::<_, Option<u32>>(0) else {
        return Err(PgError::new(
            Kind::PermissionDenied,
            format!(
                "PostgreSQL 13 shows pg_subscription.oid only to superusers, and subscription {name} also exists in another database, so its worker and tables cannot be told apart: connect as a superuser"
            ),
        ));
    };
    let table_states = c
        .query(
            "SELECT n.nspname::text || '.' || c.relname::text, sr.srsubstate::text
               FROM pg_subscription_rel sr
               JOIN pg_class c ON c.oid = sr.srrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE sr.srsubid = $1 ORDER BY 1",
            &[&oid],
        )
        .await
        .map_err(q)?
        .iter()
        .map(|r| {
            let state: String = r.get(1);
            (
                r.get(0),
                SubState::from_code(state.chars().next().unwrap_or('?')),
            )
        })
        .collect();
    let (apply_error_count, sync_error_count) = if version >= 150000 {
        match c
            .query_opt(
                "SELECT apply_error_count, sync_error_count FROM pg_stat_subscription_stats
                  WHERE subname = $1",
                &[&name],
            )
            .await
            .map_err(q)?
        {
            Some(r) => (Some(r.get(0)), Some(r.get(1))),
            None => (Some(0), Some(0)),
        }
    } else {
        (None, None)
    };
    Ok(Some(SubscriptionInfo {
        name: row.get(1),
        enabled: row.get(2),
        slot_name: row.get(3),
        publications: row.get(4),
        worker_pid: row.get(5),
        received_lsn: row.get(6),
        last_msg_receipt: row.get(7),
        table_states,
        apply_error_count,
        sync_error_count,
    }))
}

/// The diff's view of one table: its columns with base types and collations, and its
/// primary key; `None` when there is no such table.
pub async fn describe_table(
    c: &Client,
    schema: &str,
    table: &str,
) -> Result<Option<TableDesc>, PgError> {
    let q = |e: tokio_postgres::Error| PgError::from_query(&e);
    let Some(row) = c
        .query_opt(
            "SELECT c.oid,
                    greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0), 0),
                    coalesce((SELECT array_agg(a.attname::text ORDER BY k.o)
                                FROM pg_index i
                                CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
                                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n
                               WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
              WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            &[&schema, &table],
        )
        .await
        .map_err(q)?
    else {
        return Ok(None);
    };
    let oid: u32 = row.get(0);
    let columns = c
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
                    coalesce(bt.typname, t.typname)::text,
                    CASE WHEN a.attcollation = 0 THEN NULL
                         WHEN co.collname = 'default'
                         THEN (SELECT datcollate::text FROM pg_database
                                WHERE datname = current_database())
                         ELSE co.collname::text END
               FROM pg_attribute a
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
               LEFT JOIN pg_collation co ON co.oid = a.attcollation
              WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
            &[&oid],
        )
        .await
        .map_err(q)?
        .iter()
        .map(|r| ColumnInfo {
            name: r.get(0),
            type_sql: r.get(1),
            base: r.get(2),
            collation: r.get(3),
        })
        .collect();
    Ok(Some(TableDesc {
        columns,
        key: row.get(2),
        estimate: row.get(1),
    }))
}

#[cfg(test)]
mod tests {
    use super::since;

    #[test]
    fn a_column_newer_than_the_server_is_a_typed_null() {
        assert_eq!(
            since(130023, 160000, "conflicting", "boolean"),
            "NULL::boolean"
        );
        assert_eq!(
            since(169999, 170000, "inactive_since::text", "text"),
            "NULL::text"
        );
        assert_eq!(
            since(160000, 160000, "conflicting", "boolean"),
            "conflicting"
        );
        assert_eq!(
            since(180004, 150000, "pt.rowfilter", "text"),
            "pt.rowfilter"
        );
    }
}
