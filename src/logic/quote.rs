//! The one place identifiers and literals are quoted for SQL text.

/// Quotes an identifier the way `quote_ident`/`format('%I')` would, always: `a"b` → `"a""b"`.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.table`, both parts quoted.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", ident(schema), ident(table))
}

/// Quotes a string literal (standard_conforming_strings is on in every supported version).
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_with_quotes_spaces_and_unicode_are_quoted() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(ident("Tâche Ω"), "\"Tâche Ω\"");
        assert_eq!(ident("select"), "\"select\"");
        assert_eq!(qualified("my schema", "t"), "\"my schema\".\"t\"");
    }

    #[test]
    fn literals_double_single_quotes() {
        assert_eq!(literal("it's"), "'it''s'");
    }
}
