//! Where each source table lands on the destination. A subscription applies into the
//! same schema and name. Airbyte's Postgres destination writes into its own namespace
//! (the destination's schema, when set), prefixes each stream's name and makes the name
//! Postgres-friendly: NFKD without combining marks, whitespace and every character other
//! than ASCII letters, digits and `_` become `_`, a leading digit gets `_`, and a name
//! over 63 bytes becomes its first 54 characters, `_` and the last 8 characters of Java's
//! `String.hashCode` of it (destination-postgres `PostgresFinalTableNameGenerator.kt`).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::config::{Engine, Settings};
use crate::model::snapshot::TableKey;

/// Longest name PostgreSQL keeps whole.
const NAME_BYTES: usize = 63;
/// What Airbyte keeps of a longer name before its hash.
const KEPT_CHARS: usize = 54;

/// How source tables map to destination tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    /// `None`: the same names (a subscription).
    airbyte: Option<AirbyteNames>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct AirbyteNames {
    schema: Option<String>,
    prefix: String,
}

impl Mapping {
    pub fn new(settings: &Settings) -> Mapping {
        match settings.engine {
            Engine::Native => Mapping::default(),
            Engine::Airbyte => Mapping {
                airbyte: Some(AirbyteNames {
                    schema: settings.dest_schema.clone(),
                    prefix: settings.dest_prefix.clone(),
                }),
            },
        }
    }

    /// The destination table that source table `key` is written to.
    pub fn dest_of(&self, (schema, name): &TableKey) -> TableKey {
        match &self.airbyte {
            None => (schema.clone(), name.clone()),
            Some(a) => (
                airbyte_name(a.schema.as_deref().unwrap_or(schema)),
                airbyte_name(&format!("{}{name}", a.prefix)),
            ),
        }
    }

    /// Whether destination names are source names, whatever the name. (Not for
    /// Airbyte even without schema or prefix: `Tâche Ω` lands as `Tache__`.)
    pub fn is_identity(&self) -> bool {
        self.airbyte.is_none()
    }

    /// The destination column that source column `name` is written to: Airbyte's
    /// destination makes column names Postgres-friendly as it does table names
    /// (`PostgresColumnNameGenerator`).
    pub fn column_of(&self, name: &str) -> String {
        match &self.airbyte {
            None => name.to_string(),
            Some(_) => airbyte_name(name),
        }
    }

    /// Where Airbyte keeps source table `key` when it writes raw tables only (older
    /// destinations, or "raw tables only" in the current one): one JSON record per
    /// change in `airbyte_internal.<namespace>_raw__stream_<name>`, lower-cased, with a
    /// run of underscores longer than any in the two names (`TypingDedupingUtil`).
    pub fn raw_of(&self, (schema, name): &TableKey) -> Option<TableKey> {
        let a = self.airbyte.as_ref()?;
        let namespace = a.schema.as_deref().unwrap_or(schema);
        let stream = format!("{}{name}", a.prefix);
        let longest = format!("{namespace}{stream}")
            .split(|c| c != '_')
            .map(str::len)
            .max()
            .unwrap_or(0)
            .max(1);
        let raw = format!("{namespace}_raw{}stream_{stream}", "_".repeat(longest + 1));
        Some((RAW_SCHEMA.to_string(), airbyte_name(&raw.to_lowercase())))
    }
}

/// The schema of Airbyte's raw tables (its destination's `raw_data_schema` default).
pub const RAW_SCHEMA: &str = "airbyte_internal";

/// A name as Airbyte's Postgres destination writes it.
pub fn airbyte_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_space = false;
    for c in name.nfkd().filter(|c| !is_combining_mark(*c)) {
        if matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r') {
            if !in_space {
                out.push('_');
            }
            in_space = true;
            continue;
        }
        in_space = false;
        if c.is_ascii_alphanumeric() || c == '_' {
            out.push(c);
        } else {
            // Java works on UTF-16 units: a character beyond the BMP is two of them.
            out.push_str(if (c as u32) > 0xFFFF { "__" } else { "_" });
        }
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.len() > NAME_BYTES {
        let hash = java_string_hash(&out).to_string();
        let tail = &hash[hash.len().saturating_sub(8)..];
        out = format!("{}_{tail}", &out[..KEPT_CHARS]);
    }
    out
}

