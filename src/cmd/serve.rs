//! `syncwatch serve`: a Prometheus exporter. Every pair is polled on its own schedule
//! (the live view's pollers); scrapes read what the last polls found.

use std::process::ExitCode;
use std::sync::Arc;

use color_eyre::eyre::{Result, eyre};

use crate::config::Pair;
use crate::io::exporter::{self, Exported};

#[derive(Clone, Debug)]
pub struct ServeArgs {
    /// `host:port` to listen on.
    pub listen: String,
    pub metrics_path: String,
}

/// The default address: loopback, so nothing is exposed until asked. 9187 is also
/// postgres_exporter's usual port: run both on one host with `--listen`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9187";

/// Serves until Ctrl-C, SIGTERM or SIGHUP; exits 0 then.
pub async fn run(pairs: &[Pair], args: ServeArgs) -> Result<ExitCode> {
    if !args.metrics_path.starts_with('/') || args.metrics_path == "/healthz" {
        return Err(eyre!(
            "--metrics-path {:?}: must start with / and not be /healthz",
            args.metrics_path
        ));
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| {
            let hint = match e.kind() {
                std::io::ErrorKind::AddrInUse => {
                    " — another program listens there (postgres_exporter's default is 9187): choose another with --listen"
                }
                std::io::ErrorKind::PermissionDenied => " — ports below 1024 need privileges",
                _ => " — give --listen as host:port, e.g. 127.0.0.1:9187 or 0.0.0.0:9187",
            };
            eyre!("cannot listen on {}: {e}{hint}", args.listen)
        })?;
    let addr = listener.local_addr()?;
    let exported = Arc::new(Exported {
        pairs: exporter::watch(pairs),
        metrics_path: args.metrics_path.clone(),
    });
    let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
    println!(
        "syncwatch: serving {} pair(s) ({}) on http://{addr}{} (and /healthz); Ctrl-C stops",
        pairs.len(),
        names.join(", "),
        args.metrics_path
    );
    tokio::select! {
        () = exporter::serve(listener, exported) => {}
        _ = super::shutdown_signal() => {}
    }
    Ok(ExitCode::SUCCESS)
}
