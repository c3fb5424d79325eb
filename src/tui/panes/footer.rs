//! Bottom line: the keys, from the same table as the help.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::keys::BINDINGS;
use crate::tui::theme::Theme;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let line = if app.filter_editing {
        Line::from(vec![
            Span::styled("filter: ", theme.title()),
            Span::raw(format!("{}▏", app.filter)),
            Span::styled("   Enter keep · Esc clear", theme.dim()),
        ])
    } else {
        let mut spans = Vec::new();
        for b in BINDINGS.iter().filter(|b| b.footer.is_some()) {
            let key = b.label.split_whitespace().next().unwrap_or(b.label);
            spans.push(Span::styled(key.to_string(), theme.title()));
            spans.push(Span::styled(
                format!(" {}  ", b.footer.unwrap_or_default()),
                theme.dim(),
            ));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
