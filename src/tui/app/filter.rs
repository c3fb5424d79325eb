//! `/`: the tables pane's name filter, typed in place.

use crate::tui::effect::Effect;

use super::{App, Pane};

impl App {
    pub(super) fn start_filter(&mut self) -> Vec<Effect> {
        self.focus = Pane::Tables;
        self.filter_editing = true;
        vec![]
    }

    pub(super) fn filter_char(&mut self, c: char) -> Vec<Effect> {
        self.filter.push(c);
        self.table_selected = 0;
        vec![]
    }

    pub(super) fn filter_backspace(&mut self) -> Vec<Effect> {
        self.filter.pop();
        self.table_selected = 0;
        vec![]
    }

    /// Enter keeps the filter.
    pub(super) fn filter_apply(&mut self) -> Vec<Effect> {
        self.filter_editing = false;
        vec![]
    }

    /// Esc clears it.
    pub(super) fn filter_cancel(&mut self) -> Vec<Effect> {
        self.filter_editing = false;
        self.filter.clear();
        self.table_selected = 0;
        vec![]
    }
}
