//! The diff's SQL text (the catalog read that feeds it is [`crate::io::pg::catalog::describe_table`]). Every identifier goes through [`quote`]; every key value is sent
//! back as a quoted literal cast to that side's column type, so keys of any type and any
//! name round-trip. Values are compared in a canonical text form per type family, so a
//! `vector` and its text form, `timestamp` and `timestamptz`, or numerics of different
//! scale read equal where the values are.

use super::plan::{Key, Range, runs};
use crate::logic::mapping::Mapping;
use crate::logic::quote;
use crate::logic::types::{self, Family};
use crate::model::side::Side;

/// Settings of each diff transaction: both sides print values the same way whatever
/// their configuration (time zone, date style, float digits). `enable_sort = off`: the
/// planner cannot know that a segment number has few values, expects as many groups as
/// rows and sorts every row (2.5× slower on 2 M rows) where a hash aggregate of a few
/// thousand groups is right; orders that only a sort can give still get one.
/// `jit = off`: compiling a segment query's search over thousands of key literals took
/// 10 s of a 11 s diff of 1 M uuid rows, for a query that then runs in half a second.
pub const SESSION_SETUP: &str = "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; \
     SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 1; \
     SET LOCAL bytea_output = 'hex'; SET LOCAL enable_sort = off; SET LOCAL jit = off";

/// A column as the catalog describes it on one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// `format_type`: valid SQL for a cast, e.g. `character varying(50)`, `vector(3)`.
    pub type_sql: String,
    /// The base type's `typname` (domains resolved), e.g. `int4`, `timestamptz`.
    pub base: String,
    /// The collation's name (`default` resolved to the database's), for collatable types.
    pub collation: Option<String>,
}

/// A table as the catalog describes it on one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDesc {
    pub columns: Vec<ColumnInfo>,
    /// Primary-key columns in key order; empty without a primary key.
    pub key: Vec<String>,
    /// Planner's estimate of the rows (sizes the first cut; never trusted for results).
    pub estimate: i64,
}

impl TableDesc {
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// How one compared column is read on each side: a canonical value (printed as text in
/// the rows of a table without a key) and a typed hash of it (combined per row, summed
/// per segment, and compared column by column for a changed row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canon {
    pub src: String,
    pub dst: String,
    /// The extended hash function (`f(value, seed) -> int8`) applied to `*_hash_arg`.
    pub hash_fn: &'static str,
    pub src_hash_arg: String,
    pub dst_hash_arg: String,
}

impl Canon {
    /// The same expressions on both sides.
    fn same(value: String, hash_fn: &'static str, hash_arg: String) -> Canon {
        Canon {
            src: value.clone(),
            dst: value,
            hash_fn,
            src_hash_arg: hash_arg.clone(),
            dst_hash_arg: hash_arg,
        }
    }
}

/// The canonical reading of column `ident` (already quoted) given each side's base type.
/// Printed as text, both values give the same string exactly when the values are equal;
/// both hashes agree whenever the values are equal. Types are hashed by their own hash
/// functions where both sides share a type: about twice as fast as hashing their text.
pub fn canonical(ident: &str, src_base: &str, dst_base: &str) -> Canon {
    let (fs, fd) = (types::of_base(src_base), types::of_base(dst_base));
    let has = |f: Family| fs == f || fd == f;
    let same_base = src_base == dst_base;
    let text = |v: String| Canon::same(v.clone(), "hashtextextended", format!("({v})::text"));
    if has(Family::Vector) {
        // Through float4[]: `[1,2]`, `[1.0, 2.0]` and a vector all read `{1,2}`, with no
        // need for pgvector on a side that stores the text form.
        let v = format!("(string_to_array(btrim({ident}::text, '[] '), ',')::float4[])");
        return Canon::same(v.clone(), "hash_array_extended", v);
    }
    if has(Family::Numeric)
        && [fs, fd]
            .iter()
            .all(|f| matches!(f, Family::Numeric | Family::Int | Family::Float))
    {
        // numeric's hash ignores the scale, as its equality does.
        return Canon::same(
            format!("trim_scale({ident}::numeric)"),
            "hash_numeric_extended",
            format!("{ident}::numeric"),
        );
    }
    if fs == Family::Int && fd == Family::Int {
        return if same_base {
            let f = match src_base {
                "int2" => "hashint2extended",
                "int4" => "hashint4extended",
                _ => "hashint8extended",
            };
            Canon::same(ident.to_string(), f, ident.to_string())
        } else {
            Canon::same(
                ident.to_string(),
                "hashint8extended",
                format!("{ident}::int8"),
            )
        };
    }
    if has(Family::Timestamp) && !same_base {
        // With TimeZone = UTC (SESSION_SETUP), a timestamptz reads as its UTC wall time.
        let v = format!("{ident}::timestamp");
        return Canon::same(v.clone(), "timestamp_hash_extended", v);
    }
    if has(Family::Json) {
        let v = format!("{ident}::jsonb");
        return Canon::same(v.clone(), "jsonb_hash_extended", v);
    }
    if !same_base {
        return text(format!("{ident}::text"));
    }
    let id = ident.to_string();
    match src_base {
        "text" | "varchar" => Canon::same(id.clone(), "hashtextextended", id),
        "bpchar" => Canon::same(id.clone(), "hashbpcharextended", id),
        "float4" => Canon::same(id.clone(), "hashfloat4extended", id),
        "float8" => Canon::same(id.clone(), "hashfloat8extended", id),
        "uuid" => Canon::same(id.clone(), "uuid_hash_extended", id),
        "bool" => Canon::same(id.clone(), "hashint4extended", format!("{ident}::int4")),
        "timestamp" => Canon::same(id.clone(), "timestamp_hash_extended", id),
        "timestamptz" | "date" => Canon::same(
            id.clone(),
            "timestamp_hash_extended",
            format!("{ident}::timestamp"),
        ),
        _ => text(id),
    }
}

