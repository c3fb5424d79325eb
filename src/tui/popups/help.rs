//! The help overlay, built from the key table.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::centered;
use crate::tui::keys::BINDINGS;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, read_only: bool, theme: &Theme) {
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            let mut spans = vec![
                Span::styled(format!(" {:<11}", b.label), theme.title()),
                Span::raw(b.help),
            ];
            if b.writes {
                let note = if read_only {
                    "  · disabled (read-only)"
                } else {
                    "  · writes, asks y/n"
                };
                spans.push(Span::styled(note, theme.dim()));
            }
            Line::from(spans)
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(" Esc, q or ? closes this help", theme.dim()));
    let rect = centered(area, 84, lines.len() as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(" Keys ", theme.title()));
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}
