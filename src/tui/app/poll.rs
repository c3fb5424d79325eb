//! Poller reports: each side's latest snapshot, the pairing of both sides into the
//! tracker, the checks, the slot's history; and the keys that steer polling.

use crate::logic::checks;
use crate::model::side::Side;
use crate::model::snapshot::{Reach, SideSnapshot};
use crate::tui::action::LogLevel;
use crate::tui::effect::Effect;

use super::{App, SLOT_HISTORY, SideView, SlotSample};

impl App {
    pub(super) fn tick(&mut self, now: i64) -> Vec<Effect> {
        self.now_ms = now;
        // A side that stopped answering must not hold the other's samples back.
        let stale = 2 * self.settings.poll_interval.as_millis() as i64;
        let overdue = |v: &SideView| v.polled_at_ms.is_some_and(|t| now - t > stale);
        if (self.pending_source && overdue(&self.source))
            || (self.pending_dest && overdue(&self.dest))
        {
            self.pair_samples();
        }
        // A job's age, and whether it is overdue, move with the clock.
        self.judge_sync_job();
        vec![]
    }

    pub(super) fn poll_started(&mut self, side: Side, at: i64) -> Vec<Effect> {
        self.view_mut(side).poll_started_ms = Some(at);
        vec![]
    }

    pub(super) fn polled(&mut self, side: Side, snap: SideSnapshot, at: i64) -> Vec<Effect> {
        self.now_ms = self.now_ms.max(at);
        let label = side.label();
        let was = self.view_mut(side).snap.as_ref().map(|s| s.reach.clone());
        match (&was, &snap.reach) {
            (Some(Reach::Up) | None, Reach::Up) => {}
            (_, Reach::Up) => self.push_log(LogLevel::Info, format!("{label} reachable again")),
            (Some(old), new) if old == new => {}
            (_, new) => self.push_log(
                LogLevel::Error,
                format!("{label}: {}", new.reason().unwrap_or("down")),
            ),
        }
        let view = self.view_mut(side);
        view.poll_started_ms = None;
        view.polled_at_ms = Some(at);
        view.snap = Some(snap);
        match side {
            Side::Source => {
                self.pending_source = true;
                self.record_slot(at);
            }
            Side::Dest => self.pending_dest = true,
        }
        if self.pending_source && self.pending_dest {
            self.pair_samples();
        }
        self.with_snapshot(|app, snap| {
            app.checks = checks::evaluate(snap, &app.settings, app.tracker.syncs())
        });
        self.judge_sync_job();
        self.clamp_selection();
        vec![]
    }

    pub(super) fn refresh(&mut self) -> Vec<Effect> {
        self.push_log(LogLevel::Info, "refresh requested");
        vec![Effect::Refresh]
    }

    pub(super) fn toggle_pause(&mut self) -> Vec<Effect> {
        self.paused = !self.paused;
        let word = if self.paused { "paused" } else { "resumed" };
        self.push_log(LogLevel::Info, format!("polling {word}"));
        vec![Effect::SetPaused(self.paused)]
    }

    pub(super) fn count_exact(&mut self) -> Vec<Effect> {
        let Some(key) = self.selected_table() else {
            return vec![];
        };
        self.push_log(
            LogLevel::Info,
            format!("exact count of {}.{} requested", key.0, key.1),
        );
        vec![Effect::CountExact(key)]
    }

    fn view_mut(&mut self, side: Side) -> &mut SideView {
        side.pick(&mut self.source, &mut self.dest)
    }

    /// Feeds the tracker one sample per table from the latest of both sides.
    fn pair_samples(&mut self) {
        self.with_snapshot(|app, snap| app.tracker.observe(snap));
        self.pending_source = false;
        self.pending_dest = false;
    }

    fn record_slot(&mut self, at: i64) {
        let Some(slot) = self
            .source
            .snap
            .as_ref()
            .and_then(|s| s.slot.ok())
            .and_then(|s| s.as_ref())
        else {
            return;
        };
        self.slot_history.push_back(SlotSample {
            at_ms: at,
            retained: slot.retained_bytes.unwrap_or(0),
            lag: slot.lag_bytes.unwrap_or(0),
            confirmed_flush: slot.confirmed_flush_lsn.clone(),
        });
        while self.slot_history.len() > SLOT_HISTORY {
            self.slot_history.pop_front();
        }
    }

    /// How long the slot's confirmed position has stood still, if it has.
    pub fn confirmed_flush_still_ms(&self) -> Option<i64> {
        let last = self.slot_history.back()?;
        let since = self
            .slot_history
            .iter()
            .rev()
            .take_while(|s| s.confirmed_flush == last.confirmed_flush)
            .last()?;
        (self.slot_history.len() > 1 && since.at_ms < last.at_ms)
            .then_some(last.at_ms - since.at_ms)
    }
}
