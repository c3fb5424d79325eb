//! Airbyte's public API over HTTP. [`http`] sends one request; the pure side (paths,
//! bodies, answers, what a failure means) is [`crate::logic::airbyte_api`].

pub mod client;
pub mod http;
pub mod task;

use crate::config::AirbyteApi;
use crate::model::airbyte::ApiView;

/// One round for a one-shot `check`: the connection, then its jobs; a failure is kept in
/// the view as its problem. Bounded by the client's per-request limit.
pub async fn view_once(settings: &AirbyteApi) -> ApiView {
    let mut view = ApiView::new(settings.url.clone());
    let round = async {
        let mut client = client::Client::new(settings)?;
        let conn = client.connection().await?;
        view.connection = Some(conn.clone());
        client.jobs(&conn.id).await
    };
    match round.await {
        Ok(jobs) => {
            view.jobs = jobs;
            view.fetched_at_ms = Some(chrono::Utc::now().timestamp_millis());
        }
        Err(p) => view.problem = Some(p),
    }
    view
}

/// A local server for the tests here: answers requests in order from a script of
/// (status, body) and records each request whole.
#[cfg(test)]
pub(crate) mod scripted {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The server's URL and what it was sent, one request per entry.
    pub(crate) async fn serve(
        replies: Vec<(u16, &'static str)>,
    ) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            for (status, body) in replies {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut got = Vec::new();
                let mut buf = vec![0u8; 8192];
                // The head, then the body its Content-Length announces.
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        if n == 0 {
                            break;
                        }
                        continue;
                    };
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if got.len() >= end + 4 + len || n == 0 {
                        break;
                    }
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&got).to_string());
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                s.write_all(reply.as_bytes()).await.unwrap();
                s.shutdown().await.ok();
            }
        });
        (url, seen)
    }
}
