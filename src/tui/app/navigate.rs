//! Moving around: panes, selection, sort, the help and details popups, and the keys
//! that answer or close a popup.

use crate::tui::action::LogLevel;
use crate::tui::effect::Effect;
use crate::tui::popups::{self, Popup, details::TableDetails};

use super::{App, Pane, Sort};

impl App {
    pub(super) fn quit(&mut self) -> Vec<Effect> {
        self.quit = true;
        vec![Effect::Quit]
    }

    pub(super) fn cancel(&mut self) -> Vec<Effect> {
        // Esc with nothing open stops a seed after its current batch.
        if self.popup.is_none() && self.seeding.is_some() {
            self.push_log(LogLevel::Info, "stopping the seed after the current batch");
            return vec![Effect::CancelSeed];
        }
        self.popup = None;
        vec![]
    }

    /// `y`: runs what the open question asked about.
    pub(super) fn confirm(&mut self) -> Vec<Effect> {
        match self.popup.take() {
            Some(Popup::Confirm { on_yes, .. }) => {
                match on_yes {
                    Effect::StartTraffic(run) => self.traffic_started(run),
                    Effect::StartSync => self.sync_confirmed(),
                    _ => {}
                }
                vec![on_yes]
            }
            Some(Popup::SeedForm { table, rows }) => self.start_seed(table, rows),
            other => {
                self.popup = other;
                vec![]
            }
        }
    }

    pub(super) fn toggle_help(&mut self) -> Vec<Effect> {
        self.popup = match self.popup {
            Some(Popup::Help) => None,
            _ => Some(Popup::Help),
        };
        vec![]
    }

    pub(super) fn step_pane(&mut self, by: isize) -> Vec<Effect> {
        self.focus = self.focus.step(by);
        vec![]
    }

    pub(super) fn cycle_sort(&mut self) -> Vec<Effect> {
        self.sort = match self.sort {
            Sort::Name => Sort::Difference,
            Sort::Difference => Sort::State,
            Sort::State => Sort::Name,
        };
        vec![]
    }

    pub(super) fn move_selection(&mut self, by: isize) -> Vec<Effect> {
        match self.focus {
            Pane::Tables => {
                let n = self.rows().len();
                self.table_selected = step(self.table_selected, by, n);
            }
            Pane::Checks => {
                self.check_selected = step(self.check_selected, by, self.checks.len());
            }
            Pane::Slot => {}
            Pane::Log => {
                // Scrolling back from the newest line.
                let n = self.log.len();
                self.log_scroll = step(self.log_scroll, -by, n);
            }
        }
        vec![]
    }

    pub(super) fn clamp_selection(&mut self) {
        let n = self.rows().len();
        self.table_selected = self.table_selected.min(n.saturating_sub(1));
        self.check_selected = self.check_selected.min(self.checks.len().saturating_sub(1));
    }

    /// Enter: the selected check's or table's details.
    pub(super) fn details(&mut self) -> Vec<Effect> {
        self.popup = match self.focus {
            Pane::Slot => Some(Popup::Slot),
            Pane::Checks => self
                .checks
                .get(self.check_selected)
                .map(popups::details::check),
            _ => self.rows().into_iter().nth(self.table_selected).map(|row| {
                popups::details::table(TableDetails {
                    name: format!("{}.{}", row.key.0, row.key.1),
                    state: row.state,
                    source: row.source,
                    dest: row.dest,
                    info: self
                        .source
                        .snap
                        .as_ref()
                        .and_then(|s| s.table(&row.key.0, &row.key.1)),
                    rates: row.rates,
                    loaded_ago_ms: row.loaded_at_ms.map(|at| (self.now_ms - at).max(0)),
                })
            }),
        };
        vec![]
    }
}

fn step(current: usize, by: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (current as isize + by).clamp(0, len as isize - 1) as usize
}
