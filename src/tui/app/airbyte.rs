//! Airbyte's API on screen: the task's reports become the jobs pane's state and the
//! `source.sync_job` check; `a` asks before starting a sync, and never starts a second
//! one while a job runs or a request for one is still out.

use crate::logic::airbyte_api::{self, start_sync_preview};
use crate::logic::checks;
use crate::logic::format::age_ms;
use crate::model::airbyte::{ApiMsg, Said};
use crate::tui::action::LogLevel;
use crate::tui::effect::Effect;
use crate::tui::popups::Popup;

use super::App;

impl App {
    pub(super) fn api_report(&mut self, msg: ApiMsg) -> Vec<Effect> {
        let Some(view) = self.api.as_mut() else {
            return vec![];
        };
        if matches!(msg, ApiMsg::SyncStarted(..)) {
            self.sync_asked_ms = None;
        }
        let quiet = matches!(msg, ApiMsg::Asking(_));
        for (said, line) in airbyte_api::apply(view, msg) {
            let level = match said {
                Said::Info => LogLevel::Info,
                Said::Warn => LogLevel::Warn,
                Said::Error => LogLevel::Error,
            };
            self.push_log(level, line);
        }
        if !quiet {
            self.judge_sync_job();
        }
        vec![]
    }

    /// Recomputes `source.sync_job` from the API's latest word (and the clock).
    pub(super) fn judge_sync_job(&mut self) {
        if self.api.is_none() {
            return;
        }
        self.checks = checks::with_sync_job(
            std::mem::take(&mut self.checks),
            self.api.as_ref(),
            &self.settings,
            self.tracker.syncs(),
            self.now_ms,
        );
        self.clamp_selection();
    }

    /// `a`: shows the call a sync makes and asks, unless a sync cannot or need not start.
    pub(super) fn ask_sync_now(&mut self) -> Vec<Effect> {
        if self.refuse_write("starting a sync is") {
            return vec![];
        }
        let Some(view) = &self.api else {
            self.push_log(
                LogLevel::Warn,
                "a starts an Airbyte sync: set [airbyte] connection, client_id and the secret (README, \"Airbyte's API\")",
            );
            return vec![];
        };
        let Some(conn) = &view.connection else {
            let why = match &view.problem {
                Some(p) => format!("Airbyte's API: {p}"),
                None => "Airbyte's API has not found the connection yet".into(),
            };
            self.push_log(LogLevel::Warn, format!("no sync started — {why}"));
            return vec![];
        };
        if let Some(at) = self.sync_asked_ms {
            let line = format!(
                "a sync was asked for {} ago; waiting for Airbyte's answer",
                age_ms((self.now_ms - at).max(0))
            );
            self.push_log(LogLevel::Info, line);
            return vec![];
        }
        if let Some(job) = view.live_job() {
            let line = format!(
                "job {} is {} — not starting another",
                job.id,
                job.status.label()
            );
            self.push_log(LogLevel::Info, line);
            return vec![];
        }
        self.popup = Some(Popup::Confirm {
            title: "Start an Airbyte sync now?".into(),
            lines: start_sync_preview(&view.url, conn),
            on_yes: Effect::StartSync,
        });
        vec![]
    }

    /// `y` on the question: the request is out until the task answers.
    pub(super) fn sync_confirmed(&mut self) {
        self.sync_asked_ms = Some(self.now_ms);
        if let Some(conn) = self.api.as_ref().and_then(|v| v.connection.as_ref()) {
            let line = format!("asking Airbyte for a sync of {}", conn.name);
            self.push_log(LogLevel::Info, line);
        }
    }
}
