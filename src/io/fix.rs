//! Running planned fixes ([`crate::logic::fixplan`]): each step's statements one by one
//! on its side, stopping at the first error, with refusals explained.

use std::time::Duration;

use crate::config::Settings;
use crate::io::pg::{self, PgError};
use crate::logic::fixplan::{Step, explain};
use crate::logic::quote;
use crate::model::check::CheckId;

/// What happened when a step ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub check_id: CheckId,
    /// Statements that ran, in order.
    pub applied: Vec<String>,
    /// Why the rest did not run: one line, with what to do.
    pub error: Option<String>,
    pub restart_needed: bool,
}

/// Runs a step's statements one by one (ALTER SYSTEM and slot creation cannot run inside
/// a transaction block), stopping at the first error.
pub async fn apply(settings: &Settings, step: &Step) -> Outcome {
    let mut outcome = Outcome {
        check_id: step.check_id,
        applied: Vec::new(),
        error: None,
        restart_needed: step.restart_needed,
    };
    if let Some(why) = &step.blocked {
        outcome.error = Some(why.clone());
        return outcome;
    }
    let ep = step.side.pick(&settings.source, &settings.dest);
    // Fixes may scan (CREATE TABLE, ALTER TABLE); a longer limit than the poll's.
    let session =
        match pg::connect(ep, settings.statement_timeout.max(Duration::from_secs(30))).await {
            Ok(s) => s,
            Err(e) => {
                outcome.error = Some(format!("cannot connect to the {}: {e}", step.side.label()));
                return outcome;
            }
        };
    for sql in &step.sql {
        let real = with_source_password(sql, settings);
        if let Err(e) = session.client.batch_execute(&real).await {
            let e = PgError::from_query(&e);
            outcome.error = Some(explain(&e, sql, step.needs, &ep.user));
            return outcome;
        }
        outcome.applied.push(sql.clone());
    }
    outcome
}

/// `sql` as it runs: a subscription's connection string is shown with the source's
/// password masked (checks end up on screen and in JSON) and gets the real one only here.
fn with_source_password(sql: &str, settings: &Settings) -> String {
    let shown = quote::literal(&settings.source.conninfo(false));
    if !sql.contains(&shown) {
        return sql.to_string();
    }
    sql.replace(&shown, &quote::literal(&settings.source.conninfo(true)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn the_password_is_put_in_only_when_running() {
        let mut s = Settings::default();
        s.source.password = Some(Secret::new("it's"));
        let sql = format!(
            "CREATE SUBSCRIPTION x CONNECTION {} PUBLICATION p",
            quote::literal(&s.source.conninfo(false))
        );
        assert!(!sql.contains("it"), "{sql}");
        let real = with_source_password(&sql, &s);
        assert!(real.contains("password=''it\\''s''"), "{real}");
        assert_eq!(with_source_password("SELECT 1", &s), "SELECT 1");
    }
}
