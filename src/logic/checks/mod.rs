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
use crate::model::check::Check;
use crate::model::snapshot::Snapshot;

pub use crate::model::check::worst;

/// Every check for this snapshot, source first, in the order the guide sets things up.
/// `history`: the slot's sessions as seen so far (a single poll's, for a one-shot check).
pub fn evaluate(snap: &Snapshot, s: &Settings, history: &Syncs) -> Vec<Check> {
    let mut checks = source::checks(&snap.source, s, history, snap.taken_at_ms);
    checks.extend(dest::checks(&snap.dest, &snap.source, s));
    checks
}

#[cfg(test)]
mod tests;
