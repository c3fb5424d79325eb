//! Sync sessions, seen from the slot. Airbyte reads the slot in bounded runs: the slot is
//! active while a sync runs and inactive between syncs, and the position a sync reached
//! is confirmed only when the next one starts. So the consumer's progress is known from
//! two signals: the slot's `confirmed_flush_lsn`, and each session seen to start and end —
//! a sync that started after the source was at position X reads up to at least X, so
//! once it has ended the destination has what was written before X. A subscription
//! (native engine) is one session that never ends; its confirmed position is the signal.
//! Pure: fed one snapshot per poll.

use std::collections::VecDeque;

use crate::logic::format::age_ms;
use crate::model::lsn::Lsn;
use crate::model::snapshot::Snapshot;

/// Sessions kept (enough to see the cadence).
pub const SESSIONS: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSession {
    /// When the slot was first seen active (a poll's time, so at most a poll late).
    pub started_at_ms: i64,
    /// When it was first seen inactive again; `None` while it runs.
    pub ended_at_ms: Option<i64>,
    /// The source's position at the last poll before the session was seen: the sync
    /// started after it, so it reads at least up to here.
    pub reaches: Option<Lsn>,
    /// The slot's confirmed position when the session was first seen and when it ended.
    pub confirmed_at_start: Option<Lsn>,
    pub confirmed_at_end: Option<Lsn>,
}

impl SyncSession {
    pub fn duration_ms(&self) -> Option<i64> {
        Some(self.ended_at_ms? - self.started_at_ms)
    }

    /// WAL the slot's confirmed position moved during the session.
    pub fn confirmed_bytes(&self) -> Option<u64> {
        Some(self.confirmed_at_end?.bytes_since(self.confirmed_at_start?))
    }
}

/// Sessions of one slot, newest last.
#[derive(Clone, Debug, Default)]
pub struct Syncs {
    sessions: VecDeque<SyncSession>,
    /// The source's position at the last poll that saw the slot inactive.
    idle_lsn: Option<Lsn>,
    confirmed: Option<Lsn>,
    /// The target of the newest session that has ended.
    reached: Option<Lsn>,
}

impl Syncs {
    /// Reads one poll: the slot's activity and positions. A poll that could not read the
    /// slot changes nothing; a slot that is gone, or whose positions went backwards (it
    /// was dropped and created again), forgets what the old one had reached.
    pub fn observe(&mut self, snap: &Snapshot) {
        let Some(slot) = snap.source.slot.ok() else {
            return;
        };
        let Some(slot) = slot else {
            *self = Syncs::default();
            return;
        };
        let current = snap.source.current_lsn.as_deref().and_then(Lsn::parse);
        let confirmed = slot.confirmed_flush_lsn.as_deref().and_then(Lsn::parse);
        if let (Some(old), Some(new)) = (self.confirmed, confirmed)
            && new < old
        {
            *self = Syncs::default();
        }
        self.confirmed = confirmed;
        let now = snap.taken_at_ms;
        let running = self
            .sessions
            .back()
            .is_some_and(|s| s.ended_at_ms.is_none());
        match (slot.active, running) {
            (true, false) => {
                self.sessions.push_back(SyncSession {
                    started_at_ms: now,
                    ended_at_ms: None,
                    reaches: self.idle_lsn,
                    confirmed_at_start: confirmed,
                    confirmed_at_end: None,
                });
                while self.sessions.len() > SESSIONS {
                    self.sessions.pop_front();
                }
            }
            (false, true) => {
                if let Some(s) = self.sessions.back_mut() {
                    s.ended_at_ms = Some(now);
                    s.confirmed_at_end = confirmed;
                    self.reached = self.reached.max(s.reaches);
                }
            }
            _ => {}
        }
        if !slot.active {
            self.idle_lsn = current;
        }
    }

    /// How far the consumer has certainly read and applied: the slot's confirmed
    /// position, or what the newest finished session reached, whichever is further.
    pub fn applied(&self) -> Option<Lsn> {
        self.confirmed.max(self.reached)
    }

    pub fn last(&self) -> Option<&SyncSession> {
        self.sessions.back()
    }

    /// A session is under way.
    pub fn running(&self) -> bool {
        self.last().is_some_and(|s| s.ended_at_ms.is_none())
    }

    pub fn sessions(&self) -> impl Iterator<Item = &SyncSession> {
        self.sessions.iter()
    }

    /// The usual time from one sync's start to the next (the median of those seen),
    /// once two syncs have been seen.
    pub fn interval_ms(&self) -> Option<i64> {
        let starts: Vec<i64> = self.sessions.iter().map(|s| s.started_at_ms).collect();
        let mut gaps: Vec<i64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        if gaps.is_empty() {
            return None;
        }
        gaps.sort_unstable();
        Some(gaps[gaps.len() / 2])
    }
}

