//! `syncwatch diff [TABLE] [--json] [--limit K]`: which rows differ between source and
//! destination. Exit 0 when every table is equal, 1 when any differs, 2 on error.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::Settings;
use crate::io::diff::{self as run, DiffOptions};
use crate::logic::diff::output::{self, Outcome};
use crate::logic::diff::{Progress, ProgressFn};

/// The command's arguments (the CLI maps its flags onto these).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiffArgs {
    /// `table`, `schema.table`, with double quotes for names holding dots or quotes
    /// (`"a.b"`, `"a""b"`); every published table when absent.
    pub table: Option<String>,
    pub json: bool,
    /// List at most this many rows per table (counts stay whole).
    pub limit: Option<usize>,
    /// Report differences as found in the snapshots, without waiting for replication to
    /// catch up and reading them again.
    pub no_recheck: bool,
}

/// Splits a table argument into (schema, table); the schema defaults to
/// `default_schema`. Unquoted parts are taken as typed (no case folding).
pub fn parse_table(arg: &str, default_schema: &str) -> Result<(String, String), String> {
    fn ident(s: &str) -> Result<(String, &str), String> {
        if let Some(rest) = s.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = rest.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if rest[i + 1..].starts_with('"') {
                        out.push('"');
                        chars.next();
                        continue;
                    }
                    return Ok((out, &rest[i + 1..]));
                }
                out.push(c);
            }
            Err("unterminated double quote".into())
        } else {
            let end = s.find('.').unwrap_or(s.len());
            Ok((s[..end].to_string(), &s[end..]))
        }
    }
    let bad = |why: &str| format!("bad table name `{arg}`: {why}");
    let (first, rest) = ident(arg).map_err(|e| bad(&e))?;
    let (schema, table, rest) = match rest.strip_prefix('.') {
        Some(r) => {
            let (second, rest) = ident(r).map_err(|e| bad(&e))?;
            (first, second, rest)
        }
        None => (default_schema.to_string(), first, rest),
    };
    if !rest.is_empty() {
        return Err(bad("expected table or schema.table"));
    }
    if schema.is_empty() || table.is_empty() {
        return Err(bad("empty name"));
    }
    Ok((schema, table))
}

/// What `diff` prints (stdout, then an optional line for stderr) and its exit code.
pub struct Report {
    pub stdout: String,
    pub stderr: Option<String>,
    pub code: u8,
}

/// Runs the diff of the tables `args` names and renders the report.
pub async fn report(
    settings: &Settings,
    args: &DiffArgs,
    opts: &DiffOptions,
    progress: Option<ProgressFn>,
) -> Report {
    let fail = |message: String| Report {
        stdout: if args.json {
            output::json_error(&message)
        } else {
            String::new()
        },
        stderr: Some(format!("syncwatch diff: {message}")),
        code: 2,
    };
    let sides = match run::connect(settings).await {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    let tables = match &args.table {
        Some(t) => match parse_table(t, &settings.schema) {
            Ok(t) => vec![t],
            Err(e) => return fail(e),
        },
        None => match run::tables_to_diff(&sides, settings).await {
            Ok(t) => t,
            Err(e) => return fail(format!("listing the tables to compare: {e}")),
        },
    };
    if tables.is_empty() {
        return fail(format!(
            "no table to compare: publication {} does not exist or is empty and schema {} has no table",
            settings.publication, settings.schema
        ));
    }
    let mut results: Vec<Outcome> = Vec::new();
    for (schema, table) in tables {
        let r =
            run::diff_table_with(&sides, settings, &schema, &table, opts, progress.clone()).await;
        results.push((format!("{schema}.{table}"), r));
    }
    let code = output::exit_code(&results);
    Report {
        stdout: if args.json {
            output::json(&results, args.limit)
        } else {
            output::human(&results, args.limit)
        },
        stderr: (code == 2)
            .then(|| "syncwatch diff: some tables could not be compared (see above)".to_string()),
        code,
    }
}

/// The `diff` command.
pub async fn run(settings: &Settings, args: DiffArgs) -> color_eyre::Result<ExitCode> {
    let opts = DiffOptions {
        recheck: !args.no_recheck,
        ..DiffOptions::default()
    };
    // A live progress line for people at a terminal; never mixed into the report.
    let progress: Option<ProgressFn> = (!args.json && std::io::stderr().is_terminal()).then(|| {
        Arc::new(|p: &Progress| {
            let mut e = std::io::stderr();
            let _ = write!(
                e,
                "\r\x1b[2K{}: {} of {} segments, {} rows read",
                p.phase, p.segments_done, p.segments_total, p.rows_fetched
            );
            if p.phase == crate::logic::diff::Phase::Done {
                let _ = write!(e, "\r\x1b[2K");
            }
            let _ = e.flush();
        }) as ProgressFn
    });
    let r = report(settings, &args, &opts, progress).await;
    print!("{}", r.stdout);
    if args.json && !r.stdout.ends_with('\n') {
        println!();
    }
    if let Some(e) = r.stderr {
        eprintln!("{e}");
    }
    Ok(ExitCode::from(r.code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_arguments_parse_with_quotes_and_schemas() {
        let p = |s: &str| parse_table(s, "public");
        assert_eq!(p("tache"), Ok(("public".into(), "tache".into())));
        assert_eq!(p("app.tache"), Ok(("app".into(), "tache".into())));
        assert_eq!(p("Tâche Ω"), Ok(("public".into(), "Tâche Ω".into())));
        assert_eq!(p("\"a\"\"b\""), Ok(("public".into(), "a\"b".into())));
        assert_eq!(
            p("\"my.schema\".\"a.b\""),
            Ok(("my.schema".into(), "a.b".into()))
        );
        assert!(p("\"open").is_err());
        assert!(p("a.b.c").is_err());
        assert!(p("").is_err());
        assert!(p("a.").is_err());
    }
}
