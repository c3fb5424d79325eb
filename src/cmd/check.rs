//! `syncwatch check [--json]`: one poll of both sides of every pair, the checks and the
//! tables, printed for people or as JSON; the exit code follows the Nagios convention,
//! the worst pair's.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::config::{Pair, Settings};
use crate::io::poll;
use crate::logic::divergence::Tracker;
use crate::logic::mapping::Mapping;
use crate::logic::{checks, report};
use crate::model::airbyte::ApiView;
use crate::model::check::Check;
use crate::model::snapshot::Snapshot;

#[derive(Clone, Debug, Default)]
pub struct CheckArgs {
    /// Machine-readable output.
    pub json: bool,
}

/// One pair's moment: its snapshot, what the API said, the checks.
struct Polled {
    snap: Snapshot,
    tracker: Tracker,
    checks: Vec<Check>,
    api: Option<ApiView>,
}

async fn poll_pair(settings: &Settings) -> Polled {
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
    Polled {
        snap,
        tracker,
        checks,
        api,
    }
}

/// One poll of every pair, all at once (a pair that hangs holds only its own answer,
/// bounded by its connect and statement timeouts), the checks printed; exits 0 ok,
/// 1 warning, 2 critical, 3 unknown — the worst pair's.
pub async fn run(pairs: &[Pair], args: CheckArgs) -> Result<ExitCode> {
    let polled = futures_util::future::join_all(pairs.iter().map(|p| poll_pair(&p.settings))).await;
    let reports: Vec<report::PairReport> = pairs
        .iter()
        .zip(&polled)
        .map(|(p, r)| report::PairReport {
            name: &p.name,
            snap: &r.snap,
            checks: &r.checks,
            tracker: &r.tracker,
            settings: &p.settings,
            api: r.api.as_ref(),
        })
        .collect();
    let text = if args.json {
        report::json_pairs(&reports)
    } else {
        report::human_pairs(&reports)
    };
    println!("{text}");
    Ok(ExitCode::from(report::worst_of(&reports).exit_code()))
}
