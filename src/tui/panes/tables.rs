//! Per-table divergence: source rows, destination rows, Δ, (Airbyte) when the
//! destination table was last loaded, a trend of Δ, the state.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Row, Table};

use crate::config::Engine;
use crate::logic::format::{age_ms, count_cell, difference_cell};
use crate::tui::app::{App, Pane};
use crate::tui::theme::Theme;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const TREND_WIDTH: usize = 10;

/// Rows per second in at most six characters: `0.4`, `12`, `3.4k`.
fn format_rate(r: f64) -> String {
    if r < 10.0 {
        format!("{r:.1}")
    } else if r < 10_000.0 {
        format!("{r:.0}")
    } else {
        format!("{:.1}k", r / 1000.0)
    }
}

/// The last `width` values as bars scaled to their largest magnitude.
pub fn sparkline(values: &[i64], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    tail.iter()
        .map(|v| match (v.unsigned_abs() * 7).checked_div(max) {
            Some(level) => BARS[level as usize],
            None => BARS[0],
        })
        .collect()
}

/// First row to show so that `selected` stays visible in `height` rows.
pub fn window_start(selected: usize, height: usize, len: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    selected.saturating_sub(height / 2).min(len - height)
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = app.rows();
    let focused = app.focus == Pane::Tables;
    let mut title = vec![Span::styled(
        format!(" Tables ({}) ", rows.len()),
        theme.title(),
    )];
    title.push(Span::styled(
        format!("sort {} ", app.sort.label()),
        theme.dim(),
    ));
    if app.filter_editing || !app.filter.is_empty() {
        let cursor = if app.filter_editing { "▏" } else { "" };
        title.push(Span::styled(
            format!("/{}{cursor} ", app.filter),
            theme.warn(),
        ));
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.border(focused));
    // Airbyte's destination tables say when they were last loaded: worth a column.
    let airbyte = app.settings.engine == Engine::Airbyte;
    // Throughput on wide terminals only: the counts and the state come first.
    let wide = area.width >= 140;
    let inner_height = area.height.saturating_sub(3) as usize;
    let start = window_start(app.table_selected, inner_height, rows.len());
    let body: Vec<Row> = rows
        .iter()
        .enumerate()
        .skip(start)
        .take(inner_height)
        .map(|(i, r)| {
            let name = if r.key.0 == app.settings.schema {
                r.key.1.clone()
            } else {
                format!("{}.{}", r.key.0, r.key.1)
            };
            let mut cells = vec![
                Cell::from(name),
                Cell::from(Line::from(count_cell(r.source)).right_aligned()),
                Cell::from(Line::from(count_cell(r.dest)).right_aligned()),
                Cell::from(Line::from(difference_cell(r.difference)).right_aligned()),
            ];
            if airbyte {
                let loaded = match r.loaded_at_ms {
                    Some(at) => age_ms((app.now_ms - at).max(0)),
                    None => "—".to_string(),
                };
                cells.push(Cell::from(
                    Line::from(Span::styled(loaded, theme.dim())).right_aligned(),
                ));
            }
            if wide {
                let short = |r: Option<f64>| match r {
                    None => "—".to_string(),
                    Some(r) => format_rate(r),
                };
                cells.push(Cell::from(
                    Line::from(Span::styled(
                        format!("{}→{}", short(r.rates.0), short(r.rates.1)),
                        theme.dim(),
                    ))
                    .right_aligned(),
                ));
            }
            cells.extend([
                Cell::from(Span::styled(
                    sparkline(&app.trend(r.key), TREND_WIDTH),
                    theme.dim(),
                )),
                if r.stale {
                    Cell::from(Span::styled("stale", theme.dim()))
                } else {
                    Cell::from(Span::styled(r.state.label(), theme.state(r.state)))
                },
            ]);
            let row = Row::new(cells);
            let row = if r.stale { row.style(theme.dim()) } else { row };
            if i == app.table_selected {
                row.style(theme.selected())
            } else {
                row
            }
        })
        .collect();
    let mut header = vec![
        Cell::from("table"),
        Cell::from(Line::from("source").right_aligned()),
        Cell::from(Line::from("dest").right_aligned()),
        Cell::from(Line::from("Δ").right_aligned()),
    ];
    let mut widths = vec![
        Constraint::Fill(1),
        Constraint::Length(12),
        Constraint::Length(12),
        Constraint::Length(9),
    ];
    if airbyte {
        header.push(Cell::from(Line::from("loaded").right_aligned()));
        widths.push(Constraint::Length(7));
    }
    if wide {
        header.push(Cell::from(Line::from("rows/s src→dst").right_aligned()));
        widths.push(Constraint::Length(15));
    }
    header.extend([Cell::from("trend"), Cell::from("state")]);
    widths.extend([
        Constraint::Length(TREND_WIDTH as u16),
        Constraint::Length(9),
    ]);
    let header = Row::new(header).style(theme.title());
    let table = Table::new(body, widths).header(header).block(block);
    frame.render_widget(table, area);
    if rows.is_empty() {
        let msg = if app.source.snap.is_none() {
            "waiting for the first poll …"
        } else if !app.filter.is_empty() {
            "no table matches the filter"
        } else {
            "no tables in the publication or the watched schema"
        };
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 2,
            width: area.width.saturating_sub(4),
            height: 1.min(area.height.saturating_sub(3)),
        };
        frame.render_widget(Span::styled(msg, theme.dim()), inner);
    }
}
