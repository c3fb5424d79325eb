//! Top line: both endpoints (never a password), versions, poll age or trouble per side,
//! engine, overall status and the clock.

use crate::model::side::Side;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::logic::format;
use crate::model::check::Status;
use crate::model::snapshot::Reach;
use crate::tui::app::{App, SideView, TrafficState};
use crate::tui::theme::Theme;

/// `12:04:31` at the state's time and UTC offset (no clock read here).
pub fn clock(app: &App, at_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms + app.utc_offset_secs as i64 * 1000)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

fn side_spans<'a>(app: &App, role: Side, view: &SideView, theme: &Theme) -> Vec<Span<'a>> {
    let ep = role.pick(&app.settings.source, &app.settings.dest);
    let tag = role.tag();
    let mut spans = vec![
        Span::styled(format!("{tag} "), theme.title()),
        Span::raw(ep.address()),
    ];
    let stall_limit = 2 * app.settings.poll_interval.as_millis() as i64;
    match &view.snap {
        None => spans.push(Span::styled(" … connecting", theme.dim())),
        Some(s) => {
            if let Some(v) = s.version_num {
                spans.push(Span::raw(format!(" PG{}", v / 10000)));
            }
            match &s.reach {
                Reach::Up => spans.push(Span::styled(" ✓", theme.status(Status::Ok))),
                Reach::Unreachable(_) => spans.push(Span::styled(
                    " ✗ unreachable",
                    theme.status(Status::Critical),
                )),
                Reach::Timeout(_) => {
                    spans.push(Span::styled(" ✗ timeout", theme.status(Status::Critical)))
                }
                Reach::Denied(_) => {
                    spans.push(Span::styled(" ✗ refused", theme.status(Status::Critical)))
                }
            }
        }
    }
    match (view.stalled_for_ms(app.now_ms), view.polled_at_ms) {
        (Some(stall), _) if stall > stall_limit => spans.push(Span::styled(
            format!(" stalled {}", format::age_ms(stall)),
            theme.warn(),
        )),
        (_, Some(at)) => spans.push(Span::styled(
            format!(" {}", format::age_ms(app.now_ms - at)),
            theme.dim(),
        )),
        _ => {}
    }
    spans
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let sep = || Span::styled(" ─ ", theme.dim());
    let mut left = vec![Span::styled("syncwatch", theme.title())];
    if let Some(b) = &app.badge {
        left.push(Span::styled(format!(" [{b}]"), theme.warn()));
    }
    left.push(sep());
    left.extend(side_spans(app, Side::Source, &app.source, theme));
    left.push(sep());
    left.extend(side_spans(app, Side::Dest, &app.dest, theme));
    left.push(sep());
    left.push(Span::raw(format!("engine {}", app.settings.engine)));

    // The verdict and the clock stay visible however narrow the terminal: the endpoints
    // are cut first.
    let overall = app.overall();
    let mut right = vec![Span::raw(" ")];
    if app.paused {
        right.push(Span::styled("PAUSED ", theme.warn()));
    }
    match app.traffic {
        TrafficState::Off => {}
        TrafficState::Starting => right.push(Span::styled("traffic starting ", theme.warn())),
        TrafficState::Running { rate, .. } => {
            right.push(Span::styled(format!("traffic {rate:.0}/s "), theme.warn()))
        }
    }
    // How far behind in time: what on call asks first, so it stays with the verdict.
    let behind = app.behind().filter(|b| !b.caught_up());
    if let Some(text) = behind.and_then(format::behind_label) {
        right.push(Span::styled(format!("{text} "), theme.dim()));
    }
    right.push(Span::styled(
        format!("{} {}", overall.symbol(), overall.label()),
        theme.status(overall),
    ));
    let troubled = app.troubled_tables();
    if troubled > 0 {
        right.push(Span::styled(
            format!(" · {troubled} table(s) stuck/missing"),
            theme.status(Status::Critical),
        ));
    }
    right.push(Span::raw(format!(" {}", clock(app, app.now_ms))));
    let right = Line::from(right);
    let [l, r] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(right.width() as u16),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(Line::from(left)), l);
    frame.render_widget(Paragraph::new(right), r);
}
