//! Lays the panes out and draws a given state. No I/O and no clock: the time shown is the
//! state's, so a frame is a pure function of `App` (render tests rely on it).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};

use super::app::App;
use super::panes;
use super::popups::{self, Popup};
use super::theme::Theme;

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme) {
    let area = frame.area();
    // Small terminals (80×24) shrink the checks and the log before the tables.
    let small = area.height < 30;
    let checks_h = (app.checks.len() as u16 + 2).min(if small { 6 } else { 10 });
    let log_h = if small { 4 } else { 6 };
    // Airbyte's jobs, when its API is configured: one job on a small terminal, four else.
    let jobs_h = app.api.as_ref().map_or(0, |v| {
        panes::jobs::height(v, if small { 1 } else { 4 }, app.now_ms)
    });
    let [header, tables, slot, jobs, checks, log, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(4),
        Constraint::Length(3),
        Constraint::Length(jobs_h),
        Constraint::Length(checks_h),
        Constraint::Length(log_h),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::draw(frame, header, app, theme);
    app.page = tables.height.saturating_sub(3) as usize;
    panes::tables::draw(frame, tables, app, theme);
    panes::slot::draw(frame, slot, app, theme);
    if let Some(view) = &app.api {
        panes::jobs::draw(frame, jobs, app, view, theme);
    }
    panes::checks::draw(frame, checks, app, theme);
    panes::log::draw(frame, log, app, theme);
    panes::footer::draw(frame, footer, app, theme);
    match &app.popup {
        // Drawn from the live history, so it moves while open.
        Some(Popup::Slot) => {
            let syncs = app.tracker.syncs();
            let view = popups::slot::SlotView {
                name: &app.settings.slot,
                timeline: syncs.timeline(),
                sessions: syncs
                    .sessions()
                    .map(|s| (s.started_at_ms, s.ended_at_ms))
                    .collect(),
                now_ms: app.now_ms,
            };
            popups::slot::draw(frame, area, &view, theme);
        }
        Some(popup) => popups::draw(frame, area, popup, app.settings.read_only, theme),
        None => {}
    }
}
