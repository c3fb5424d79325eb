//! One pair watched over time, without a screen: the latest report of each side, the
//! tracker fed with both sides paired, the checks, what Airbyte's API said. Pure: the
//! exporter's tasks feed it poller and API reports and read it to answer a scrape.

use crate::config::Settings;
use crate::logic::checks;
use crate::logic::divergence::Tracker;
use crate::logic::mapping::Mapping;
use crate::model::airbyte::{ApiMsg, ApiView};
use crate::model::check::Check;
use crate::model::side::Side;
use crate::model::snapshot::{Reach, SideSnapshot, Snapshot};

pub struct Monitor {
    pub settings: Settings,
    /// Both sides' latest reports (a side not polled yet reads as down).
    pub snap: Snapshot,
    /// When each side last answered, source then destination.
    pub polled_at_ms: [Option<i64>; 2],
    pub tracker: Tracker,
    pub checks: Vec<Check>,
    pub api: Option<ApiView>,
    /// Reports not yet paired into the tracker.
    pending: [bool; 2],
    now_ms: i64,
}

fn index(side: Side) -> usize {
    match side {
        Side::Source => 0,
        Side::Dest => 1,
    }
}

impl Monitor {
    pub fn new(settings: Settings, now_ms: i64) -> Monitor {
        let not_yet = |endpoint: String| {
            SideSnapshot::down(endpoint, Reach::Unreachable("not polled yet".into()))
        };
        let history_ms = crate::logic::format::millis(settings.history);
        Monitor {
            snap: Snapshot {
                taken_at_ms: now_ms,
                source: not_yet(settings.source.to_string()),
                dest: not_yet(settings.dest.to_string()),
            },
            polled_at_ms: [None, None],
            tracker: Tracker::new(Mapping::new(&settings)).with_history(history_ms),
            checks: Vec::new(),
            api: settings
                .airbyte
                .as_ref()
                .map(|a| ApiView::new(a.url.clone())),
            settings,
            pending: [false, false],
            now_ms,
        }
    }

    /// A side reported: kept, paired with the other side's latest once both are new,
    /// and the checks judged again.
    pub fn polled(&mut self, side: Side, snap: SideSnapshot, at_ms: i64) {
        self.now_ms = self.now_ms.max(at_ms);
        let i = index(side);
        *side.pick(&mut self.snap.source, &mut self.snap.dest) = snap;
        self.polled_at_ms[i] = Some(at_ms);
        self.pending[i] = true;
        if side == Side::Source {
            self.snap.taken_at_ms = at_ms;
        }
        if self.pending == [true, true] {
            self.pair();
        }
        self.judge();
    }

    /// The clock moved: a side that stopped answering must not hold the other's reports
    /// back from the tracker (a down side is itself a state to show).
    pub fn tick(&mut self, now_ms: i64) {
        self.now_ms = now_ms;
        let stale = 2 * crate::logic::format::millis(self.settings.poll_interval);
        let overdue =
            |i: usize| self.pending[i] && self.polled_at_ms[i].is_some_and(|t| now_ms - t > stale);
        if overdue(0) || overdue(1) {
            self.pair();
        }
        if self.api.is_some() {
            self.judge();
        }
    }

    /// Airbyte's API reported (ignored when none is configured).
    pub fn api_report(&mut self, msg: ApiMsg) {
        if let Some(view) = self.api.as_mut() {
            crate::logic::airbyte_api::apply(view, msg);
            self.judge();
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    fn pair(&mut self) {
        self.tracker.observe(&self.snap);
        self.pending = [false, false];
    }

    fn judge(&mut self) {
        let syncs = self.tracker.syncs();
        self.checks = checks::with_sync_job(
            checks::evaluate(&self.snap, &self.settings, syncs),
            self.api.as_ref(),
            &self.settings,
            syncs,
            self.now_ms,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::check::Status;
    use crate::testing::healthy;

    #[test]
    fn both_sides_are_paired_and_a_silent_side_does_not_hold_the_other_back() {
        let snap = healthy();
        let mut m = Monitor::new(Settings::default(), 0);
        assert!(!m.snap.source.reach.is_up(), "not polled yet reads as down");
        m.polled(Side::Source, snap.source.clone(), 1_000);
        assert!(
            m.tracker.tables().next().is_none(),
            "waits for the other side"
        );
        m.polled(Side::Dest, snap.dest.clone(), 1_000);
        assert_eq!(m.tracker.tables().count(), 2);
        assert!(
            m.checks.iter().all(|c| c.status == Status::Ok),
            "{:?}",
            m.checks
        );
        // The destination goes silent: after two poll intervals the source's reports are
        // paired with what the destination last said.
        m.polled(Side::Source, snap.source.clone(), 2_000);
        let before = m
            .tracker
            .history(&("public".into(), "tache".into()))
            .unwrap()
            .len();
        m.tick(4_100);
        let after = m
            .tracker
            .history(&("public".into(), "tache".into()))
            .unwrap()
            .len();
        assert_eq!(after, before + 1);
    }
}
