//! One module per subcommand, each `run(&Settings, Args) -> Result<ExitCode>`; `main.rs`
//! parses the flags and calls it.

pub mod check;
pub mod demo;
pub mod diff;
pub mod seed;
pub mod setup;
pub mod tui;
