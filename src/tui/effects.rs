//! The effects runner: starts the work `App::update` asked for, each piece as a tokio
//! task that reports back as [`Action`]s. Nothing here awaits a database, so the event
//! loop that calls it never waits on one either (a stalled source delays only its task).

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::config::Settings;
use crate::io::airbyte::task::ApiCmd;
use crate::io::pollers::{PollerCmd, Pollers};
use crate::io::seed::copy::Cancel;
use crate::io::seed::traffic::{Traffic, TrafficOptions, TrafficStats};
use crate::logic::fixplan::{self, Step};
use crate::model::snapshot::TableKey;

use super::action::{Action, DiffProgress, LogLevel, SeedProgress, TrafficReport};
use super::effect::{DiffHints, Effect};

/// Whether the loop goes on after an effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

/// The background work of one TUI: at most one seed and one traffic at a time.
pub struct Effects {
    settings: Settings,
    out: mpsc::UnboundedSender<Action>,
    pollers: Pollers,
    /// Airbyte's API task, when configured.
    api: Option<mpsc::UnboundedSender<ApiCmd>>,
    seed: Option<Cancel>,
    /// Stops the traffic run under way, or its start while it connects.
    traffic: Option<Cancel>,
}

impl Effects {
    pub fn new(
        settings: Settings,
        out: mpsc::UnboundedSender<Action>,
        pollers: Pollers,
        api: Option<mpsc::UnboundedSender<ApiCmd>>,
    ) -> Self {
        Effects {
            settings,
            out,
            pollers,
            api,
            seed: None,
            traffic: None,
        }
    }

    pub fn run(&mut self, effect: Effect) -> Flow {
        match effect {
            Effect::Quit => {
                self.shutdown();
                return Flow::Quit;
            }
            Effect::Refresh => {
                self.pollers.send(PollerCmd::RefreshNow);
                self.tell_api(ApiCmd::Refresh);
            }
            Effect::StartSync => self.tell_api(ApiCmd::StartSync),
            Effect::SetPaused(p) => self.pollers.send(PollerCmd::Pause(p)),
            Effect::CountExact(key) => self.pollers.send(PollerCmd::CountExact(key)),
            Effect::RunFixes(steps) => spawn_fixes(
                self.settings.clone(),
                steps,
                self.out.clone(),
                self.pollers.clone_senders(),
            ),
            Effect::Seed { table, rows } => {
                let cancel = Cancel::new();
                self.seed = Some(cancel.clone());
                spawn_seed(self.settings.clone(), table, rows, cancel, self.out.clone());
            }
            Effect::CancelSeed => {
                if let Some(c) = &self.seed {
                    c.cancel();
                }
            }
            Effect::StartTraffic(run) => {
                if let Some(old) = self.traffic.take() {
                    old.cancel();
                }
                let stop = Cancel::new();
                self.traffic = Some(stop.clone());
                spawn_traffic(self.settings.clone(), run, stop, self.out.clone());
            }
            Effect::StopTraffic => {
                if let Some(stop) = self.traffic.take() {
                    stop.cancel();
                }
            }
            Effect::Diff(key, hints) => {
                spawn_diff(self.settings.clone(), key, hints, self.out.clone())
            }
        }
        Flow::Continue
    }

    fn tell_api(&self, cmd: ApiCmd) {
        if let Some(api) = &self.api {
            // A task that ended has said why (its last report); nothing more to do.
            let _ = api.send(cmd);
        }
    }

