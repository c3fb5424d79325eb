//! Type families: which column types hold the same kind of value. One answer for the
//! column checks (is a destination column able to take the source's values?) and for the
//! diff (how to compare two columns' values).

/// A kind of value, whatever its width or spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Int,
    Numeric,
    Float,
    Text,
    Timestamp,
    Time,
    Json,
    Vector,
    Other,
}

/// The family of a `pg_type.typname`: `int4`, `varchar`, `timestamptz`, …
pub fn of_base(typname: &str) -> Family {
    match typname {
        "int2" | "int4" | "int8" => Family::Int,
        "numeric" => Family::Numeric,
        "float4" | "float8" => Family::Float,
        "text" | "varchar" | "bpchar" | "name" | "citext" => Family::Text,
        "timestamp" | "timestamptz" => Family::Timestamp,
        "time" | "timetz" => Family::Time,
        "json" | "jsonb" => Family::Json,
        "vector" => Family::Vector,
        _ => Family::Other,
    }
}

/// The family of a type as `format_type` prints it: `integer`, `character varying(255)`,
/// `timestamp with time zone`, `vector(3)`, …; arrays are told apart by [`is_array`].
pub fn of_sql(data_type: &str) -> Family {
    match base_name(data_type) {
        "smallint" | "integer" | "bigint" => Family::Int,
        "numeric" | "decimal" => Family::Numeric,
        "real" | "double precision" => Family::Float,
        "text" | "character varying" | "character" | "varchar" | "char" | "name" | "citext" => {
            Family::Text
        }
        "timestamp without time zone" | "timestamp with time zone" => Family::Timestamp,
        "time without time zone" | "time with time zone" => Family::Time,
        "json" | "jsonb" => Family::Json,
        "vector" => Family::Vector,
        _ => Family::Other,
    }
}

fn base_name(data_type: &str) -> &str {
    let t = data_type.trim_end_matches("[]");
    t.split('(').next().unwrap_or(t).trim()
}

pub fn is_array(data_type: &str) -> bool {
    data_type.ends_with("[]")
}

/// Whether values of a source column of type `src` replicate into a destination column
/// of type `dst` without error or loss: the same family, or a widening — an integer
/// into a wider integer or a number (`numeric`, `real`, `double precision`).
pub fn compatible(src: &str, dst: &str) -> bool {
    if is_array(src) != is_array(dst) {
        return false;
    }
    match (of_sql(src), of_sql(dst)) {
        (Family::Int, Family::Int | Family::Numeric | Family::Float) => true,
        (Family::Numeric | Family::Float, Family::Numeric | Family::Float) => true,
        (Family::Other, Family::Other) => base_name(src) == base_name(dst),
        (a, b) => a == b,
    }
}

/// The same for a destination written by Airbyte, which widens on the way: every scalar
/// it has no type for (`uuid`, `vector`, `json`, `interval`, `inet`, enums, …) arrives as
/// a string (`varchar`), arrays and objects as `jsonb`, integers as `bigint`, numbers as
/// `decimal`. A widening is not drift; a narrowing (text into integer) still is.
pub fn airbyte_compatible(src: &str, dst: &str) -> bool {
    if compatible(src, dst) {
        return true;
    }
    let dst_family = of_sql(dst);
    if is_array(dst) {
        return false;
    }
    match dst_family {
        Family::Text => true,
        Family::Json => is_array(src) || of_sql(src) == Family::Json,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_spellings_are_one_family() {
        assert!(compatible("integer", "bigint"));
        assert!(compatible("character varying(255)", "text"));
        assert!(compatible(
            "timestamp without time zone",
            "timestamp with time zone"
        ));
        assert!(compatible("json", "jsonb"));
        assert!(compatible("vector(3)", "vector"));
        assert!(compatible("integer[]", "bigint[]"));
    }

    #[test]
    fn an_integer_widens_into_a_number_but_a_number_does_not_narrow_into_an_integer() {
        // The diff compares integers and numerics as numbers; the checks now agree.
        assert!(compatible("integer", "numeric"));
        assert!(compatible("numeric(10,2)", "double precision"));
        assert!(!compatible("numeric", "integer"));
    }

    #[test]
    fn different_kinds_of_values_are_not_compatible() {
        assert!(!compatible("text", "integer"));
        assert!(!compatible("integer", "integer[]"));
        assert!(!compatible("uuid", "bytea"));
        assert!(!compatible("date", "timestamp without time zone"));
    }

    #[test]
    fn airbytes_widenings_are_compatible_and_narrowings_are_not() {
        for (src, dst) in [
            ("integer", "bigint"),
            ("numeric(10,2)", "numeric"),
            ("uuid", "character varying"),
            ("vector(3)", "character varying"),
            ("json", "character varying"),
            ("jsonb", "jsonb"),
            ("integer[]", "jsonb"),
            ("date", "date"),
        ] {
            assert!(airbyte_compatible(src, dst), "{src} → {dst}");
        }
        assert!(!airbyte_compatible("text", "integer"));
        assert!(!airbyte_compatible("text", "integer[]"));
        assert!(!airbyte_compatible("bigint", "integer[]"));
        // Native replication applies the source's values as they are: no such widening.
        assert!(!compatible("uuid", "character varying"));
    }

    #[test]
    fn base_type_names_and_printed_names_agree() {
        for (base, printed) in [
            ("int4", "integer"),
            ("numeric", "numeric(7,3)"),
            ("float8", "double precision"),
            ("varchar", "character varying(20)"),
            ("timestamptz", "timestamp with time zone"),
            ("jsonb", "jsonb"),
            ("vector", "vector(3)"),
        ] {
            assert_eq!(of_base(base), of_sql(printed), "{base} / {printed}");
        }
    }
}
