//! Catalog reads for seeding and change traffic: a table's columns with their types
//! (domains resolved, enum labels, array elements), keys, unique indexes and foreign keys
//! both ways; plus the few data reads a plan needs (current maxima, parent keys).

use std::collections::HashMap;

use tokio_postgres::Client;

use super::PgError;
use crate::logic::quote;
use crate::logic::seed::facts::{ColumnFacts, ForeignKey, Reference, TableFacts, TypeFacts};
use crate::logic::seed::generate::FkPlan;
use crate::logic::seed::value::{RawValue, Value};

type R<T> = Result<T, PgError>;

fn q(e: tokio_postgres::Error) -> PgError {
    PgError::from_query(&e)
}

/// The oid of the ordinary or partitioned table `schema.name`, if there is one.
pub async fn find_table(c: &Client, schema: &str, name: &str) -> R<Option<u32>> {
    let row = c
        .query_opt(
            "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
            &[&schema, &name],
        )
        .await
        .map_err(q)?;
    Ok(row.map(|r| r.get(0)))
}

/// The oid of table `name` as the session's search_path finds it.
pub async fn resolve_table(c: &Client, name: &str) -> R<Option<u32>> {
    let row = c
        .query_one(
            "SELECT c.oid FROM pg_class c
              WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
            &[&quote::ident(name)],
        )
        .await
        .map_err(q)?;
    Ok(row.get(0))
}

/// Ordinary and partitioned tables of `schema` (partitions excluded), by name.
pub async fn tables_in(c: &Client, schema: &str) -> R<Vec<(u32, String)>> {
    let rows = c
        .query(
            "SELECT c.oid, c.relname::text FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              ORDER BY 2",
            &[&schema],
        )
        .await
        .map_err(q)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Tables a publication names (its partitions mapped to their published root when the
/// publication publishes via the root), as oids.
pub async fn published_tables(c: &Client, publication: &str) -> R<Vec<u32>> {
    let rows = c
        .query(
            "SELECT DISTINCT coalesce(
                        (SELECT a.relid::oid FROM pg_partition_ancestors(pc.oid) WITH ORDINALITY a(relid, d)
                          ORDER BY a.d DESC LIMIT 1),
                        pc.oid)::oid
               FROM pg_publication_tables pt
               JOIN pg_namespace pn ON pn.nspname = pt.schemaname
               JOIN pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = pt.tablename
              WHERE pt.pubname = $1",
            &[&publication],
        )
        .await
        .map_err(q)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Everything the generator and the traffic need to know about table `oid`.
pub async fn table_facts(c: &Client, oid: u32) -> R<TableFacts> {
    let head = c
        .query_one(
            "SELECT n.nspname::text, c.relname::text, c.relreplident::text,
                    greatest(c.reltuples, 0)::bigint, coalesce(s.n_live_tup, 0)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
              WHERE c.oid = $1",
            &[&oid],
        )
        .await
        .map_err(q)?;
    let columns = c
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
                    t.oid, t.typname::text, tn.nspname::text,
                    b.oid, b.typname::text, b.typtype::text,
                    CASE WHEN a.atttypmod <> -1 THEN a.atttypmod ELSE dom.typmod END,
                    a.attnotnull OR dom.notnull,
                    pg_get_expr(d.adbin, d.adrelid),
                    d.adbin IS NOT NULL AND d.adbin::text LIKE '{CONST %',
                    a.attidentity <> '', a.attgenerated <> '',
                    ARRAY(SELECT e.enumlabel::text FROM pg_enum e
                           WHERE e.enumtypid = b.oid ORDER BY e.enumsortorder),
                    el.oid, el.typname::text, el.typtype::text,
                    ARRAY(SELECT e.enumlabel::text FROM pg_enum e
                           WHERE e.enumtypid = el.oid ORDER BY e.enumsortorder)
               FROM pg_attribute a
               JOIN pg_type t ON t.oid = a.atttypid
               JOIN pg_namespace tn ON tn.oid = t.typnamespace
               CROSS JOIN LATERAL (
                    WITH RECURSIVE chain(oid, typtype, typbasetype, typtypmod, typnotnull, depth) AS (
                         SELECT t.oid, t.typtype, t.typbasetype, t.typtypmod, t.typnotnull, 0
                         UNION ALL
                         SELECT p.oid, p.typtype, p.typbasetype, p.typtypmod, p.typnotnull, ch.depth + 1
                           FROM chain ch JOIN pg_type p ON p.oid = ch.typbasetype
                          WHERE ch.typtype = 'd')
                    SELECT (SELECT ch.oid FROM chain ch ORDER BY ch.depth DESC LIMIT 1) AS base,
                           coalesce((SELECT ch.typtypmod FROM chain ch
                                      WHERE ch.typtype = 'd' AND ch.typtypmod <> -1
                                      ORDER BY ch.depth LIMIT 1), -1) AS typmod,
                           coalesce((SELECT bool_or(ch.typnotnull) FROM chain ch WHERE ch.typtype = 'd'),
                                    false) AS notnull) dom
               JOIN pg_type b ON b.oid = dom.base
               LEFT JOIN pg_type el ON el.oid = b.typelem AND b.typlen = -1 AND b.typname LIKE '\\_%'
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
            &[&oid],
        )
        .await
        .map_err(q)?
        .iter()
        .map(|r| {
            let elem_oid: Option<u32> = r.get(15);
            let elem = elem_oid.map(|oid| {
                Box::new(TypeFacts {
                    oid,
                    name: r.get(16),
                    kind: first_char(r.get(17)),
                    enum_labels: r.get(18),
                    elem: None,
                })
            });
            ColumnFacts {
                name: r.get(0),
                formatted: r.get(1),
                type_oid: r.get(2),
                type_name: r.get(3),
                type_schema: r.get(4),
                base: TypeFacts {
                    oid: r.get(5),
                    name: r.get(6),
                    kind: first_char(r.get(7)),
                    enum_labels: r.get(14),
                    elem,
                },
                typmod: r.get(8),
                not_null: r.get(9),
                default: r.get(10),
                default_is_constant: r.get(11),
                identity: r.get(12),
                generated: r.get(13),
            }
        })
        .collect();
    let indexes = c
        .query(
            "SELECT i.indisprimary,
                    ARRAY(SELECT a.attname::text
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                           ORDER BY k.ord)
               FROM pg_index i
              WHERE i.indrelid = $1 AND i.indisunique AND i.indexprs IS NULL
              ORDER BY NOT i.indisprimary, i.indexrelid",
            &[&oid],
        )
        .await
        .map_err(q)?;
    let mut primary_key = Vec::new();
    let mut unique = Vec::new();
    for r in &indexes {
        let cols: Vec<String> = r.get(1);
        if r.get::<_, bool>(0) {
            primary_key = cols.clone();
        }
        unique.push(cols);
    }
    let fk_sql = |side: &str| {
        format!(
            "SELECT con.conname::text,
                    cn.nspname::text, cc.relname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                           ORDER BY k.o),
                    pn.nspname::text, pc.relname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                           ORDER BY k.o),
                    con.confdeltype::text
               FROM pg_constraint con
               JOIN pg_class cc ON cc.oid = con.conrelid
               JOIN pg_namespace cn ON cn.oid = cc.relnamespace
               JOIN pg_class pc ON pc.oid = con.confrelid
               JOIN pg_namespace pn ON pn.oid = pc.relnamespace
              WHERE con.contype = 'f' AND con.{side} = $1 AND con.conparentid = 0
                AND NOT cc.relispartition
              ORDER BY con.conname"
        )
    };
    let foreign_keys = c
        .query(&fk_sql("conrelid"), &[&oid])
        .await
        .map_err(q)?
        .iter()
        .map(|r| ForeignKey {
            name: r.get(0),
            columns: r.get(3),
            parent_schema: r.get(4),
            parent_table: r.get(5),
            parent_columns: r.get(6),
            on_delete: first_char(r.get(7)),
        })
        .collect();
    let referenced_by = c
        .query(&fk_sql("confrelid"), &[&oid])
        .await
        .map_err(q)?
        .iter()
        .map(|r| Reference {
            child_schema: r.get(1),
            child_table: r.get(2),
            child_columns: r.get(3),
            columns: r.get(6),
            on_delete: first_char(r.get(7)),
        })
        .collect();
    let reltuples: i64 = head.get(3);
    let live: i64 = head.get(4);
    Ok(TableFacts {
        oid,
        schema: head.get(0),
        name: head.get(1),
        columns,
        primary_key,
        unique,
        foreign_keys,
        referenced_by,
        estimated_rows: reltuples.max(live),
        replica_identity: first_char(head.get(2)),
    })
}

