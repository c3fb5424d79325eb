//! `syncwatch seed --rows N [--table T] [--traffic] [--rate R] [--duration SECS]
//! [--mix I,U,D]`: sample rows through COPY with a progress line on stderr, then, when
//! asked, change traffic until Ctrl-C or the duration. Ctrl-C during the seed stops after
//! the batch under way and says how many rows were written.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use color_eyre::eyre::Result;

use crate::config::Settings;
use crate::io::seed::copy::{Cancel, Progress};
use crate::io::seed::run::{self, SeedReport, SeedRequest};
use crate::io::seed::traffic::{Mix, Traffic, TrafficOptions, TrafficStats};
use crate::logic::format::{eta, group_digits};

/// Exit code after Ctrl-C stopped a seed (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// The `seed` command's arguments, as plain values (the binary maps its flags here).
#[derive(Clone, Debug, PartialEq)]
pub struct SeedArgs {
    /// Rows to write: into `table`, or into each published table (a table that another
    /// one references gets a twentieth). 0 writes nothing (traffic only).
    pub rows: u64,
    /// A table of the settings' schema.
    pub table: Option<String>,
    /// After seeding, keep a steady change traffic until Ctrl-C or `duration`.
    pub traffic: bool,
    /// Traffic statements per second.
    pub rate: f64,
    /// How long the traffic runs.
    pub duration: Option<Duration>,
    pub mix: Mix,
    /// Rows per COPY batch (one transaction each).
    pub batch_rows: u64,
    /// Sessions writing batches at once.
    pub connections: usize,
    /// PRNG seed; the same seed gives the same rows (unique values aside).
    pub seed: Option<u64>,
}

impl Default for SeedArgs {
    fn default() -> Self {
        let r = SeedRequest::default();
        let t = TrafficOptions::default();
        SeedArgs {
            rows: r.rows,
            table: None,
            traffic: false,
            rate: t.rate,
            duration: None,
            mix: t.mix,
            batch_rows: r.batch_rows,
            connections: r.connections,
            seed: None,
        }
    }
}

/// Runs the command: 0 when done, 1 in read-only mode (nothing written, as `setup`),
/// [`EXIT_INTERRUPTED`] when Ctrl-C stopped the seed. Ctrl-C during the traffic is its
/// normal end (0).
pub async fn run(settings: &Settings, args: SeedArgs) -> Result<ExitCode> {
    if settings.read_only {
        eprintln!(
            "read-only mode: seed writes nothing (drop --read-only, or read_only = true in the config file)"
        );
        return Ok(ExitCode::from(1));
    }
    let stop = Cancel::new();
    let listener = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            stop.cancel();
            eprintln!(
                "\nstopping after the statement or batch under way (Ctrl-C again to quit at once)"
            );
            if tokio::signal::ctrl_c().await.is_ok() {
                // The server rolls back the batch of a connection that goes away.
                eprintln!("quitting; the batch under way is rolled back");
                std::process::exit(i32::from(EXIT_INTERRUPTED));
            }
        })
    };
    let result = run_inner(settings, args, &stop).await;
    listener.abort();
    result
}

