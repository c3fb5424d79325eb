//! What the source's and the destination's checks share: the builder that turns an
//! unreadable part into an `unknown` check, the reachability check, and the answers to
//! "which tables are published" and "is pgvector there".

use std::collections::HashSet;

use crate::logic::format::version_label;
use crate::logic::quote;
use crate::model::check::{Check, CheckId, Fix, Status};
use crate::model::side::Side;
use crate::model::snapshot::{Extensions, Fetched, PublicationInfo, SideSnapshot, TableInfo};

/// Collects one side's checks; a side that is down yields `unknown` for every part.
pub(super) struct Builder<'a> {
    side: Side,
    snap: &'a SideSnapshot,
    pub(super) out: Vec<Check>,
}

impl<'a> Builder<'a> {
    pub(super) fn new(side: Side, snap: &'a SideSnapshot) -> Self {
        Builder {
            side,
            snap,
            out: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        id: CheckId,
        status: Status,
        detail: String,
        mut fix: Option<Fix>,
    ) {
        debug_assert_eq!(id.side(), self.side, "{id} is not a {} check", self.side);
        if let Some(f) = &mut fix {
            f.needs = f.needs.or(id.needs());
        }
        self.out.push(Check::new(id, status, detail, fix));
    }

    /// Runs `f` on a readable part, or records why it could not be checked.
    pub(super) fn with<T>(
        &mut self,
        id: CheckId,
        part: &Fetched<T>,
        f: impl FnOnce(&T) -> (Status, String, Option<Fix>),
    ) {
        let (status, detail, fix) = match (&self.snap.reach.reason(), part) {
            // The reason is on the side's `reachable` check; repeating it says nothing new.
            (Some(_), _) => (
                Status::Unknown,
                format!("{} not reachable", self.side.label()),
                None,
            ),
            (None, Fetched::Ok(v)) => f(v),
            (None, Fetched::Denied(why)) => (
                Status::Unknown,
                format!("not allowed to read this: {why} (grant pg_monitor to the role)"),
                None,
            ),
            (None, Fetched::Failed(why)) => {
                (Status::Unknown, format!("could not read: {why}"), None)
            }
            (None, Fetched::NotRead) => (Status::Unknown, "not read".to_string(), None),
        };
        self.push(id, status, detail, fix);
    }
}

pub(super) fn reach_check(b: &mut Builder<'_>, id: CheckId) {
    let snap = b.snap;
    let (status, detail) = match (&snap.reach.reason(), snap.version_num) {
        (None, Some(v)) => (
            Status::Ok,
            format!("PostgreSQL {} at {}", version_label(v), snap.endpoint),
        ),
        (Some(reason), _) => (Status::Critical, reason.to_string()),
        (None, None) => (Status::Unknown, "version unknown".into()),
    };
    b.push(id, status, detail, None);
}

/// `(schema, table)` without allocating: checks look tables up by it, and with a thousand
/// tables a pairwise search would cost more than the poll.
pub(super) fn key_of(t: &TableInfo) -> (&str, &str) {
    (t.schema.as_str(), t.name.as_str())
}

pub(super) fn published_keys(p: &PublicationInfo) -> HashSet<(&str, &str)> {
    p.tables
        .iter()
        .map(|t| (t.schema.as_str(), t.name.as_str()))
        .collect()
}

/// Tables the publication carries, or the watched schema's when there is none.
pub(super) fn published_tables<'a>(
    src: &SideSnapshot,
    tables: &'a [TableInfo],
) -> Vec<&'a TableInfo> {
    match src.publication.ok() {
        Some(Some(p)) if !p.all_tables => {
            let published = published_keys(p);
            tables
                .iter()
                .filter(|t| published.contains(&key_of(t)))
                .collect()
        }
        _ => tables.iter().collect(),
    }
}

pub(super) fn table_list(tables: &[&TableInfo]) -> String {
    tables
        .iter()
        .map(|t| quote::qualified(&t.schema, &t.name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn vector_check(
    e: &Extensions,
    version_num: Option<i32>,
) -> (Status, String, Option<Fix>) {
    if let Some(v) = &e.vector_installed {
        return (Status::Ok, format!("vector {v} installed"), None);
    }
    if e.vector_available {
        return (
            Status::Critical,
            "pgvector is available but not installed in this database".into(),
            Some(Fix::sql(vec![
                "CREATE EXTENSION IF NOT EXISTS vector".into(),
            ])),
        );
    }
    let major = version_num.map(|v| v / 10000).unwrap_or(16);
    (
        Status::Critical,
        format!(
            "pgvector is not installed on this server: install the OS package postgresql-{major}-pgvector, then CREATE EXTENSION vector"
        ),
        Some(Fix::manual(format!(
            "apt install postgresql-{major}-pgvector   # Debian/Ubuntu (PGDG); RHEL: dnf install pgvector_{major}; then CREATE EXTENSION vector"
        ))),
    )
}
