//! Airbyte's API on screen: the task's reports become the jobs pane's state and the
//! `source.sync_job` check; `a` asks before starting a sync, and never starts a second
//! one while a job runs or a request for one is still out.

use crate::io::airbyte::task::ApiMsg;
use crate::logic::airbyte_api::start_sync_preview;
use crate::logic::checks;
use crate::logic::format::age_ms;
use crate::model::airbyte::Job;
use crate::tui::action::LogLevel;
use crate::tui::effect::Effect;
use crate::tui::popups::Popup;

use super::App;

impl App {
    pub(super) fn api_report(&mut self, msg: ApiMsg) -> Vec<Effect> {
        let Some(view) = self.api.as_mut() else {
            return vec![];
        };
        let mut lines: Vec<(LogLevel, String)> = Vec::new();
        match msg {
            ApiMsg::Asking(at) => {
                view.asking_since_ms = Some(at);
                return vec![];
            }
            ApiMsg::Connection(Ok(conn), _) => {
                if view.connection.as_ref() != Some(&conn) {
                    lines.push((
                        LogLevel::Info,
                        format!("Airbyte: connection {} ({})", conn.name, conn.id),
                    ));
                }
                view.connection = Some(conn);
            }
            ApiMsg::Connection(Err(p), _) | ApiMsg::Jobs(Err(p), _) => {
                view.asking_since_ms = None;
                // Said once, not at every retry.
                if view.problem.as_ref() != Some(&p) {
                    lines.push((LogLevel::Error, format!("Airbyte's API: {p}")));
                }
                view.problem = Some(p);
            }
            ApiMsg::Jobs(Ok(jobs), at) => {
                view.asking_since_ms = None;
                if view.problem.take().is_some() {
                    lines.push((LogLevel::Info, "Airbyte's API answers again".into()));
                }
                // Only changes are logged; the first listing is the pane's to show.
                if view.fetched_at_ms.is_some() {
                    lines.extend(job_changes(&view.jobs, &jobs));
                }
                view.jobs = jobs;
                view.fetched_at_ms = Some(at);
            }
            ApiMsg::SyncStarted(result, _) => {
                self.sync_asked_ms = None;
                match result {
                    Ok(job) => {
                        lines.push((
                            LogLevel::Info,
                            format!("Airbyte started job {} ({})", job.id, job.status.label()),
                        ));
                        if !view.jobs.iter().any(|j| j.id == job.id) {
                            view.jobs.insert(0, job);
                        }
                    }
                    // Not the pane's problem: the listing still works.
                    Err(p) => lines.push((LogLevel::Error, format!("no sync started: {p}"))),
                }
            }
        }
        for (level, line) in lines {
            self.push_log(level, line);
        }
        self.judge_sync_job();
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

/// Log lines for what changed between two listings: jobs that appeared (a schedule or
/// someone else started them) and jobs whose status moved.
fn job_changes(before: &[Job], after: &[Job]) -> Vec<(LogLevel, String)> {
    let mut out = Vec::new();
    for job in after.iter().rev() {
        let level = match job.status {
            crate::model::airbyte::JobStatus::Failed => LogLevel::Error,
            crate::model::airbyte::JobStatus::Incomplete
            | crate::model::airbyte::JobStatus::Cancelled => LogLevel::Warn,
            _ => LogLevel::Info,
        };
        match before.iter().find(|b| b.id == job.id) {
            None => out.push((
                level,
                format!("Airbyte job {} {}", job.id, job.status.label()),
            )),
            Some(b) if b.status != job.status => out.push((
                level,
                format!(
                    "Airbyte job {}: {} → {}",
                    job.id,
                    b.status.label(),
                    job.status.label()
                ),
            )),
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::airbyte::JobStatus;

    fn job(id: i64, status: &str) -> Job {
        Job {
            id,
            status: JobStatus::parse(status),
            job_type: "sync".into(),
            started_at_ms: Some(1_000 * id),
            updated_at_ms: None,
            duration_ms: Some(500),
            rows: None,
            bytes: None,
        }
    }

    #[test]
    fn only_new_jobs_and_moved_statuses_are_logged_oldest_first() {
        let before = vec![job(2, "running"), job(1, "succeeded")];
        let after = vec![job(3, "pending"), job(2, "failed"), job(1, "succeeded")];
        let lines: Vec<String> = job_changes(&before, &after)
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        assert_eq!(
            lines,
            ["Airbyte job 2: running → failed", "Airbyte job 3 pending"]
        );
        assert!(job_changes(&after, &after).is_empty());
    }
}
