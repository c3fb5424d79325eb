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
/// stop both servers and remove their files. Ctrl-C is the user's own way to stop
/// (`Quit`); the others are named, for the exit status.
pub(crate) async fn shutdown_signal() -> crate::tui::Ended {
    use crate::tui::Ended;
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return Ended::Quit;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ended::Quit,
        _ = term.recv() => Ended::Signal("SIGTERM", libc::SIGTERM),
        _ = hup.recv() => Ended::Signal("SIGHUP", libc::SIGHUP),
    }
}

/// Says how the live view ended (to stderr, if anything still reads it) and gives the
/// exit status: 0 for `q`, 128 + the signal's number, 1 when the terminal went away.
pub(crate) fn after_the_view(ended: &crate::tui::Ended) -> std::process::ExitCode {
    if let Some(line) = ended.describe() {
        use std::io::Write;
        // A dead terminal cannot be told; the status still says it.
        let _ = writeln!(std::io::stderr(), "syncwatch: {line}");
    }
    std::process::ExitCode::from(ended.exit_code())
}
