//! Airbyte's API: the connection's newest sync jobs (status, start, duration, rows,
//! bytes) with whether the slot was seen read while each ran, a running job live, and
//! the API's problem, if any, on a line of its own above the last jobs it listed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::logic::airbyte_api::{SlotSaw, slot_saw};
use crate::logic::format::{age_ms, group_digits, human_bytes, millis};
use crate::model::airbyte::{ApiView, Job, JobStatus};
use crate::tui::app::App;
use crate::tui::panes::header::clock;
use crate::tui::theme::Theme;

/// A request older than this is shown as stalled (the client gives up at 10 s a request).
const STALLED_MS: i64 = 5_000;

/// The pane's height for `view` at `now_ms` (borders included): a line per job up to
/// `max_jobs`, and one each for a problem and a stall.
pub fn height(view: &ApiView, max_jobs: usize, now_ms: i64) -> u16 {
    let jobs = view.jobs.len().clamp(1, max_jobs.max(1));
    let notes = usize::from(view.problem.is_some()) + usize::from(stalled(view, now_ms).is_some());
    (jobs + 2 + notes) as u16
}

/// How long the request under way has gone unanswered, once that is a stall.
fn stalled(view: &ApiView, now_ms: i64) -> Option<i64> {
    view.asking_since_ms
        .map(|at| now_ms - at)
        .filter(|ms| *ms > STALLED_MS)
}

fn status_style(status: &JobStatus, theme: &Theme) -> Style {
    match status {
        JobStatus::Failed => theme.error(),
        JobStatus::Incomplete | JobStatus::Cancelled | JobStatus::Other(_) => theme.warn(),
        JobStatus::Pending | JobStatus::Running => theme.title(),
        JobStatus::Succeeded => Style::default(),
    }
}

fn job_line<'a>(job: &Job, app: &App, theme: &Theme) -> Line<'a> {
    let live = job.status.is_live();
    let started = job
        .started_at_ms
        .map(|t| clock(app, t))
        .unwrap_or_else(|| "--:--:--".into());
    let took = match (live, job.started_at_ms, job.duration_ms) {
        (true, Some(start), _) => age_ms((app.now_ms - start).max(0)),
        (_, _, Some(d)) => age_ms(d),
        _ => "–".into(),
    };
    let rows = job
        .rows
        .map(|r| format!("{} rows", group_digits(r)))
        .unwrap_or_default();
    let bytes = job.bytes.map(|b| human_bytes(b as i64)).unwrap_or_default();
    let slack = 2 * millis(app.settings.poll_interval);
    let (slot, slot_style) = match slot_saw(job, app.tracker.syncs(), slack) {
        SlotSaw::Read => ("slot read ✓", theme.dim()),
        SlotSaw::Unread => ("slot not read ✗", theme.warn()),
        SlotSaw::NotKnown => ("", theme.dim()),
    };
    Line::from(vec![
        Span::styled(
            format!("{:<10} ", job.status.label()),
            status_style(&job.status, theme),
        ),
        Span::raw(format!("job {:<6} ", job.id)),
        Span::styled(format!("{started} "), theme.dim()),
        Span::raw(format!("{took:>7} {rows:>13} {bytes:>9}  ")),
        Span::styled(slot, slot_style),
    ])
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, view: &ApiView, theme: &Theme) {
    let who = match &view.connection {
        Some(c) => format!(" Airbyte · {} ", c.name),
        None => format!(" Airbyte · {} ", view.url),
    };
    let mut title = vec![Span::styled(who, theme.title())];
    if let Some(at) = view.fetched_at_ms {
        title.push(Span::styled(
            format!("· listed {} ago ", age_ms((app.now_ms - at).max(0))),
            theme.dim(),
        ));
    }
    if let Some(at) = app.sync_asked_ms {
        title.push(Span::styled(
            format!("· sync asked {} ago ", age_ms((app.now_ms - at).max(0))),
            theme.warn(),
        ));
    } else {
        title.push(Span::styled("· a sync now ", theme.dim()));
    }
    let mut lines: Vec<Line> = Vec::new();
    if let Some(p) = &view.problem {
        lines.push(Line::styled(format!("✗ {p}"), theme.error()));
    }
    if let Some(ms) = stalled(view, app.now_ms) {
        lines.push(Line::styled(
            format!("API not answering for {} (stalled)", age_ms(ms)),
            theme.warn(),
        ));
    }
    let room = (area.height.saturating_sub(2) as usize).saturating_sub(lines.len());
    if view.jobs.is_empty() {
        // With a problem, its line says it all.
        let text = match (&view.connection, view.fetched_at_ms, &view.problem) {
            (_, _, Some(_)) => None,
            (None, _, None) => Some(format!("asking {} …", view.url)),
            (Some(_), None, None) => Some("listing jobs …".into()),
            (Some(_), Some(_), None) => Some("no sync job yet — a starts one".into()),
        };
        lines.extend(text.map(|t| Line::styled(t, theme.dim())));
    }
    // Jobs listed before a problem are the last known: dimmed, not hidden.
    let stale = view.problem.is_some();
    for job in view.jobs.iter().take(room) {
        let line = job_line(job, app, theme);
        lines.push(if stale {
            line.patch_style(theme.dim())
        } else {
            line
        });
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.border(false));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
