//! Planning the fixes that checks propose: which statements, in which order, which need
//! a privilege the role lacks, and how a refusal reads. Pure; [`crate::io::fix`] runs them.
//! Nothing here drops data or a slot.

use crate::logic::quote;
use crate::model::check::{Check, CheckId, Needs, Status};
use crate::model::error::{Kind, PgError};
use crate::model::side::Side;
use crate::model::snapshot::{RoleInfo, Snapshot};

/// One fix to run: the statements of one check, on one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub check_id: CheckId,
    pub side: Side,
    pub sql: Vec<String>,
    pub restart_needed: bool,
    pub caution: Option<String>,
    pub needs: Option<Needs>,
    /// Set when the connected role lacks `needs`: the step is shown but not run.
    pub blocked: Option<String>,
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

/// The steps for every failing check that has SQL, in dependency order
/// ([`CheckId::fix_order`]), each marked `blocked` when the connected role surely lacks
/// the privilege.
pub fn plan(checks: &[Check], snap: &Snapshot) -> Vec<Step> {
    let mut steps: Vec<Step> = checks
        .iter()
        .filter(|c| c.status != Status::Ok)
        .filter_map(|c| step_for(c, snap))
        .collect();
    steps.sort_by_key(|s| s.check_id.fix_order());
    steps
}

/// The step for one check, if it has SQL to run.
pub fn step_for(c: &Check, snap: &Snapshot) -> Option<Step> {
    let fix = c.fix.as_ref()?;
    if fix.sql.is_empty() {
        return None;
    }
    let side = c.side.pick(&snap.source, &snap.dest);
    let needs = fix.needs;
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
        quote::ident(name),
        quote::ident(role)
    );
    if verb == "CREATE" && sql.contains(" PUBLICATION ") && sql.contains(" FOR TABLE ") {
        who.push_str(" and to own the tables it publishes");
    }
    who.push_str(", or a superuser");
    Some(who)
}

/// What a write on the source's tables needs: seeding writes with binary COPY.
pub const SEED_PRIVILEGES: &[&str] = &["INSERT"];
/// What change traffic writes with.
pub const TRAFFIC_PRIVILEGES: &[&str] = &["INSERT", "UPDATE", "DELETE"];

/// The privileges a write on the source's tables was refused for and the GRANT that
/// gives them, when `e` is such a refusal (`permission denied for table …`).
pub fn refused_write(e: &PgError, privileges: &[&str], role: &str, schema: &str) -> Option<String> {
    if e.kind != Kind::PermissionDenied {
        return None;
    }
    let table = e.message.strip_prefix("permission denied for table ")?;
    let list = privileges.join(", ");
    let what = if privileges.len() > 1 {
        "privileges"
    } else {
        "privilege"
    };
    Some(format!(
        "role {role} needs the {list} {what} on table {table} (GRANT {list} ON TABLE {}.{} TO {}), or a superuser",
        quote::ident(schema),
        quote::ident(table),
        quote::ident(role)
    ))
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
    use crate::config::{Engine, Settings};
    use crate::logic::checks::evaluate;
    use crate::logic::syncs::Syncs;
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
        let steps = plan(&evaluate(&snap, &native(), &Syncs::once(&snap)), &snap);
        let ids: Vec<CheckId> = steps.iter().map(|s| s.check_id).collect();
        assert_eq!(
            ids,
            [
                CheckId::SourceWalLevel,
                CheckId::SourcePublication,
                CheckId::SourceSlot
            ]
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
        let steps = plan(&evaluate(&snap, &native(), &Syncs::once(&snap)), &snap);
        let why = steps[0].blocked.as_deref().unwrap();
        assert!(why.contains("role airbyte cannot run this"), "{why}");
        assert!(why.contains("superuser"), "{why}");
        // From 15 a grant may allow it: not blocked, tried, explained if refused.
        snap.source.version_num = Some(150004);
        let steps = plan(&evaluate(&snap, &native(), &Syncs::once(&snap)), &snap);
        assert!(steps[0].blocked.is_none());
    }

    #[test]
    fn refusals_are_explained_by_privilege() {
        let e = PgError {
            kind: Kind::PermissionDenied,
            sqlstate: Some("42501".into()),
            message: "must be owner of table tache".into(),
            hint: None,
        };
        let text = explain(&e, "ALTER TABLE tache REPLICA IDENTITY FULL", None, "mon");
        assert!(text.contains("needs the owner of table tache"), "{text}");
        let e = PgError {
            kind: Kind::PermissionDenied,
            sqlstate: Some("42501".into()),
            message: "permission denied to create extension \"vector\"".into(),
            hint: None,
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
            hint: None,
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
}
