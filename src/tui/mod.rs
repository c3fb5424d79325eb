//! The full-screen view. Start-up order: error hooks (main), terminal init, run, restore —
//! restore also on error (guard) and on panic (ratatui's hook, chained to color-eyre's).
//! The loop selects over terminal events, poller reports and a tick; it never awaits
//! the database, and draws only when something changed.

pub mod action;
pub mod app;
pub mod draw;
pub mod keys;
pub mod panes;
pub mod popups;
pub mod theme;

#[cfg(test)]
mod tests;

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream, KeyEvent, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::config::Settings;
use crate::io::pollers::{self, PollerCmd, PollerMsg};
use crate::logic::fixplan;
use action::Action;
use app::{App, Effect, Popup};
use theme::Theme;

/// How often the clock and poll ages are redrawn when nothing else happens.
const TICK: Duration = Duration::from_millis(500);

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What a key means in the current state of the UI.
pub fn map_key(app: &App, ev: &KeyEvent) -> Option<Action> {
    if ev.kind != KeyEventKind::Press {
        return None;
    }
    match &app.popup {
        Some(p) => keys::popup(
            ev,
            matches!(p, Popup::Confirm { .. } | Popup::SeedForm { .. }),
        ),
        None if app.filter_editing => keys::filtering(ev),
        None => keys::normal(ev),
    }
}

/// The privileges a write on the source's tables was refused for, when `e` is such a
/// refusal, with the GRANT that gives them.
pub fn refused_write(
    e: &color_eyre::Report,
    privileges: &[&str],
    settings: &Settings,
) -> Option<String> {
    let pg = e
        .chain()
        .find_map(|c| c.downcast_ref::<crate::io::pg::PgError>())?;
    fixplan::refused_write(pg, privileges, &settings.source.user, &settings.schema)
}

/// `line`, followed by the privileges `e` was refused for when it is a refused write.
fn explain_refusal(
    line: String,
    e: &color_eyre::Report,
    privileges: &[&str],
    settings: &Settings,
) -> String {
    match refused_write(e, privileges, settings) {
        Some(why) => format!("{line} — {why}"),
        None => line,
    }
}

/// Says why traffic that ended by itself ended (the user's stop goes through
/// `Effect::StopTraffic` instead): a refused privilege, a lost connection.
fn report_traffic_end(
    traffic: crate::io::seed::traffic::Traffic,
    settings: Settings,
    out: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        let (level, line) = match traffic.wait().await {
            Ok(s) => (
                action::LogLevel::Info,
                format!(
                    "change traffic ended: {} inserts, {} updates, {} deletes",
                    s.inserts, s.updates, s.deletes
                ),
            ),
            Err(e) => (
                action::LogLevel::Error,
                explain_refusal(
                    format!("change traffic stopped: {e:#}"),
                    &e,
                    fixplan::TRAFFIC_PRIVILEGES,
                    &settings,
                ),
            ),
        };
        let _ = out.send(Action::Log(level, line));
    });
}

/// Seeds off the UI task, reporting progress after each batch and a summary at the end.
fn spawn_seed(
    settings: Settings,
    table: Option<String>,
    rows: u64,
    cancel: crate::io::seed::copy::Cancel,
    out: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        let req = crate::io::seed::run::SeedRequest {
            rows,
            table,
            ..Default::default()
        };
        let progress_out = out.clone();
        let mut progress = move |p: &crate::io::seed::copy::Progress| {
            let _ = progress_out.send(Action::SeedProgress(
                p.table.clone(),
                p.written,
                p.target,
                p.rows_per_sec(),
            ));
        };
        let summary =
            match crate::io::seed::run::seed(&settings, &req, &mut progress, &cancel).await {
                Ok(r) if r.cancelled => format!(
                    "seed stopped: {} rows written (whole batches only)",
                    r.written()
                ),
                Ok(r) => format!("seeded {} rows", r.written()),
                Err(e) => explain_refusal(
                    format!("seed failed: {e:#}"),
                    &e,
                    fixplan::SEED_PRIVILEGES,
                    &settings,
                ),
            };
        let _ = out.send(Action::SeedDone(summary));
    });
}