async fn run_inner(settings: &Settings, args: SeedArgs, stop: &Cancel) -> Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(clock_seed);
    if args.rows > 0 {
        let req = SeedRequest {
            rows: args.rows,
            table: args.table.clone(),
            batch_rows: args.batch_rows,
            connections: args.connections,
            seed,
        };
        eprintln!(
            "seeding {} through COPY, batches of {} rows …",
            settings.source,
            group_digits(args.batch_rows)
        );
        let mut line = ProgressLine::new();
        let mut on_progress = |p: &Progress| line.show(p);
        let report = run::seed(settings, &req, &mut on_progress, stop).await;
        line.finish();
        let report = report?;
        for t in &report.tables {
            for w in &t.warnings {
                eprintln!("note: {w}");
            }
        }
        if report.cancelled {
            eprintln!(
                "stopped by Ctrl-C after the batch under way: {} rows written ({})",
                group_digits(report.written()),
                per_table(&report)
            );
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "seeded {} rows ({})",
            group_digits(report.written()),
            per_table(&report)
        );
    }
    if !args.traffic {
        return Ok(ExitCode::SUCCESS);
    }
    if stop.is_cancelled() {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    let opts = TrafficOptions {
        rate: args.rate,
        mix: args.mix,
        duration: args.duration,
        table: args.table.clone(),
        seed,
    };
    let traffic = Traffic::start(settings, opts).await?;
    eprintln!(
        "change traffic on {}: {}/s, mix {} (inserts,updates,deletes){} — Ctrl-C stops",
        settings.source,
        args.rate,
        args.mix,
        args.duration
            .map(|d| format!(", for {} s", d.as_secs_f64()))
            .unwrap_or_default()
    );
    let tty = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let stats = loop {
        tokio::select! {
            _ = stop.cancelled() => break traffic.stop().await?,
            _ = tick.tick() => {
                if traffic.is_finished() {
                    break traffic.wait().await?;
                }
                let line = traffic_line(&traffic.stats());
                if tty {
                    eprint!("\r\x1b[2K{line}");
                    let _ = std::io::stderr().flush();
                } else {
                    eprintln!("{line}");
                }
            }
        }
    };
    if tty {
        eprint!("\r\x1b[2K");
    }
    eprintln!("traffic stopped: {}", traffic_line(&stats));
    if let Some(why) = &stats.last_skip {
        eprintln!("last skipped statement: {why}");
    }
    Ok(ExitCode::SUCCESS)
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5EED)
}

fn per_table(r: &SeedReport) -> String {
    if r.tables.is_empty() {
        return "no table".into();
    }
    r.tables
        .iter()
        .map(|t| {
            format!(
                "{} {} in {:.1} s",
                t.table,
                group_digits(t.outcome.written),
                t.outcome.elapsed.as_secs_f64()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 234 567`: digits grouped by three, as the screen shows counts.
/// One line: table, rows, share, rate and time left.
pub fn progress_text(p: &Progress) -> String {
    let eta = match p.eta() {
        Some(d) if p.written < p.target => format!("  ETA {}", eta(d)),
        _ => String::new(),
    };
    format!(
        "{}  {} / {} rows  {:>3.0}%  {} rows/s{eta}",
        p.table,
        group_digits(p.written),
        group_digits(p.target),
        p.fraction() * 100.0,
        group_digits(p.rows_per_sec().round() as u64),
    )
}

pub fn traffic_line(s: &TrafficStats) -> String {
    format!(
        "{} inserts, {} updates, {} deletes, {} skipped in {:.1} s ({:.1} changes/s)",
        group_digits(s.inserts),
        group_digits(s.updates),
        group_digits(s.deletes),
        group_digits(s.skipped),
        s.elapsed.as_secs_f64(),
        s.rate()
    )
}

/// Progress on stderr: rewritten in place on a terminal, else a line every few seconds
/// and at the end of each table (logs stay readable).
struct ProgressLine {
    tty: bool,
    last: Option<Instant>,
    shown: bool,
}

impl ProgressLine {
    fn new() -> ProgressLine {
        ProgressLine {
            tty: std::io::stderr().is_terminal(),
            last: None,
            shown: false,
        }
    }

    fn show(&mut self, p: &Progress) {
        let every = if self.tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        let done = p.written >= p.target;
        if !done && self.last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        self.last = Some(Instant::now());
        let text = progress_text(p);
        if self.tty {
            eprint!("\r\x1b[2K{text}");
            if done {
                eprintln!();
                self.shown = false;
            } else {
                self.shown = true;
            }
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("{text}");
        }
    }

    fn finish(&mut self) {
        if self.tty && self.shown {
            eprintln!();
            self.shown = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_says_rows_rate_and_time_left() {
        let p = Progress {
            table: "public.tache".into(),
            written: 500_000,
            target: 2_000_000,
            batches: 25,
            elapsed: Duration::from_secs(1),
        };
        assert_eq!(
            progress_text(&p),
            "public.tache  500 000 / 2 000 000 rows   25%  500 000 rows/s  ETA 3 s"
        );
        let done = Progress {
            written: 2_000_000,
            ..p
        };
        assert!(!progress_text(&done).contains("ETA"));
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let a = SeedArgs::default();
        assert_eq!(a.rows, 1_000);
        assert_eq!(a.mix.to_string(), "60,30,10");
        assert!(!a.traffic);
    }
}
