//! `syncwatch check [--json]`: one poll of both sides, the checks and the tables, printed
//! for people or as JSON; the exit code follows the Nagios convention.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::config::Settings;
use crate::io::poll;
use crate::logic::divergence::Tracker;
use crate::logic::mapping::Mapping;
use crate::logic::{checks, report};

#[derive(Clone, Debug, Default)]
pub struct CheckArgs {
    /// Machine-readable output.
    pub json: bool,
}

/// One poll, the checks, printed; exits 0 ok, 1 warning, 2 critical, 3 unknown.
pub async fn run(settings: &Settings, args: CheckArgs) -> Result<ExitCode> {
    let snap = poll::poll_once(settings, &Default::default()).await;
    let mut tracker = Tracker::new(Mapping::new(settings));
    tracker.observe(&snap);
    let checks = checks::evaluate(&snap, settings, tracker.syncs());
    let text = if args.json {
        report::json(&snap, &checks, &tracker, settings)
    } else {
        report::human(&snap, &checks, &tracker)
    };
    println!("{text}");
    Ok(ExitCode::from(checks::worst(&checks).exit_code()))
}