    /// Stops the seed after its batch and the traffic after its statement.
    pub fn shutdown(&mut self) {
        if let Some(t) = self.traffic.take() {
            t.cancel();
        }
        if let Some(c) = self.seed.take() {
            c.cancel();
        }
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

fn log(out: &mpsc::UnboundedSender<Action>, level: LogLevel, line: impl Into<String>) {
    // A closed channel means the UI has ended; nobody is left to tell.
    let _ = out.send(Action::Log(level, line.into()));
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

fn changes_line(what: &str, s: &TrafficStats) -> String {
    format!(
        "change traffic {what}: {} inserts, {} updates, {} deletes",
        s.inserts, s.updates, s.deletes
    )
}

/// One traffic run, start to end, in its own task: connecting to a stalled source holds
/// this task, never the UI; `stop` ends the run, or gives up the start.
fn spawn_traffic(settings: Settings, run: u32, stop: Cancel, out: mpsc::UnboundedSender<Action>) {
    tokio::spawn(async move {
        let ended = TrafficReport {
            run,
            changes: 0,
            rate: 0.0,
            running: false,
        };
        let started = tokio::select! {
            r = Traffic::start(&settings, TrafficOptions::default()) => r,
            () = stop.cancelled() => {
                log(&out, LogLevel::Info, "change traffic not started: stopped while connecting");
                let _ = out.send(Action::TrafficStats(ended));
                return;
            }
        };
        let traffic = match started {
            Ok(t) => t,
            Err(e) => {
                let line = format!("traffic: {e:#}");
                let line = explain_refusal(line, &e, fixplan::TRAFFIC_PRIVILEGES, &settings);
                log(&out, LogLevel::Error, line);
                let _ = out.send(Action::TrafficStats(ended));
                return;
            }
        };
        log(&out, LogLevel::Info, "change traffic started");
        forward_traffic(traffic.watch(), run, out.clone());
        let traffic_stop = traffic.stop_handle();
        let wait = traffic.wait();
        tokio::pin!(wait);
        let (result, by_user) = tokio::select! {
            r = &mut wait => (r, false),
            () = stop.cancelled() => {
                traffic_stop.cancel();
                ((&mut wait).await, true)
            }
        };
        let (level, line) = match (result, by_user) {
            (Ok(s), true) => (LogLevel::Info, changes_line("stopped", &s)),
            (Ok(s), false) => (LogLevel::Info, changes_line("ended", &s)),
            (Err(e), true) => (
                LogLevel::Info,
                format!("change traffic stopped with an error: {e}"),
            ),
            // Ended by itself: say why (a refused privilege, a lost connection).
            (Err(e), false) => (
                LogLevel::Error,
                explain_refusal(
                    format!("change traffic stopped: {e:#}"),
                    &e,
                    fixplan::TRAFFIC_PRIVILEGES,
                    &settings,
                ),
            ),
        };
        log(&out, level, line);
        let _ = out.send(Action::TrafficStats(ended));
    });
}

/// Forwards the traffic's statistics to the UI as they change.
fn forward_traffic(
    mut stats: tokio::sync::watch::Receiver<TrafficStats>,
    run: u32,
    out: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        while stats.changed().await.is_ok() {
            let s = stats.borrow().clone();
            let report = TrafficReport {
                run,
                changes: s.changes(),
                rate: s.rate(),
                running: s.running,
            };
            if out.send(Action::TrafficStats(report)).is_err() {
                return;
            }
        }
    });
}

/// Seeds off the UI task, reporting progress after each batch and a summary at the end.
fn spawn_seed(
    settings: Settings,
    table: Option<String>,
    rows: u64,
    cancel: Cancel,
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
            let _ = progress_out.send(Action::SeedProgress(SeedProgress {
                table: p.table.clone(),
                written: p.written,
                target: p.target,
                rows_per_sec: p.rows_per_sec(),
            }));
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
    key: TableKey,
    hints: DiffHints,
    out: mpsc::UnboundedSender<Action>,
) {
    tokio::spawn(async move {
        let progress_out = out.clone();
        let progress: crate::logic::diff::ProgressFn =
            Arc::new(move |p: &crate::logic::diff::Progress| {
                let _ = progress_out.send(Action::DiffProgress(DiffProgress {
                    phase: p.phase.to_string(),
                    done: p.segments_done,
                    total: p.segments_total,
                }));
            });
        let opts = crate::io::diff::DiffOptions {
            read_horizon: hints.read_horizon,
            settled_modifications: hints.settled_modifications,
            ..Default::default()
        };
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

/// Runs confirmed fixes off the UI task, logging each outcome, then asks for a fresh poll.
fn spawn_fixes(
    settings: Settings,
    steps: Vec<Step>,
    out: mpsc::UnboundedSender<Action>,
    pollers: Pollers,
) {
    tokio::spawn(async move {
        for step in steps {
            log(
                &out,
                LogLevel::Info,
                format!("running fix {}: {}", step.check_id, step.sql.join("; ")),
            );
            let outcome = crate::io::fix::apply(&settings, &step).await;
            let (level, line) = match (&outcome.error, outcome.restart_needed) {
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
            log(&out, level, line);
        }
        pollers.send(PollerCmd::RefreshNow);
    });
}
