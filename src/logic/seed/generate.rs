//! What to generate for each column of a table, decided from catalog facts alone (no
//! I/O): [`plan`] says which columns are written and how each is made; `rows` then fills
//! rows from the plan.
//!
//! Choices a person would otherwise wonder about:
//! - Identity, serial and *computed* defaults (`nextval`, `now()`, `gen_random_uuid()`)
//!   are left to the server: it numbers rows better than we could. A *constant* default
//!   (`DEFAULT false`) is not: every row would carry the same value, which is not what
//!   sample data is for (`tache.is_completed` would never be true).
//! - Column names hint at content (see `hints`), so the sample schema and most hand-made
//!   schemas get realistic rows without any table-specific code.
//! - Columns of a unique index get values that cannot collide: integers continue after
//!   the column's current maximum, text carries a per-run token and the row's index.
//! - Foreign keys take whole key tuples from existing parent rows (loaded before).
//! - A type it cannot generate is an error naming table, column and type, unless the
//!   column has a default (left to the server) or allows NULL (left NULL, with a note).

use std::collections::HashMap;

use color_eyre::eyre::{Result, bail};
use tokio_postgres::types::{Kind as PgKind, Type};

use super::facts::{ColumnFacts, ForeignKey, TableFacts, TypeFacts};
use super::hints::{bool_gen, date_style, has, int_gen, numeric_gen, text_style};
use super::vocab::Gen;
use super::words;

/// Share of NULLs in a nullable column.
pub const NULL_RATE: f64 = 0.1;
/// Share of NULLs in a nullable foreign key: an orphan task now and then, not one in ten.
pub const FK_NULL_RATE: f64 = 0.02;

/// Types the generator knows, for the error that names an unknown one.
pub const SUPPORTED: &str = "boolean, smallint, integer, bigint, real, double precision, numeric, money, text, varchar(n), char(n), name, citext, bytea, date, time, timetz, timestamp, timestamptz, interval, uuid, json, jsonb, inet, cidr, macaddr, vector(n), enums, domains over these, and one-dimensional arrays of them";

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Generate {
        how: Gen,
        null_rate: f64,
        unique: bool,
    },
    /// Column `position` of the key tuple chosen for foreign key `fk` of the plan.
    ForeignKey { fk: usize, position: usize },
    /// A nullable column of a type the generator does not know.
    AlwaysNull,
}

/// A column that is written.
#[derive(Clone, Debug)]
pub struct ColumnPlan {
    pub name: String,
    /// The column's type as COPY and prepared statements are told.
    pub ty: Type,
    pub formatted: String,
    pub not_null: bool,
    pub source: Source,
}

impl ColumnPlan {
    /// Its values come from the generator (not from a parent's keys, not always NULL), so
    /// a fresh one can replace the old in an UPDATE — unique ones too, with a fresh row
    /// number.
    pub fn generated(&self) -> bool {
        matches!(self.source, Source::Generate { .. })
    }
}

#[derive(Clone, Debug)]
pub struct FkPlan {
    pub fk: ForeignKey,
    /// The child columns' types as SQL, to cast parent keys to when loading them.
    pub child_types: Vec<String>,
    /// Every child column is nullable, so the key may be NULL (and must be when the
    /// parent is empty).
    pub nullable: bool,
}

/// What will be written to a table and how.
#[derive(Clone, Debug)]
pub struct TablePlan {
    pub schema: String,
    pub table: String,
    pub columns: Vec<ColumnPlan>,
    /// Columns the server fills (identity, serial, computed defaults, generated), and why.
    pub left_to_server: Vec<(String, String)>,
    pub foreign_keys: Vec<FkPlan>,
    /// Things worth saying that do not stop the seed.
    pub warnings: Vec<String>,
}

impl TablePlan {
    /// Names of the columns whose current maximum must be read (unique numbers).
    pub fn needs_max(&self) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| {
                matches!(&c.source, Source::Generate { how, unique: true, .. } if how.needs_max())
            })
            .map(|c| c.name.as_str())
            .collect()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// Builds the plan for `t`, or says which column cannot be generated and why.
