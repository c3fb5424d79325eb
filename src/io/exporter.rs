//! `serve`'s moving parts: per pair, the same pollers as the live view (and the API task
//! when configured) feed a [`Monitor`]; an HTTP/1 server answers scrapes from whatever
//! the monitors hold. A scrape takes each monitor's lock only to read it, and the tasks
//! take it only to store a report, so a scrape never waits on a database.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::config::Pair;
use crate::io::pollers::{self, PollerMsg};
use crate::logic::metrics;
use crate::logic::monitor::Monitor;

/// One pair's monitor, shared between its tasks and the scrapes.
pub struct Watched {
    pub name: String,
    pub monitor: Arc<Mutex<Monitor>>,
}

/// What the server answers from.
pub struct Exported {
    pub pairs: Vec<Watched>,
    pub metrics_path: String,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Starts watching every pair: its pollers, its API task, a clock. Runs until the runtime
/// ends.
pub fn watch(pairs: &[Pair]) -> Vec<Watched> {
    pairs
        .iter()
        .map(|p| {
            let monitor = Arc::new(Mutex::new(Monitor::new(p.settings.clone(), now_ms())));
            let (poll_tx, mut poll_rx) = mpsc::unbounded_channel();
            let pollers = pollers::spawn(&p.settings, poll_tx);
            let (api_tx, mut api_rx) = mpsc::unbounded_channel();
            let api = p
                .settings
                .airbyte
                .clone()
                .map(|a| crate::io::airbyte::task::spawn(a, api_tx.clone()));
            let m = monitor.clone();
            tokio::spawn(async move {
                // Held for as long as the task runs: dropping them stops the pollers and
                // the API task.
                let _keep = (pollers, api, api_tx);
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        msg = poll_rx.recv() => match msg {
                            Some(PollerMsg::Polled(side, snap)) => {
                                lock(&m).polled(side, *snap, now_ms());
                            }
                            Some(PollerMsg::Started(_)) => {}
                            None => return,
                        },
                        msg = api_rx.recv() => if let Some(msg) = msg {
                            lock(&m).api_report(msg);
                        },
                        _ = tick.tick() => lock(&m).tick(now_ms()),
                    }
                }
            });
            Watched {
                name: p.name.clone(),
                monitor,
            }
        })
        .collect()
}

/// A poisoned lock means a panic while storing a report; the monitor's data is still
/// the last whole state, so it is read anyway.
fn lock(m: &Mutex<Monitor>) -> std::sync::MutexGuard<'_, Monitor> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The exposition of every pair, now.
pub fn scrape(e: &Exported) -> String {
    let guards: Vec<_> = e.pairs.iter().map(|w| lock(&w.monitor)).collect();
    let view: Vec<(&str, &Monitor)> = e
        .pairs
        .iter()
        .zip(&guards)
        .map(|(w, g)| (w.name.as_str(), &**g))
        .collect();
    metrics::encode(&metrics::families(&view))
}

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn answer(e: &Exported, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, kind: &str, body: String| {
        Response::builder()
            .status(status)
            .header("content-type", kind)
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    };
    let path = req.uri().path();
    if req.method() != hyper::Method::GET && req.method() != hyper::Method::HEAD {
        return reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    if path == e.metrics_path {
        return reply(StatusCode::OK, OPENMETRICS, scrape(e));
    }
    match path {
        // Alive as long as it answers: a pair that is down is a metric, not a failure.
        "/healthz" => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        "/" => reply(
            StatusCode::OK,
            "text/html; charset=utf-8",
            format!(
                "<html><body><h1>syncwatch</h1><p><a href=\"{0}\">{0}</a> · <a href=\"/healthz\">/healthz</a></p></body></html>\n",
                e.metrics_path
            ),
        ),
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

/// Answers on `listener` until the runtime ends; each connection in a task of its own.
pub async fn serve(listener: TcpListener, exported: Arc<Exported>) {
    loop {
        let (stream, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(s) => s,
            // Out of file descriptors and the like: try again shortly, do not spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let e = exported.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let e = e.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&e, &req)) }
            });
            // A client that goes away mid-answer ends only its own connection.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
