//! `syncwatch setup`: one poll, then every missing setup step in dependency order, each
//! statement printed before it runs. `--dry-run` prints the plan and changes nothing.
//! Settings that need a restart are set and announced, never restarted: syncwatch does
//! not restart servers it did not start.

use crate::model::side::Side;
use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::config::Settings;
use crate::io::fix;
use crate::io::poll;
use crate::logic::checks;
use crate::logic::fixplan;
use crate::logic::syncs::Syncs;
use crate::model::check::Status;

#[derive(Clone, Copy, Debug, Default)]
pub struct SetupArgs {
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// Only this side's steps.
    pub side: Option<Side>,
}

pub async fn run(settings: &Settings, args: SetupArgs) -> Result<ExitCode> {
    let SetupArgs { dry_run, side } = args;
    if settings.read_only && !dry_run {
        println!("read-only mode: setup changes nothing (use --dry-run to see the plan)");
        return Ok(ExitCode::from(1));
    }
    let snap = poll::poll_once(settings, &Default::default()).await;
    for (label, s) in [("source", &snap.source), ("destination", &snap.dest)] {
        if let Some(reason) = s.reach.reason() {
            println!("-- {label} not reachable: {reason}");
        }
    }
    let all = checks::evaluate(&snap, settings, &Syncs::once(&snap));
    let steps: Vec<fixplan::Step> = fixplan::plan(&all, &snap)
        .into_iter()
        .filter(|s| side.is_none_or(|want| s.side == want))
        .collect();
    let manual: Vec<&crate::model::check::Check> = all
        .iter()
        .filter(|c| c.status != Status::Ok && side.is_none_or(|want| c.side == want))
        .filter(|c| {
            c.fix
                .as_ref()
                .is_some_and(|f| f.sql.is_empty() && f.manual.is_some())
        })
        .collect();
    if steps.is_empty() && manual.is_empty() {
        println!("nothing to do: every step that SQL can fix is in place");
        return Ok(exit_for(&all, side));
    }
    if dry_run {
        println!(
            "-- plan ({} step(s)); nothing is changed with --dry-run",
            steps.len()
        );
        for line in fixplan::describe(&steps) {
            println!("{line}");
        }
        print_manual(&manual);
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = 0;
    let mut restart = Vec::new();
    for step in &steps {
        println!("-- {} ({})", step.check_id, step.side.label());
        for sql in &step.sql {
            println!("{sql};");
        }
        let outcome = fix::apply(settings, step).await;
        match &outcome.error {
            None => {
                println!("-- ok");
                if outcome.restart_needed {
                    restart.push(
                        step.check_id
                            .server_setting()
                            .unwrap_or(step.check_id.as_str()),
                    );
                }
            }
            Some(why) => {
                failed += 1;
                println!("-- not done: {why}");
            }
        }
    }
    print_manual(&manual);
    if !restart.is_empty() {
        println!(
            "-- restart the source server for {} to take effect, then run setup again for the steps that need it",
            restart.join(", ")
        );
    }
    let after = poll::poll_once(settings, &Default::default()).await;
    let checks_after = checks::evaluate(&after, settings, &Syncs::once(&after));
    let left: Vec<&crate::model::check::Check> = checks_after
        .iter()
        .filter(|c| c.status != Status::Ok && side.is_none_or(|want| c.side == want))
        .collect();
    if left.is_empty() {
        println!("-- every check is ok");
    } else {
        println!("-- still not ok:");
        for c in left {
            println!(
                "--   {} {} {}: {}",
                c.status.symbol(),
                c.side.label(),
                c.title,
                c.detail
            );
        }
    }
    Ok(if failed > 0 {
        ExitCode::from(2)
    } else {
        exit_for(&checks_after, side)
    })
}

fn print_manual(manual: &[&crate::model::check::Check]) {
    for c in manual {
        if let Some(m) = c.fix.as_ref().and_then(|f| f.manual.as_ref()) {
            println!("-- {} ({}) needs a step by hand: {m}", c.id, c.side.label());
        }
    }
}

fn exit_for(all: &[crate::model::check::Check], side: Option<Side>) -> ExitCode {
    let relevant: Vec<crate::model::check::Check> = all
        .iter()
        .filter(|c| side.is_none_or(|want| c.side == want))
        .cloned()
        .collect();
    ExitCode::from(checks::worst(&relevant).exit_code())
}
