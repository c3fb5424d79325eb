//! Sync sessions, seen from the slot. Airbyte reads the slot in bounded runs: the slot is
//! active while a sync runs and inactive between syncs, and the position a sync reached
//! is confirmed only when the next one starts. So the consumer's progress is known from
//! two signals: the slot's `confirmed_flush_lsn`, and each session seen to start and end —
//! a sync that started after the source was at position X reads up to at least X, so
//! once it has ended the destination has what was written before X. A subscription
//! (native engine) is one session that never ends; its confirmed position is the signal.
//! Pure: fed one snapshot per poll.

use std::collections::VecDeque;

use crate::logic::format::{age_ms, millis};
use crate::logic::timeline::{self, Behind, Point, Timeline};
use crate::model::lsn::Lsn;
use crate::model::snapshot::{SlotInfo, Snapshot};

/// Sessions kept (enough to see the cadence).
pub const SESSIONS: usize = 32;
/// Polls whose position and transaction horizon are kept.
pub const HORIZONS: usize = 600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncSession {
    /// When the slot was first seen active (a poll's time, so at most a poll late).
    pub started_at_ms: i64,
    /// The slot was seen inactive before: `started_at_ms` is the start, not merely when
    /// syncwatch first looked.
    pub start_seen: bool,
    /// When it was first seen inactive again; `None` while it runs.
    pub ended_at_ms: Option<i64>,
    /// The source's position at the last poll before the session was seen: the sync
    /// started after it, so it reads at least up to here.
    pub reaches: Option<Lsn>,
    /// The source's oldest running transaction at that poll: rows written by older
    /// transactions were committed before the sync started.
    pub reaches_horizon: Option<u64>,
    /// The slot's confirmed position when the session was first seen and when it ended.
    pub confirmed_at_start: Option<Lsn>,
    pub confirmed_at_end: Option<Lsn>,
}

impl SyncSession {
    pub fn duration_ms(&self) -> Option<i64> {
        if !self.start_seen {
            return None;
        }
        Some(self.ended_at_ms? - self.started_at_ms)
    }

    /// WAL the slot's confirmed position moved during the session.
    pub fn confirmed_bytes(&self) -> Option<u64> {
        Some(self.confirmed_at_end?.bytes_since(self.confirmed_at_start?))
    }
}

/// Something done to the slot behind its consumer's back. Airbyte saved the offset its
/// last sync reached; a slot whose position is now past it makes the next sync fail
/// ("Saved offset is before replication slot's confirmed lsn") or re-sync everything. A
/// subscription carries on from the new position and never gets what lay between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotBreak {
    /// The slot was seen gone and then back, or its position went backwards.
    Recreated { at_ms: i64 },
    /// Its confirmed position moved, with no consumer seen, past where the source was
    /// at the poll before: someone ran `pg_replication_slot_advance`. A sync too short
    /// to be seen cannot do that: Airbyte confirms at a sync's start what the previous
    /// sync read, and that one ended before the previous poll. (17's `inactive_since`
    /// does not help: advancing the slot acquires and releases it, as a sync does.)
    Advanced { at_ms: i64, from: Lsn, to: Lsn },
}

/// Sessions of one slot, newest last.
#[derive(Clone, Debug, Default)]
pub struct Syncs {
    sessions: VecDeque<SyncSession>,
    /// The source's position and oldest running transaction at the last poll that saw
    /// the slot inactive.
    idle_lsn: Option<Lsn>,
    idle_horizon: Option<u64>,
    /// Recent polls' (position, oldest running transaction), oldest first: what a
    /// confirmed position corresponds to in transactions.
    horizons: VecDeque<(Lsn, u64)>,
    /// The horizon of the newest finished session's target.
    reached_horizon: Option<u64>,
    confirmed: Option<Lsn>,
    /// The target of the newest session that has ended.
    reached: Option<Lsn>,
    /// The slot was seen once, and when it went missing since.
    seen_slot: bool,
    gone_since: Option<i64>,
    /// The last poll's view: the slot active, the source's position, and the slot's
    /// decoded-transactions counter (14+).
    last_active: Option<bool>,
    last_current: Option<Lsn>,
    last_total_txns: Option<i64>,
    /// An advance seen with no consumer connected whose counter has not had time to
    /// speak: statistics reach `pg_stat_replication_slots` late on 14 (through the
    /// statistics collector, up to half a second behind), so a consumer's read can look
    /// like an advance for one poll. Held with the counter before it, and confirmed once
    /// the counter has stood still for [`STATS_SETTLE_MS`].
    suspect: Option<(Suspect, i64)>,
    /// The last thing done to the slot behind its consumer's back, and whether a
    /// consumer has taken the slot since.
    broken: Option<SlotBreak>,
    taken_since_break: bool,
    /// Positions, retained WAL and lag over the last hour (or the configured window).
    timeline: Timeline,
    /// What PostgreSQL itself says at the last poll: the walsender's measured lag
    /// (`pg_stat_replication`, while a consumer is connected) and, 17+, how long the
    /// slot has been without one.
    reported_lag_ms: Option<i64>,
    inactive_for_ms: Option<i64>,
    /// The first poll that saw the slot: syncs before it were not seen.
    watching_since_ms: Option<i64>,
}