/// `java.lang.String.hashCode()`: over UTF-16 code units, wrapping at 32 bits.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, unit| h.wrapping_mul(31).wrapping_add(unit as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_postgres_friendly_as_airbyte_writes_them() {
        assert_eq!(airbyte_name("tache"), "tache");
        assert_eq!(airbyte_name("Tâche Ω"), "Tache__");
        assert_eq!(airbyte_name("a\"b"), "a_b");
        assert_eq!(airbyte_name("due  date"), "due_date");
        assert_eq!(airbyte_name("2024_orders"), "_2024_orders");
        assert_eq!(airbyte_name("MixedCase"), "MixedCase");
    }

    #[test]
    fn a_long_name_keeps_54_characters_and_the_end_of_its_java_hash() {
        let long = "x".repeat(70);
        let out = airbyte_name(&long);
        assert_eq!(out.len(), 63);
        assert!(out.starts_with(&"x".repeat(54)));
        let hash = java_string_hash(&long).to_string();
        assert!(
            out.ends_with(&format!("_{}", &hash[hash.len() - 8..])),
            "{out}"
        );
        // Java's own value for "hello".
        assert_eq!(java_string_hash("hello"), 99162322);
    }

    #[test]
    fn airbyte_maps_schema_and_prefix_and_a_subscription_keeps_names() {
        let key = ("public".to_string(), "tache".to_string());
        let mut s = Settings::default();
        assert_eq!(Mapping::new(&s).dest_of(&key), key);
        s.dest_schema = Some("airbyte dst".into());
        s.dest_prefix = "ab_".into();
        let m = Mapping::new(&s);
        assert_eq!(m.dest_of(&key), ("airbyte_dst".into(), "ab_tache".into()));
        assert!(!m.is_identity());
        s.engine = Engine::Native;
        assert_eq!(Mapping::new(&s).dest_of(&key), key);
        assert!(Mapping::new(&s).is_identity());
        assert_eq!(Mapping::new(&s).column_of("Tâche Ω"), "Tâche Ω");
        assert_eq!(Mapping::new(&s).raw_of(&key), None);
    }

    #[test]
    fn airbyte_renames_odd_names_even_without_schema_or_prefix() {
        let m = Mapping::new(&Settings::default());
        assert!(!m.is_identity());
        let odd = ("public".to_string(), "Tâche Ω".to_string());
        assert_eq!(m.dest_of(&odd), ("public".into(), "Tache__".into()));
        assert_eq!(m.column_of("due date"), "due_date");
        assert_eq!(m.column_of("id"), "id");
    }

    #[test]
    fn raw_tables_are_named_as_airbytes_typing_deduping_names_them() {
        let m = Mapping::new(&Settings::default());
        let raw = |schema: &str, name: &str| m.raw_of(&(schema.into(), name.into())).unwrap();
        assert_eq!(
            raw("public", "tache"),
            ("airbyte_internal".into(), "public_raw__stream_tache".into())
        );
        // The delimiter is longer than any run of underscores in the names.
        assert_eq!(
            raw("public__ab", "abab_users").1,
            "public__ab_raw___stream_abab_users"
        );
        assert_eq!(raw("public", "Tâche Ω").1, "public_raw__stream_tache__");
        let prefixed = Mapping::new(&Settings {
            dest_prefix: "ab_".into(),
            ..Settings::default()
        });
        assert_eq!(
            prefixed
                .raw_of(&("public".into(), "tache".into()))
                .unwrap()
                .1,
            "public_raw__stream_ab_tache"
        );
    }
}
