//! Poll cost with many published tables: `cargo bench --bench poll [-- TABLES]`.
//! Starts a throwaway source and destination, creates TABLES (default 1000) published
//! tables with a few rows each on both sides, then times polls of both sides and prints
//! a table. The first polls pay for exact counts (within the per-poll budget); later
//! polls reuse them while the tables' insert/delete counters stand still.

#[path = "common.rs"]
mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};
use syncwatch::model::side::Side;

use syncwatch::io::poll::{SidePoller, wanted_on_dest};
use syncwatch::logic::mapping::Mapping;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> color_eyre::Result<()> {
    let tables: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let lab = common::many_tables(tables).await?;
    println!("PostgreSQL {} · {tables} published tables", lab.version);
    let settings = syncwatch::config::Settings {
        statement_timeout: Duration::from_secs(30),
        ..lab.settings.clone()
    };
    let mut sp = SidePoller::new(Side::Source, &settings);
    let mut dp = SidePoller::new(Side::Dest, &settings);
    let none = HashSet::new();
    let mut rows = Vec::new();
    for i in 0..40 {
        let t = Instant::now();
        let s = sp.poll(&[], &none).await;
        let d = dp
            .poll(&wanted_on_dest(&s, &Mapping::default()), &none)
            .await;
        let total = t.elapsed().as_secs_f64() * 1000.0;
        let exact = |snap: &syncwatch::model::snapshot::SideSnapshot| {
            snap.tables
                .ok()
                .map(|ts| {
                    ts.iter()
                        .filter(|t| t.rows.is_some_and(|r| r.exact))
                        .count()
                })
                .unwrap_or(0)
        };
        rows.push((i, s.poll_ms, d.poll_ms, total, exact(&s), exact(&d)));
    }
    println!(
        "\n{:>5} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "poll", "src ms", "dst ms", "both ms", "src exact", "dst exact"
    );
    for (i, s, d, t, es, ed) in &rows {
        if *i < 8 || i % 10 == 9 {
            println!("{i:>5} {s:>10.1} {d:>10.1} {t:>10.1} {es:>12} {ed:>12}");
        }
    }
    let steady: Vec<f64> = {
        let mut v: Vec<f64> = rows.iter().skip(20).map(|r| r.1 + r.2).collect();
        v.sort_by(f64::total_cmp);
        v
    };
    println!(
        "\nsteady state (polls 20–39), database time of both sides: median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&steady, 0.5),
        percentile(&steady, 0.95),
        steady.last().copied().unwrap_or(0.0)
    );
    lab.stop().await;
    Ok(())
}