impl Syncs {
    /// Keeps `window_ms` of the slot's history (the default is an hour).
    pub fn with_window(window_ms: i64) -> Syncs {
        Syncs {
            timeline: Timeline::new(window_ms),
            ..Syncs::default()
        }
    }

    /// What one poll alone shows: for a one-shot `check`.
    pub fn once(snap: &Snapshot) -> Syncs {
        let mut s = Syncs::default();
        s.observe(snap);
        s
    }

    /// Reads one poll: the slot's activity and positions. A poll that could not read the
    /// slot changes nothing; a slot that is gone, or whose positions went backwards (it
    /// was dropped and created again), forgets what the old one had reached.
    pub fn observe(&mut self, snap: &Snapshot) {
        let Some(slot) = snap.source.slot.ok() else {
            return;
        };
        let now = snap.taken_at_ms;
        let Some(slot) = slot else {
            if self.seen_slot {
                let gone_since = self.gone_since.or(Some(now));
                *self = Syncs {
                    seen_slot: true,
                    gone_since,
                    timeline: Timeline::new(self.timeline.window_ms()),
                    ..Syncs::default()
                };
            }
            return;
        };
        self.watching_since_ms.get_or_insert(now);
        if self.gone_since.take().is_some() {
            self.break_at(SlotBreak::Recreated { at_ms: now });
        }
        self.seen_slot = true;
        let current = snap.source.current_lsn.as_deref().and_then(Lsn::parse);
        let confirmed = slot.confirmed_flush_lsn.as_deref().and_then(Lsn::parse);
        if let (Some(old), Some(new)) = (self.confirmed, confirmed) {
            if new < old {
                *self = Syncs {
                    seen_slot: true,
                    timeline: std::mem::take(&mut self.timeline),
                    ..Syncs::default()
                };
                self.break_at(SlotBreak::Recreated { at_ms: now });
            } else if self.last_active == Some(false)
                && !slot.active
                && self.last_current.is_some_and(|before| new > before)
                && !decoded_since(self.last_total_txns, slot)
            {
                let suspect = Suspect {
                    at_ms: now,
                    from: old,
                    to: new,
                };
                match (self.last_total_txns, slot.stats.as_ref()) {
                    (Some(txns), Some(_)) => self.suspect = Some((suspect, txns)),
                    // 13, or no statistics row: the position alone is all there is.
                    _ => self.break_at(suspect.into_break()),
                }
            }
        }
        if let Some((suspect, txns)) = self.suspect {
            if decoded_since(Some(txns), slot) {
                self.suspect = None;
            } else if now - suspect.at_ms >= STATS_SETTLE_MS {
                self.suspect = None;
                self.break_at(suspect.into_break());
            }
        }
        let was_active = self.last_active;
        self.last_active = Some(slot.active);
        self.last_current = current;
        self.last_total_txns = slot.stats.as_ref().map(|s| s.total_txns);
        self.confirmed = confirmed;
        let running = self
            .sessions
            .back()
            .is_some_and(|s| s.ended_at_ms.is_none());
        match (slot.active, running) {
            (true, false) => {
                self.taken_since_break = true;
                self.sessions.push_back(SyncSession {
                    started_at_ms: now,
                    start_seen: was_active == Some(false),
                    ended_at_ms: None,
                    reaches: self.idle_lsn,
                    reaches_horizon: self.idle_horizon,
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
                    if s.reaches >= self.reached {
                        self.reached = s.reaches;
                        self.reached_horizon = s.reaches_horizon;
                    }
                }
            }
            _ => {}
        }
        self.reported_lag_ms = slot.reported_lag_ms.filter(|_| slot.active);
        self.inactive_for_ms = slot.inactive_for_ms.filter(|_| !slot.active);
        if let Some(source) = current {
            self.timeline.push(Point {
                at_ms: now,
                source,
                retained: slot.retained_bytes,
                lag_bytes: slot.lag_bytes,
                lag_ms: None,
                safe_wal_size: slot.safe_wal_size,
            });
            let lag = self.behind(now).ms();
            self.timeline.set_last_lag(lag);
        }
        let horizon = snap.source.xmin_horizon;
        if !slot.active {
            self.idle_lsn = current;
            self.idle_horizon = horizon;
        }
        if let (Some(at), Some(h)) = (current, horizon) {
            self.horizons.push_back((at, h));
            while self.horizons.len() > HORIZONS {
                self.horizons.pop_front();
            }
        }
    }

    /// A transaction horizon the consumer has certainly read past: rows written by
    /// transactions older than it are applied on the destination (what the diff judges
    /// instead of holding back). From the newest finished session's start, or from the
    /// newest recent poll at or before the confirmed position.
    pub fn read_horizon(&self) -> Option<u64> {
        let from_confirmed = self.confirmed.and_then(|c| {
            self.horizons
                .iter()
                .rev()
                .find(|(at, _)| *at <= c)
                .map(|(_, h)| *h)
        });
        let from_session = (self.reached.is_some() && self.reached >= self.confirmed)
            .then_some(self.reached_horizon)
            .flatten();
        from_confirmed.max(from_session)
    }

    /// How far the consumer has certainly read and applied: the slot's confirmed
    /// position, or what the newest finished session reached, whichever is further.
    pub fn applied(&self) -> Option<Lsn> {
        self.confirmed.max(self.reached)
    }

    /// How far behind in time the destination is: when the source was at the position
    /// the consumer has applied. Before the timeline reaches back that far, PostgreSQL's
    /// own figures stand in: the walsender's measured lag while a consumer is connected,
    /// and (17+) how long the slot has been idle — a lower bound, since what the last
    /// sync read was written before it started.
    pub fn behind(&self, now_ms: i64) -> Behind {
        let seen = self.timeline.behind(self.applied(), now_ms);
        match seen {
            Behind::By(_) => seen,
            _ => match (self.reported_lag_ms, self.inactive_for_ms, seen) {
                (Some(ms), _, _) => Behind::By(ms),
                (None, Some(idle), Behind::AtLeast(ms)) => Behind::AtLeast(ms.max(idle)),
                (None, Some(idle), _) => Behind::AtLeast(idle),
                _ => seen,
            },
        }
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    fn break_at(&mut self, what: SlotBreak) {
        self.broken = Some(what);
        self.taken_since_break = false;
    }

    /// What was done to the slot that no consumer has met yet: Airbyte's next sync
    /// will. Once a sync has taken the slot, Airbyte has dealt with it (failed, or
    /// re-synced) and it is no longer news.
    pub fn unmet_break(&self) -> Option<SlotBreak> {
        self.broken.filter(|_| !self.taken_since_break)
    }

    /// The last thing done to the slot behind its consumer's back, met or not: a
    /// subscription takes a recreated slot at once and silently skips what lay between.
    pub fn last_break(&self) -> Option<SlotBreak> {
        self.broken
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

    /// Since when the slot has been watched (its current incarnation): a sync that
    /// started earlier could not have been seen.
    pub fn watching_since_ms(&self) -> Option<i64> {
        self.watching_since_ms
    }

    /// The usual time from one sync's start to the next (the median of those seen),
    /// once two syncs have been seen.
    pub fn interval_ms(&self) -> Option<i64> {
        let starts: Vec<i64> = self
            .sessions
            .iter()
            .filter(|s| s.start_seen)
            .map(|s| s.started_at_ms)
            .collect();
        let mut gaps: Vec<i64> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        if gaps.is_empty() {
            return None;
        }
        gaps.sort_unstable();
        Some(gaps[gaps.len() / 2])
    }
}

/// How long a slot's decoded-transactions counter must stand still after an advance
/// before the advance is called one done by hand: PostgreSQL 14's statistics collector
/// publishes its counters up to `PGSTAT_STAT_INTERVAL` (500 ms) late, after the message
/// from the reading backend arrives; 15+ updates them in shared memory at once.
pub const STATS_SETTLE_MS: i64 = 1_500;

/// An advance waiting for the slot's statistics to confirm no consumer decoded it: a
/// [`SlotBreak::Advanced`] to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Suspect {
    at_ms: i64,
    from: Lsn,
    to: Lsn,
}

impl Suspect {
    fn into_break(self) -> SlotBreak {
        SlotBreak::Advanced {
            at_ms: self.at_ms,
            from: self.from,
            to: self.to,
        }
    }
}

/// Whether a consumer decoded transactions from the slot since the last poll (14+:
/// `pg_stat_replication_slots`). An advance by hand skips WAL without decoding it for an
/// output plugin, so its counter stands still; a consumer that confirms while it reads
/// (Airbyte's "while reading data") moves it.
fn decoded_since(before: Option<i64>, slot: &SlotInfo) -> bool {
    match (before, slot.stats.as_ref()) {
        (Some(b), Some(now)) => now.total_txns != b,
        _ => false,
    }
}

/// A sync that should have started by now and has not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overdue {
    /// Since the last sync ended.
    pub idle_ms: i64,
    /// The interval judged by: the configured one, or the one seen.
    pub every_ms: i64,
    pub configured: bool,
    /// How late the next sync is.
    pub late_ms: i64,
}

/// Whether the next sync is overdue: late by more than half an interval (and a minute),
/// so that a schedule's jitter and a long sync are not alarms. The last sync's end is
/// the one seen, or (17+, when none was seen) the slot's `inactive_since`. With a
/// configured interval the next sync is due that long after the last one ended (a
/// schedule counts from the end or the start: the end is the later); learnt from the
/// syncs seen, it is due one usual gap after the last one started.
pub fn overdue(
    syncs: &Syncs,
    configured: Option<std::time::Duration>,
    inactive_for_ms: Option<i64>,
    now_ms: i64,
) -> Option<Overdue> {
    if syncs.running() {
        return None;
    }
    let last = syncs.last();
    let ended = last
        .and_then(|s| s.ended_at_ms)
        .or_else(|| inactive_for_ms.map(|ms| now_ms - ms))?;
    let (every_ms, due) = match configured {
        Some(d) => {
            let every = millis(d);
            (every, ended.saturating_add(every))
        }
        None => {
            let every = syncs.interval_ms()?;
            (every, last?.started_at_ms + every)
        }
    };
    let late_ms = now_ms - due;
    (late_ms > (every_ms / 2).max(60_000)).then_some(Overdue {
        idle_ms: now_ms - ended,
        every_ms,
        configured: configured.is_some(),
        late_ms,
    })
}

/// What breaks, and when, if the slot's retained WAL keeps growing as it has over the
/// last minutes. `None` once the slot has lost its WAL (nothing left to forecast).
pub fn forecast_for(
    history: &Syncs,
    slot: &SlotInfo,
    critical_bytes: u64,
) -> Option<timeline::Forecast> {
    if slot.lost_wal() {
        return None;
    }
    let rate = history.timeline().retained_rate()?;
    timeline::forecast(
        slot.retained_bytes.unwrap_or(0),
        slot.safe_wal_size,
        critical_bytes,
        rate,
    )
}

/// When the next sync is due: a configured interval after the last one ended, or the
/// usual gap after the last one started.
pub fn next_due_ms(syncs: &Syncs, configured: Option<std::time::Duration>) -> Option<i64> {
    let last = syncs.last()?;
    match configured {
        Some(d) => Some(last.ended_at_ms?.saturating_add(millis(d))),
        None => Some(last.started_at_ms + syncs.interval_ms()?),
    }
}

/// One line about the syncs for the slot pane: the one running, or the last one, the
/// cadence and when the next is due (or how late it is).
pub fn summary(syncs: &Syncs, now_ms: i64) -> String {
    let Some(last) = syncs.last() else {
        return "no sync seen yet".to_string();
    };
    let Some(ended) = last.ended_at_ms else {
        if !last.start_seen {
            return "sync running (it started before the first poll)".to_string();
        }
        return format!("sync running {}", age_ms(now_ms - last.started_at_ms));
    };
    let mut text = match last.duration_ms() {
        Some(took) => format!(
            "last sync {} ago, took {}",
            age_ms(now_ms - ended),
            age_ms(took)
        ),
        None => format!("last sync ended {} ago", age_ms(now_ms - ended)),
    };
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
    fn the_read_horizon_is_the_oldest_running_transaction_before_the_last_finished_sync() {
        let mut s = Syncs::default();
        let with = |mut snap: Snapshot, horizon: u64| {
            snap.source.xmin_horizon = Some(horizon);
            snap
        };
        s.observe(&with(poll(0, "0/100", false, "0/50"), 700));
        assert_eq!(s.read_horizon(), None, "nothing at or before 0/50 was seen");
        s.observe(&with(poll(1000, "0/200", false, "0/50"), 710));
        s.observe(&with(poll(2000, "0/300", true, "0/50"), 720));
        assert_eq!(s.read_horizon(), None, "the sync has not ended");
        s.observe(&with(poll(3000, "0/310", false, "0/50"), 730));
        // It started after the poll that saw 0/200 with transaction 710 the oldest
        // running: everything older is on the destination.
        assert_eq!(s.read_horizon(), Some(710));
        // The next sync confirms 0/200: the same answer from the confirmed position.
        s.observe(&with(poll(4000, "0/320", true, "0/200"), 740));
        assert_eq!(s.read_horizon(), Some(710));
    }

    #[test]
    fn the_interval_is_the_median_gap_between_starts() {
        let mut s = Syncs::default();
        s.observe(&poll(-1000, "0/1", false, "0/1"));
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
        assert_eq!(s.unmet_break(), Some(SlotBreak::Recreated { at_ms: 3000 }));
    }

    #[test]
    fn a_sync_already_running_at_the_first_poll_has_no_known_start() {
        let mut s = Syncs::default();
        s.observe(&poll(0, "0/1", true, "0/1"));
        assert_eq!(
            summary(&s, 5000),
            "sync running (it started before the first poll)"
        );
        s.observe(&poll(6000, "0/2", false, "0/1"));
        assert_eq!(s.last().unwrap().duration_ms(), None);
        assert_eq!(summary(&s, 9000), "last sync ended 3.0s ago");
        s.observe(&poll(60_000, "0/3", true, "0/2"));
        s.observe(&poll(65_000, "0/4", false, "0/2"));
        assert_eq!(s.interval_ms(), None, "one start seen is no interval");
    }

    #[test]
    fn a_sync_is_overdue_only_when_late_by_half_an_interval() {
        let hour = std::time::Duration::from_secs(3600);
        let mut s = Syncs::default();
        assert_eq!(
            overdue(&s, Some(hour), None, 0),
            None,
            "nothing seen, nothing known"
        );
        // 17+: the slot says when its consumer left, even before a sync is seen.
        let o = overdue(&s, Some(hour), Some(5_400_001), 10_000_000).unwrap();
        assert_eq!(
            (o.idle_ms, o.every_ms, o.late_ms),
            (5_400_001, 3_600_000, 1_800_001)
        );
        assert!(o.configured);
        assert_eq!(overdue(&s, Some(hour), Some(5_400_000), 10_000_000), None);
        assert_eq!(
            overdue(&s, None, Some(99_000_000), 100_000_000),
            None,
            "no interval"
        );
        // Learnt: syncs start every minute; late by more than a minute is overdue.
        s.observe(&poll(-1000, "0/1", false, "0/1"));
        for start in [0, 60_000, 120_000] {
            s.observe(&poll(start, "0/1", true, "0/1"));
            s.observe(&poll(start + 5000, "0/1", false, "0/1"));
        }
        assert_eq!(overdue(&s, None, None, 240_000), None);
        let o = overdue(&s, None, None, 240_001).unwrap();
        assert_eq!((o.late_ms, o.configured), (60_001, false));
        s.observe(&poll(250_000, "0/1", true, "0/1"));
        assert_eq!(overdue(&s, None, None, 900_000), None, "one is running");
    }

    fn gone(at_ms: i64) -> Snapshot {
        let mut snap = healthy();
        snap.taken_at_ms = at_ms;
        snap.source.slot = Fetched::Ok(None);
        snap
    }

    #[test]
    fn a_slot_seen_gone_and_back_is_a_break_until_a_consumer_takes_it() {
        let mut s = Syncs::default();
        s.observe(&gone(0));
        s.observe(&poll(1000, "0/900", false, "0/900"));
        assert_eq!(
            s.unmet_break(),
            None,
            "a slot first seen missing is new, not recreated"
        );
        s.observe(&gone(2000));
        s.observe(&gone(3000));
        assert_eq!(s.unmet_break(), None, "gone is the slot check's business");
        s.observe(&poll(4000, "0/A00", false, "0/A00"));
        assert_eq!(s.unmet_break(), Some(SlotBreak::Recreated { at_ms: 4000 }));
        s.observe(&poll(5000, "0/A10", true, "0/A00"));
        assert_eq!(s.unmet_break(), None, "the consumer has met it");
        assert_eq!(s.last_break(), Some(SlotBreak::Recreated { at_ms: 4000 }));
    }

    #[test]
    fn a_position_moved_with_no_consumer_past_the_source_is_an_advance_not_a_short_sync() {
        let mut s = Syncs::default();
        s.observe(&poll(0, "0/900", false, "0/100"));
        // A sync too short to see confirms what the previous one read: before 0/900.
        s.observe(&poll(1000, "0/A00", false, "0/800"));
        assert_eq!(s.unmet_break(), None);
        // Past where the source was at the previous poll: no sync confirms that.
        s.observe(&poll(2000, "0/C00", false, "0/B00"));
        assert_eq!(
            s.unmet_break(),
            Some(SlotBreak::Advanced {
                at_ms: 2000,
                from: Lsn::parse("0/800").unwrap(),
                to: Lsn::parse("0/B00").unwrap()
            })
        );
        // A consumer that read (decoded) between the polls moved it: not by hand.
        let with_txns = |mut snap: Snapshot, txns: i64| {
            if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
                slot.stats = Some(crate::model::snapshot::SlotStats {
                    total_txns: txns,
                    ..Default::default()
                });
            }
            snap
        };
        let mut s = Syncs::default();
        s.observe(&with_txns(poll(0, "0/900", false, "0/100"), 5));
        s.observe(&with_txns(poll(1000, "0/C00", false, "0/B00"), 9));
        assert_eq!(s.unmet_break(), None);
        // The counter arrives late (14's statistics collector): the read shows at the
        // next poll, and the advance is forgiven.
        let mut s = Syncs::default();
        s.observe(&with_txns(poll(0, "0/900", false, "0/100"), 5));
        s.observe(&with_txns(poll(1000, "0/C00", false, "0/B00"), 5));
        assert_eq!(
            s.unmet_break(),
            None,
            "not judged before the counter settles"
        );
        s.observe(&with_txns(poll(3000, "0/C00", false, "0/B00"), 9));
        assert_eq!(s.unmet_break(), None);
        s.observe(&with_txns(poll(6000, "0/C00", false, "0/B00"), 9));
        assert_eq!(s.unmet_break(), None);
        // The counter still standing once it has had time to speak: done by hand.
        let mut s = Syncs::default();
        s.observe(&with_txns(poll(0, "0/900", false, "0/100"), 5));
        s.observe(&with_txns(poll(1000, "0/C00", false, "0/B00"), 5));
        s.observe(&with_txns(poll(2000, "0/C00", false, "0/B00"), 5));
        assert_eq!(s.unmet_break(), None, "500 ms is not yet settled");
        s.observe(&with_txns(poll(3000, "0/C00", false, "0/B00"), 5));
        assert_eq!(
            s.unmet_break(),
            Some(SlotBreak::Advanced {
                at_ms: 1000,
                from: Lsn::parse("0/100").unwrap(),
                to: Lsn::parse("0/B00").unwrap()
            })
        );
        // A sync seen running moves it as it likes.
        let mut s = Syncs::default();
        s.observe(&poll(0, "0/900", false, "0/100"));
        s.observe(&poll(1000, "0/C00", true, "0/B00"));
        assert_eq!(s.unmet_break(), None);
    }
}