/// The parameter `$1` of a segment query, if any: range starts for `width_bucket`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bounds {
    None,
    Ints(Vec<i64>),
    /// Key values as text, cast to the key's type by the query.
    Texts(Vec<String>),
}

/// A key column as both sides read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCol {
    pub name: String,
    pub src_type: String,
    pub dst_type: String,
    pub integer: bool,
    /// The two sides order this column by different collations: compare by bytes.
    pub collate_c: bool,
    /// The same fixed-length, non-collatable type on both sides (uuid, timestamps…).
    pub fixed: bool,
}

/// A compared column: how each side reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compared {
    pub name: String,
    pub canon: Canon,
}

/// What is compared and how, for one table on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    /// `"schema"."table"` on the source and on the destination (where the consumer
    /// writes it: Airbyte may use another schema, a prefix and its own name rules).
    pub src_table: String,
    pub dst_table: String,
    /// The key columns (the source's primary key); empty compares whole rows.
    pub key: Vec<KeyCol>,
    pub compared: Vec<Compared>,
    /// Rows that are not live on a side (Airbyte soft deletes), excluded everywhere.
    pub src_filter: Option<String>,
    pub dst_filter: Option<String>,
}

/// Alias of the list of keys joined to a table; odd enough not to meet a real column.
const KEYS_ALIAS: &str = "syncwatch·keys";

fn key_alias_col(i: usize) -> String {
    quote::ident(&format!("syncwatch·k{i}"))
}

impl Shape {
    /// A single integer key: segments are integer ranges, cut by arithmetic.
    pub fn int_key(&self) -> bool {
        self.key.len() == 1 && self.key[0].integer
    }

    pub fn int_cols(&self) -> Vec<bool> {
        self.key.iter().map(|k| k.integer).collect()
    }

    pub fn column_names(&self) -> Vec<String> {
        self.compared.iter().map(|c| c.name.clone()).collect()
    }

    fn table(&self, side: Side) -> &str {
        side.pick(&self.src_table, &self.dst_table)
    }

    fn filter(&self, side: Side) -> Option<&str> {
        side.pick(&self.src_filter, &self.dst_filter).as_deref()
    }

