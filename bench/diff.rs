//! Row-level diff speed: `cargo bench --bench diff [-- TASKS]`.
//! Two throwaway local servers hold the same TASKS (default 2 000 000) `tache` rows, then
//! 120 differences are planted: 40 rows missing on the destination, 40 extra there (rows
//! deleted from the source) and 40 changed. Times, in the same run:
//! - one full-table hash scan of the source (`sum(hashtextextended(t::text, 0))`): the
//!   floor, as no diff can read less than a whole side;
//! - syncwatch's diff of `tache` (no re-check: nothing replicates here);
//! - the same diff as Airbyte users run it between syncs: re-check on, the slot
//!   `airbyte_slot` there and inactive (created after the differences were planted, so
//!   all 120 are drift, none pending) — it must not wait for a consumer that is not
//!   connected;
//! - `reladiff` (PyPI) with `-j 4`, installed into a venv under /tmp when missing.
//!
//! Prints a table. Goal: at least 5× faster than reladiff, within 2× of the floor.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use syncwatch::config::{Endpoint, Settings};
use syncwatch::io::diff::{self as driver, DiffOptions};
use syncwatch::io::pg;
use syncwatch::sandbox::cluster::{self, Cluster};
use syncwatch::sandbox::lab;

const PLANTED: i64 = 40;
const VENV: &str = "/tmp/syncwatch-bench-reladiff";
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `INSERT … SELECT` of `tasks` deterministic rows, the same on both sides.
fn fill_sql(tasks: i64) -> String {
    format!(
        "INSERT INTO utilisateur (username, email)
         SELECT 'user' || g, 'user' || g || '@example.com' FROM generate_series(1, 1000) g;
         INSERT INTO tache (title, description, due_date, is_completed, utilisateur_id)
         SELECT 'Tâche n°' || g,
                CASE WHEN g % 10 = 0 THEN NULL
                     ELSE 'Préparer le dossier ' || g || ' et relire les notes de la réunion.' END,
                date '2024-01-01' + (g % 700),
                g % 3 = 0,
                1 + g % 1000
           FROM generate_series(1, {tasks}) g;"
    )
}

/// Ids spread over the table, different for each `salt`, none repeated.
fn spread_ids(tasks: i64, salt: i64) -> Vec<i64> {
    let stride = tasks / (3 * PLANTED + 1);
    (0..PLANTED)
        .map(|i| (i * 3 + salt) * stride + 1 + (i * 7919) % (stride / 2).max(1))
        .collect()
}

fn list(ids: &[i64]) -> String {
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The reladiff executable, installed into a venv if needed; `Err` says why not.
fn reladiff() -> Result<PathBuf, String> {
    let exe = Path::new(VENV).join("bin/reladiff");
    if exe.is_file() {
        return Ok(exe);
    }
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(args[0])
            .args(&args[1..])
            .output()
            .map_err(|e| format!("{}: {e}", args[0]))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    };
    eprintln!("installing reladiff into {VENV} …");
    run(&["python3", "-m", "venv", VENV])?;
    let pip = format!("{VENV}/bin/pip");
    run(&[&pip, "install", "--quiet", "reladiff[postgresql]"])?;
    if exe.is_file() {
        Ok(exe)
    } else {
        Err(format!(
            "pip installed reladiff but {} is missing",
            exe.display()
        ))
    }
}

/// Without the password: reladiff's libpq reads it from PGPASSWORD, so it shows neither
/// on a command line nor in an error message.
fn uri(ep: &Endpoint) -> String {
    format!(
        "postgresql://{}@{}:{}/{}",
        ep.user, ep.host, ep.port, ep.dbname
    )
}

