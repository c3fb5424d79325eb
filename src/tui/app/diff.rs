//! `d`: a row-level diff of the selected table in the background, its progress in the
//! footer and its report in a popup.

use crate::tui::action::{DiffProgress, LogLevel};
use crate::tui::effect::{DiffHints, Effect};
use crate::tui::popups::Popup;

use super::{App, Diffing};

impl App {
    pub(super) fn start_diff(&mut self) -> Vec<Effect> {
        if let Some(d) = &self.diffing {
            let line = format!("a diff of {} is already running", d.table);
            self.push_log(LogLevel::Warn, line);
            return vec![];
        }
        let Some(key) = self.selected_table() else {
            return vec![];
        };
        let table = format!("{}.{}", key.0, key.1);
        self.push_log(LogLevel::Info, format!("diffing {table} (read-only)"));
        self.diffing = Some(Diffing {
            table,
            progress: DiffProgress {
                phase: "connecting".into(),
                done: 0,
                total: 0,
            },
        });
        let hints = DiffHints {
            read_horizon: self.tracker.syncs().read_horizon(),
            settled_modifications: self
                .tracker
                .table(&key)
                .and_then(|h| h.settled_modifications),
        };
        vec![Effect::Diff(key, hints)]
    }

    pub(super) fn diff_progress(&mut self, p: DiffProgress) -> Vec<Effect> {
        if let Some(d) = &mut self.diffing {
            d.progress = p;
        }
        vec![]
    }

    pub(super) fn diff_done(
        &mut self,
        table: String,
        result: Result<Vec<String>, String>,
    ) -> Vec<Effect> {
        self.diffing = None;
        match result {
            Ok(lines) => {
                self.push_log(
                    LogLevel::Info,
                    format!(
                        "diff of {table} done: {}",
                        lines.first().cloned().unwrap_or_default()
                    ),
                );
                self.popup = Some(Popup::Text {
                    title: format!("diff {table}"),
                    lines,
                });
            }
            Err(why) => self.push_log(LogLevel::Error, format!("diff of {table}: {why}")),
        }
        vec![]
    }
}
