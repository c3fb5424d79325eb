//! Running the fixes that checks propose: in dependency order, each statement shown before
//! it runs, privileges checked first and refusals explained. Planning is pure; `apply` is
//! the only I/O. Nothing here drops data or a slot.

use crate::model::side::Side;
use std::time::Duration;

use crate::config::Settings;
use crate::io::pg::{self, Kind, PgError};
use crate::logic::checks::{Check, Fix, Status};
use crate::model::snapshot::{RoleInfo, Snapshot};

/// Shown in place of the source's password in a subscription's connection string; the
/// real one is put in only when the statement runs.
pub const PASSWORD_PLACEHOLDER: &str = "password=********";

/// A privilege a fix needs beyond owning the objects it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Needs {
    Superuser,
    /// ALTER SYSTEM: a superuser, or (15+) `GRANT ALTER SYSTEM ON PARAMETER`.
    AlterSystem,
    /// The REPLICATION attribute (or superuser).
    Replication,
    /// A superuser, or (16+) membership in `pg_create_subscription`.
    CreateSubscription,
}

impl Needs {
    pub fn describe(self) -> &'static str {
        match self {
            Needs::Superuser => "a superuser",
            Needs::AlterSystem => {
                "a superuser (or, from PostgreSQL 15, GRANT ALTER SYSTEM ON PARAMETER … to the role)"
            }
            Needs::Replication => "a role with REPLICATION (or a superuser)",
            Needs::CreateSubscription => {
                "a superuser (or, from PostgreSQL 16, a member of pg_create_subscription)"
            }
        }
    }
}

/// One fix to run: the statements of one check, on one side.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub check_id: &'static str,
    pub side: Side,
    pub sql: Vec<String>,
    pub restart_needed: bool,
    pub caution: Option<String>,
    pub needs: Option<Needs>,
    /// Set when the connected role lacks `needs`: the step is shown but not run.
    pub blocked: Option<String>,
}

/// The order fixes must run in: server settings, the role, extensions, replica identity,
/// publication, slot, then the destination (extension, tables, subscription last since it
/// needs all of the source's side).
const ORDER: &[&str] = &[
    "source.wal_level",
    "source.max_replication_slots",
    "source.max_wal_senders",
    "source.replication_role",
    "source.vector",
    "source.replica_identity",
    "source.publication",
    "source.publication_tables",
    "source.slot",
    "dest.vector",
    "dest.tables",
    "dest.columns",
    "dest.subscription",
    "dest.subscription_errors",
];

fn needs_for(check_id: &str, fix: &Fix) -> Option<Needs> {
    match check_id {
        "source.wal_level" | "source.max_replication_slots" | "source.max_wal_senders" => {
            Some(Needs::AlterSystem)
        }
        // pgvector is not a trusted extension; REPLICATION can only be granted by a superuser.
        "source.replication_role" | "source.vector" | "dest.vector" => Some(Needs::Superuser),
        "dest.subscription_errors" => Some(Needs::Superuser),
        "source.slot" => Some(Needs::Replication),
        "dest.subscription" if fix.sql.iter().any(|s| s.starts_with("CREATE SUBSCRIPTION")) => {
            Some(Needs::CreateSubscription)
        }
        _ => None,
    }
}

/// Whether `role` on a server of `version_num` has `needs`, as far as the catalog tells.
/// `None`: cannot tell (e.g. GRANT ALTER SYSTEM), so the statement is tried.
pub fn has(role: &RoleInfo, needs: Needs, version_num: i32) -> Option<bool> {
    if role.superuser {
        return Some(true);
    }
    match needs {
        Needs::Superuser => Some(false),
        Needs::Replication => Some(role.replication),
        Needs::AlterSystem if version_num >= 150000 => None,
        Needs::AlterSystem => Some(false),
        Needs::CreateSubscription if version_num >= 160000 => None,
        Needs::CreateSubscription => Some(false),
    }
}

/// The steps for every failing check that has SQL, in dependency order, each marked
/// `blocked` when the connected role surely lacks the privilege.
pub fn plan(checks: &[Check], snap: &Snapshot, settings: &Settings) -> Vec<Step> {
    let _ = settings;
    let mut steps: Vec<Step> = checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .filter_map(|c| step_for(c, snap))
        .collect();
    steps.sort_by_key(|s| {
        ORDER
            .iter()
            .position(|id| *id == s.check_id)
            .unwrap_or(ORDER.len())
    });
    steps
}

/// The step for one check, if it has SQL to run.
pub fn step_for(c: &Check, snap: &Snapshot) -> Option<Step> {
    let fix = c.fix.as_ref()?;
    if fix.sql.is_empty() {
        return None;
    }
    let side = match c.side {
        Side::Source => &snap.source,
        Side::Dest => &snap.dest,
    };
    let needs = needs_for(c.id, fix);
    let blocked = match (needs, side.role.ok(), side.version_num) {
        (Some(n), Some(role), Some(v)) if has(role, n, v) == Some(false) => Some(format!(
            "role {} cannot run this: it needs {} — run it as such a role (e.g. connect with user=postgres)",
            role.name,
            n.describe()
        )),
        _ => None,
    };
    Some(Step {
        check_id: c.id,
        side: c.side,
        sql: fix.sql.clone(),
        restart_needed: fix.restart_needed,
        caution: fix.caution.clone(),
        needs,
        blocked,
    })
}

