//! The Airbyte API client, its task and `check` against a stand-in that answers as the
//! API reference documents (`syncwatch::testing::airbyte_api`): Airbyte's own server
//! cannot run here, so this contract test is the one part of syncwatch not run against
//! the real thing (README, "Airbyte's API").

use std::process::Command;
use std::time::Duration;

use syncwatch::config::{AirbyteApi, Secret};
use syncwatch::io::airbyte::client::Client;
use syncwatch::io::airbyte::task::{self, ApiCmd, ApiMsg};
use syncwatch::model::airbyte::{ApiProblem, JobStatus};
use syncwatch::testing::airbyte_api::{CONNECTION_ID, FakeAirbyte, Options};

fn settings(api: &FakeAirbyte, connection: &str, secret: &str) -> AirbyteApi {
    AirbyteApi {
        url: api.url.clone(),
        client_id: Some(Options::default().client_id),
        client_secret: Some(Secret::new(secret)),
        connection: connection.into(),
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn good(api: &FakeAirbyte) -> AirbyteApi {
    settings(api, CONNECTION_ID, &Options::default().client_secret)
}

#[tokio::test]
async fn the_client_lists_jobs_newest_first_and_an_expired_token_is_renewed_unseen() {
    let api = FakeAirbyte::start(Options::default());
    api.add_job("succeeded", now_ms() - 7_200_000, 61_000, 120);
    api.add_job("failed", now_ms() - 3_600_000, 5_000, 0);
    let mut client = Client::new(&good(&api)).unwrap();
    let conn = client.connection().await.unwrap();
    assert_eq!(conn.name, "pg to pg");
    let jobs = client.jobs(&conn.id).await.unwrap();
    let seen: Vec<_> = jobs.iter().map(|j| (j.status.clone(), j.rows)).collect();
    assert_eq!(
        seen,
        [
            (JobStatus::Failed, Some(0)),
            (JobStatus::Succeeded, Some(120))
        ]
    );
    assert_eq!(jobs[1].duration_ms, Some(61_000), "PT0H1M1S");

    // The server forgets its tokens: the next call gets a 401, the client asks for a new
    // token once and the caller sees only the answer.
    api.expire_tokens();
    let again = client.jobs(&conn.id).await.unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(api.tokens_issued(), 2, "one renewal");
    let statuses: Vec<u16> = api.seen().iter().map(|s| s.status).collect();
    assert_eq!(statuses, [200, 200, 200, 401, 200, 200], "{:?}", api.seen());
}

#[tokio::test]
async fn a_connection_is_found_by_name_across_pages() {
    let mut connections: Vec<(String, String)> = (0..130)
        .map(|i| {
            (
                format!("00000000-0000-0000-0000-{i:012}"),
                format!("other {i}"),
            )
        })
        .collect();
    connections.push((CONNECTION_ID.into(), "Tâche Ω \"prod\"".into()));
    let api = FakeAirbyte::start(Options {
        connections,
        ..Options::default()
    });
    let s = settings(&api, "Tâche Ω \"prod\"", &Options::default().client_secret);
    let conn = Client::new(&s).unwrap().connection().await.unwrap();
    assert_eq!(conn.id, CONNECTION_ID);
    let pages = api
        .seen()
        .iter()
        .filter(|s| s.target.contains("/connections?"))
        .count();
    assert_eq!(pages, 2, "100 a page");
}

#[tokio::test]
async fn failures_are_one_line_each_with_what_to_do() {
    let api = FakeAirbyte::start(Options::default());

    let wrong = settings(&api, CONNECTION_ID, "not-the-secret");
    let e = Client::new(&wrong).unwrap().connection().await.unwrap_err();
    assert!(matches!(e, ApiProblem::Credentials(_)), "{e:?}");
    let line = e.to_string();
    assert!(line.contains("401") && line.contains("client_id"), "{line}");
    assert!(!line.contains("not-the-secret") && !line.contains('\n'));

    let unknown = settings(
        &api,
        "11111111-2222-3333-4444-555555555555",
        &Options::default().client_secret,
    );
    let e = Client::new(&unknown)
        .unwrap()
        .connection()
        .await
        .unwrap_err();
    assert!(matches!(e, ApiProblem::UnknownConnection(_)), "{e:?}");
    assert!(e.to_string().contains("404"), "{e}");

    let mut client = Client::new(&good(&api)).unwrap();
    client.connection().await.unwrap();
    api.fail_next(500, 1);
    let e = client.jobs(CONNECTION_ID).await.unwrap_err();
    match &e {
        ApiProblem::Server {
            status: 500,
            message,
        } => {
            assert!(message.contains("Something went wrong"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(
        client.jobs(CONNECTION_ID).await.is_ok(),
        "the next call works"
    );

    let closed = AirbyteApi {
        url: "http://127.0.0.1:1".into(),
        ..good(&api)
    };
    let e = Client::new(&closed)
        .unwrap()
        .connection()
        .await
        .unwrap_err();
    assert!(matches!(e, ApiProblem::Unreachable(_)), "{e:?}");
}

#[tokio::test]
async fn a_second_sync_while_one_runs_is_refused_by_the_api_too() {
    let api = FakeAirbyte::start(Options {
        job_runs_for: Duration::from_secs(60),
        ..Options::default()
    });
    let mut client = Client::new(&good(&api)).unwrap();
    let job = client.start_sync(CONNECTION_ID).await.unwrap();
    assert_eq!(job.status, JobStatus::Running);
    let e = client.start_sync(CONNECTION_ID).await.unwrap_err();
    assert!(e.to_string().contains("already running"), "{e}");
    assert_eq!(api.jobs_created(), 1);
}

/// The API's task, as the TUI runs it: told once, it starts one job, then follows it
/// from running to succeeded.
#[tokio::test]
async fn the_task_starts_one_sync_and_follows_it_to_the_end() {
    let api = FakeAirbyte::start(Options {
        job_runs_for: Duration::from_secs(1),
        ..Options::default()
    });
    let (out, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cmds = task::spawn(good(&api), out);
    let mut statuses = Vec::new();
    let mut asked = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline {
        let msg = tokio::time::timeout_at(deadline, rx.recv()).await;
        match msg {
            Ok(Some(ApiMsg::Jobs(Ok(jobs), _))) => {
                if !asked {
                    cmds.send(ApiCmd::StartSync).unwrap();
                    asked = true;
                    continue;
                }
                if let Some(j) = jobs.first() {
                    statuses.push(j.status.clone());
                    if j.status == JobStatus::Succeeded {
                        break;
                    }
                }
            }
            Ok(Some(ApiMsg::SyncStarted(r, _))) => assert!(r.is_ok(), "{r:?}"),
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    assert_eq!(statuses.first(), Some(&JobStatus::Running), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&JobStatus::Succeeded), "{statuses:?}");
    assert_eq!(api.jobs_created(), 1, "exactly one job");
}

/// `check` asks the API alongside the poll: the last job is a check of its own, in the
/// JSON too, and the secret is nowhere in what it prints.
#[test]
fn check_reports_the_last_job_and_never_prints_the_secret() {
    const SECRET: &str = "Sx-9f2-airbyte-client-secret";
    let api = FakeAirbyte::start(Options {
        client_secret: SECRET.into(),
        ..Options::default()
    });
    api.add_job("failed", now_ms() - 600_000, 5_000, 0);
    let run = |args: &[&str], secret: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .args(args)
            // Nothing listens on port 1: the databases are down, the API is not.
            .args(["--source", "host=127.0.0.1 port=1 connect_timeout=2"])
            .args(["--dest", "host=127.0.0.1 port=1 connect_timeout=2"])
            .args([
                "--airbyte-url",
                &api.url,
                "--airbyte-connection",
                "pg to pg",
            ])
            .env("SYNCWATCH_AIRBYTE_CLIENT_ID", Options::default().client_id)
            .env("SYNCWATCH_AIRBYTE_CLIENT_SECRET", secret)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{args:?} printed the secret:\n{stdout}\n{stderr}"
        );
        (out.status.code(), stdout)
    };
    let (code, json) = run(&["check", "--json"], SECRET);
    assert_eq!(code, Some(2), "{json}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let job_check = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "source.sync_job")
        .unwrap_or_else(|| panic!("no source.sync_job in {json}"));
    assert_eq!(job_check["status"], "critical", "{job_check}");
    assert_eq!(doc["airbyte"]["connection"]["name"], "pg to pg");
    assert_eq!(doc["airbyte"]["jobs"][0]["status"], "failed");
    assert!(doc["airbyte"]["problem"].is_null());

    let (_, text) = run(&["check"], SECRET);
    assert!(
        text.contains("sync job") && text.contains("failed"),
        "{text}"
    );

    // A wrong secret: one line saying so, and still no secret printed.
    let (_, json) = run(&["check", "--json"], "wrong-Sx-secret");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let problem = doc["airbyte"]["problem"].as_str().unwrap_or_default();
    assert!(problem.contains("refused the client id"), "{json}");
    // The secret went only where it belongs: the token request's body.
    for seen in api.seen() {
        let in_body = seen.body.contains(SECRET);
        assert!(
            !in_body || seen.target.ends_with("/applications/token"),
            "{seen:?}"
        );
        assert!(!seen.target.contains(SECRET));
    }
}
