//! The `diff` command's output: a table for people or JSON, and the exit code. Pure:
//! builds strings from results.

use serde_json::{Map, Value, json};

use super::{DiffError, RowDiff, Side, TableDiff};
use crate::logic::format::group_digits;
use crate::logic::quote;

/// One table's name (`schema.table`) and how its diff went.
pub type Outcome = (String, Result<TableDiff, DiffError>);

/// 0 when every table is equal, 1 when any differs (a table on one side only counts),
/// 2 when any could not be diffed.
pub fn exit_code(results: &[Outcome]) -> u8 {
    let mut code = 0;
    for (_, r) in results {
        match r {
            Err(e) if !e.is_difference() => return 2,
            Err(_) => code = 1,
            Ok(d) if d.is_different() => code = 1,
            Ok(_) => {}
        }
    }
    code
}

/// A key as people read it: `id=17`, `(tenant=3, code='A-1')`, or a keyless row.
pub fn key_text(d: &TableDiff, row: &RowDiff) -> String {
    if d.key_columns.is_empty() {
        let times = if row.count > 1 {
            format!(" ×{}", row.count)
        } else {
            String::new()
        };
        return format!("row {}{times}", row.key.first().map_or("", String::as_str));
    }
    let parts: Vec<String> = d
        .key_columns
        .iter()
        .zip(row.key.iter())
        .enumerate()
        .map(|(i, (c, v))| {
            let v = if d.key_integer.get(i).copied().unwrap_or(false) {
                v.clone()
            } else {
                quote::literal(v)
            };
            format!("{c}={v}")
        })
        .collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("({})", parts.join(", "))
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        group_digits(n as i64),
        if n == 1 { one } else { many }
    )
}

fn rows_listed(d: &TableDiff, limit: Option<usize>) -> (Vec<&RowDiff>, usize) {
    let all: Vec<&RowDiff> = d
        .missing
        .iter()
        .chain(d.extra.iter())
        .chain(d.changed.iter())
        .collect();
    let shown = limit.unwrap_or(usize::MAX).min(all.len());
    let hidden = all.len() - shown;
    (all.into_iter().take(shown).collect(), hidden)
}

/// A plain-text report: one block per table, drift first, then rows in flight and notes.
pub fn human(results: &[Outcome], limit: Option<usize>) -> String {
    let mut out = String::new();
    for (name, r) in results {
        match r {
            Err(e) if e.is_difference() => out.push_str(&format!("{name}: {e}\n")),
            Err(e) => out.push_str(&format!("{name}: error: {e}\n")),
            Ok(d) => human_table(&mut out, d, limit),
        }
    }
    let equal = results
        .iter()
        .filter(|(_, r)| matches!(r, Ok(d) if !d.is_different()))
        .count();
    let errors = results
        .iter()
        .filter(|(_, r)| matches!(r, Err(e) if !e.is_difference()))
        .count();
    let different = results.len() - equal - errors;
    if results.len() > 1 {
        out.push_str(&format!(
            "{}: {equal} equal, {different} different{}\n",
            plural(results.len(), "table", "tables"),
            if errors > 0 {
                format!(", {errors} not compared")
            } else {
                String::new()
            }
        ));
    }
    out
}

