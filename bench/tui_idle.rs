//! The TUI left open: CPU and memory of the real binary in tmux, polling every second a
//! source and destination with many published tables. `cargo bench --bench tui_idle
//! [-- SECONDS [TABLES]]` (defaults 30 and 1000). Reads utime+stime and VmRSS from /proc.

#[path = "common.rs"]
mod common;

use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> color_eyre::Result<()> {
    let args = common::numeric_args();
    let seconds = args.first().copied().unwrap_or(30);
    let tables = args.get(1).copied().unwrap_or(1000) as usize;
    let lab = common::many_tables(tables).await?;
    let socket = format!("syncwatch-idle-{}", std::process::id());
    let cmd = format!(
        "{} --source '{}' --dest '{}'",
        env!("CARGO_BIN_EXE_syncwatch"),
        lab.settings.source.conninfo_without_password(),
        lab.settings.dest.conninfo_without_password(),
    );
    common::tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "idle",
            "-x",
            "160",
            "-y",
            "50",
            &cmd,
        ],
    );
    let pid: u32 = common::tmux(
        &socket,
        &["display-message", "-p", "-t", "idle", "#{pane_pid}"],
    )
    .trim()
    .parse()?;
    // Let it connect and count every table exactly once (the first polls' budget).
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (cpu0, t0) = (common::cpu_seconds(pid), Instant::now());
    let mut peak_rss: f64 = 0.0;
    // Resident memory every 10 s: it must level off once the histories are full.
    let mut timeline = Vec::new();
    let mut tick = 0;
    while t0.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let rss = common::rss_mb(pid);
        peak_rss = peak_rss.max(rss);
        tick += 1;
        if tick % 10 == 0 {
            timeline.push(format!("{tick}s {rss:.0}"));
        }
    }
    let cpu = common::cpu_seconds(pid) - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    let screen = common::tmux(&socket, &["capture-pane", "-p", "-t", "idle"]);
    common::tmux(&socket, &["kill-server"]);
    println!(
        "PostgreSQL {} · {tables} published tables · poll every 1 s · {wall:.0} s measured\n",
        lab.version
    );
    println!(
        "{:<28} {:>10}",
        "CPU (% of one core)",
        format!("{:.2}", 100.0 * cpu / wall)
    );
    println!("{:<28} {:>10}", "CPU seconds", format!("{cpu:.2}"));
    println!(
        "{:<28} {:>10}",
        "peak resident memory (MB)",
        format!("{peak_rss:.1}")
    );
    println!("resident memory (MB) over time: {}", timeline.join(", "));
    println!(
        "\nlast screen, first lines:\n{}",
        screen.lines().take(6).collect::<Vec<_>>().join("\n")
    );
    lab.stop().await;
    Ok(())
}