pub fn plan(t: &TableFacts) -> Result<TablePlan> {
    let label = t.label();
    let mut plan = TablePlan {
        schema: t.schema.clone(),
        table: t.name.clone(),
        columns: Vec::new(),
        left_to_server: Vec::new(),
        foreign_keys: Vec::new(),
        warnings: Vec::new(),
    };

    // Which foreign key feeds which column: the first key that claims a column wins.
    let mut fk_of: HashMap<&str, (usize, usize)> = HashMap::new();
    for fk in &t.foreign_keys {
        let cols: Option<Vec<&ColumnFacts>> = fk.columns.iter().map(|c| t.column(c)).collect();
        let Some(cols) = cols else { continue };
        if cols.iter().any(|c| c.generated || c.identity) {
            continue;
        }
        if cols.iter().any(|c| fk_of.contains_key(c.name.as_str())) {
            plan.warnings.push(format!(
                "{label}: foreign key {} shares columns with another one; its rows may not match a parent",
                fk.name
            ));
            continue;
        }
        let idx = plan.foreign_keys.len();
        for (pos, c) in cols.iter().enumerate() {
            fk_of.insert(c.name.as_str(), (idx, pos));
        }
        plan.foreign_keys.push(FkPlan {
            fk: fk.clone(),
            child_types: cols.iter().map(|c| c.formatted.clone()).collect(),
            nullable: cols.iter().all(|c| !c.not_null),
        });
    }

    let unique_cols = unique_carriers(t);

    for c in &t.columns {
        if c.generated {
            plan.left_to_server
                .push((c.name.clone(), "generated column".into()));
            continue;
        }
        if c.identity {
            plan.left_to_server
                .push((c.name.clone(), "identity column".into()));
            continue;
        }
        let ty = pg_type(c);
        if let Some(&(fk, position)) = fk_of.get(c.name.as_str()) {
            plan.columns.push(ColumnPlan {
                name: c.name.clone(),
                ty,
                formatted: c.formatted.clone(),
                not_null: c.not_null,
                source: Source::ForeignKey { fk, position },
            });
            continue;
        }
        if let Some(d) = &c.default
            && !c.default_is_constant
        {
            plan.left_to_server
                .push((c.name.clone(), format!("default {d}")));
            continue;
        }
        let hint = words::ascii_fold(&c.name);
        let Some(how) = gen_for(&hint, &c.base, c.typmod) else {
            if c.default.is_some() {
                plan.left_to_server
                    .push((c.name.clone(), format!("default {}", c.formatted)));
                continue;
            }
            if !c.not_null {
                plan.warnings.push(format!(
                    "{label}.{}: type {} cannot be generated; the column is left NULL",
                    c.name, c.formatted
                ));
                plan.columns.push(ColumnPlan {
                    name: c.name.clone(),
                    ty,
                    formatted: c.formatted.clone(),
                    not_null: false,
                    source: Source::AlwaysNull,
                });
                continue;
            }
            bail!(
                "cannot seed {label}: column {} has type {}, which syncwatch cannot generate (it knows {SUPPORTED}); give the column a default or allow NULL in it, or seed another table",
                crate::logic::quote::ident(&c.name),
                c.formatted
            );
        };
        let unique = unique_cols.contains(&c.name.as_str());
        if unique && !how.can_be_unique() {
            plan.warnings.push(format!(
                "{label}.{}: in a unique index, but values of type {} cannot be made unique; some rows may be refused",
                c.name, c.formatted
            ));
        }
        let null_rate = if c.not_null || unique { 0.0 } else { NULL_RATE };
        plan.columns.push(ColumnPlan {
            name: c.name.clone(),
            ty,
            formatted: c.formatted.clone(),
            not_null: c.not_null,
            source: Source::Generate {
                how,
                null_rate,
                unique,
            },
        });
    }
    Ok(plan)
}

/// One column per unique index that will carry unique values: a single-column index's
/// own column, else its first column that is generated (not a key copied from a parent).
fn unique_carriers(t: &TableFacts) -> Vec<&str> {
    let fk_cols: Vec<&str> = t
        .foreign_keys
        .iter()
        .flat_map(|f| f.columns.iter().map(String::as_str))
        .collect();
    let server_filled = |name: &str| {
        t.column(name).is_none_or(|c| {
            c.identity || c.generated || (c.default.is_some() && !c.default_is_constant)
        })
    };
    let mut out: Vec<&str> = Vec::new();
    for index in &t.unique {
        // An index with a server-numbered column is unique already.
        if index.iter().any(|c| server_filled(c)) {
            continue;
        }
        if let Some(c) = index.iter().find(|c| !fk_cols.contains(&c.as_str()))
            && !out.contains(&c.as_str())
        {
            out.push(c.as_str());
        }
    }
    out
}