fn human_table(out: &mut String, d: &TableDiff, limit: Option<usize>) {
    let secs = d.stats.elapsed_ms as f64 / 1000.0;
    let name = d.qualified_name();
    if !d.is_different() {
        out.push_str(&format!(
            "{name}: equal ({}; {secs:.2} s)\n",
            plural(d.source_rows.max(0) as usize, "row", "rows")
        ));
    } else {
        out.push_str(&format!(
            "{name}: {} missing, {} extra, {} changed on the destination (source {}, destination {}; {secs:.2} s)\n",
            group_digits(d.missing.len() as i64),
            group_digits(d.extra.len() as i64),
            group_digits(d.changed.len() as i64),
            plural(d.source_rows.max(0) as usize, "row", "rows"),
            plural(d.dest_rows.max(0) as usize, "row", "rows"),
        ));
        let (rows, hidden) = rows_listed(d, limit);
        let keys: Vec<String> = rows.iter().map(|r| key_text(d, r)).collect();
        let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
        for (row, key) in rows.iter().zip(keys) {
            let cols = row.columns.join(", ");
            let line = format!("  {:<8} {key:<width$}  {cols}", row.kind.to_string());
            out.push_str(line.trim_end());
            out.push('\n');
        }
        if hidden > 0 {
            out.push_str(&format!(
                "  … and {} more (--limit)\n",
                group_digits(hidden as i64)
            ));
        }
    }
    if !d.pending.is_empty() {
        out.push_str(&format!(
            "  pending: {} changed on the source after the consumer's position: the next sync brings them\n",
            plural(d.pending.len(), "row", "rows")
        ));
    }
    if !d.in_flight.is_empty() {
        out.push_str(&format!(
            "  in flight: {} differed in the snapshots and matched once replication caught up\n",
            plural(d.in_flight.len(), "row", "rows")
        ));
    }
    if let Some(rc) = &d.recheck
        && d.is_different()
    {
        match rc.caught_up {
            Some(true) => out.push_str(&format!(
                "  still different after replication caught up with the source ({:.1} s): real drift\n",
                rc.waited_ms as f64 / 1000.0
            )),
            Some(false) if rc.consumer_active == Some(false) => out.push_str(
                "  no consumer is reading the slot (between syncs): rows it has certainly read are judged, the rest is pending\n",
            ),
            Some(false) => out.push_str(&format!(
                "  replication had not caught up after {:.1} s: some of these rows may still be in flight\n",
                rc.waited_ms as f64 / 1000.0
            )),
            None => out.push_str(
                "  no slot to watch: re-checked after a short wait, some rows may still be in flight\n",
            ),
        }
    }
    for n in &d.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
}

fn row_json(d: &TableDiff, r: &RowDiff) -> Value {
    let mut o = Map::new();
    if d.key_columns.is_empty() {
        o.insert(
            "row".into(),
            json!(r.key.first().cloned().unwrap_or_default()),
        );
        o.insert("count".into(), json!(r.count));
    } else {
        let key: Map<String, Value> = d
            .key_columns
            .iter()
            .zip(r.key.iter())
            .map(|(c, v)| (c.clone(), json!(v)))
            .collect();
        o.insert("key".into(), Value::Object(key));
    }
    if !r.columns.is_empty() {
        o.insert("columns".into(), json!(r.columns));
    }
    o.insert("kind".into(), json!(r.kind));
    Value::Object(o)
}

fn table_json(name: &str, r: &Result<TableDiff, DiffError>, limit: Option<usize>) -> Value {
    let (schema, table) = name.split_once('.').unwrap_or(("", name));
    match r {
        Err(e) => {
            let status = match e {
                DiffError::Missing {
                    present_on: Some(Side::Source),
                    ..
                } => "missing_on_destination",
                DiffError::Missing {
                    present_on: Some(Side::Dest),
                    ..
                } => "missing_on_source",
                _ => "error",
            };
            json!({ "schema": schema, "table": table, "status": status, "message": e.to_string() })
        }
        Ok(d) => {
            let (rows, hidden) = rows_listed(d, limit);
            let list = |kind: super::DiffKind| -> Vec<Value> {
                rows.iter()
                    .filter(|r| r.kind == kind)
                    .map(|r| row_json(d, r))
                    .collect()
            };
            json!({
                "schema": d.schema,
                "table": d.table,
                "status": if d.is_different() { "different" } else { "equal" },
                "key_columns": d.key_columns,
                "compared_columns": d.compared_columns,
                "source_rows": d.source_rows,
                "dest_rows": d.dest_rows,
                "missing_count": d.missing.len(),
                "extra_count": d.extra.len(),
                "changed_count": d.changed.len(),
                "missing": list(super::DiffKind::Missing),
                "extra": list(super::DiffKind::Extra),
                "changed": list(super::DiffKind::Changed),
                "truncated": hidden > 0,
                "in_flight": d.in_flight.iter().map(|r| row_json(d, r)).collect::<Vec<_>>(),
                "pending": d.pending.iter().map(|r| row_json(d, r)).collect::<Vec<_>>(),
                "recheck": d.recheck,
                "notes": d.notes,
                "stats": d.stats,
            })
        }
    }
}

