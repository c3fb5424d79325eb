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
    // Airbyte's API, when configured, is asked alongside the poll, not after it.
    let api = async {
        match &settings.airbyte {
            Some(a) => Some(crate::io::airbyte::view_once(a).await),
            None => None,
        }
    };
    let poll_options = Default::default();
    let (snap, api) = tokio::join!(poll::poll_once(settings, &poll_options), api);
    let mut tracker = Tracker::new(Mapping::new(settings));
    tracker.observe(&snap);
    let checks = checks::with_sync_job(
        checks::evaluate(&snap, settings, tracker.syncs()),
        api.as_ref(),
        settings,
        tracker.syncs(),
        snap.taken_at_ms,
    );
    let text = if args.json {
        report::json(&snap, &checks, &tracker, settings, api.as_ref())
    } else {
        report::human(&snap, &checks, &tracker, api.as_ref())
    };
    println!("{text}");
    Ok(ExitCode::from(checks::worst(&checks).exit_code()))
}
