//! Lays the panes out and draws a given state. No I/O and no clock: the time shown is the
//! state's, so a frame is a pure function of `App` (render tests rely on it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use super::app::{App, Popup};
use super::panes;
use super::popups;
use super::theme::Theme;

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme) {
    let area = frame.area();
    // Small terminals (80×24) shrink the checks and the log before the tables.
    let small = area.height < 30;
    let checks_h = (app.checks.len() as u16 + 2).min(if small { 6 } else { 10 });
    let log_h = if small { 4 } else { 6 };
    let [header, tables, slot, checks, log, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(3),
        Constraint::Length(checks_h),
        Constraint::Length(log_h),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::draw(frame, header, app, theme);
    app.page = tables.height.saturating_sub(3) as usize;
    panes::tables::draw(frame, tables, app, theme);
    panes::slot::draw(frame, slot, app, theme);
    panes::checks::draw(frame, checks, app, theme);
    panes::log::draw(frame, log, app, theme);
    panes::footer::draw(frame, footer, app, theme);
    match &app.popup {
        Some(Popup::Help) => popups::help::draw(frame, area, app, theme),
        Some(Popup::Confirm { title, lines, .. }) => {
            popups::text::draw(frame, area, title, lines, true, theme)
        }
        Some(Popup::SeedForm { table, rows }) => {
            let lines = vec![
                format!(
                    "Seed {} rows into {} of the source, through binary COPY.",
                    crate::logic::format::group_digits(*rows as i64),
                    match table {
                        Some(t) => format!("table {t}"),
                        None => "every published table".to_string(),
                    }
                ),
                String::new(),
                "+ / - ten times more / fewer rows · Tab this table / all tables".into(),
                "Esc during the seed stops it after the current batch.".into(),
            ];
            popups::text::draw(frame, area, "Seed sample rows", &lines, true, theme)
        }
        Some(Popup::Text { title, lines }) => {
            popups::text::draw(frame, area, title, lines, false, theme)
        }
        None => {}
    }
}
