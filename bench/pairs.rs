//! Many syncs at once: 20 pairs × 100 tables on two local servers (a database, a
//! publication and a slot — named after the pair: slots are the server's — per pair on the source; a database per pair on the
//! destination). Measures `serve` (CPU, memory, a scrape's duration and size) and the
//! live view in tmux (CPU, memory), and, in process, the overview's frame time.
//! `cargo bench --bench pairs [-- SECONDS [PAIRS [TABLES]]]` (defaults 30, 20, 100).

#[path = "common.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use syncwatch::sandbox::cluster::{self, Cluster};
use syncwatch::sandbox::lab;

/// CPU (% of one core) and peak RSS of `pid` over `seconds`.
async fn watch(pid: u32, seconds: u64) -> (f64, f64) {
    let (cpu0, t0) = (common::cpu_seconds(pid), Instant::now());
    let mut peak: f64 = 0.0;
    while t0.elapsed() < Duration::from_secs(seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak = peak.max(common::rss_mb(pid));
    }
    (
        100.0 * (common::cpu_seconds(pid) - cpu0) / t0.elapsed().as_secs_f64(),
        peak,
    )
}

fn get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    Some(raw.split_once("\r\n\r\n")?.1.to_string())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> color_eyre::Result<()> {
    let args = common::numeric_args();
    let seconds = args.first().copied().unwrap_or(30);
    let pairs = args.get(1).copied().unwrap_or(20) as usize;
    let tables = args.get(2).copied().unwrap_or(100) as usize;

    let bin = cluster::first_found()?;
    let version = bin.version.clone();
    let slots = (pairs + 5).to_string();
    let (source, dest) = tokio::task::spawn_blocking(move || {
        let settings = [
            ("wal_level", "logical"),
            ("max_replication_slots", slots.as_str()),
            ("max_wal_senders", slots.as_str()),
            ("max_connections", "300"),
        ];
        (
            Cluster::start(&bin, &settings),
            Cluster::start(&bin, &[("max_connections", "300")]),
        )
    })
    .await?;
    let (source, dest): (Cluster, Cluster) = (source?, dest?);
    let mut config = String::from("engine = \"native\"\n");
    for p in 0..pairs {
        let db = format!("pair{p:02}");
        for c in [&source, &dest] {
            lab::create_role_and_db(c, "airbyte", "airbyte", &db).await?;
            let mut ddl = String::new();
            for i in 0..tables {
                ddl.push_str(&format!(
                    "CREATE TABLE t{i:03} (id int PRIMARY KEY, v text); INSERT INTO t{i:03} SELECT g, 'x' FROM generate_series(1, {}) g;",
                    i % 50
                ));
            }
            lab::exec(&c.tcp("airbyte", "airbyte", &db), &ddl).await?;
        }
        for sql in [
            "ALTER ROLE airbyte REPLICATION",
            "CREATE PUBLICATION airbyte_publication FOR ALL TABLES",
        ] {
            lab::exec(&source.admin(&db), sql).await?;
        }
        // Slots are the server's, not a database's: one name per pair.
        lab::exec(
            &source.admin(&db),
            &format!("SELECT pg_create_logical_replication_slot('slot_{db}', 'pgoutput')"),
        )
        .await?;
        config.push_str(&format!(
            "\n[[pair]]\nname = \"{db}\"\nslot = \"slot_{db}\"\nsource = \"{}\"\ndestination = \"{}\"\n",
            source
                .tcp("airbyte", "airbyte", &db)
                .conninfo_without_password(),
            dest.tcp("airbyte", "airbyte", &db)
                .conninfo_without_password(),
        ));
    }
    let dir = std::env::temp_dir().join(format!("syncwatch-bench-pairs-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config_path = dir.join("pairs.toml");
    std::fs::write(&config_path, &config)?;

    // serve
    let mut serve = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(serve.stdout.take().expect("piped")).read_line(&mut line)?;
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_default()
        .to_string();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (serve_cpu, serve_rss) = watch(serve.id(), seconds).await;
    let mut took = Vec::new();
    let mut size = 0;
    let mut series = 0;
    for _ in 0..20 {
        let t = Instant::now();
        let body = get(&addr, "/metrics").unwrap_or_default();
        took.push(t.elapsed().as_secs_f64() * 1000.0);
        size = body.len();
        series = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
    }
    took.sort_by(f64::total_cmp);
    let body = get(&addr, "/metrics").unwrap_or_default();
    let up = body
        .lines()
        .filter(|l| l.starts_with("syncwatch_up{") && l.ends_with(" 1.0"))
        .count();
    let mut polls: Vec<f64> = body
        .lines()
        .filter(|l| l.starts_with("syncwatch_poll_duration_seconds{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|s| s * 1000.0)
        .collect();
    polls.sort_by(f64::total_cmp);
    let _ = serve.kill();
    let _ = serve.wait();

    // The live view in tmux, on its overview.
    let socket = format!("syncwatch-pairs-{}", std::process::id());
    let cmd = format!(
        "{} --config '{}'",
        env!("CARGO_BIN_EXE_syncwatch"),
        config_path.display()
    );
    common::tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "pairs",
            "-x",
            "160",
            "-y",
            "50",
            "bash",
            "--norc",
        ],
    );
    common::tmux(
        &socket,
        &["send-keys", "-t", "pairs", "-l", &format!("exec {cmd}")],
    );
    common::tmux(&socket, &["send-keys", "-t", "pairs", "Enter"]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let pid: u32 = common::tmux(
        &socket,
        &["display-message", "-p", "-t", "pairs", "#{pane_pid}"],
    )
    .trim()
    .parse()?;
    let (tui_cpu, tui_rss) = watch(pid, seconds).await;
    let screen = common::tmux(&socket, &["capture-pane", "-p", "-t", "pairs"]);
    common::tmux(&socket, &["kill-server"]);

    // The overview's frame, in process, from the same shape of data.
    let frames = overview_frames(pairs, tables);

    println!(
        "PostgreSQL {version} · {pairs} pairs × {tables} tables on two servers · poll every 1 s · {seconds} s measured\n"
    );
    println!("{:<44} {:>12}", "what", "value");
    println!(
        "{:<44} {:>12}",
        "serve: CPU (% of one core)",
        format!("{serve_cpu:.1}")
    );
    println!(
        "{:<44} {:>12}",
        "serve: peak resident memory (MB)",
        format!("{serve_rss:.1}")
    );
    println!(
        "{:<44} {:>12}",
        "serve: scrape p50 / max (ms)",
        format!("{:.1} / {:.1}", pct(&took, 0.5), pct(&took, 1.0))
    );
    println!(
        "{:<44} {:>12}",
        "serve: scrape size (kB)",
        format!("{:.0}", size as f64 / 1024.0)
    );
    println!("{:<44} {:>12}", "serve: series in a scrape", series);
    println!("{:<44} {:>12}", "serve: sides up (of 2 per pair)", up);
    if !polls.is_empty() {
        println!(
            "{:<44} {:>12}",
            "one side's poll p50 / max (ms)",
            format!("{:.1} / {:.1}", pct(&polls, 0.5), pct(&polls, 1.0))
        );
    }
    println!(
        "{:<44} {:>12}",
        "live view: CPU (% of one core)",
        format!("{tui_cpu:.1}")
    );
    println!(
        "{:<44} {:>12}",
        "live view: peak resident memory (MB)",
        format!("{tui_rss:.1}")
    );
    println!(
        "{:<44} {:>12}",
        "overview frame p50 / p90 / max (ms, 160×50)",
        format!(
            "{:.2} / {:.2} / {:.2}",
            pct(&frames, 0.5),
            pct(&frames, 0.9),
            pct(&frames, 1.0)
        )
    );
    println!(
        "\nthe overview, first lines:\n{}",
        screen.lines().take(8).collect::<Vec<_>>().join("\n")
    );
    let _ = std::fs::remove_dir_all(&dir);
    tokio::task::spawn_blocking(move || drop((source, dest))).await?;
    Ok(())
}

/// Milliseconds per overview frame (sorted), with each pair's screen fed a minute of polls.
fn overview_frames(pairs: usize, tables: usize) -> Vec<f64> {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use syncwatch::model::side::Side;
    use syncwatch::tui::action::Action;
    use syncwatch::tui::app::App;
    use syncwatch::tui::overview::{self, Overview};
    use syncwatch::tui::theme::Theme;
    let snap = syncwatch::testing::many_tables(tables);
    let t0 = 1_764_000_000_000;
    let apps: Vec<(String, App)> = (0..pairs)
        .map(|p| {
            let mut app = App::new(syncwatch::config::Settings::default(), t0);
            for s in 0..60 {
                let t = t0 + s * 1000;
                app.update(Action::Polled(
                    Side::Source,
                    Box::new(snap.source.clone()),
                    t,
                ));
                app.update(Action::Polled(Side::Dest, Box::new(snap.dest.clone()), t));
            }
            (format!("pair{p:02}"), app)
        })
        .collect();
    let mut o = Overview::new(apps);
    let mut term = Terminal::new(TestBackend::new(160, 50)).expect("test backend");
    let theme = Theme { color: true };
    let mut ms: Vec<f64> = (0..200)
        .map(|_| {
            let t = Instant::now();
            term.draw(|f| overview::draw(f, &mut o, &theme))
                .expect("draw");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}
