//! `s`: the seed form, the seed's progress in the footer, its summary in the log.

use crate::tui::action::{LogLevel, SeedProgress};
use crate::tui::effect::Effect;
use crate::tui::popups::{Popup, seed_form};

use super::App;

impl App {
    pub(super) fn open_seed_form(&mut self) -> Vec<Effect> {
        if self.refuse_write("seeding is") {
            return vec![];
        }
        if self.seeding.is_some() {
            self.push_log(LogLevel::Warn, "a seed is already running (Esc stops it)");
            return vec![];
        }
        self.popup = Some(Popup::SeedForm {
            table: self.selected_table_name(),
            rows: seed_form::DEFAULT_ROWS,
        });
        vec![]
    }

    pub(super) fn seed_rows_times(&mut self, by: u64) -> Vec<Effect> {
        if let Some(Popup::SeedForm { rows, .. }) = &mut self.popup {
            *rows = rows.saturating_mul(by).min(seed_form::MAX_ROWS);
        }
        vec![]
    }

    pub(super) fn seed_rows_divided(&mut self, by: u64) -> Vec<Effect> {
        if let Some(Popup::SeedForm { rows, .. }) = &mut self.popup {
            *rows = (*rows / by).max(1);
        }
        vec![]
    }

    /// Tab in the form: the selected table, or every published table.
    pub(super) fn seed_scope(&mut self) -> Vec<Effect> {
        let selected = self.selected_table_name();
        if let Some(Popup::SeedForm { table, .. }) = &mut self.popup {
            *table = match table {
                Some(_) => None,
                None => selected,
            };
        }
        vec![]
    }

    pub(super) fn start_seed(&mut self, table: Option<String>, rows: u64) -> Vec<Effect> {
        self.seeding = Some(SeedProgress {
            table: table.clone().unwrap_or_else(|| "…".into()),
            written: 0,
            target: rows,
            rows_per_sec: 0.0,
        });
        vec![Effect::Seed { table, rows }]
    }

    pub(super) fn seed_progress(&mut self, p: SeedProgress) -> Vec<Effect> {
        self.seeding = Some(p);
        vec![]
    }

    pub(super) fn seed_done(&mut self, summary: String) -> Vec<Effect> {
        self.seeding = None;
        self.push_log(LogLevel::Info, summary);
        vec![Effect::Refresh]
    }

    fn selected_table_name(&self) -> Option<String> {
        self.rows()
            .get(self.table_selected)
            .map(|r| r.key.1.clone())
    }
}
