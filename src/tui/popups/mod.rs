//! Overlays that capture keys. Each popup's module builds its content from plain data
//! (so `App::update` can open it) and draws it; [`Popup`] is what the state holds.

pub mod confirm;
pub mod details;
pub mod help;
pub mod seed_form;
pub mod slot;
pub mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};

use super::effect::Effect;
use super::theme::Theme;

#[derive(Clone, Debug, PartialEq)]
pub enum Popup {
    Help,
    /// The seed form: how many rows, into what; y starts it.
    SeedForm {
        table: Option<String>,
        rows: u64,
    },
    /// A write waits for y/n; `lines` is exactly what will run.
    Confirm {
        title: String,
        lines: Vec<String>,
        on_yes: Effect,
    },
    /// Read-only text (details of a table or check).
    Text {
        title: String,
        lines: Vec<String>,
    },
    /// The slot's history as charts (drawn from the app's live history).
    Slot,
}

impl Popup {
    /// Popups answered with y/n rather than closed with Esc alone.
    pub fn asks(&self) -> bool {
        matches!(self, Popup::Confirm { .. } | Popup::SeedForm { .. })
    }
}

/// Draws `popup` over `area`.
pub fn draw(frame: &mut Frame, area: Rect, popup: &Popup, read_only: bool, theme: &Theme) {
    match popup {
        Popup::Help => help::draw(frame, area, read_only, theme),
        Popup::Confirm { title, lines, .. } => text::draw(frame, area, title, lines, true, theme),
        Popup::SeedForm { table, rows } => {
            seed_form::draw(frame, area, table.as_deref(), *rows, theme)
        }
        Popup::Text { title, lines } => text::draw(frame, area, title, lines, false, theme),
        // Needs the app's history: `draw::draw` draws it.
        Popup::Slot => {}
    }
}

/// A centred rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [r] = Layout::horizontal([Constraint::Length(w.min(area.width))])
        .flex(Flex::Center)
        .areas(v);
    r
}
