//! Bottom line: the keys, from the same table as the help.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::logic::format;
use crate::tui::action::{DiffProgress, SeedProgress};
use crate::tui::app::{App, Diffing};
use crate::tui::keys::BINDINGS;
use crate::tui::theme::Theme;

/// Cells of the seed's gauge.
const SEED_GAUGE: usize = 20;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let line = if let Some(SeedProgress {
        table,
        written,
        target,
        rows_per_sec: rate,
    }) = &app.seeding
    {
        // The seed's gauge takes the footer while it runs.
        let fraction = if *target > 0 {
            (*written as f64 / *target as f64).min(1.0)
        } else {
            0.0
        };
        let eta = if *rate > 0.0 && target > written {
            let left = Duration::from_secs_f64((target - written) as f64 / rate);
            format!(" ETA {}", format::eta(left))
        } else {
            String::new()
        };
        Line::from(vec![
            Span::styled("seeding ", theme.title()),
            Span::raw(format!("{table} ")),
            Span::styled(format::gauge(fraction, SEED_GAUGE), theme.warn()),
            Span::raw(format!(
                " {:.0}% {} rows/s{eta}",
                fraction * 100.0,
                format::group_digits(*rate as i64)
            )),
            Span::styled("  Esc stops after this batch", theme.dim()),
        ])
    } else if let Some(Diffing {
        table,
        progress: DiffProgress { phase, done, total },
    }) = &app.diffing
    {
        Line::from(vec![
            Span::styled("diffing ", theme.title()),
            Span::raw(format!("{table}: {phase} ")),
            Span::styled(format!("{done}/{total} segments"), theme.dim()),
        ])
    } else if app.filter_editing {
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