    fn key_type<'a>(&self, k: &'a KeyCol, side: Side) -> &'a str {
        side.pick(&k.src_type, &k.dst_type)
    }

    /// The key as an ordering expression: `(a, b COLLATE "C")`, or `a` alone.
    fn key_expr(&self) -> String {
        let parts: Vec<String> = self.key.iter().map(key_column).collect();
        if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// `ORDER BY` list for the key.
    fn key_order(&self) -> String {
        self.key
            .iter()
            .map(key_column)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A key value as a literal of that side's key type.
    pub fn key_literal(&self, side: Side, key: &Key) -> String {
        let parts: Vec<String> = self
            .key
            .iter()
            .zip(key.iter())
            .map(|(k, v)| format!("{}::{}", quote::literal(v), self.key_type(k, side)))
            .collect();
        if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    /// The key columns as text, to be read back into a [`Key`].
    fn key_texts(&self) -> String {
        self.key
            .iter()
            .map(|k| format!("{}::text", quote::ident(&k.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn exprs(&self, side: Side) -> impl Iterator<Item = &str> {
        self.compared
            .iter()
            .map(move |c| side.pick(&c.canon.src, &c.canon.dst).as_str())
    }

    /// The row's compared columns as one text (record syntax keeps NULL, empty and
    /// values with commas apart): how a keyless row is shown.
    fn row_text(&self, side: Side) -> String {
        format!(
            "ROW({})::text",
            self.exprs(side).collect::<Vec<_>>().join(", ")
        )
    }

    /// Each compared column's 64-bit hash, seeded by its position (so values cannot
    /// trade places unseen); NULL stays NULL.
    fn column_hashes(&self, side: Side) -> impl Iterator<Item = (i64, String)> + '_ {
        self.compared.iter().enumerate().map(move |(i, c)| {
            let seed = i as i64 + 1;
            let arg = side.pick(&c.canon.src_hash_arg, &c.canon.dst_hash_arg);
            (seed, format!("{}({arg}, {seed})", c.canon.hash_fn))
        })
    }

    /// A 64-bit hash of the row's canonical values: the column hashes, NULL as the
    /// seed's negation, all XORed. Several times cheaper than hashing the record's text,
    /// whose output function prints, quotes and copies every value.
    fn row_hash(&self, side: Side) -> String {
        let parts: Vec<String> = self
            .column_hashes(side)
            .map(|(seed, h)| format!("coalesce({h}, -{seed})"))
            .collect();
        format!("({})", parts.join(" # "))
    }

    fn range_pred(&self, side: Side, r: &Range) -> Option<String> {
        match r {
            Range::Int { lo, hi } => Some(format!(
                "{} BETWEEN {lo} AND {hi}",
                quote::ident(&self.key[0].name)
            )),
            Range::Keys { lo, hi } => {
                let k = self.key_expr();
                let mut parts = Vec::new();
                if let Some(lo) = lo {
                    parts.push(format!("{k} >= {}", self.key_literal(side, lo)));
                }
                if let Some(hi) = hi {
                    parts.push(format!("{k} < {}", self.key_literal(side, hi)));
                }
                (!parts.is_empty()).then(|| parts.join(" AND "))
            }
        }
    }

    /// ` WHERE …` selecting the rows of `ranges` (merged into runs) that are live on
    /// `side`, or the empty string when that is every row.
    pub fn where_clause(&self, side: Side, ranges: &[Range]) -> String {
        let mut preds: Vec<String> = Vec::new();
        let merged = runs(ranges);
        let ors: Vec<Option<String>> = merged.iter().map(|r| self.range_pred(side, r)).collect();
        if !ors.iter().any(Option::is_none) && !ors.is_empty() {
            let ors: Vec<String> = ors.into_iter().flatten().collect();
            preds.push(if ors.len() == 1 {
                ors[0].clone()
            } else {
                format!("({})", ors.join(" OR "))
            });
        }
        if let Some(f) = self.filter(side) {
            preds.push(f.to_string());
        }
        if preds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", preds.join(" AND "))
        }
    }

    /// The 1-based index of the range a row falls in, given `ranges` sorted and disjoint
    /// and rows restricted to them: `width_bucket` over the starts for integers (the
    /// starts are parameter `$1`), a binary search written as nested `CASE` otherwise.
    fn bucket_expr(&self, side: Side, ranges: &[Range]) -> (String, Bounds) {
        if self.int_key()
            && let Some((first, width)) = crate::logic::diff::plan::uniform_int(ranges)
        {
            // One subtraction and one division per row: a third of width_bucket's cost
            // on the first cut, which reads every row.
            let e = format!(
                "(({}::int8 - ({first})::int8) / {width} + 1)::int4",
                quote::ident(&self.key[0].name)
            );
            return (e, Bounds::None);
        }
        if self.int_key() {
            let starts = ranges
                .iter()
                .map(|r| match r {
                    Range::Int { lo, .. } => *lo,
                    Range::Keys { .. } => i64::MIN,
                })
                .collect();
            let e = format!(
                "width_bucket({}::int8, $1::int8[])",
                quote::ident(&self.key[0].name)
            );
            return (e, Bounds::Ints(starts));
        }
        if self.key.len() == 1 && self.key[0].fixed && !ranges.is_empty() {
            // width_bucket's binary search over a fixed-length type runs in C; the CASE
            // tree below costs an expression step per comparison.
            let los: Vec<Option<&Key>> = ranges
                .iter()
                .map(|r| match r {
                    Range::Keys { lo, .. } => lo.as_ref(),
                    Range::Int { .. } => None,
                })
                .collect();
            // Rows below the first threshold land in 0: the range unbounded below.
            let (skip, plus) = if los[0].is_none() {
                (1, " + 1")
            } else {
                (0, "")
            };
            let thresholds: Option<Vec<String>> = los[skip..]
                .iter()
                .map(|l| l.and_then(|k| k.first().cloned()))
                .collect();
            if let Some(t) = thresholds {
                if t.is_empty() {
                    return ("1".to_string(), Bounds::None);
                }
                let e = format!(
                    "(width_bucket({}, $1::text[]::{}[]){plus})",
                    quote::ident(&self.key[0].name),
                    self.key_type(&self.key[0], side)
                );
                return (e, Bounds::Texts(t));
            }
        }
        let k = self.key_expr();
        let starts: Vec<Option<&Key>> = ranges
            .iter()
            .map(|r| match r {
                Range::Keys { lo, .. } => lo.as_ref(),
                Range::Int { .. } => None,
            })
            .collect();
        fn tree(
            shape: &Shape,
            side: Side,
            k: &str,
            starts: &[Option<&Key>],
            base: usize,
        ) -> String {
            if starts.len() <= 1 {
                return (base + 1).to_string();
            }
            let mid = starts.len() / 2;
            match starts[mid] {
                Some(lo) => format!(
                    "CASE WHEN {k} < {} THEN {} ELSE {} END",
                    shape.key_literal(side, lo),
                    tree(shape, side, k, &starts[..mid], base),
                    tree(shape, side, k, &starts[mid..], base + mid)
                ),
                // Only the first range is unbounded below; never a midpoint.
                None => tree(shape, side, k, &starts[mid..], base + mid),
            }
        }
        (tree(self, side, &k, &starts, 0), Bounds::None)
    }

    /// Per range (1-based index): row count and the sum of row hashes, as text.
    pub fn aggregate_sql(&self, side: Side, ranges: &[Range]) -> (String, Bounds) {
        let (bucket, params) = self.bucket_expr(side, ranges);
        let sql = format!(
            "SELECT {bucket} AS b, count(*), sum({})::text FROM {}{} GROUP BY 1",
            self.row_hash(side),
            self.table(side),
            self.where_clause(side, ranges)
        );
        (sql, params)
    }

    /// Each row of `ranges`: the key as text, then the row's hash.
    pub fn row_hashes_sql(&self, side: Side, ranges: &[Range]) -> String {
        format!(
            "SELECT {}, {} FROM {}{}",
            self.key_texts(),
            self.row_hash(side),
            self.table(side),
            self.where_clause(side, ranges)
        )
    }

    /// Smallest and largest integer key.
    pub fn min_max_sql(&self, side: Side) -> String {
        let k = quote::ident(&self.key[0].name);
        format!(
            "SELECT min({k})::int8, max({k})::int8 FROM {}{}",
            self.table(side),
            self.where_clause(side, &[])
        )
    }

    /// Keys of a sample of the table's pages, in key order (to place the first cuts).
    pub fn sample_sql(&self, side: Side, percent: f64) -> String {
        format!(
            "SELECT {} FROM {} TABLESAMPLE SYSTEM ({percent:.6}) REPEATABLE (7){} ORDER BY {}",
            self.key_texts(),
            self.table(side),
            self.where_clause(side, &[]),
            self.key_order()
        )
    }

    /// For each segment (0-based `i`, with `every`), the key of every `every`-th row after
    /// the first, in key order: the points that cut it into parts of `every` rows.
    pub fn split_points_sql(&self, side: Side, segments: &[(usize, &Range, u64)]) -> String {
        let cols: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{}::text AS {}", quote::ident(&k.name), key_alias_col(i)))
            .collect();
        let outs: Vec<String> = (0..self.key.len()).map(key_alias_col).collect();
        let parts: Vec<String> = segments
            .iter()
            .map(|(i, r, every)| {
                format!(
                    "SELECT {i} AS seg, rn, {outs} FROM (SELECT {cols}, row_number() OVER (ORDER BY {order}) AS rn FROM {table}{w}) s WHERE rn > 1 AND (rn - 1) % {every} = 0",
                    outs = outs.join(", "),
                    cols = cols.join(", "),
                    order = self.key_order(),
                    table = self.table(side),
                    w = self.where_clause(side, std::slice::from_ref(*r)),
                    every = (*every).max(1),
                )
            })
            .collect();
        format!(
            "SELECT {} FROM ({}) p ORDER BY seg, rn",
            std::iter::once("seg".to_string())
                .chain(outs)
                .collect::<Vec<_>>()
                .join(", "),
            parts.join(" UNION ALL ")
        )
    }

    /// The table joined to a list of keys given as one `text[]` parameter per key column.
    fn keyed_from(&self, side: Side) -> String {
        let params: Vec<String> = (1..=self.key.len())
            .map(|i| format!("${i}::text[]"))
            .collect();
        let alias_cols: Vec<String> = (0..self.key.len()).map(key_alias_col).collect();
        let on: Vec<String> = self
            .key
            .iter()
            .enumerate()
            .map(|(i, k)| {
                format!(
                    "{}.{} = {}.{}::{}",
                    self.table(side),
                    quote::ident(&k.name),
                    quote::ident(KEYS_ALIAS),
                    key_alias_col(i),
                    self.key_type(k, side)
                )
            })
            .collect();
        let filter = self
            .filter(side)
            .map(|f| format!(" WHERE {f}"))
            .unwrap_or_default();
        format!(
            "{} JOIN unnest({}) AS {}({}) ON {}{filter}",
            self.table(side),
            params.join(", "),
            quote::ident(KEYS_ALIAS),
            alias_cols.join(", "),
            on.join(" AND ")
        )
    }

    fn qualified_key_texts(&self, side: Side) -> String {
        self.key
            .iter()
            .map(|k| format!("{}.{}::text", self.table(side), quote::ident(&k.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// For the listed keys: the key as text, then the row's hash.
    pub fn keyed_hashes_sql(&self, side: Side) -> String {
        format!(
            "SELECT {}, {} FROM {}",
            self.qualified_key_texts(side),
            self.row_hash(side),
            self.keyed_from(side)
        )
    }

    /// For the listed keys, on the source: the key as text, then the age of the
    /// transaction that wrote the row's version (`age(xmin)`), to tell whether the slot's
    /// consumer has read it.
    pub fn keyed_xmin_age_sql(&self) -> String {
        let side = Side::Source;
        format!(
            "SELECT {}, age({}.xmin) FROM {}",
            self.qualified_key_texts(side),
            self.table(side),
            self.keyed_from(side)
        )
    }

    /// For the listed keys: the key as text, then each compared column's hash (the ones
    /// [`Shape::row_hash`] combines). Hashes, not values: a changed row's columns are
    /// told apart without bringing its values, however large, to the client.
    pub fn keyed_column_hashes_sql(&self, side: Side) -> String {
        let cols: Vec<String> = self.column_hashes(side).map(|(_, h)| h).collect();
        format!(
            "SELECT {}, {} FROM {}",
            self.qualified_key_texts(side),
            cols.join(", "),
            self.keyed_from(side)
        )
    }

    /// Keyless tables: per hash bucket (of `buckets`, a power of two, 0-based): rows and
    /// the sum of their hashes.
    pub fn bag_aggregate_sql(&self, side: Side, buckets: u64) -> String {
        format!(
            "SELECT h & {mask} AS b, count(*), sum(h)::text FROM (SELECT {} AS h FROM {}{}) r GROUP BY 1",
            self.row_hash(side),
            self.table(side),
            self.where_clause(side, &[]),
            mask = buckets.saturating_sub(1)
        )
    }

    /// Keyless tables: the distinct rows as text (with occurrences) of the buckets in
    /// `$1`; only those rows are printed.
    pub fn bag_rows_sql(&self, side: Side, buckets: u64) -> String {
        let live = self
            .filter(side)
            .map(|f| format!(" AND {f}"))
            .unwrap_or_default();
        format!(
            "SELECT {} AS rt, count(*) FROM {} WHERE {} & {mask} = ANY ($1::int8[]){live} GROUP BY 1",
            self.row_text(side),
            self.table(side),
            self.row_hash(side),
            mask = buckets.saturating_sub(1)
        )
    }

    /// Keyless tables: occurrences of the rows (as text) in `$1`.
    pub fn bag_count_sql(&self, side: Side) -> String {
        format!(
            "SELECT rt, count(*) FROM (SELECT {} AS rt FROM {}{}) r WHERE rt = ANY ($1::text[]) GROUP BY rt",
            self.row_text(side),
            self.table(side),
            self.where_clause(side, &[])
        )
    }
}

/// What to compare for table `source` (and where it lands, `dest`) given both sides'
/// descriptions: the columns on both sides (Airbyte's aside; a source column is looked
/// for under the name `mapping` gives it, e.g. Airbyte's `due_date` for `due date`),
/// keyed by the source's primary key when the destination has those columns under the
/// same names. `Err` when no column is shared. The notes say what is left out.
pub fn build_shape(
    (schema, table): (&str, &str),
    (dest_schema, dest_table): (&str, &str),
    src: &TableDesc,
    dst: &TableDesc,
    mapping: &Mapping,
) -> Result<(Shape, Vec<String>), String> {
    use crate::model::snapshot::is_airbyte_column;
    let mut notes = Vec::new();
    let mut compared = Vec::new();
    for c in src.columns.iter().filter(|c| !is_airbyte_column(&c.name)) {
        let on_dest = mapping.column_of(&c.name);
        match dst.column(&on_dest) {
            Some(d) => {
                let mut canon = canonical(&quote::ident(&c.name), &c.base, &d.base);
                if on_dest != c.name {
                    // Each side reads its own name; the canonical forms are the same.
                    let there = canonical(&quote::ident(&on_dest), &c.base, &d.base);
                    canon.dst = there.dst;
                    canon.dst_hash_arg = there.dst_hash_arg;
                }
                compared.push(Compared {
                    name: c.name.clone(),
                    canon,
                });
            }
            None => notes.push(format!(
                "column {} is only on the source: not compared",
                c.name
            )),
        }
    }
    for d in dst.columns.iter().filter(|c| !is_airbyte_column(&c.name)) {
        let from_source = src
            .columns
            .iter()
            .any(|c| mapping.column_of(&c.name) == d.name);
        if !from_source {
            notes.push(format!(
                "column {} is only on the destination: not compared",
                d.name
            ));
        }
    }
    if compared.is_empty() {
        return Err(format!("{schema}.{table}"));
    }
    let mut key = Vec::new();
    for name in &src.key {
        // Key columns are named alike in every statement: a renamed key (rare: keys are
        // plain names) compares whole rows.
        let (Some(s), Some(d)) = (
            src.column(name),
            dst.column(name)
                .filter(|_| mapping.column_of(name) == *name),
        ) else {
            notes.push(format!(
                "key column {name} is not on the destination: whole rows compared instead"
            ));
            key.clear();
            break;
        };
        key.push(KeyCol {
            name: name.clone(),
            src_type: s.type_sql.clone(),
            dst_type: d.type_sql.clone(),
            integer: types::of_base(&s.base) == Family::Int
                && types::of_base(&d.base) == Family::Int,
            collate_c: s.collation != d.collation,
            fixed: s.base == d.base
                && matches!(
                    s.base.as_str(),
                    "uuid" | "date" | "timestamp" | "timestamptz" | "time" | "float4" | "float8"
                ),
        });
    }
    if src.key.is_empty() {
        notes.push(
            "no primary key on the source: whole rows compared as multisets (no \"changed\", only missing and extra)"
                .to_string(),
        );
    }
    for k in key.iter().filter(|k| k.collate_c) {
        notes.push(format!(
            "key column {} sorts by different collations on the two sides: compared byte by byte (COLLATE \"C\"), without its index",
            k.name
        ));
    }
    let filter = |t: &TableDesc| {
        t.column("_ab_cdc_deleted_at")
            .map(|_| format!("{} IS NULL", quote::ident("_ab_cdc_deleted_at")))
    };
    Ok((
        Shape {
            src_table: quote::qualified(schema, table),
            dst_table: quote::qualified(dest_schema, dest_table),
            key,
            compared,
            src_filter: filter(src),
            dst_filter: filter(dst),
        },
        notes,
    ))
}

/// A key column as the key expressions name it: byte order (`COLLATE "C"`) where the two
/// sides' collations differ.
fn key_column(k: &KeyCol) -> String {
    let id = quote::ident(&k.name);
    if k.collate_c {
        format!("{id} COLLATE \"C\"")
    } else {
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(key: Vec<KeyCol>) -> Shape {
        Shape {
            src_table: quote::qualified("public", "Tâche Ω"),
            dst_table: quote::qualified("public", "Tâche Ω"),
            key,
            compared: vec![
                Compared {
                    name: "id".into(),
                    canon: canonical("\"id\"", "int4", "int8"),
                },
                Compared {
                    name: "a\"b".into(),
                    canon: canonical("\"a\"\"b\"", "varchar", "text"),
                },
            ],
            src_filter: None,
            dst_filter: Some("\"_ab_cdc_deleted_at\" IS NULL".into()),
        }
    }

    fn int_key() -> KeyCol {
        KeyCol {
            name: "id".into(),
            src_type: "integer".into(),
            dst_type: "bigint".into(),
            integer: true,
            collate_c: false,
            fixed: false,
        }
    }

    fn text_key(name: &str, collate_c: bool) -> KeyCol {
        KeyCol {
            name: name.into(),
            src_type: "text".into(),
            dst_type: "character varying(20)".into(),
            integer: false,
            collate_c,
            fixed: false,
        }
    }

    #[test]
    fn canonical_forms_meet_across_types() {
        let c = canonical("\"v\"", "vector", "text");
        assert_eq!(c.src, c.dst);
        assert!(c.src.contains("float4[]"), "{c:?}");
        assert_eq!(c.hash_fn, "hash_array_extended");
        let c = canonical("\"n\"", "numeric", "numeric");
        assert_eq!(c.src, "trim_scale(\"n\"::numeric)");
        assert_eq!(
            (c.hash_fn, c.src_hash_arg.as_str()),
            ("hash_numeric_extended", "\"n\"::numeric")
        );
        assert_eq!(
            canonical("\"n\"", "int4", "numeric").dst,
            "trim_scale(\"n\"::numeric)"
        );
        let c = canonical("\"t\"", "timestamp", "timestamptz");
        assert_eq!(
            (c.src.as_str(), c.dst.as_str()),
            ("\"t\"::timestamp", "\"t\"::timestamp")
        );
        assert_eq!(
            canonical("\"t\"", "timestamptz", "timestamptz").src,
            "\"t\""
        );
        assert_eq!(canonical("\"j\"", "json", "jsonb").dst, "\"j\"::jsonb");
        let c = canonical("\"x\"", "int4", "int4");
        assert_eq!((c.src.as_str(), c.hash_fn), ("\"x\"", "hashint4extended"));
        let c = canonical("\"x\"", "int4", "int8");
        assert_eq!(
            (c.hash_fn, c.dst_hash_arg.as_str()),
            ("hashint8extended", "\"x\"::int8")
        );
        let c = canonical("\"x\"", "varchar", "text");
        assert_eq!(
            (c.src.as_str(), c.hash_fn),
            ("\"x\"::text", "hashtextextended")
        );
        assert_eq!(
            canonical("\"p\"", "point", "point").src_hash_arg,
            "(\"p\")::text"
        );
    }

    #[test]
    fn every_identifier_is_quoted() {
        let s = shape(vec![text_key("a\"b", false)]);
        let sql = s.row_hashes_sql(Side::Source, &[Range::everything()]);
        assert!(sql.contains("FROM \"public\".\"Tâche Ω\""), "{sql}");
        assert!(sql.contains("\"a\"\"b\"::text"), "{sql}");
        let sql = s.keyed_column_hashes_sql(Side::Dest);
        assert!(
            sql.contains("\"public\".\"Tâche Ω\".\"a\"\"b\"::text"),
            "{sql}"
        );
        assert!(sql.contains("::character varying(20)"), "{sql}");
        assert!(
            sql.ends_with("WHERE \"_ab_cdc_deleted_at\" IS NULL"),
            "{sql}"
        );
    }

    #[test]
    fn integer_ranges_become_between_runs_and_width_bucket() {
        use crate::logic::diff::plan::split_int;
        let s = shape(vec![int_key()]);
        let ranges = vec![
            Range::Int { lo: 1, hi: 10 },
            Range::Int { lo: 11, hi: 20 },
            Range::Int { lo: 31, hi: 40 },
        ];
        let (sql, params) = s.aggregate_sql(Side::Source, &split_int(1, 100, 10));
        assert_eq!(params, Bounds::None);
        assert!(
            sql.starts_with("SELECT ((\"id\"::int8 - (1)::int8) / 10 + 1)::int4 AS b"),
            "{sql}"
        );
        let (sql, params) = s.aggregate_sql(Side::Source, &ranges);
        assert_eq!(params, Bounds::Ints(vec![1, 11, 31]));
        assert!(
            sql.contains("width_bucket(\"id\"::int8, $1::int8[])"),
            "{sql}"
        );
        assert!(
            sql.contains("WHERE (\"id\" BETWEEN 1 AND 20 OR \"id\" BETWEEN 31 AND 40)"),
            "{sql}"
        );
        let (sql, _) = s.aggregate_sql(Side::Dest, &ranges[..1]);
        assert!(
            sql.contains("WHERE \"id\" BETWEEN 1 AND 10 AND \"_ab_cdc_deleted_at\" IS NULL"),
            "{sql}"
        );
    }

    #[test]
    fn key_ranges_use_literals_of_each_sides_type() {
        let s = shape(vec![int_key(), text_key("name", true)]);
        let key = vec!["7".to_string(), "it's".to_string()];
        assert_eq!(
            s.key_literal(Side::Source, &key),
            "('7'::integer, 'it''s'::text)"
        );
        assert_eq!(
            s.key_literal(Side::Dest, &key),
            "('7'::bigint, 'it''s'::character varying(20))"
        );
        let r = Range::Keys {
            lo: Some(key.clone()),
            hi: None,
        };
        let w = s.where_clause(Side::Source, &[r]);
        assert_eq!(
            w,
            " WHERE (\"id\", \"name\" COLLATE \"C\") >= ('7'::integer, 'it''s'::text)"
        );
        assert_eq!(s.where_clause(Side::Source, &[Range::everything()]), "");
    }

    #[test]
    fn fixed_length_keys_use_width_bucket() {
        let mut key = text_key("u", false);
        key.fixed = true;
        key.src_type = "uuid".into();
        key.dst_type = "uuid".into();
        let s = shape(vec![key]);
        let k = |v: &str| vec![v.to_string()];
        let ranges = crate::logic::diff::plan::split_at(None, None, vec![k("1"), k("2")]);
        let (e, params) = s.bucket_expr(Side::Source, &ranges);
        assert_eq!(e, "(width_bucket(\"u\", $1::text[]::uuid[]) + 1)");
        assert_eq!(params, Bounds::Texts(vec!["1".into(), "2".into()]));
        let (e, params) = s.bucket_expr(Side::Dest, &ranges[1..]);
        assert_eq!(e, "(width_bucket(\"u\", $1::text[]::uuid[]))");
        assert_eq!(params, Bounds::Texts(vec!["1".into(), "2".into()]));
        let (e, _) = s.bucket_expr(Side::Dest, &[Range::everything()]);
        assert_eq!(e, "1");
    }

    #[test]
    fn case_tree_finds_every_range() {
        let s = shape(vec![text_key("k", false)]);
        let k = |v: &str| vec![v.to_string()];
        let ranges = crate::logic::diff::plan::split_at(None, None, vec![k("b"), k("d"), k("f")]);
        let (e, params) = s.bucket_expr(Side::Source, &ranges);
        assert_eq!(params, Bounds::None);
        // Two levels of comparisons for four ranges, every index present once.
        assert_eq!(e.matches("CASE WHEN").count(), 3, "{e}");
        for i in 1..=4 {
            assert_eq!(e.matches(&format!(" {i} ")).count(), 1, "{i} in {e}");
        }
    }

    fn col(name: &str, base: &str) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            type_sql: base.into(),
            base: base.into(),
            collation: None,
        }
    }

    #[test]
    fn airbyte_renamed_columns_are_compared_each_side_by_its_own_name() {
        let src = TableDesc {
            columns: vec![
                col("id", "int4"),
                col("due date", "date"),
                col("a\"b", "text"),
            ],
            key: vec!["id".into()],
            estimate: 10,
        };
        let dst = TableDesc {
            columns: vec![
                col("id", "int8"),
                col("due_date", "date"),
                col("a_b", "varchar"),
            ],
            key: vec![],
            estimate: 10,
        };
        let airbyte = Mapping::new(&crate::config::Settings::default());
        let (shape, notes) =
            build_shape(("public", "t"), ("public", "t"), &src, &dst, &airbyte).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(shape.column_names(), vec!["id", "due date", "a\"b"]);
        let due = &shape.compared[1].canon;
        assert!(
            due.src.contains("\"due date\"") && due.dst.contains("\"due_date\""),
            "{due:?}"
        );
        assert!(due.dst_hash_arg.contains("\"due_date\""), "{due:?}");
        let ab = &shape.compared[2].canon;
        assert!(
            ab.src.contains("\"a\"\"b\"") && ab.dst.contains("\"a_b\""),
            "{ab:?}"
        );
        // A subscription keeps names: the same columns are one-sided.
        let (_, notes) = build_shape(
            ("public", "t"),
            ("public", "t"),
            &src,
            &dst,
            &Mapping::default(),
        )
        .unwrap();
        assert_eq!(notes.len(), 4, "{notes:?}");
    }

    #[test]
    fn shape_compares_shared_columns_and_skips_airbytes() {
        let src = TableDesc {
            columns: vec![col("id", "int4"), col("title", "text"), col("old", "text")],
            key: vec!["id".into()],
            estimate: 10,
        };
        let dst = TableDesc {
            columns: vec![
                col("id", "int8"),
                col("title", "varchar"),
                col("_airbyte_raw_id", "varchar"),
                col("_ab_cdc_deleted_at", "timestamptz"),
                col("new", "text"),
            ],
            key: vec![],
            estimate: 10,
        };
        let (shape, notes) = build_shape(
            ("public", "t"),
            ("public", "t"),
            &src,
            &dst,
            &Mapping::default(),
        )
        .unwrap();
        assert_eq!(shape.column_names(), vec!["id", "title"]);
        assert!(shape.int_key());
        assert_eq!(shape.src_filter, None);
        assert_eq!(
            shape.dst_filter.as_deref(),
            Some("\"_ab_cdc_deleted_at\" IS NULL")
        );
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("old") && notes[1].contains("new"));

        let keyless = TableDesc {
            key: vec![],
            ..src.clone()
        };
        let (shape, notes) = build_shape(
            ("public", "t"),
            ("public", "t"),
            &keyless,
            &dst,
            &Mapping::default(),
        )
        .unwrap();
        assert!(shape.key.is_empty());
        assert!(notes.iter().any(|n| n.contains("multisets")));

        let nothing = TableDesc {
            columns: vec![col("other", "text")],
            key: vec![],
            estimate: 0,
        };
        assert!(
            build_shape(
                ("public", "t"),
                ("public", "t"),
                &src,
                &nothing,
                &Mapping::default()
            )
            .is_err()
        );
    }
}
