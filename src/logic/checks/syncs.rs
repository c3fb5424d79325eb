//! The syncs check: will the consumer's next read of the slot work, and is it on time?
//! Airbyte reads the slot in periodic syncs, so what matters between them is whether the
//! next one is late and whether it will fail when it comes — a slot recreated or moved
//! behind its back, or one that lost its WAL. A subscription streams: only a slot
//! recreated under it needs saying.

use crate::config::{Engine, Settings};
use crate::logic::format::age_ms;
use crate::logic::syncs::{self, SlotBreak, Syncs};
use crate::model::check::{Fix, Status};
use crate::model::snapshot::SlotInfo;

/// Airbyte's option that decides what a sync does with an offset the slot has passed.
const CURSOR_OPTION: &str = "invalid_cdc_cursor_position_behavior";

/// With a subscription: the slot recreated under it, said as the slot health's warning.
/// (A subscription confirms as it applies; one that came and went between two polls can
/// move the slot as far as an advance would, so only a recreated slot is certain.)
pub(super) fn native_break(history: &Syncs, s: &Settings, now_ms: i64) -> Option<String> {
    if s.engine != Engine::Native {
        return None;
    }
    let SlotBreak::Recreated { at_ms } = history.last_break()? else {
        return None;
    };
    Some(format!(
        "the slot was recreated {} ago: the subscription went on from its new position, so changes written in between never reach the destination — run a diff (d) and resync what differs",
        age_ms(now_ms - at_ms)
    ))
}

pub(super) fn syncs_check(
    slot: &SlotInfo,
    history: &Syncs,
    s: &Settings,
    now_ms: i64,
) -> (Status, String, Option<Fix>) {
    let broke = |b: SlotBreak| match b {
        SlotBreak::Recreated { at_ms } => {
            format!("the slot was recreated {} ago", age_ms(now_ms - at_ms))
        }
        SlotBreak::Advanced { at_ms, from, to } => format!(
            "the slot was advanced from {from} to {to} {} ago with no consumer connected",
            age_ms(now_ms - at_ms)
        ),
    };
    debug_assert_eq!(s.engine, Engine::Airbyte, "the syncs check is Airbyte's");
    let outcome = format!(
        "Airbyte fails the sync (its {CURSOR_OPTION} \"Fail sync\", the default) or re-syncs every table (\"Re-sync data\")"
    );
    if slot.lost_wal() && !slot.active {
        let why = slot
            .invalidation_reason
            .as_deref()
            .unwrap_or("wal_status lost");
        return (
            Status::Critical,
            format!(
                "the next sync will fail: the slot no longer has the WAL since Airbyte's saved offset ({why}) — {outcome}; recreate the slot, then reset the connection's data in Airbyte"
            ),
            None,
        );
    }
    if let Some(b) = history.unmet_break() {
        return (
            Status::Critical,
            format!(
                "the next sync will fail: {}, past the offset Airbyte saved — {outcome}; reset the connection's data in Airbyte, or set the option to re-sync",
                broke(b)
            ),
            None,
        );
    }
    if let Some(o) = syncs::overdue(history, s.sync_interval, slot.inactive_for_ms, now_ms) {
        let how = if o.configured {
            "sync_interval"
        } else {
            "as seen"
        };
        return (
            Status::Warning,
            format!(
                "no sync for {}, every ~{} ({how}): the next is {} late — is the connection's schedule paused, or did its last job fail?",
                age_ms(o.idle_ms),
                age_ms(o.every_ms),
                age_ms(o.late_ms)
            ),
            None,
        );
    }
    let mut detail = syncs::summary(history, now_ms);
    if history.last().is_none() {
        match (slot.inactive_for_ms, s.sync_interval) {
            (Some(ms), _) if !slot.active => {
                detail = format!(
                    "no sync seen yet; the slot's consumer left {} ago",
                    age_ms(ms)
                );
            }
            (_, None) => detail.push_str(" (set sync_interval to be warned of a late one)"),
            _ => {}
        }
    }
    (Status::Ok, detail, None)
}