/// What happened when a step ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub check_id: &'static str,
    /// Statements that ran, in order.
    pub applied: Vec<String>,
    /// Why the rest did not run: one line, with what to do.
    pub error: Option<String>,
    pub restart_needed: bool,
}

/// Explains a refused statement in terms of the privilege it needs.
pub fn explain(e: &PgError, sql: &str, needs: Option<Needs>, role: &str) -> String {
    let mut short: String = sql.chars().take(80).collect();
    if short.len() < sql.len() {
        short.push('…');
    }
    if e.kind == Kind::PermissionDenied
        || e.message.contains("must be superuser")
        || e.message.contains("must be owner")
        || e.message.contains("permission denied")
    {
        let who = if let Some(owner) = e.message.strip_prefix("must be owner of ") {
            format!("the owner of {owner} (or a superuser)")
        } else if let Some(privilege) = privilege_refused(&e.message, sql, role) {
            privilege
        } else {
            needs
                .map(Needs::describe)
                .unwrap_or("the owner of the objects (or a superuser)")
                .to_string()
        };
        return format!(
            "`{short}` was refused for role {role}: it needs {who} [{}]",
            e.sqlstate.as_deref().unwrap_or("42501")
        );
    }
    if e.message.contains("logical decoding requires") || e.message.contains("wal_level") {
        return format!(
            "`{short}` needs wal_level = logical in effect: restart the source server first ({e})"
        );
    }
    format!("`{short}` failed: {e}")
}

