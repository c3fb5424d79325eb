//! One module per subcommand, each `run(&Settings, Args) -> Result<ExitCode>`; `main.rs`
//! parses the flags and calls it.

pub mod check;
pub mod demo;
pub mod diff;
pub mod seed;
pub mod serve;
pub mod setup;
pub mod tui;

/// Ctrl-C, `kill`, or the terminal going away (an ssh session dropped): each must still
/// stop both servers and remove their files.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}
