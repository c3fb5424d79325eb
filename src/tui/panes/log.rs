//! What happened: actions, errors, reconnects, with times.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::tui::action::LogLevel;
use crate::tui::app::{App, Pane};
use crate::tui::panes::header::clock;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focused = app.focus == Pane::Log;
    let height = area.height.saturating_sub(2) as usize;
    let end = app.log.len().saturating_sub(app.log_scroll);
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = app
        .log
        .range(start..end)
        .map(|l| {
            let style = match l.level {
                LogLevel::Info => ratatui::style::Style::new(),
                LogLevel::Warn => theme.warn(),
                LogLevel::Error => theme.error(),
            };
            Line::from(vec![
                Span::styled(format!("{} ", clock(app, l.at_ms)), theme.dim()),
                Span::styled(l.text.clone(), style),
            ])
        })
        .collect();
    let title = if app.log_scroll > 0 {
        format!(" Log (↑{}) ", app.log_scroll)
    } else {
        " Log ".to_string()
    };
    let block = Block::bordered()
        .title(Span::styled(title, theme.title()))
        .border_style(theme.border(focused));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
