//! Fault injection on throwaway servers, for the fault tests and benchmarks: a crash
//! (immediate shutdown) and a freeze (SIGSTOP of every process of the server).

use std::fs;

use color_eyre::eyre::Result;

use crate::sandbox::cluster::Cluster;

impl Cluster {
    /// Stops the server as a crash would (immediate shutdown).
    pub fn crash(&mut self) -> Result<()> {
        self.shutdown(libc::SIGQUIT)
    }

    /// The postmaster and every process it started (backends, walsender, workers), read
    /// from /proc: what a "server that stops answering" test must freeze.
    pub fn processes(&self) -> Vec<u32> {
        let Some(root) = self.pid() else {
            return Vec::new();
        };
        let mut out = vec![root];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
                let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let stat = fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                // The fields after the parenthesised command name; the second is the ppid.
                let ppid = stat
                    .rsplit(')')
                    .next()
                    .and_then(|r| r.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u32>().ok());
                if ppid == Some(parent) && !out.contains(&p) {
                    out.push(p);
                }
            }
            i += 1;
        }
        out
    }

    /// Freezes the whole server (SIGSTOP to every process): it stops answering without
    /// closing connections, as a hung host would.
    pub fn pause(&self) {
        for p in self.processes() {
            // SAFETY: kill on pids of this server's processes.
            unsafe { libc::kill(p as i32, libc::SIGSTOP) };
        }
    }

    /// Undoes [`Cluster::pause`].
    pub fn resume(&self) {
        for p in self.processes() {
            // SAFETY: as above.
            unsafe { libc::kill(p as i32, libc::SIGCONT) };
        }
    }
}
