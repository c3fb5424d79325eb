//! `g`: change traffic on and off, and its reports (numbered by run, so a late report
//! of a run already stopped cannot hide the one after it).

use crate::tui::action::{LogLevel, TrafficReport};
use crate::tui::effect::Effect;
use crate::tui::popups::confirm;

use super::{App, TrafficState};

impl App {
    pub(super) fn toggle_traffic(&mut self) -> Vec<Effect> {
        if self.traffic != TrafficState::Off {
            // Also while it is still connecting: `g` gives up on it.
            self.push_log(LogLevel::Info, "stopping change traffic");
            self.traffic = TrafficState::Off;
            return vec![Effect::StopTraffic];
        }
        if self.refuse_write("traffic is") {
            return vec![];
        }
        self.popup = Some(confirm::traffic(self.traffic_run + 1));
        vec![]
    }

    /// `y` on the question: the run starts in the background; until it reports, the
    /// header says it is starting.
    pub(super) fn traffic_started(&mut self, run: u32) {
        self.traffic_run = self.traffic_run.max(run);
        self.traffic = TrafficState::Starting;
    }

    pub(super) fn traffic_report(&mut self, r: TrafficReport) -> Vec<Effect> {
        // Late: from a run already replaced, or from the one the user just stopped.
        let late = r.run < self.traffic_run;
        let stopped = r.run == self.traffic_run && self.traffic == TrafficState::Off;
        if late || (stopped && r.running) {
            return vec![];
        }
        self.traffic_run = r.run;
        self.traffic = if r.running {
            TrafficState::Running {
                changes: r.changes,
                rate: r.rate,
            }
        } else {
            TrafficState::Off
        };
        vec![]
    }
}
