//! Shared by the benchmarks: a source and a destination with many published tables, and
//! reading a process's CPU and memory from /proc. Each benchmark uses part of it.
#![allow(dead_code)]

use std::process::Command;

use syncwatch::config::Settings;
use syncwatch::sandbox::cluster::{self, Cluster};
use syncwatch::sandbox::lab;

pub struct ManyTables {
    pub source: Cluster,
    pub dest: Cluster,
    pub settings: Settings,
    pub version: String,
}

/// `tables` tables `t0000`… with up to 49 rows each on both sides, published FOR ALL
/// TABLES from the source with the guide's slot.
pub async fn many_tables(tables: usize) -> color_eyre::Result<ManyTables> {
    let bin = cluster::first_found()?;
    let version = bin.version.clone();
    let (source, dest) = tokio::task::spawn_blocking(move || {
        (
            Cluster::start(&bin, lab::SOURCE_SETTINGS),
            Cluster::start(&bin, &[]),
        )
    })
    .await?;
    let (source, dest) = (source?, dest?);
    for c in [&source, &dest] {
        lab::create_role_and_db(c, "airbyte", "airbyte", "tasks_list").await?;
        // In batches: one transaction creating thousands of tables would run out of
        // lock slots (max_locks_per_transaction).
        let ep = c.tcp("airbyte", "airbyte", "tasks_list");
        for batch in (0..tables).collect::<Vec<_>>().chunks(500) {
            let mut ddl = String::new();
            for i in batch {
                ddl.push_str(&format!(
                    "CREATE TABLE t{i:04} (id int PRIMARY KEY, v text); INSERT INTO t{i:04} SELECT g, 'x' FROM generate_series(1, {}) g;",
                    i % 50
                ));
            }
            lab::exec(&ep, &ddl).await?;
        }
        lab::exec(&ep, "ANALYZE").await?;
    }
    // A slot cannot be created in a transaction that wrote: one statement per exec.
    for sql in [
        "ALTER ROLE airbyte REPLICATION",
        "CREATE PUBLICATION airbyte_publication FOR ALL TABLES",
        "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')",
    ] {
        lab::exec(&source.admin("tasks_list"), sql).await?;
    }
    let settings = Settings {
        source: source.tcp("airbyte", "airbyte", "tasks_list"),
        dest: dest.tcp("airbyte", "airbyte", "tasks_list"),
        ..Default::default()
    };
    Ok(ManyTables {
        source,
        dest,
        settings,
        version,
    })
}

impl ManyTables {
    pub async fn stop(self) {
        let _ = tokio::task::spawn_blocking(move || drop((self.source, self.dest))).await;
    }
}

pub fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// CPU seconds (user + system) used so far by `pid`.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz
}

pub fn rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// The numbers among the bench's arguments (`cargo bench --bench X -- 30 1000`; cargo's
/// own `--bench` is not one).
pub fn numeric_args() -> Vec<u64> {
    std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect()
}