/// Diffs one table off the UI task (read-only), reporting progress and the result.
fn spawn_diff(
    settings: Settings,
    key: crate::logic::counts::TableKey,
    out: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        let progress_out = out.clone();
        let progress: crate::logic::diff::ProgressFn =
            std::sync::Arc::new(move |p: &crate::logic::diff::Progress| {
                let _ = progress_out.send(Action::DiffProgress(
                    p.phase.to_string(),
                    p.segments_done,
                    p.segments_total,
                ));
            });
        let opts = crate::io::diff::DiffOptions::default();
        let name = format!("{}.{}", key.0, key.1);
        let result =
            crate::io::diff::diff_table(&settings, &key.0, &key.1, &opts, Some(progress)).await;
        let lines = match result {
            Ok(d) => Ok(
                crate::logic::diff::output::human(&[(name.clone(), Ok(d))], Some(50))
                    .lines()
                    .map(str::to_string)
                    .collect(),
            ),
            Err(e) => Err(e.to_string()),
        };
        let _ = out.send(Action::DiffDone(name, lines));
    });
}

/// Forwards the traffic's statistics to the UI as they change.
fn forward_traffic(
    mut stats: tokio::sync::watch::Receiver<crate::io::seed::traffic::TrafficStats>,
    run: u32,
    out: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        while stats.changed().await.is_ok() {
            let s = stats.borrow().clone();
            if out
                .send(Action::TrafficStats(run, s.changes(), s.rate(), s.running))
                .is_err()
            {
                return;
            }
        }
    });
}

/// Runs confirmed fixes off the UI task, logging each outcome, then asks for a fresh poll.
fn spawn_fixes(
    settings: Settings,
    steps: Vec<crate::logic::fixplan::Step>,
    out: mpsc::UnboundedSender<Action>,
    pollers: pollers::Pollers,
) {
    use action::LogLevel;
    tokio::spawn(async move {
        for step in steps {
            let _ = out.send(Action::Log(
                LogLevel::Info,
                format!("running fix {}: {}", step.check_id, step.sql.join("; ")),
            ));
            let outcome = crate::io::fix::apply(&settings, &step).await;
            let line = match (&outcome.error, outcome.restart_needed) {
                (Some(why), _) => (LogLevel::Error, format!("{}: {why}", step.check_id)),
                (None, true) => (
                    LogLevel::Warn,
                    format!(
                        "{}: applied; restart the {} server for it to take effect",
                        step.check_id,
                        step.side.label()
                    ),
                ),
                (None, false) => (LogLevel::Info, format!("{}: applied", step.check_id)),
            };
            let _ = out.send(Action::Log(line.0, line.1));
        }
        pollers.send(PollerCmd::RefreshNow);
    });
}

/// Restores the terminal however `run` ends.
struct TerminalGuard(ratatui::DefaultTerminal);

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Background work the loop owns: at most one seed and one traffic at a time.
#[derive(Default)]
struct Background {
    seed: Option<crate::io::seed::copy::Cancel>,
    traffic: Option<crate::io::seed::traffic::Traffic>,
    /// Traffic runs started so far: numbers each run's reports.
    traffic_runs: u32,
}

