//! What the catalogs say about a table, as plain data: read by `pg::seed_catalog`, turned
//! into a generation plan by `generate` without any I/O.

use crate::logic::quote;

/// A type as the generator sees it: domains already resolved to their base type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeFacts {
    pub oid: u32,
    /// `pg_type.typname`, e.g. `int4`, `varchar`, `vector`, `_text`.
    pub name: String,
    /// `pg_type.typtype`: `b` base, `e` enum, `c` composite, `r` range, `m` multirange,
    /// `p` pseudo.
    pub kind: char,
    /// Labels of an enum, in sort order.
    pub enum_labels: Vec<String>,
    /// The element type of an array type.
    pub elem: Option<Box<TypeFacts>>,
}

impl TypeFacts {
    pub fn simple(oid: u32, name: &str) -> TypeFacts {
        TypeFacts {
            oid,
            name: name.to_string(),
            kind: 'b',
            enum_labels: Vec::new(),
            elem: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnFacts {
    pub name: String,
    /// The column's type as the server prints it (`character varying(50)`, `vector(3)`,
    /// `"Mon domaine"`): for messages and for casts in SQL text.
    pub formatted: String,
    /// The column's own type (a domain's oid when it is one): what COPY is told.
    pub type_oid: u32,
    pub type_name: String,
    pub type_schema: String,
    /// What values are generated for: the base type of a domain, else the type itself.
    pub base: TypeFacts,
    /// The type modifier that applies (the column's, else the domain's): varchar length,
    /// numeric precision and scale, vector dimension; −1 when none.
    pub typmod: i32,
    /// NOT NULL on the column or on its domain.
    pub not_null: bool,
    /// The default expression, as `pg_get_expr` prints it.
    pub default: Option<String>,
    /// The default is a plain constant (`false`, `'todo'`), not a computation.
    pub default_is_constant: bool,
    /// `GENERATED … AS IDENTITY`.
    pub identity: bool,
    /// `GENERATED ALWAYS AS (…) STORED`.
    pub generated: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    /// Columns of the referencing (child) table, in key order.
    pub columns: Vec<String>,
    pub parent_schema: String,
    pub parent_table: String,
    /// The referenced columns, matching `columns` one for one.
    pub parent_columns: Vec<String>,
    /// `pg_constraint.confdeltype`: `a` no action, `r` restrict, `c` cascade, `n` set null,
    /// `d` set default.
    pub on_delete: char,
}

/// A foreign key of another table (or of this one) that points at this table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    pub child_schema: String,
    pub child_table: String,
    pub child_columns: Vec<String>,
    /// This table's referenced columns.
    pub columns: Vec<String>,
    pub on_delete: char,
}

impl Reference {
    /// Deleting a referenced row is refused while children point at it (as opposed to
    /// cascading to them or nulling their key).
    pub fn blocks_delete(&self) -> bool {
        !matches!(self.on_delete, 'c' | 'n')
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableFacts {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnFacts>,
    pub primary_key: Vec<String>,
    /// Columns of every unique index (the primary key's included).
    pub unique: Vec<Vec<String>>,
    pub foreign_keys: Vec<ForeignKey>,
    pub referenced_by: Vec<Reference>,
    /// The planner's idea of the row count (0 when never analysed).
    pub estimated_rows: i64,
    /// `pg_class.relreplident`: `d` default, `f` full, `i` index, `n` nothing.
    pub replica_identity: char,
}

impl TableFacts {
    /// `"schema"."table"`, for SQL text.
    pub fn qualified(&self) -> String {
        quote::qualified(&self.schema, &self.name)
    }

    /// `schema.table`, for people.
    pub fn label(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    pub fn column(&self, name: &str) -> Option<&ColumnFacts> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Whether `other` is this table.
    pub fn is(&self, schema: &str, name: &str) -> bool {
        self.schema == schema && self.name == name
    }
}

/// Hand-built catalog facts of the sample schema, for unit tests.
#[cfg(test)]
pub(crate) mod sample {
    use super::{ColumnFacts, ForeignKey, TableFacts, TypeFacts};

    pub fn col(name: &str, ty: &str, oid: u32, typmod: i32, not_null: bool) -> ColumnFacts {
        ColumnFacts {
            name: name.into(),
            formatted: ty.into(),
            type_oid: oid,
            type_name: ty.into(),
            type_schema: "pg_catalog".into(),
            base: TypeFacts::simple(oid, ty),
            typmod,
            not_null,
            default: None,
            default_is_constant: false,
            identity: false,
            generated: false,
        }
    }

    pub fn serial(name: &str) -> ColumnFacts {
        ColumnFacts {
            default: Some(format!("nextval('t_{name}_seq'::regclass)")),
            ..col(name, "int4", 23, -1, true)
        }
    }

    pub fn utilisateur() -> TableFacts {
        TableFacts {
            oid: 1,
            schema: "public".into(),
            name: "utilisateur".into(),
            columns: vec![
                serial("id"),
                col("username", "varchar", 1043, 54, true),
                col("email", "varchar", 1043, 259, true),
            ],
            primary_key: vec!["id".into()],
            unique: vec![
                vec!["id".into()],
                vec!["username".into()],
                vec!["email".into()],
            ],
            foreign_keys: vec![],
            referenced_by: vec![],
            estimated_rows: 0,
            replica_identity: 'd',
        }
    }

    pub fn tache() -> TableFacts {
        TableFacts {
            oid: 2,
            schema: "public".into(),
            name: "tache".into(),
            columns: vec![
                serial("id"),
                col("title", "varchar", 1043, 259, true),
                col("description", "text", 25, -1, false),
                col("due_date", "date", 1082, -1, false),
                ColumnFacts {
                    default: Some("false".into()),
                    default_is_constant: true,
                    ..col("is_completed", "bool", 16, -1, true)
                },
                col("utilisateur_id", "int4", 23, -1, false),
            ],
            primary_key: vec!["id".into()],
            unique: vec![vec!["id".into()]],
            foreign_keys: vec![ForeignKey {
                name: "tache_utilisateur_id_fkey".into(),
                columns: vec!["utilisateur_id".into()],
                parent_schema: "public".into(),
                parent_table: "utilisateur".into(),
                parent_columns: vec!["id".into()],
                on_delete: 'c',
            }],
            referenced_by: vec![],
            estimated_rows: 0,
            replica_identity: 'd',
        }
    }
}
