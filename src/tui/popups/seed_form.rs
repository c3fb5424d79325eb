//! The seed form: how many rows, into which table; `y` starts the seed.

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::logic::format::group_digits;
use crate::tui::theme::Theme;

/// Rows the form offers first.
pub const DEFAULT_ROWS: u64 = 1_000;
/// The most the form offers.
pub const MAX_ROWS: u64 = 100_000_000;

pub fn lines(table: Option<&str>, rows: u64) -> Vec<String> {
    vec![
        format!(
            "Seed {} rows into {} of the source, through binary COPY.",
            group_digits(rows),
            match table {
                Some(t) => format!("table {t}"),
                None => "every published table".to_string(),
            }
        ),
        String::new(),
        "+ / - ten times more / fewer rows · Tab this table / all tables".into(),
        "Esc during the seed stops it after the current batch.".into(),
    ]
}

pub fn draw(frame: &mut Frame, area: Rect, table: Option<&str>, rows: u64, theme: &Theme) {
    super::text::draw(
        frame,
        area,
        "Seed sample rows",
        &lines(table, rows),
        true,
        theme,
    )
}
