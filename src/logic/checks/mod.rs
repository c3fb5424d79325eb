//! Snapshot → the ordered list of checks, each with a status, a one-line detail a person
//! can act on and, where SQL can repair it, that SQL. Pure: same snapshot, same checks.
//! The list is stable (a side that is down yields `unknown` checks, not fewer checks) so
//! that the screen does not jump. The source's checks are in `source.rs`, the
//! destination's in `dest.rs`, what they share in `common.rs`.

mod common;
mod dest;
mod source;
mod syncs;

use crate::config::Settings;
use crate::logic::syncs::Syncs;
use crate::model::check::{Check, CheckId};
use crate::model::snapshot::Snapshot;

pub use crate::model::check::worst;

/// Every check for this snapshot, source first, in the order the guide sets things up.
/// `history`: the slot's sessions as seen so far (a single poll's, for a one-shot check).
pub fn evaluate(snap: &Snapshot, s: &Settings, history: &Syncs) -> Vec<Check> {
    let mut checks = source::checks(&snap.source, s, history, snap.taken_at_ms);
    checks.extend(dest::checks(&snap.dest, &snap.source, s));
    checks
}

/// The checks with the connection's last sync job (`source.sync_job`) put in its place
/// among the source's, when Airbyte's API is configured. The job check is judged at
/// `now_ms`, not at the snapshot's time: API reports come between polls.
pub fn with_sync_job(
    mut checks: Vec<Check>,
    api: Option<&crate::model::airbyte::ApiView>,
    s: &Settings,
    history: &Syncs,
    now_ms: i64,
) -> Vec<Check> {
    checks.retain(|c| c.id != CheckId::SourceSyncJob);
    let Some(view) = api else { return checks };
    // Sessions are seen a poll late at each end.
    let slack_ms = 2 * crate::logic::format::millis(s.poll_interval);
    let job =
        crate::logic::airbyte_api::job_check(view, history, s.sync_interval, slack_ms, now_ms);
    let at = checks
        .iter()
        .position(|c| c.id > CheckId::SourceSyncJob)
        .unwrap_or(checks.len());
    checks.insert(at, job);
    checks
}

#[cfg(test)]
mod tests;