/// The type a column's values are sent as.
fn pg_type(c: &ColumnFacts) -> Type {
    Type::from_oid(c.type_oid).unwrap_or_else(|| {
        Type::new(
            c.type_name.clone(),
            c.type_oid,
            PgKind::Simple,
            c.type_schema.clone(),
        )
    })
}

/// How to generate a type, given the column's name (folded to ASCII, no separators).
pub fn gen_for(hint: &str, t: &TypeFacts, typmod: i32) -> Option<Gen> {
    if t.kind == 'e' {
        return (!t.enum_labels.is_empty()).then(|| Gen::Enum(t.enum_labels.clone()));
    }
    if t.kind != 'b' {
        return None;
    }
    let text = |max_chars: Option<usize>| Gen::Text {
        style: text_style(hint),
        max_chars,
    };
    let length = (typmod >= 4).then(|| (typmod - 4) as usize);
    Some(match t.name.as_str() {
        "bool" => bool_gen(hint),
        "int2" => int_gen(hint, 2),
        "int4" => int_gen(hint, 4),
        "int8" => int_gen(hint, 8),
        "float4" | "float8" => {
            let (lo, hi) = if has(hint, &["latitude"]) || hint == "lat" {
                (-90.0, 90.0)
            } else if has(hint, &["longitude"]) || hint == "lon" || hint == "lng" {
                (-180.0, 180.0)
            } else if has(hint, &["score", "rating", "note"]) {
                (0.0, 5.0)
            } else {
                (0.0, 1000.0)
            };
            Gen::Float {
                double: t.name == "float8",
                lo,
                hi,
            }
        }
        "numeric" => numeric_gen(hint, typmod),
        "money" => Gen::Money,
        "text" | "citext" => text(None),
        "varchar" | "bpchar" => text(length),
        "name" => text(Some(63)),
        "bytea" => Gen::Bytea,
        "date" => Gen::Date(date_style(hint)),
        "timestamp" | "timestamptz" => Gen::Timestamp(date_style(hint)),
        "time" => Gen::Time,
        "timetz" => Gen::TimeTz,
        "interval" => Gen::Interval,
        "uuid" => Gen::Uuid,
        "json" => Gen::Json,
        "jsonb" => Gen::Jsonb,
        "inet" => Gen::Inet { cidr: false },
        "cidr" => Gen::Inet { cidr: true },
        "macaddr" => Gen::MacAddr,
        "vector" => Gen::Vector {
            dim: if typmod > 0 { typmod as usize } else { 3 },
        },
        n if n.starts_with('_') => {
            let elem = t.elem.as_deref()?;
            if elem.elem.is_some() || elem.name.starts_with('_') {
                return None;
            }
            Gen::Array {
                elem_oid: elem.oid,
                elem: Box::new(gen_for(hint, elem, typmod)?),
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::seed::facts::sample::*;

    #[test]
    fn an_unknown_type_names_table_column_and_type() {
        let mut t = tache();
        t.columns.push(col("doc", "xml", 142, -1, true));
        let err = plan(&t).unwrap_err().to_string();
        assert!(err.contains("public.tache"), "{err}");
        assert!(err.contains("\"doc\""), "{err}");
        assert!(err.contains("type xml"), "{err}");
        // Nullable or defaulted, it is left alone instead.
        t.columns.last_mut().unwrap().not_null = false;
        let p = plan(&t).unwrap();
        assert_eq!(p.columns.last().unwrap().source, Source::AlwaysNull);
        assert_eq!(p.warnings.len(), 1);
        t.columns.last_mut().unwrap().default = Some("'<a/>'::xml".into());
        let p = plan(&t).unwrap();
        assert!(p.left_to_server.iter().any(|(c, _)| c == "doc"));
    }

    #[test]
    fn computed_defaults_identity_and_generated_columns_are_left_to_the_server() {
        let mut t = tache();
        t.columns.push(ColumnFacts {
            default: Some("now()".into()),
            ..col("created_at", "timestamptz", 1184, -1, true)
        });
        t.columns.push(ColumnFacts {
            identity: true,
            ..col("n", "int8", 20, -1, true)
        });
        t.columns.push(ColumnFacts {
            generated: true,
            ..col("g", "int4", 23, -1, false)
        });
        let p = plan(&t).unwrap();
        let left: Vec<&str> = p.left_to_server.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(left, ["id", "created_at", "n", "g"]);
    }
}