/// One line about the syncs for the slot pane: the one running, or the last one, the
/// cadence and when the next is due (or how late it is).
pub fn summary(syncs: &Syncs, now_ms: i64) -> String {
    let Some(last) = syncs.last() else {
        return "no sync seen yet".to_string();
    };
    let Some(ended) = last.ended_at_ms else {
        return format!("sync running {}", age_ms(now_ms - last.started_at_ms));
    };
    let mut text = format!(
        "last sync {} ago, took {}",
        age_ms(now_ms - ended),
        age_ms(ended - last.started_at_ms)
    );
    if let Some(every) = syncs.interval_ms() {
        let due = last.started_at_ms + every - now_ms;
        text.push_str(&format!(" · every ~{}", age_ms(every)));
        if due >= 0 {
            text.push_str(&format!(" · next in ~{}", age_ms(due)));
        } else {
            text.push_str(&format!(" · next is {} late", age_ms(-due)));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::{Fetched, SlotInfo};
    use crate::testing::healthy;

    fn poll(at_ms: i64, current: &str, active: bool, confirmed: &str) -> Snapshot {
        let mut snap = healthy();
        snap.taken_at_ms = at_ms;
        snap.source.current_lsn = Some(current.into());
        snap.source.slot = Fetched::Ok(Some(SlotInfo {
            name: "airbyte_slot".into(),
            active,
            confirmed_flush_lsn: Some(confirmed.into()),
            ..SlotInfo::default()
        }));
        snap
    }

    #[test]
    fn a_finished_session_has_applied_what_was_written_before_it_started() {
        let mut s = Syncs::default();
        s.observe(&poll(0, "0/100", false, "0/50"));
        s.observe(&poll(1000, "0/200", false, "0/50"));
        assert_eq!(
            s.applied(),
            Lsn::parse("0/50"),
            "between syncs: the confirmed position"
        );
        s.observe(&poll(2000, "0/300", true, "0/50"));
        assert!(s.running());
        assert_eq!(s.applied(), Lsn::parse("0/50"), "not before it ends");
        s.observe(&poll(3000, "0/320", true, "0/200"));
        s.observe(&poll(4000, "0/330", false, "0/200"));
        assert!(!s.running());
        let last = s.last().unwrap();
        assert_eq!(last.duration_ms(), Some(2000));
        assert_eq!(last.confirmed_bytes(), Some(0x1B0));
        // It started after the poll that saw 0/200, so it read at least that far.
        assert_eq!(s.applied(), Lsn::parse("0/200"));
    }

    #[test]
    fn the_interval_is_the_median_gap_between_starts() {
        let mut s = Syncs::default();
        for (i, start) in [0, 60_000, 125_000, 180_000].into_iter().enumerate() {
            s.observe(&poll(start, &format!("0/{}", 100 + i), true, "0/10"));
            s.observe(&poll(
                start + 5000,
                &format!("0/{}", 200 + i),
                false,
                "0/10",
            ));
        }
        assert_eq!(s.interval_ms(), Some(60_000));
        assert_eq!(s.sessions().count(), 4);
    }

    #[test]
    fn the_summary_says_what_runs_what_ran_and_what_is_due() {
        let mut s = Syncs::default();
        assert_eq!(summary(&s, 0), "no sync seen yet");
        s.observe(&poll(0, "0/1", false, "0/1"));
        s.observe(&poll(1000, "0/2", true, "0/1"));
        assert_eq!(summary(&s, 4000), "sync running 3.0s");
        s.observe(&poll(7000, "0/3", false, "0/1"));
        assert_eq!(summary(&s, 10_000), "last sync 3.0s ago, took 6.0s");
        s.observe(&poll(61_000, "0/4", true, "0/2"));
        s.observe(&poll(66_000, "0/5", false, "0/2"));
        assert_eq!(
            summary(&s, 100_000),
            "last sync 34.0s ago, took 5.0s · every ~1m00s · next in ~21.0s"
        );
        assert!(summary(&s, 200_000).ends_with("next is 1m19s late"));
    }

    #[test]
    fn a_slot_created_again_forgets_what_the_old_one_reached() {
        let mut s = Syncs::default();
        s.observe(&poll(0, "0/900", false, "0/800"));
        s.observe(&poll(1000, "0/900", true, "0/800"));
        s.observe(&poll(2000, "0/900", false, "0/800"));
        assert_eq!(s.applied(), Lsn::parse("0/900"));
        s.observe(&poll(3000, "0/A00", false, "0/100"));
        assert_eq!(s.applied(), Lsn::parse("0/100"));
        assert!(s.last().is_none());
    }
}