/// The privilege a `permission denied for <kind> <name>` refusal of `sql` is about, with
/// the `GRANT` that gives it: e.g. CREATE PUBLICATION needs CREATE on the database (and,
/// for its tables, to own them), CREATE TABLE needs CREATE on the schema.
fn privilege_refused(message: &str, sql: &str, role: &str) -> Option<String> {
    let rest = message.strip_prefix("permission denied for ")?;
    let rest = rest.split(" (hint: ").next().unwrap_or(rest);
    let (kind, name) = rest.split_once(' ')?;
    let verb = sql.split_whitespace().next()?.to_ascii_uppercase();
    let privilege = match (kind, verb.as_str()) {
        // A fix's session is connected already: what a database refuses is CREATE.
        ("database", _) => "CREATE",
        // Creating in a schema needs CREATE there; publishing its tables only USAGE.
        ("schema", "CREATE") if !sql.contains(" PUBLICATION ") => "CREATE",
        ("schema", _) => "USAGE",
        ("table", "INSERT" | "COPY") => "INSERT",
        ("table", "UPDATE") => "UPDATE",
        ("table", "DELETE") => "DELETE",
        ("table", "SELECT") => "SELECT",
        ("table", "TRUNCATE") => "TRUNCATE",
        ("sequence", _) => "USAGE",
        _ => return None,
    };
    let mut who = format!(
        "the {privilege} privilege on {kind} {name} (GRANT {privilege} ON {} {} TO {})",
        kind.to_ascii_uppercase(),
        crate::logic::quote::ident(name),
        crate::logic::quote::ident(role)
    );
    if verb == "CREATE" && sql.contains(" PUBLICATION ") && sql.contains(" FOR TABLE ") {
        who.push_str(" and to own the tables it publishes");
    }
    who.push_str(", or a superuser");
    Some(who)
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
    let ep = match step.side {
        Side::Source => &settings.source,
        Side::Dest => &settings.dest,
    };
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

/// Replaces the displayed placeholder with the source's password, quoted for a conninfo
/// inside a SQL literal.
fn with_source_password(sql: &str, settings: &Settings) -> String {
    match &settings.source.password {
        Some(p) if sql.contains(PASSWORD_PLACEHOLDER) => {
            let conninfo_value = format!(
                "'{}'",
                p.expose().replace('\\', "\\\\").replace('\'', "\\'")
            );
            // Inside a SQL string literal every quote is doubled.
            let literal_safe = format!("password={}", conninfo_value.replace('\'', "''"));
            sql.replace(PASSWORD_PLACEHOLDER, &literal_safe)
        }
        _ => sql.to_string(),
    }
}

/// One line per step for `setup` and the TUI's confirmation.
pub fn describe(steps: &[Step]) -> Vec<String> {
    let mut lines = Vec::new();
    for s in steps {
        lines.push(format!("-- {} ({})", s.check_id, s.side.label()));
        lines.extend(s.sql.iter().map(|q| format!("{q};")));
        if let Some(b) = &s.blocked {
            lines.push(format!("-- not run: {b}"));
        }
        if let Some(c) = &s.caution {
            lines.push(format!("-- note: {c}"));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Engine, Secret};
    use crate::logic::checks::evaluate;
    use crate::model::snapshot::Fetched;
    use crate::testing::healthy;

    fn native() -> Settings {
        Settings {
            engine: Engine::Native,
            ..Settings::default()
        }
    }

    #[test]
    fn steps_follow_dependency_order_not_check_order() {
        let mut snap = healthy();
        snap.source.slot = Fetched::Ok(None);
        snap.source.publication = Fetched::Ok(None);
        if let Fetched::Ok(st) = &mut snap.source.settings {
            st.wal_level = "replica".into();
        }
        if let Fetched::Ok(r) = &mut snap.source.role {
            r.superuser = true;
        }
        let steps = plan(&evaluate(&snap, &native()), &snap, &native());
        let ids: Vec<&str> = steps.iter().map(|s| s.check_id).collect();
        assert_eq!(
            ids,
            ["source.wal_level", "source.publication", "source.slot"]
        );
        assert!(steps[0].restart_needed);
        assert!(steps.iter().all(|s| s.blocked.is_none()));
    }

    #[test]
    fn a_step_the_role_cannot_run_is_blocked_with_the_privilege_named() {
        let mut snap = healthy();
        if let Fetched::Ok(st) = &mut snap.source.settings {
            st.wal_level = "replica".into();
        }
        snap.source.version_num = Some(140010);
        let steps = plan(&evaluate(&snap, &native()), &snap, &native());
        let why = steps[0].blocked.as_deref().unwrap();
        assert!(why.contains("role airbyte cannot run this"), "{why}");
        assert!(why.contains("superuser"), "{why}");
        // From 15 a grant may allow it: not blocked, tried, explained if refused.
        snap.source.version_num = Some(150004);
        let steps = plan(&evaluate(&snap, &native()), &snap, &native());
        assert!(steps[0].blocked.is_none());
    }

    #[test]
    fn refusals_are_explained_by_privilege() {
        let e = PgError {
            kind: Kind::PermissionDenied,
            sqlstate: Some("42501".into()),
            message: "must be owner of table tache".into(),
        };
        let text = explain(&e, "ALTER TABLE tache REPLICA IDENTITY FULL", None, "mon");
        assert!(text.contains("needs the owner of table tache"), "{text}");
        let e = PgError {
            kind: Kind::PermissionDenied,
            sqlstate: Some("42501".into()),
            message: "permission denied to create extension \"vector\"".into(),
        };
        let text = explain(
            &e,
            "CREATE EXTENSION IF NOT EXISTS vector",
            Some(Needs::Superuser),
            "airbyte",
        );
        assert!(
            text.contains("role airbyte: it needs a superuser"),
            "{text}"
        );
    }

    #[test]
    fn a_refused_privilege_is_named_with_its_grant() {
        let denied = |message: &str| PgError {
            kind: Kind::PermissionDenied,
            sqlstate: Some("42501".into()),
            message: message.into(),
        };
        let create_publication = "CREATE PUBLICATION \"airbyte_publication\" FOR TABLE \"public\".\"tache\", \"public\".\"utilisateur\"";
        let text = explain(
            &denied("permission denied for database tasks_list"),
            create_publication,
            None,
            "mon",
        );
        assert!(
            text.contains(
                "was refused for role mon: it needs the CREATE privilege on database tasks_list (GRANT CREATE ON DATABASE \"tasks_list\" TO \"mon\") and to own the tables it publishes, or a superuser [42501]"
            ),
            "{text}"
        );
        // The statement is cut visibly, not in the middle of a name as if it ended there.
        assert!(text.contains("\"public\".\"u…`"), "{text}");
        let text = explain(
            &denied("permission denied for schema public"),
            "CREATE TABLE \"public\".\"tache\" (id bigint)",
            None,
            "mon",
        );
        assert!(
            text.contains("it needs the CREATE privilege on schema public (GRANT CREATE ON SCHEMA \"public\" TO \"mon\"), or a superuser"),
            "{text}"
        );
        // What it cannot tell stays as before.
        let text = explain(
            &denied("permission denied for function f"),
            "SELECT f()",
            None,
            "mon",
        );
        assert!(text.contains("it needs the owner of the objects"), "{text}");
    }

    #[test]
    fn the_password_is_put_in_only_when_running() {
        let mut s = native();
        s.source.password = Some(Secret::new("it's"));
        let sql = format!(
            "CREATE SUBSCRIPTION x CONNECTION 'host=h {PASSWORD_PLACEHOLDER}' PUBLICATION p"
        );
        let real = with_source_password(&sql, &s);
        assert_eq!(
            real,
            "CREATE SUBSCRIPTION x CONNECTION 'host=h password=''it\\''s''' PUBLICATION p"
        );
        assert!(
            describe(&[Step {
                check_id: "dest.subscription",
                side: Side::Dest,
                sql: vec![sql],
                restart_needed: false,
                caution: None,
                needs: None,
                blocked: None,
            }])
            .iter()
            .all(|l| !l.contains("it's"))
        );
    }
}
