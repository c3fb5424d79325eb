//! Faults injected into real servers and how long syncwatch takes to notice and recover:
//! `cargo bench --bench faults`. Kills each server (immediate shutdown) 20 times and
//! restarts it; stops one with SIGSTOP and resumes it. Prints a table.

use std::collections::HashSet;
use std::time::{Duration, Instant};
use syncwatch::model::side::Side;

use syncwatch::io::poll::SidePoller;
use syncwatch::sandbox::cluster::{self, Cluster};
use syncwatch::sandbox::lab::Lab;

const ROUNDS: usize = 20;

async fn until(poller: &mut SidePoller, up: bool) -> Duration {
    let t = Instant::now();
    loop {
        let s = poller.poll(&[], &HashSet::new()).await;
        if s.reach.is_up() == up || t.elapsed() > Duration::from_secs(60) {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stats(v: &mut [Duration]) -> (f64, f64) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(v[v.len() / 2]), ms(v[v.len() - 1]))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> color_eyre::Result<()> {
    let found = cluster::discover(None);
    let bin = cluster::pick(&found, true, None)
        .or_else(|| found.first())
        .ok_or_else(|| color_eyre::eyre::eyre!("{}", cluster::install_hint()))?
        .clone();
    let b = bin.clone();
    let mut lab = tokio::task::spawn_blocking(move || Lab::start(&b, &b)).await??;
    lab.bootstrap().await?;
    lab.subscribe().await?;
    let mut settings = lab.settings();
    settings.statement_timeout = Duration::from_secs(2);
    settings.source.connect_timeout = Duration::from_secs(2);
    settings.dest.connect_timeout = Duration::from_secs(2);

    println!(
        "PostgreSQL {} · statement_timeout 2 s · {ROUNDS} kills per side\n",
        bin.version
    );
    println!(
        "{:<34} {:>9} {:>9} {:>11} {:>11}",
        "fault", "injected", "survived", "median ms", "max ms"
    );
    for role in [Side::Source, Side::Dest] {
        let mut poller = SidePoller::new(role, &settings);
        until(&mut poller, true).await;
        let (mut noticed, mut recovered) = (Vec::new(), Vec::new());
        let mut survived = 0;
        for _ in 0..ROUNDS {
            let cluster: &mut Cluster = match role {
                Side::Source => &mut lab.source,
                Side::Dest => &mut lab.dest,
            };
            tokio::task::block_in_place(|| cluster.crash())?;
            noticed.push(until(&mut poller, false).await);
            tokio::task::block_in_place(|| cluster.start_again())?;
            let r = until(&mut poller, true).await;
            if r < Duration::from_secs(60) {
                survived += 1;
            }
            recovered.push(r);
        }
        let (nm, nx) = stats(&mut noticed);
        let (rm, rx) = stats(&mut recovered);
        println!(
            "{:<34} {:>9} {:>9} {:>11.0} {:>11.0}",
            format!("kill {}: shown down", role.label()),
            ROUNDS,
            ROUNDS,
            nm,
            nx
        );
        println!(
            "{:<34} {:>9} {:>9} {:>11.0} {:>11.0}",
            format!("kill {}: polling resumed", role.label()),
            ROUNDS,
            survived,
            rm,
            rx
        );
    }
    // A server that stops answering: every process of it stopped.
    let mut poller = SidePoller::new(Side::Dest, &settings);
    until(&mut poller, true).await;
    lab.dest.pause();
    let t = Instant::now();
    let snap = poller.poll(&[], &HashSet::new()).await;
    let timeout = t.elapsed();
    lab.dest.resume();
    let back = until(&mut poller, true).await;
    println!(
        "{:<34} {:>9} {:>9} {:>11.0} {:>11.0}",
        "SIGSTOP destination: timed out",
        1,
        usize::from(matches!(
            snap.reach,
            syncwatch::model::snapshot::Reach::Timeout(_)
        )),
        timeout.as_secs_f64() * 1000.0,
        timeout.as_secs_f64() * 1000.0
    );
    println!(
        "{:<34} {:>9} {:>9} {:>11.0} {:>11.0}",
        "SIGCONT destination: resumed",
        1,
        usize::from(back < Duration::from_secs(60)),
        back.as_secs_f64() * 1000.0,
        back.as_secs_f64() * 1000.0
    );
    tokio::task::spawn_blocking(move || drop(lab)).await?;
    Ok(())
}
