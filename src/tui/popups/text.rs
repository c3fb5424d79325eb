//! A text overlay: details of a table or check, or a confirmation showing exactly the SQL
//! that `y` will run.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::centered;
use crate::tui::theme::Theme;

pub fn draw(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    lines: &[String],
    confirm: bool,
    theme: &Theme,
) {
    let mut body: Vec<Line> = lines.iter().map(|l| Line::raw(l.clone())).collect();
    body.push(Line::raw(""));
    body.push(if confirm {
        Line::from(vec![
            Span::styled(" y ", theme.title()),
            Span::raw("run it   "),
            Span::styled(" n ", theme.title()),
            Span::raw("/ Esc cancel"),
        ])
    } else {
        Line::styled("Esc closes", theme.dim())
    });
    let width = area.width.saturating_sub(4).min(100);
    // Long lines wrap: count the rows they will take inside the borders.
    let inner = width.saturating_sub(2).max(1) as usize;
    let rows: usize = body.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let height = (rows as u16 + 2).min(area.height);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    let block = Block::bordered().title(Span::styled(format!(" {title} "), theme.title()));
    frame.render_widget(
        Paragraph::new(body).block(block).wrap(Wrap { trim: false }),
        rect,
    );
}
