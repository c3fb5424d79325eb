//! The real binary in tmux against real servers: keys sent with send-keys, the screen read
//! with capture-pane. Waits are bounded polls of the screen, never fixed sleeps.

mod common;

use std::process::Command;
use std::time::Duration;

use syncwatch::pg;

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(width: u16, height: u16) -> Tmux {
        let t = Tmux {
            // One tmux server per test: tests of this file run in parallel.
            socket: format!(
                "syncwatch-e2e-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ),
        };
        t.run(&[
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
            "TERM=xterm-256color",
            "HOME=/tmp",
            "bash",
            "--norc",
            "--noprofile",
        ]);
        t
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed");
        assert!(
            out.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    fn literal(&self, text: &str) {
        self.run(&["send-keys", "-t", "e2e", "-l", text]);
    }

    /// Runs the binary in the pane's shell against `settings`, without a password on its
    /// command line (the guide's default password applies).
    fn start_syncwatch(&self, settings: &syncwatch::config::Settings, extra: &str) {
        let without_password =
            |ep: &syncwatch::config::Endpoint| ep.conninfo(false).replace("password=******** ", "");
        let cmd = format!(
            "{} --source '{}' --dest '{}' {extra}",
            env!("CARGO_BIN_EXE_syncwatch"),
            without_password(&settings.source),
            without_password(&settings.dest),
        );
        self.literal(&cmd);
        self.keys(&["Enter"]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// Waits until the screen satisfies `pred`; returns the last screen either way.
    async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        let ok = common::eventually(Duration::from_secs(30), || {
            last = self.screen();
            let ok = pred(&last);
            async move { ok }
        })
        .await;
        assert!(ok, "screen never showed {what}:\n{last}");
        last
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The source and destination counts shown on the row of `table`.
fn counts(screen: &str, table: &str) -> Option<(i64, i64)> {
    let line = screen.lines().find(|l| {
        l.trim_start_matches('│')
            .trim_start()
            .starts_with(&format!("{table} "))
    })?;
    let cells: Vec<&str> = line
        .trim_matches('│')
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let n = |s: &str| {
        s.replace(' ', "")
            .trim_start_matches('≈')
            .parse::<i64>()
            .ok()
    };
    Some((n(cells.get(1)?)?, n(cells.get(2)?)?))
}

/// Whether the header marks the destination up (✓) or down (✗).
fn dest_state(screen: &str) -> Option<bool> {
    let header = screen.lines().next()?;
    let dst = header.split("dst ").nth(1)?.split(" ─ ").next()?;
    if dst.contains('✓') {
        Some(true)
    } else if dst.contains('✗') {
        Some(false)
    } else {
        None
    }
}

/// Poll age of the source in the header (`src 127.0.0.1:NNNN PG16 ✓ 2.5s`), in seconds.
fn source_age(screen: &str) -> Option<f64> {
    let header = screen.lines().next()?;
    let after = header.split("src ").nth(1)?;
    let age = after
        .split_whitespace()
        .find(|w| w.ends_with('s') && w.contains('.'))?;
    age.trim_end_matches('s').parse().ok()
}

#[tokio::test]
async fn live_screen_follows_inserts_and_the_keys_work_then_the_terminal_is_restored() {
    let lab = common::guide_lab().await;
    let settings = lab.settings();
    let src = pg::connect(&settings.source, Duration::from_secs(10))
        .await
        .unwrap();
    syncwatch::seed::sample(&src.client, 20, 50).await.unwrap();
    lab.subscribe().await.unwrap();

    let tmux = Tmux::new(120, 36);
    tmux.start_syncwatch(&settings, "--engine native");

    // Counts appear, and both sides agree once the initial copy is done.
    tmux.wait_for("20 users on both sides", |s| {
        counts(s, "utilisateur") == Some((20, 20))
    })
    .await;

    // An insert on the source shows up on both sides.
    src.client
        .batch_execute("INSERT INTO utilisateur (username, email) SELECT 'e2e' || g, 'e2e' || g || '@x' FROM generate_series(1, 7) g")
        .await
        .unwrap();
    tmux.wait_for("27 users on both sides", |s| {
        counts(s, "utilisateur") == Some((27, 27))
    })
    .await;

    // `?` opens the help built from the key table; Esc closes it.
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| {
        s.contains("Keys") && s.contains("pause / resume polling")
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help closed", |s| !s.contains("pause / resume polling"))
        .await;

    // `/` filters the tables.
    tmux.keys(&["/"]);
    tmux.literal("tach");
    tmux.keys(&["Enter"]);
    let screen = tmux
        .wait_for("only tache", |s| {
            s.contains("Tables (1)") && counts(s, "tache").is_some()
        })
        .await;
    assert!(counts(&screen, "utilisateur").is_none(), "{screen}");

    // `p` pauses: the header says so and the poll age keeps growing.
    tmux.keys(&["p"]);
    tmux.wait_for("PAUSED", |s| s.contains("PAUSED")).await;
    tmux.wait_for("a poll age of 3 s or more", |s| {
        source_age(s).is_some_and(|a| a >= 3.0)
    })
    .await;
    tmux.keys(&["p"]);
    tmux.wait_for("polling again", |s| {
        !s.contains("PAUSED") && source_age(s).is_some_and(|a| a < 2.0)
    })
    .await;

    // `q` quits; the terminal is back to normal: main screen, cursor visible, a prompt.
    tmux.keys(&["q"]);
    let state = {
        let mut last = String::new();
        common::eventually(Duration::from_secs(10), || {
            last = tmux.run(&[
                "display-message",
                "-p",
                "-t",
                "e2e",
                "#{alternate_on} #{cursor_flag} #{pane_current_command}",
            ]);
            let done = last.trim() == "0 1 bash";
            async move { done }
        })
        .await;
        last
    };
    assert_eq!(
        state.trim(),
        "0 1 bash",
        "alternate screen off, cursor on, back in the shell"
    );
    let screen = tmux.screen();
    assert!(
        !screen.contains("Tables ("),
        "the TUI is gone from the screen:\n{screen}"
    );

    drop(src);
    drop(tmux);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test]
async fn f_shows_the_fix_n_changes_nothing_and_y_applies_it() {
    let lab = common::guide_lab().await;
    let settings = lab.settings();
    syncwatch::lab::exec(&settings.source, "DROP PUBLICATION airbyte_publication")
        .await
        .unwrap();

    let tmux = Tmux::new(120, 40);
    tmux.start_syncwatch(&settings, "");
    tmux.wait_for("the publication failing", |s| {
        s.contains("✗ src publication")
    })
    .await;

    // The checks pane lists checks in a fixed order; the publication is the eighth.
    tmux.keys(&["Tab"]);
    for _ in 0..7 {
        tmux.keys(&["j"]);
    }
    tmux.keys(&["f"]);
    let screen = tmux
        .wait_for("the fix's SQL", |s| {
            s.contains("CREATE PUBLICATION \"airbyte_publication\" FOR TABLE")
        })
        .await;
    assert!(screen.contains("y run it"), "{screen}");
    tmux.keys(&["n"]);
    tmux.wait_for("the confirmation closed", |s| !s.contains("y run it"))
        .await;
    tmux.keys(&["r"]);
    tmux.wait_for("refresh logged", |s| s.contains("refresh requested"))
        .await;
    let src = pg::connect(&settings.source, Duration::from_secs(10))
        .await
        .unwrap();
    let n: i64 = src
        .client
        .query_one(
            "SELECT count(*) FROM pg_publication WHERE pubname = 'airbyte_publication'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "n changed nothing");

    tmux.keys(&["f"]);
    tmux.wait_for("the fix's SQL again", |s| s.contains("y run it"))
        .await;
    tmux.keys(&["y"]);
    tmux.wait_for("the publication ok", |s| s.contains("✓ src publication"))
        .await;
    let n: i64 = src
        .client
        .query_one(
            "SELECT count(*) FROM pg_publication WHERE pubname = 'airbyte_publication'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    tmux.keys(&["q"]);
    drop(src);
    drop(tmux);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_shows_a_killed_destination_keeps_its_keys_and_recovers() {
    let mut lab = common::guide_lab().await;
    lab.subscribe().await.unwrap();
    let settings = lab.settings();

    let tmux = Tmux::new(120, 40);
    tmux.start_syncwatch(&settings, "--engine native");
    tmux.wait_for("both sides up", |s| dest_state(s) == Some(true))
        .await;

    tokio::task::block_in_place(|| lab.dest.crash()).unwrap();
    tmux.wait_for("the destination down", |s| {
        dest_state(s) == Some(false) && s.contains("stale")
    })
    .await;
    // The keys still answer while a side is down.
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| s.contains("pause / resume polling"))
        .await;
    tmux.keys(&["Escape"]);

    tokio::task::block_in_place(|| lab.dest.start_again()).unwrap();
    let screen = tmux
        .wait_for("the destination back", |s| dest_state(s) == Some(true))
        .await;
    assert!(screen.contains("destination reachable again"), "{screen}");
    tmux.keys(&["q"]);
    drop(tmux);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}
