//! `syncwatch demo --no-tui`, the real binary: rows replicate, Ctrl-C removes everything.
//! As root it runs the binary as the `postgres` user, so the non-root path is covered too.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

fn postgres_ids() -> Option<(u32, u32)> {
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// Parses `… utilisateur src 200 dst 200 Δ 0 …` into (src, dst).
fn counts(line: &str, table: &str) -> Option<(i64, i64)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| *w == table)?;
    Some((
        words.get(i + 2)?.parse().ok()?,
        words.get(i + 4)?.parse().ok()?,
    ))
}

/// `demo --no-tui` with a temp directory of its own (its servers' files go there), run
/// as `postgres` when this is root, stdout piped; stderr is the caller's to choose.
fn demo_no_tui(tag: &str) -> (std::path::PathBuf, Command) {
    let tmp = std::env::temp_dir().join(format!("syncwatch-demo-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_syncwatch"));
    cmd.args(["demo", "--no-tui", "--users", "20", "--tasks", "100"])
        .env("TMPDIR", &tmp)
        .current_dir(&tmp)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    if unsafe { libc::geteuid() } == 0 {
        let (uid, gid) = postgres_ids().expect("root needs a postgres user");
        std::os::unix::fs::chown(&tmp, Some(uid), Some(gid)).unwrap();
        cmd.uid(uid).gid(gid).env("HOME", &tmp);
    }
    (tmp, cmd)
}

/// The demo left nothing in its temp directory; then the directory goes too.
fn expect_empty(tmp: &std::path::Path) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(left.is_empty(), "demo left {left:?}");
    std::fs::remove_dir_all(tmp).unwrap();
}

#[test]
fn demo_without_tui_replicates_rows_and_cleans_up_on_ctrl_c() {
    let (tmp, mut cmd) = demo_no_tui("test");
    cmd.stderr(Stdio::inherit());
    let mut child = cmd.spawn().unwrap();
    // The reader stays open until the demo has exited, as a terminal would.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut caught_up = false;
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if let (Some((us, ud)), Some((ts, td))) =
            (counts(&line, "utilisateur"), counts(&line, "tache"))
        {
            // The trickle keeps adding tasks: seeing them arrive is the proof.
            if us == 20 && ud == 20 && td >= 100 && ts >= td {
                caught_up = true;
                break;
            }
        }
        assert!(
            seen.len() < 120,
            "no replication after 120 lines: {seen:#?}"
        );
    }
    assert!(caught_up, "demo ended early: {seen:#?}");
    let text = seen.join("\n");
    assert!(text.contains("password=********"), "{text}");
    assert!(!text.contains("password=airbyte"), "{text}");

    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert!(status.success(), "demo exited with {status}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("removing their files")),
        "{rest:?}"
    );
    expect_empty(&tmp);
}

/// `demo --no-tui` whose destination server dies: it names that server, says what it
/// does (stops the other, removes both), exits 2, and leaves nothing behind.
#[test]
fn demo_without_tui_says_which_server_died_and_cleans_up() {
    let (tmp, mut cmd) = demo_no_tui("dies");
    cmd.stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut port = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("destination  ") {
            port = rest
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("port="))
                .map(str::to_string);
        }
        if counts(&line, "tache").is_some() {
            break;
        }
    }
    let port = port.expect("the destination's port is printed");
    // The destination's postmaster, by its pid file: killed as a crash would.
    let pid = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .find_map(|d| {
            let text = std::fs::read_to_string(d.path().join("data/postmaster.pid")).ok()?;
            let mut l = text.lines();
            let pid = l.next()?.to_string();
            (l.nth(2)? == port).then_some(pid)
        })
        .expect("the destination's postmaster.pid");
    let _ = Command::new("kill").args(["-KILL", &pid]).status();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "the destination server (127.0.0.1:{port}) stopped answering"
        )),
        "{err}"
    );
    assert!(err.contains("removes both servers' files"), "{err}");
    expect_empty(&tmp);
}