/// Runs the view until the user quits. `badge` marks the header (e.g. "demo").
pub async fn run(settings: Settings, badge: Option<String>) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        color_eyre::eyre::bail!(
            "the live view needs a terminal; for scripts use `syncwatch check --json`"
        );
    }
    let theme = Theme::from_env();
    let mut app = App::new(settings.clone(), now_ms());
    app.badge = badge;
    app.push_log(
        action::LogLevel::Info,
        format!(
            "watching {} → {} (engine {}, every {:.1} s); ? for keys",
            settings.source,
            settings.dest,
            settings.engine,
            settings.poll_interval.as_secs_f64()
        ),
    );
    for w in &settings.warnings {
        app.push_log(action::LogLevel::Warn, w.clone());
    }
    let (poll_tx, mut poll_rx) = mpsc::unbounded_channel();
    // Background actions (fixes, …) report back as actions.
    let (act_tx, mut act_rx) = mpsc::unbounded_channel::<Action>();
    let pollers = pollers::spawn(&settings, poll_tx);
    let mut terminal = TerminalGuard(ratatui::try_init().wrap_err("setting up the terminal")?);
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    let mut dirty = true;
    let mut background = Background::default();
    loop {
        if dirty {
            terminal
                .0
                .draw(|f| draw::draw(f, &mut app, &theme))
                .wrap_err("drawing the screen")?;
            dirty = false;
        }
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => map_key(&app, &k),
                Some(Ok(Event::Resize(..))) => { dirty = true; None }
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(e).wrap_err("reading the terminal"),
                None => return Ok(()),
            },
            msg = poll_rx.recv() => match msg {
                Some(PollerMsg::Started(side)) => Some(Action::PollStarted(side, now_ms())),
                Some(PollerMsg::Polled(side, snap)) => Some(Action::Polled(side, snap, now_ms())),
                None => None,
            },
            _ = tick.tick() => Some(Action::Tick(now_ms())),
            a = act_rx.recv() => a,
        };
        // Traffic that ended on its own says why; traffic the user stopped has been
        // taken out of `background` already.
        if background.traffic.as_ref().is_some_and(|t| t.is_finished())
            && let Some(t) = background.traffic.take()
        {
            report_traffic_end(t, settings.clone(), act_tx.clone());
        }
        let Some(action) = action else { continue };
        // A poll starting changes nothing visible until it is overdue, which the tick shows.
        dirty = !matches!(action, Action::PollStarted(..));
        for effect in app.update(action) {
            match effect {
                Effect::Quit => {
                    if let Some(t) = background.traffic.take() {
                        t.stop_handle().cancel();
                    }
                    if let Some(c) = background.seed.take() {
                        c.cancel();
                    }
                    return Ok(());
                }
                Effect::Seed { table, rows } => {
                    let cancel = crate::io::seed::copy::Cancel::new();
                    background.seed = Some(cancel.clone());
                    spawn_seed(settings.clone(), table, rows, cancel, act_tx.clone());
                }
                Effect::Diff(key) => spawn_diff(settings.clone(), key, act_tx.clone()),
                Effect::CancelSeed => {
                    if let Some(c) = &background.seed {
                        c.cancel();
                    }
                }
                Effect::StartTraffic => {
                    let opts = crate::io::seed::traffic::TrafficOptions::default();
                    match crate::io::seed::traffic::Traffic::start(&settings, opts).await {
                        Ok(t) => {
                            background.traffic_runs += 1;
                            forward_traffic(t.watch(), background.traffic_runs, act_tx.clone());
                            background.traffic = Some(t);
                            app.push_log(action::LogLevel::Info, "change traffic started");
                        }
                        Err(e) => app.push_log(
                            action::LogLevel::Error,
                            explain_refusal(
                                format!("traffic: {e:#}"),
                                &e,
                                fixplan::TRAFFIC_PRIVILEGES,
                                &settings,
                            ),
                        ),
                    }
                }
                Effect::StopTraffic => {
                    if let Some(t) = background.traffic.take() {
                        let out = act_tx.clone();
                        tokio::spawn(async move {
                            let line = match t.stop().await {
                                Ok(s) => format!(
                                    "change traffic stopped: {} inserts, {} updates, {} deletes",
                                    s.inserts, s.updates, s.deletes
                                ),
                                Err(e) => format!("change traffic stopped with an error: {e}"),
                            };
                            let _ = out.send(Action::Log(action::LogLevel::Info, line));
                        });
                    }
                }
                Effect::Refresh => pollers.send(PollerCmd::RefreshNow),
                Effect::SetPaused(p) => pollers.send(PollerCmd::Pause(p)),
                Effect::CountExact(key) => pollers.send(PollerCmd::CountExact(key)),
                Effect::RunFixes(steps) => {
                    spawn_fixes(
                        settings.clone(),
                        steps,
                        act_tx.clone(),
                        pollers.clone_senders(),
                    );
                }
            }
        }
    }
}