/// Runs reladiff once; returns its time and the number of distinct differing keys.
fn time_reladiff(exe: &Path, s: &Settings) -> Result<(f64, usize), String> {
    let t = Instant::now();
    // reladiff prints through a console that wraps lines at the terminal's width,
    // breaking JSON lines apart: make the "terminal" wide enough for any row.
    let out = Command::new(exe)
        .env("COLUMNS", "100000")
        .env(
            "PGPASSWORD",
            s.source.password.as_ref().map(|p| p.expose()).unwrap_or(""),
        )
        .args([
            &uri(&s.source),
            "tache",
            &uri(&s.dest),
            "tache",
            "-k",
            "id",
            "-c",
            "title",
            "-c",
            "description",
            "-c",
            "due_date",
            "-c",
            "is_completed",
            "-c",
            "utilisateur_id",
            "-j",
            "4",
            "--json",
        ])
        .output()
        .map_err(|e| format!("running reladiff: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "reladiff failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // One JSON line per differing row and side: ["-", [id, …]] or ["+", [id, …]]; a
    // changed row appears on both sides, so count distinct ids.
    let mut ids = std::collections::HashSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if let Ok(serde_json::Value::Array(v)) = serde_json::from_str::<serde_json::Value>(line)
            && let Some(serde_json::Value::Array(row)) = v.get(1)
            && let Some(id) = row.first()
        {
            ids.insert(id.to_string());
        }
    }
    Ok((secs, ids.len()))
}

async fn fill(c: &Cluster, ep: &Endpoint, sql: &str) -> color_eyre::Result<()> {
    lab::create_role_and_db(c, lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB).await?;
    lab::exec(ep, sql).await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> color_eyre::Result<()> {
    let tasks: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2_000_000);
    let bin = cluster::first_found()?;
    // Enough shared buffers to hold the table: every tool reads from memory, as a
    // warmed-up server would serve it.
    let conf: &[(&str, &str)] = &[("shared_buffers", "1GB"), ("wal_level", "logical")];
    let (source, dest) = tokio::task::spawn_blocking(move || {
        (Cluster::start(&bin, conf), Cluster::start(&bin, conf))
    })
    .await?;
    let (source, dest) = (source?, dest?);
    let settings = Settings {
        source: source.tcp(lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB),
        dest: dest.tcp(lab::APP_USER, lab::APP_PASSWORD, lab::APP_DB),
        ..Settings::default()
    };
    let schema = lab::SCRIPTS
        .iter()
        .find(|s| s.name == "10-schema.sql")
        .map(|s| s.text)
        .unwrap_or_default();
    println!(
        "PostgreSQL {} · {tasks} tache rows on each side · filling …",
        source.bin().version
    );
    let t = Instant::now();
    let sql = format!("{schema}\n{}", fill_sql(tasks));
    let (a, b) = tokio::join!(
        fill(&source, &settings.source, &sql),
        fill(&dest, &settings.dest, &sql)
    );
    a?;
    b?;
    let (extra, missing, changed) = (
        spread_ids(tasks, 0),
        spread_ids(tasks, 1),
        spread_ids(tasks, 2),
    );
    lab::exec(
        &settings.source,
        &format!("DELETE FROM tache WHERE id IN ({})", list(&extra)),
    )
    .await?;
    lab::exec(
        &settings.dest,
        &format!(
            "DELETE FROM tache WHERE id IN ({});
             UPDATE tache SET title = title || ' (modifiée)' WHERE id IN ({});",
            list(&missing),
            list(&changed)
        ),
    )
    .await?;
    for ep in [&settings.source, &settings.dest] {
        lab::exec(ep, "VACUUM ANALYZE").await?;
    }
    // Two statements: a slot cannot be created in a transaction that has written.
    let admin = source.admin(lab::APP_DB);
    lab::exec(
        &admin,
        "CREATE PUBLICATION airbyte_publication FOR TABLE utilisateur, tache",
    )
    .await?;
    lab::exec(
        &admin,
        "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')",
    )
    .await?;
    println!(
        "filled and planted 3 × {PLANTED} differences in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let src = pg::connect(&settings.source, Duration::from_secs(600)).await?;
    let floor_scan = || async {
        let t = Instant::now();
        src.client
            .query_one("SELECT sum(hashtextextended(t::text, 0)) FROM tache t", &[])
            .await
            .map(|_| t.elapsed().as_secs_f64())
    };
    // A first scan warms the buffers; then the floor and the diff alternate, so that
    // whatever else the machine does weighs on both alike.
    floor_scan().await?;
    let opts = DiffOptions {
        recheck: false,
        ..DiffOptions::default()
    };
    let (mut floor, mut ours) = (Vec::new(), Vec::new());
    let mut found_diffs = 0;
    let mut stats = None;
    for _ in 0..RUNS {
        floor.push(floor_scan().await?);
        let t = Instant::now();
        let d = driver::diff_table(&settings, "public", "tache", &opts, None).await?;
        ours.push(t.elapsed().as_secs_f64());
        found_diffs = d.drift_count();
        if d.missing.len() as i64 != PLANTED
            || d.extra.len() as i64 != PLANTED
            || d.changed.len() as i64 != PLANTED
        {
            eprintln!(
                "warning: syncwatch found {} missing, {} extra, {} changed; {PLANTED} of each were planted",
                d.missing.len(),
                d.extra.len(),
                d.changed.len()
            );
        }
        stats = Some(d.stats);
    }
    let (floor, ours) = (median(floor), median(ours));

    // Between Airbyte syncs: the re-check sees the slot inactive and answers at once.
    let mut idle = Vec::new();
    let mut idle_pending = 0;
    let mut idle_found = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let d =
            driver::diff_table(&settings, "public", "tache", &DiffOptions::default(), None).await?;
        idle.push(t.elapsed().as_secs_f64());
        idle_pending = d.pending.len();
        idle_found = d.drift_count();
    }
    let idle = median(idle);

    let theirs = reladiff().and_then(|exe| time_reladiff(&exe, &settings));

    println!(
        "\n{:<34} {:>10} {:>12} {:>10}",
        "", "time", "differences", "÷ floor"
    );
    println!(
        "{:<34} {:>8.2} s {:>12} {:>9.2}×",
        "full hash scan of the source", floor, "—", 1.0
    );
    println!(
        "{:<34} {:>8.2} s {:>12} {:>9.2}×",
        "syncwatch diff",
        ours,
        found_diffs,
        ours / floor
    );
    println!(
        "{:<34} {:>8.2} s {:>12} {:>9.2}×",
        "syncwatch diff, slot inactive",
        idle,
        format!("{idle_found} ({idle_pending} pending)"),
        idle / floor
    );
    match &theirs {
        Ok((secs, n)) => println!(
            "{:<34} {:>8.2} s {:>12} {:>9.2}×",
            "reladiff -j 4",
            secs,
            n,
            secs / floor
        ),
        Err(e) => println!("{:<34} not run: {e}", "reladiff -j 4"),
    }
    if let Some(s) = stats {
        println!(
            "\nsyncwatch: {} levels, {} segments compared ({} equal), {} rows read one by one",
            s.levels, s.segments, s.segments_equal, s.rows_fetched
        );
    }
    if let Ok((secs, _)) = &theirs {
        println!(
            "syncwatch is {:.1}× faster than reladiff (goal ≥ 5×) and takes {:.2}× the full scan (goal ≤ 2×)",
            secs / ours,
            ours / floor
        );
    }
    drop(src);
    tokio::task::spawn_blocking(move || drop((source, dest))).await?;
    Ok(())
}
