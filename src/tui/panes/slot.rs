//! The slot: status, retained WAL against the critical threshold, lag, whether the
//! consumer's confirmed position moves.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::config::Engine;
use crate::logic::format::{behind_label, forecast_label, gauge, human_bytes, millis};
use crate::logic::syncs;
use crate::tui::app::{App, Pane};
use crate::tui::panes::tables::sparkline;
use crate::tui::theme::Theme;

const GAUGE: usize = 10;

/// How full the retained WAL is toward the critical threshold.
fn fullness(value: i64, max: i64) -> f64 {
    if max <= 0 {
        0.0
    } else {
        value.max(0) as f64 / max as f64
    }
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let name = &app.settings.slot;
    let src = app.source.snap.as_ref();
    let slot = src.and_then(|s| s.slot.ok()).and_then(|s| s.as_ref());
    let (title, body): (String, Line) = match (src, slot) {
        (None, _) => (
            format!(" Slot {name} "),
            Line::styled("waiting for the source …", theme.dim()),
        ),
        (Some(s), _) if !s.reach.is_up() => (
            format!(" Slot {name} "),
            Line::styled("source not reachable: slot state unknown", theme.dim()),
        ),
        (Some(s), None) => (
            format!(" Slot {name} "),
            Line::styled(
                match s.slot.problem() {
                    Some(p) => format!("cannot read the slot: {p}"),
                    None => format!("no slot named {name}"),
                },
                theme.error(),
            ),
        ),
        (Some(_), Some(slot)) => {
            let state = if slot.active { "active" } else { "inactive" };
            let title = format!(
                " Slot {name} · {} · {state} · wal_status {} ",
                slot.plugin.as_deref().unwrap_or("?"),
                slot.wal_status.as_deref().unwrap_or("n/a")
            );
            let retained = slot.retained_bytes.unwrap_or(0);
            let crit = app.settings.retained_wal_critical_bytes as i64;
            let warn = app.settings.retained_wal_warning_bytes as i64;
            let style = if retained >= crit {
                theme.error()
            } else if retained >= warn {
                theme.warn()
            } else {
                theme.dim()
            };
            let history: Vec<i64> = app.slot_history.iter().map(|s| s.retained).collect();
            let moving = match app.settings.engine {
                // Between Airbyte syncs the confirmed position stands still by design:
                // what matters is when the last sync ran and when the next is due.
                Engine::Airbyte => {
                    Span::styled(syncs::summary(app.tracker.syncs(), app.now_ms), theme.dim())
                }
                Engine::Native => match app.confirmed_flush_still_ms() {
                    Some(ms) if ms >= 60_000 => Span::styled(
                        format!("confirmed LSN still for {}m", ms / 60_000),
                        theme.warn(),
                    ),
                    Some(_) => Span::styled("confirmed LSN idle", theme.dim()),
                    None => Span::styled("confirmed LSN moving", theme.dim()),
                },
            };
            let mut spans = vec![
                Span::raw(format!("retained {} ", human_bytes(retained))),
                Span::styled(gauge(fullness(retained, crit), GAUGE), style),
                Span::styled(format!(" of {} ", human_bytes(crit)), theme.dim()),
                Span::styled(sparkline(&history, 12), theme.dim()),
                Span::raw(format!(
                    "  lag {}",
                    human_bytes(slot.lag_bytes.unwrap_or(0))
                )),
            ];
            if let Some(text) = app.behind().and_then(behind_label) {
                spans.push(Span::raw(format!(" · {text}")));
            }
            // A forecast months away is no news: shown once within forecast_warning.
            let soon = millis(app.settings.forecast_warning);
            if let Some(f) = syncs::forecast_for(app.tracker.syncs(), slot, crit as u64)
                .filter(|f| f.in_ms <= soon)
            {
                spans.push(Span::styled(
                    format!(
                        " · {}/s → {}",
                        human_bytes(f.rate.round() as i64),
                        forecast_label(&f, crit as u64)
                    ),
                    theme.warn(),
                ));
            }
            spans.push(Span::raw("  "));
            spans.push(moving);
            let body = Line::from(spans);
            (title, body)
        }
    };
    let block = Block::bordered()
        .title(Span::styled(title, theme.title()))
        .border_style(theme.border(app.focus == Pane::Slot));
    frame.render_widget(Paragraph::new(body).block(block), area);
}
