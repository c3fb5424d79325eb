//! The API's task, like a poller: it owns the [`Client`], finds the connection, lists
//! its jobs on an interval (faster while one runs), starts a sync when told, and reports
//! over a channel. The UI never awaits it: a stalled API delays only its own reports.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::AirbyteApi;
use crate::model::airbyte::Connection;

use super::client::Client;

/// Between listings while no job runs…
pub const IDLE_EVERY: Duration = Duration::from_secs(10);
/// …and while one does, so the pane follows it.
pub const LIVE_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiCmd {
    Refresh,
    StartSync,
}

pub use crate::model::airbyte::ApiMsg;

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Starts the task; dropping the returned sender stops it.
pub fn spawn(
    settings: AirbyteApi,
    out: mpsc::UnboundedSender<ApiMsg>,
) -> mpsc::UnboundedSender<ApiCmd> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut client = match Client::new(&settings) {
            Ok(c) => c,
            Err(e) => {
                let _ = out.send(ApiMsg::Connection(Err(e), now_ms()));
                return;
            }
        };
        let mut connection: Option<Connection> = None;
        let mut every = IDLE_EVERY;
        let mut start_sync = false;
        loop {
            if out.send(ApiMsg::Asking(now_ms())).is_err() {
                return;
            }
            if connection.is_none() {
                let found = client.connection().await;
                connection = found.as_ref().ok().cloned();
                if out.send(ApiMsg::Connection(found, now_ms())).is_err() {
                    return;
                }
            }
            if let Some(conn) = &connection {
                if std::mem::take(&mut start_sync) {
                    let started = client.start_sync(&conn.id).await;
                    if out.send(ApiMsg::SyncStarted(started, now_ms())).is_err() {
                        return;
                    }
                }
                let jobs = client.jobs(&conn.id).await;
                every = match &jobs {
                    Ok(list) if list.iter().any(|j| j.status.is_live()) => LIVE_EVERY,
                    _ => IDLE_EVERY,
                };
                if out.send(ApiMsg::Jobs(jobs, now_ms())).is_err() {
                    return;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(ApiCmd::Refresh) => {}
                    Some(ApiCmd::StartSync) => start_sync = true,
                },
            }
        }
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::airbyte::client::tests::{JOBS, scripted, settings};
    use crate::model::airbyte::JobStatus;

    async fn next(rx: &mut mpsc::UnboundedReceiver<ApiMsg>) -> ApiMsg {
        loop {
            match rx.recv().await.expect("the task reports") {
                ApiMsg::Asking(_) => continue,
                m => return m,
            }
        }
    }

    #[tokio::test]
    async fn finds_the_connection_lists_jobs_and_starts_one_sync_when_told() {
        const ID: &str = "9924bcd0-99be-453d-ba47-c2c9766f7da5";
        let (url, seen) = scripted(vec![
            (200, r#"{"access_token":"t1","expires_in":180}"#),
            (200, r#"{"connectionId":"9924bcd0-99be-453d-ba47-c2c9766f7da5","name":"pg to pg"}"#),
            (200, JOBS),
            (200, r#"{"jobId":4,"status":"running","jobType":"sync","startTime":"2026-12-01T11:00:00Z","connectionId":"c"}"#),
            (200, JOBS),
        ])
        .await;
        let (out, mut rx) = mpsc::unbounded_channel();
        let cmds = spawn(settings(url, ID), out);
        match next(&mut rx).await {
            ApiMsg::Connection(Ok(c), _) => assert_eq!(c.name, "pg to pg"),
            m => panic!("{m:?}"),
        }
        assert!(matches!(next(&mut rx).await, ApiMsg::Jobs(Ok(_), _)));
        cmds.send(ApiCmd::StartSync).unwrap();
        match next(&mut rx).await {
            ApiMsg::SyncStarted(Ok(job), _) => {
                assert_eq!((job.id, job.status), (4, JobStatus::Running))
            }
            m => panic!("{m:?}"),
        }
        assert!(matches!(next(&mut rx).await, ApiMsg::Jobs(Ok(_), _)));
        let posts = seen()
            .iter()
            .filter(|l| l.starts_with("POST /api/public/v1/jobs "))
            .count();
        assert_eq!(posts, 1, "exactly one job created");
    }
}