fn first_char(s: String) -> char {
    s.chars().next().unwrap_or('?')
}

/// The current maximum of each numeric column named, rounded down to an integer (0 when
/// the table is empty), so that unique values can continue after it.
pub async fn column_max(c: &Client, t: &TableFacts, columns: &[&str]) -> R<HashMap<String, i64>> {
    let mut out = HashMap::new();
    if columns.is_empty() {
        return Ok(out);
    }
    let exprs: Vec<String> = columns
        .iter()
        .map(|col| {
            format!(
                "coalesce(floor(max({})::numeric), 0)::bigint",
                quote::ident(col)
            )
        })
        .collect();
    let sql = format!("SELECT {} FROM {}", exprs.join(", "), t.qualified());
    let row = c.query_one(&sql, &[]).await.map_err(q)?;
    for (i, col) in columns.iter().enumerate() {
        out.insert(col.to_string(), row.get(i));
    }
    Ok(out)
}

/// Up to `limit` distinct key tuples of a foreign key's parent, cast to the child
/// columns' types so that their binary form is what the child's COPY expects. Large
/// parents are sampled by pages rather than read whole.
pub async fn parent_keys(c: &Client, fk: &FkPlan, limit: i64) -> R<Vec<Vec<Value>>> {
    let parent = quote::qualified(&fk.fk.parent_schema, &fk.fk.parent_table);
    let estimate: i64 = c
        .query_one(
            "SELECT greatest(c.reltuples, 0)::bigint FROM pg_class c
              WHERE c.oid = to_regclass($1)",
            &[&parent],
        )
        .await
        .map_err(q)?
        .get(0);
    let sample = if estimate > limit * 2 {
        let pct = (100.0 * 2.0 * limit as f64 / estimate as f64).min(100.0);
        format!(" TABLESAMPLE SYSTEM ({pct:.4})")
    } else {
        String::new()
    };
    let select: Vec<String> = fk
        .fk
        .parent_columns
        .iter()
        .zip(&fk.child_types)
        .map(|(col, ty)| format!("p.{}::{ty}", quote::ident(col)))
        .collect();
    let not_null: Vec<String> = fk
        .fk
        .parent_columns
        .iter()
        .map(|col| format!("p.{} IS NOT NULL", quote::ident(col)))
        .collect();
    let sql = format!(
        "SELECT DISTINCT {} FROM {parent} p{sample} WHERE {} LIMIT {limit}",
        select.join(", "),
        not_null.join(" AND ")
    );
    let rows = c.query(&sql, &[]).await.map_err(q)?;
    Ok(rows
        .iter()
        .map(|r| {
            (0..select.len())
                .map(|i| Value::from(r.get::<_, RawValue>(i)))
                .collect()
        })
        .collect())
}
