//! What happened: actions, errors, reconnects, with times. Long lines wrap under their
//! text (a refused fix's explanation ends with the privilege it needs, so cutting lines
//! at the pane's edge would hide exactly what the reader is looking for).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::tui::action::LogLevel;
use crate::tui::app::{App, Pane};
use crate::tui::panes::header::clock;
use crate::tui::theme::Theme;

/// Columns of the `12:04:31 ` prefix; continuation rows are indented as much.
const CLOCK_COLS: usize = 9;

fn cols(s: &str) -> usize {
    Span::raw(s).width()
}

/// `text` cut into rows of at most `width` columns, at spaces when it can be (the space a
/// row ends at is dropped, so rows joined with one space give the text back); a word
/// longer than a row is cut where the row ends. Newlines start a new row.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for paragraph in text.split('\n') {
        let mut row = String::new();
        let mut used = 0;
        let mut fresh = true;
        for word in paragraph.split(' ') {
            let w = cols(word);
            if !fresh {
                if used + 1 + w <= width {
                    row.push(' ');
                    row.push_str(word);
                    used += 1 + w;
                    continue;
                }
                rows.push(std::mem::take(&mut row));
            }
            let mut rest = word;
            while cols(rest) > width {
                let mut cut = 0;
                let mut taken = 0;
                for (i, ch) in rest.char_indices() {
                    let c = cols(&rest[i..i + ch.len_utf8()]);
                    if taken + c > width {
                        break;
                    }
                    taken += c;
                    cut = i + ch.len_utf8();
                }
                // A single character wider than the row still has to go somewhere.
                let cut = if cut == 0 {
                    rest.chars().next().map_or(rest.len(), char::len_utf8)
                } else {
                    cut
                };
                rows.push(rest[..cut].to_string());
                rest = &rest[cut..];
            }
            row.push_str(rest);
            used = cols(rest);
            fresh = false;
        }
        rows.push(row);
    }
    rows
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let focused = app.focus == Pane::Log;
    let height = area.height.saturating_sub(2) as usize;
    let inner = area.width.saturating_sub(2) as usize;
    // Too narrow to indent under the text: continuation rows start at the edge.
    let indent = if inner >= CLOCK_COLS + 20 {
        CLOCK_COLS
    } else {
        0
    };
    let end = app.log.len().saturating_sub(app.log_scroll);
    // Newest last: whole lines from the newest back while they fit; the newest alone is
    // shown from its start when it is taller than the pane, an older one that only
    // partly fits shows its end.
    let mut blocks: Vec<Vec<Line>> = Vec::new();
    let mut rows_left = height;
    for l in app.log.range(..end).rev() {
        if rows_left == 0 {
            break;
        }
        let style = match l.level {
            LogLevel::Info => ratatui::style::Style::new(),
            LogLevel::Warn => theme.warn(),
            LogLevel::Error => theme.error(),
        };
        let first_width = inner.saturating_sub(CLOCK_COLS);
        let mut text_rows = wrap(&l.text, first_width);
        if indent == 0 && text_rows.len() > 1 {
            // Rewrap what follows the first row to the full width.
            let rest = text_rows[1..].join(" ");
            text_rows.truncate(1);
            text_rows.extend(wrap(&rest, inner));
        }
        let mut lines: Vec<Line> = text_rows
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let prefix = if i == 0 {
                    Span::styled(format!("{} ", clock(app, l.at_ms)), theme.dim())
                } else {
                    Span::raw(" ".repeat(indent))
                };
                Line::from(vec![prefix, Span::styled(row, style)])
            })
            .collect();
        if lines.len() > rows_left {
            if blocks.is_empty() {
                lines.truncate(rows_left);
            } else {
                lines.drain(..lines.len() - rows_left);
            }
        }
        rows_left -= lines.len();
        blocks.push(lines);
    }
    let lines: Vec<Line> = blocks.into_iter().rev().flatten().collect();
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

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn rows_break_at_spaces_and_join_back_to_the_text() {
        let text = "source.publication: `CREATE PUBLICATION p` was refused for role mon: it needs the CREATE privilege";
        let rows = wrap(text, 30);
        assert!(rows.iter().all(|r| r.chars().count() <= 30), "{rows:?}");
        assert_eq!(rows.join(" "), text);
        assert_eq!(wrap("short", 30), ["short"]);
        assert_eq!(wrap("", 30), [""]);
    }

    #[test]
    fn a_word_longer_than_a_row_is_cut_and_wide_characters_are_counted() {
        assert_eq!(wrap("abcdefgh ij", 3), ["abc", "def", "gh", "ij"]);
        assert_eq!(wrap("表表表", 4), ["表表", "表"]);
        assert_eq!(wrap("a\nb", 10), ["a", "b"]);
    }
}
