//! Every check with ✓ ! ✗ ?, the selected one highlighted; Enter shows its detail and fix.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::model::check::Status;
use crate::tui::app::{App, Pane};
use crate::tui::panes::tables::window_start;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focused = app.focus == Pane::Checks;
    let count = |s: Status| app.checks.iter().filter(|c| c.status == s).count();
    let title = Line::from(vec![
        Span::styled(" Checks ", theme.title()),
        Span::styled(format!("✓{} ", count(Status::Ok)), theme.status(Status::Ok)),
        Span::styled(
            format!("!{} ", count(Status::Warning)),
            theme.status(Status::Warning),
        ),
        Span::styled(
            format!("✗{} ", count(Status::Critical)),
            theme.status(Status::Critical),
        ),
        Span::styled(
            format!("?{} ", count(Status::Unknown)),
            theme.status(Status::Unknown),
        ),
        Span::styled("· Enter details · f fix ", theme.dim()),
    ]);
    let block = Block::bordered()
        .title(title)
        .border_style(theme.border(focused));
    let height = area.height.saturating_sub(2) as usize;
    let start = window_start(app.check_selected, height, app.checks.len());
    let lines: Vec<Line> = app
        .checks
        .iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(i, c)| {
            let side = c.side.tag();
            let fixable =
                if c.status != Status::Ok && c.fix.as_ref().is_some_and(|f| !f.sql.is_empty()) {
                    " [f]"
                } else {
                    ""
                };
            let line = Line::from(vec![
                Span::styled(format!("{} ", c.status.symbol()), theme.status(c.status)),
                Span::styled(format!("{side} {:<16} ", c.title), theme.title()),
                Span::raw(c.detail.clone()),
                Span::styled(fixable, theme.warn()),
            ]);
            if focused && i == app.check_selected {
                line.style(theme.selected())
            } else {
                line
            }
        })
        .collect();
    let body = if lines.is_empty() {
        vec![Line::styled("waiting for the first poll …", theme.dim())]
    } else {
        lines
    };
    frame.render_widget(Paragraph::new(body).block(block), area);
}
