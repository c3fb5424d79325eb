//! The slot over time: charts of retained WAL, lag in bytes and lag in time over the
//! history window, with each sync session marked. Drawn from the timeline as it is at
//! each frame (the view updates while open).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Clear, Dataset, GraphType, Paragraph};

use crate::logic::format::{age_ms, human_bytes};
use crate::logic::timeline::{Point, Timeline};
use crate::tui::theme::Theme;

/// What the view shows, borrowed from the app at draw time.
pub struct SlotView<'a> {
    pub name: &'a str,
    pub timeline: &'a Timeline,
    /// Sync sessions (start, end) seen, oldest first.
    pub sessions: Vec<(i64, Option<i64>)>,
    pub now_ms: i64,
}

/// One chart's series: its title, how a value prints, and the value of a point.
struct Series {
    title: &'static str,
    label: fn(f64) -> String,
    value: fn(&Point) -> Option<i64>,
}

const SERIES: [Series; 3] = [
    Series {
        title: "retained WAL",
        label: |v| human_bytes(v as i64),
        value: |p| p.retained,
    },
    Series {
        title: "lag (unconfirmed WAL)",
        label: |v| human_bytes(v as i64),
        value: |p| p.lag_bytes,
    },
    Series {
        title: "lag (time behind)",
        label: |v| age_ms((v * 1000.0) as i64),
        value: |p| p.lag_ms.map(|ms| ms / 1000),
    },
];

pub fn draw(frame: &mut Frame, area: Rect, view: &SlotView<'_>, theme: &Theme) {
    // Everything between the header and the footer: charts need the room.
    let outer = Rect {
        x: area.x,
        y: area.y + 1,
        width: area.width,
        height: area.height.saturating_sub(2),
    };
    frame.render_widget(Clear, outer);
    let window_s = view.timeline.window_ms() as f64 / 1000.0;
    let block = Block::bordered()
        .title(Span::styled(
            format!(
                " Slot {} · last {} · ┊ sync · Esc closes ",
                view.name,
                age_ms(view.timeline.window_ms())
            ),
            theme.title(),
        ))
        .border_style(theme.border(true));
    let inner = block.inner(outer);
    frame.render_widget(block, outer);
    if view.timeline.points().len() < 2 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "collecting the slot's history: a point per poll …",
                theme.dim(),
            )),
            inner,
        );
        return;
    }
    let areas = Layout::vertical([Constraint::Fill(1); 3]).split(inner);
    for (series, area) in SERIES.iter().zip(areas.iter()) {
        chart(frame, *area, view, series, window_s, theme);
    }
}

fn chart(
    frame: &mut Frame,
    area: Rect,
    view: &SlotView<'_>,
    series: &Series,
    window_s: f64,
    theme: &Theme,
) {
    // x: seconds relative to now, from -window to 0.
    let x = |at_ms: i64| (at_ms - view.now_ms) as f64 / 1000.0;
    let data: Vec<(f64, f64)> = view
        .timeline
        .points()
        .iter()
        .filter_map(|p| Some((x(p.at_ms), (series.value)(p)? as f64)))
        .filter(|(t, _)| *t >= -window_s)
        .collect();
    let top = data.iter().map(|d| d.1).fold(0.0, f64::max).max(1.0) * 1.1;
    // A session is a dotted vertical line at its start, and one at its end.
    let marks: Vec<[(f64, f64); 2]> = view
        .sessions
        .iter()
        .flat_map(|(start, end)| std::iter::once(*start).chain(*end))
        .map(x)
        .filter(|t| *t >= -window_s)
        .map(|t| [(t, 0.0), (t, top)])
        .collect();
    let mut datasets: Vec<Dataset> = marks
        .iter()
        .map(|m| {
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme.dim())
                .data(m)
        })
        .collect();
    datasets.push(
        Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.warn())
            .data(&data),
    );
    let now = data.last().map(|d| (series.label)(d.1)).unwrap_or_default();
    let minutes = |s: f64| format!("-{}", age_ms((s * 1000.0) as i64));
    let chart = Chart::new(datasets)
        .block(Block::new().title(Line::from(vec![
            Span::styled(series.title, theme.title()),
            Span::styled(format!(" now {now}"), theme.dim()),
        ])))
        .x_axis(
            Axis::default()
                .bounds([-window_s, 0.0])
                .style(theme.dim())
                .labels([minutes(window_s), minutes(window_s / 2.0), "now".into()]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .style(theme.dim())
                .labels([
                    "0".to_string(),
                    (series.label)(top / 2.0),
                    (series.label)(top),
                ]),
        )
        .style(Style::default());
    frame.render_widget(chart, area);
}
