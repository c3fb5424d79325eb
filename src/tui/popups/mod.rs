//! Overlays that capture keys: help, and text (details or a confirmation with its SQL).

pub mod help;
pub mod text;

use ratatui::layout::{Constraint, Flex, Layout, Rect};

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