/// One JSON document: overall status and exit code, then one object per table.
pub fn json(results: &[Outcome], limit: Option<usize>) -> String {
    let code = exit_code(results);
    let doc = json!({
        "status": match code { 0 => "equal", 1 => "different", _ => "error" },
        "exit_code": code,
        "tables": results.iter().map(|(n, r)| table_json(n, r, limit)).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The document printed when nothing could be compared (e.g. a side is down).
pub fn json_error(message: &str) -> String {
    let doc = json!({ "status": "error", "exit_code": 2, "error": message, "tables": [] });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::diff::{DiffKind, DiffStats};

    fn table(missing: usize, changed: usize) -> TableDiff {
        let row = |kind, k: usize, cols: Vec<String>| RowDiff {
            kind,
            key: vec![k.to_string()],
            columns: cols,
            count: 1,
        };
        TableDiff {
            schema: "public".into(),
            table: "tache".into(),
            key_columns: vec!["id".into()],
            key_integer: vec![true],
            compared_columns: vec!["id".into(), "title".into()],
            source_rows: 2_000_000,
            dest_rows: 1_999_999,
            missing: (0..missing)
                .map(|i| row(DiffKind::Missing, i, vec![]))
                .collect(),
            extra: vec![],
            changed: (0..changed)
                .map(|i| row(DiffKind::Changed, 100 + i, vec!["title".into()]))
                .collect(),
            in_flight: vec![],
            pending: vec![],
            recheck: None,
            notes: vec![],
            stats: DiffStats::default(),
        }
    }

    #[test]
    fn exit_codes_rank_error_over_difference_over_equal() {
        let eq: Outcome = ("public.a".into(), Ok(table(0, 0)));
        let diff: Outcome = ("public.b".into(), Ok(table(1, 0)));
        let one_sided: Outcome = (
            "public.c".into(),
            Err(DiffError::Missing {
                table: "public.c".into(),
                present_on: Some(Side::Source),
            }),
        );
        let err: Outcome = (
            "public.d".into(),
            Err(DiffError::Missing {
                table: "public.d".into(),
                present_on: None,
            }),
        );
        assert_eq!(exit_code(std::slice::from_ref(&eq)), 0);
        assert_eq!(exit_code(&[eq.clone(), diff.clone()]), 1);
        assert_eq!(exit_code(&[eq.clone(), one_sided.clone()]), 1);
        assert_eq!(exit_code(&[diff, one_sided, err]), 2);
    }

    #[test]
    fn human_lists_kinds_columns_and_the_limit() {
        let text = human(&[("public.tache".into(), Ok(table(3, 2)))], Some(4));
        assert!(
            text.starts_with("public.tache: 3 missing, 0 extra, 2 changed on the destination (source 2 000 000 rows, destination 1 999 999 rows;"),
            "{text}"
        );
        assert!(text.contains("  missing  id=0\n"), "{text}");
        assert!(text.contains("  changed  id=100  title\n"), "{text}");
        assert!(text.contains("… and 1 more (--limit)"), "{text}");
        let text = human(&[("public.tache".into(), Ok(table(0, 0)))], None);
        assert!(
            text.starts_with("public.tache: equal (2 000 000 rows;"),
            "{text}"
        );
    }

    #[test]
    fn keys_read_as_people_write_them() {
        let mut d = table(0, 0);
        d.key_columns = vec!["n".into(), "code".into()];
        d.key_integer = vec![true, false];
        let r = RowDiff {
            kind: DiffKind::Extra,
            key: vec!["3".into(), "it's".into()],
            columns: vec![],
            count: 1,
        };
        assert_eq!(key_text(&d, &r), "(n=3, code='it''s')");
        d.key_columns.clear();
        let r = RowDiff {
            kind: DiffKind::Extra,
            key: vec!["(1,x)".into()],
            columns: vec![],
            count: 2,
        };
        assert_eq!(key_text(&d, &r), "row (1,x) ×2");
    }

    #[test]
    fn json_has_counts_lists_and_status() {
        let doc: Value =
            serde_json::from_str(&json(&[("public.tache".into(), Ok(table(2, 1)))], Some(2)))
                .unwrap();
        assert_eq!(doc["status"], "different");
        assert_eq!(doc["exit_code"], 1);
        let t = &doc["tables"][0];
        assert_eq!(t["missing_count"], 2);
        assert_eq!(t["changed_count"], 1);
        assert_eq!(t["missing"][0]["key"]["id"], "0");
        assert_eq!(t["changed"].as_array().unwrap().len(), 0);
        assert_eq!(t["truncated"], true);
    }
}
