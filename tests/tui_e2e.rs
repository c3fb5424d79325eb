//! The real binary in tmux against real servers: keys sent with send-keys, the screen read
//! with capture-pane. Waits are bounded polls of the screen, never fixed sleeps.

mod common;

use std::process::Command;
use std::time::Duration;

use syncwatch::io::pg;
use syncwatch::sandbox::lab::Lab;
use syncwatch::testing::airbyte_api::{FakeAirbyte, Options as AirbyteOptions};

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(width: u16, height: u16) -> Tmux {
        Tmux::with_home(width, height, "/tmp")
    }

    /// A pane whose shell has `home` as HOME (where a `.pgpass` is looked up).
    fn with_home(width: u16, height: u16, home: &str) -> Tmux {
        let home = format!("HOME={home}");
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
            &home,
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
        let cmd = format!(
            "{} --source '{}' --dest '{}' {extra}",
            env!("CARGO_BIN_EXE_syncwatch"),
            settings.source.conninfo_without_password(),
            settings.dest.conninfo_without_password(),
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
    let lab = common::seeded_lab().await;
    let settings = lab.settings();
    let src = pg::connect(&settings.source, Duration::from_secs(10))
        .await
        .unwrap();

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

    help_opens_and_closes(&tmux).await;
    let screen = filter_to_tache(&tmux).await;
    assert!(counts(&screen, "tache").is_some(), "{screen}");

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
    syncwatch::sandbox::lab::exec(&settings.source, "DROP PUBLICATION airbyte_publication")
        .await
        .unwrap();

    let tmux = Tmux::new(120, 40);
    tmux.start_syncwatch(&settings, "");
    // The publication is below the pane's fold (Airbyte's syncs check comes first): the
    // verdict says something failed.
    tmux.wait_for("the checks failing", |s| s.contains("✗ critical"))
        .await;

    // The checks pane (after the tables and the slot) lists checks in a fixed order;
    // with Airbyte the publication is the ninth.
    tmux.keys(&["Tab", "Tab"]);
    for _ in 0..8 {
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
    let n = count(&src, PUBLICATIONS).await;
    assert_eq!(n, 0, "n changed nothing");

    tmux.keys(&["f"]);
    tmux.wait_for("the fix's SQL again", |s| s.contains("y run it"))
        .await;
    tmux.keys(&["y"]);
    tmux.wait_for("the publication ok", |s| s.contains("✓ src publication"))
        .await;
    let n = count(&src, PUBLICATIONS).await;
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

/// The line of `table` in the tables pane.
/// How many publications the guide's name has.
const PUBLICATIONS: &str =
    "SELECT count(*) FROM pg_publication WHERE pubname = 'airbyte_publication'";

/// The single count `sql` returns.
async fn count(session: &pg::Session, sql: &str) -> i64 {
    session.client.query_one(sql, &[]).await.unwrap().get(0)
}

/// `?` opens the help built from the key table; Esc closes it.
async fn help_opens_and_closes(tmux: &Tmux) {
    tmux.keys(&["?"]);
    tmux.wait_for("the help", |s| {
        s.contains("Keys") && s.contains("pause / resume polling")
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help closed", |s| !s.contains("pause / resume polling"))
        .await;
}

/// `/tach` Enter filters the tables down to `tache`; returns that screen.
async fn filter_to_tache(tmux: &Tmux) -> String {
    tmux.keys(&["/"]);
    tmux.literal("tach");
    tmux.keys(&["Enter"]);
    let screen = tmux
        .wait_for("only tache", |s| {
            s.contains("Tables (1)") && table_row(s, "tache").is_some()
        })
        .await;
    assert!(table_row(&screen, "utilisateur").is_none(), "{screen}");
    screen
}

fn table_row<'a>(screen: &'a str, table: &str) -> Option<&'a str> {
    screen.lines().find(|l| {
        l.trim_start_matches('│')
            .trim_start()
            .starts_with(&format!("{table} "))
    })
}

/// The log pane's lines, each long line joined back from the rows it wraps to (its
/// continuation rows are indented under its text).
fn log_text(screen: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for row in screen
        .lines()
        .skip_while(|l| !l.starts_with("┌ Log"))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
    {
        let inner = row.trim_start_matches('│').trim_end_matches('│');
        match out.last_mut() {
            Some(last) if inner.starts_with("         ") && !inner.trim().is_empty() => {
                last.push(' ');
                last.push_str(inner.trim());
            }
            _ => out.push(inner.trim_end().to_string()),
        }
    }
    out.join("\n")
}

/// The header's part about one side (`src` or `dst`): address, version, ✓/✗ and age.
fn side_header<'a>(screen: &'a str, tag: &str) -> Option<&'a str> {
    let header = screen.lines().next()?;
    header.split(&format!("{tag} ")).nth(1)?.split(" ─ ").next()
}

/// A private directory for one test (a config file, a HOME), removed at the end.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!(
            "syncwatch-e2e-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server frozen with SIGSTOP for as long as this lives: dropping it (also when an
/// assertion fails) sends SIGCONT, so the lab can still stop the server afterwards.
struct Frozen<'a>(&'a syncwatch::sandbox::cluster::Cluster);

impl<'a> Frozen<'a> {
    fn new(cluster: &'a syncwatch::sandbox::cluster::Cluster) -> Frozen<'a> {
        cluster.pause();
        Frozen(cluster)
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        self.0.resume();
    }
}

/// The guide's pair with native replication and a few rows, watched in tmux by a
/// syncwatch whose bounds are short, so that a server frozen with SIGSTOP reads as a
/// timeout within seconds: statement timeout 3 s from a config file, the destination's
/// connect timeout 3 s and the source's `source_connect_s` from its connection strings
/// (the --source/--dest flags only override the keys they name). Returns once both
/// sides are up and counted.
async fn frozen_lab(tag: &str, source_connect_s: u32) -> (Lab, TempDir, Tmux) {
    let lab = common::seeded_lab().await;
    let settings = lab.settings();
    let dir = TempDir::new(tag);
    let config = dir.path().join("syncwatch.toml");
    std::fs::write(
        &config,
        format!(
            "statement_timeout_ms = 3000\nsource = \"connect_timeout={source_connect_s}\"\ndestination = \"connect_timeout=3\"\n"
        ),
    )
    .unwrap();
    let tmux = Tmux::new(160, 40);
    tmux.start_syncwatch(
        &settings,
        &format!("--engine native --config '{}'", config.display()),
    );
    tmux.wait_for("both sides up and counted", |s| {
        dest_state(s) == Some(true) && counts(s, "utilisateur") == Some((20, 20))
    })
    .await;
    (lab, dir, tmux)
}

/// `q` ends the program and leaves the terminal as it was: main screen, cursor visible,
/// the shell in the foreground, no panic message.
async fn quit_and_expect_the_terminal_restored(tmux: &Tmux) {
    tmux.keys(&["q"]);
    let mut state = String::new();
    common::eventually(Duration::from_secs(10), || {
        state = tmux.run(&[
            "display-message",
            "-p",
            "-t",
            "e2e",
            "#{alternate_on} #{cursor_flag} #{pane_current_command}",
        ]);
        let done = state.trim() == "0 1 bash";
        async move { done }
    })
    .await;
    assert_eq!(
        state.trim(),
        "0 1 bash",
        "alternate screen off, cursor on, back in the shell"
    );
    let screen = tmux.screen();
    assert!(
        !screen.contains("Tables (") && !screen.contains("panicked"),
        "the TUI is gone from the screen, without a panic:\n{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_destination_times_out_the_keys_keep_working_and_it_recovers_after_sigcont() {
    // Short bounds, so a frozen server reads as a timeout within seconds.
    let (lab, dir, tmux) = frozen_lab("stall", 3).await;

    let frozen = Frozen::new(&lab.dest);
    // The poll under way gets no answer: the header says so while it waits, then the
    // poll's bound passes and the side reads as a timeout, its rows as stale.
    tmux.wait_for("the destination stalled", |s| {
        side_header(s, "dst").is_some_and(|h| h.contains(" stalled "))
    })
    .await;
    let screen = tmux
        .wait_for("the destination timed out, rows stale", |s| {
            side_header(s, "dst").is_some_and(|h| h.contains("✗ timeout")) && s.contains("stale")
        })
        .await;
    assert!(
        side_header(&screen, "src").is_some_and(|h| h.contains('✓')),
        "the source is still up:\n{screen}"
    );
    assert!(
        screen.contains("destination: ") && screen.contains("got no answer within"),
        "the log says why:\n{screen}"
    );

    // The keys still answer while the destination is frozen.
    help_opens_and_closes(&tmux).await;
    filter_to_tache(&tmux).await;
    tmux.keys(&["p"]);
    tmux.wait_for("PAUSED", |s| s.contains("PAUSED")).await;
    tmux.keys(&["p"]);
    let screen = tmux
        .wait_for("polling resumed", |s| {
            !s.contains("PAUSED") && s.contains("polling resumed")
        })
        .await;
    assert_eq!(
        dest_state(&screen),
        Some(false),
        "still frozen while the keys were tried:\n{screen}"
    );

    // SIGCONT: the destination answers again and the rows are current again.
    drop(frozen);
    let screen = tmux
        .wait_for("the destination back, rows current", |s| {
            dest_state(s) == Some(true) && !s.contains("stale") && counts(s, "tache").is_some()
        })
        .await;
    assert!(screen.contains("destination reachable again"), "{screen}");
    assert_eq!(counts(&screen, "tache"), Some((50, 50)), "{screen}");

    quit_and_expect_the_terminal_restored(&tmux).await;
    drop(tmux);
    drop(dir);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_monitor_only_role_runs_the_whole_tui_and_each_write_names_the_missing_privilege() {
    let lab = common::seeded_lab().await;
    let settings = lab.settings();
    let db = settings.source.dbname.clone();
    // pg_monitor, plus what reading the tables takes (exact counts, the diff): nothing
    // that writes.
    for c in [&lab.source, &lab.dest] {
        syncwatch::sandbox::lab::exec(
            &c.admin(&db),
            &format!(
                "CREATE ROLE mon LOGIN PASSWORD 'mon' IN ROLE pg_monitor;
                 GRANT CONNECT ON DATABASE {db} TO mon;
                 GRANT USAGE ON SCHEMA public TO mon;
                 GRANT SELECT ON ALL TABLES IN SCHEMA public TO mon"
            ),
        )
        .await
        .unwrap();
    }
    let mon = syncwatch::config::Settings {
        source: lab.source.tcp("mon", "mon", &db),
        dest: lab.dest.tcp("mon", "mon", &db),
        ..settings.clone()
    };
    // The password comes from a .pgpass (0600) in the pane's HOME, not the command line.
    let home = TempDir::new("monitor");
    {
        use std::os::unix::fs::PermissionsExt;
        let pgpass = home.path().join(".pgpass");
        std::fs::write(
            &pgpass,
            format!(
                "127.0.0.1:{}:{db}:mon:mon\n127.0.0.1:{}:{db}:mon:mon\n",
                lab.source.port(),
                lab.dest.port()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let tmux = Tmux::with_home(120, 40, home.path().to_str().unwrap());
    tmux.start_syncwatch(&mon, "--engine native");

    // Every pane, as mon: both sides up, exact counts, the slot, the checks, the log.
    let screen = tmux
        .wait_for("every pane as mon, every check read", |s| {
            side_header(s, "src").is_some_and(|h| h.contains('✓'))
                && dest_state(s) == Some(true)
                && counts(s, "utilisateur") == Some((20, 20))
                && counts(s, "tache") == Some((50, 50))
                && s.contains("Slot airbyte_slot · pgoutput · active")
                && s.contains("✗ src REPLICATION")
                && s.contains(" ?0 ")
        })
        .await;
    assert!(screen.contains("Checks ✓"), "{screen}");
    assert!(
        screen.contains("watching mon@127.0.0.1"),
        "the log names the role:\n{screen}"
    );

    // d: the diff only reads, and SELECT is all it needs.
    tmux.keys(&["d"]);
    let screen = tmux
        .wait_for("the diff's result", |s| s.contains("diff public.tache"))
        .await;
    assert!(screen.contains("public.tache: equal (50 rows"), "{screen}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("the diff closed", |s| !s.contains("Esc closes"))
        .await;

    // f on a fix that needs a superuser: shown with the privilege named, no question.
    tmux.keys(&["Tab", "Tab"]);
    for _ in 0..4 {
        tmux.keys(&["j"]);
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("the role check's details", |s| {
        s.contains(" source.replication_role ") && s.contains("Esc closes")
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the details closed", |s| !s.contains("Esc closes"))
        .await;
    tmux.keys(&["f"]);
    let screen = tmux
        .wait_for("the fix refused up front", |s| {
            s.contains("Fix needs another role")
        })
        .await;
    assert!(
        screen.contains("role mon cannot run this: it needs a superuser"),
        "{screen}"
    );
    assert!(
        !screen.contains("y run it"),
        "nothing to confirm:\n{screen}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the fix closed", |s| !s.contains("Esc closes"))
        .await;

    // A fix the role may try: the publication, dropped by the admin. y runs it, the
    // server refuses, and the screen says which privilege is missing.
    syncwatch::sandbox::lab::exec(
        &lab.source.admin(&db),
        "DROP PUBLICATION airbyte_publication",
    )
    .await
    .unwrap();
    tmux.wait_for("the publication failing", |s| {
        s.contains("✗ src publication")
    })
    .await;
    for _ in 0..3 {
        tmux.keys(&["j"]);
    }
    tmux.keys(&["Enter"]);
    tmux.wait_for("the publication's details", |s| {
        s.contains(" source.publication ") && s.contains("Esc closes")
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the details closed", |s| !s.contains("Esc closes"))
        .await;
    tmux.keys(&["f"]);
    tmux.wait_for("the fix's SQL", |s| {
        s.contains("y run it") && s.contains("CREATE PUBLICATION")
    })
    .await;
    tmux.keys(&["y"]);
    tmux.wait_for("the refusal naming the privilege", |s| {
        let log = log_text(s);
        log.contains("source.publication: `CREATE PUBLICATION")
            && log.contains("was refused for role mon: it needs the CREATE privilege on database tasks_list (GRANT CREATE ON DATABASE \"tasks_list\" TO \"mon\") and to own the tables it publishes, or a superuser [42501]")
    })
    .await;
    let admin = pg::connect(&lab.source.admin(&db), Duration::from_secs(10))
        .await
        .unwrap();
    let publications = count(&admin, PUBLICATIONS).await;
    assert_eq!(publications, 0, "the refused fix changed nothing");

    // s: the seed form, y; COPY is refused and the log names INSERT and its GRANT.
    tmux.keys(&["s"]);
    tmux.wait_for("the seed form", |s| s.contains("Seed sample rows"))
        .await;
    tmux.keys(&["y"]);
    tmux.wait_for("the seed refused, INSERT named", |s| {
        let log = log_text(s);
        log.contains("seed failed: ")
            && log.contains("permission denied for table tache [42501] — role mon needs the INSERT privilege on table tache (GRANT INSERT ON TABLE \"public\".\"tache\" TO \"mon\"), or a superuser")
    })
    .await;

    // g: traffic, y; its first write is refused and the log names what traffic needs.
    tmux.keys(&["g"]);
    tmux.wait_for("the traffic question", |s| {
        s.contains("Start change traffic?")
    })
    .await;
    tmux.keys(&["y"]);
    let screen = tmux
        .wait_for("the traffic stopped, its privileges named", |s| {
            let log = log_text(s);
            log.contains("change traffic stopped: ")
                && log.contains("role mon needs the INSERT, UPDATE, DELETE privileges on table")
                && log.contains("(GRANT INSERT, UPDATE, DELETE ON TABLE \"public\".")
        })
        .await;
    assert!(
        !screen
            .lines()
            .next()
            .unwrap_or_default()
            .contains("traffic "),
        "no traffic shown as running:\n{screen}"
    );
    // Nothing was written.
    for (table, rows) in [("tache", 50), ("utilisateur", 20)] {
        let n = count(&admin, &format!("SELECT count(*) FROM {table}")).await;
        assert_eq!(n, rows, "{table}");
    }
    drop(admin);

    quit_and_expect_the_terminal_restored(&tmux).await;
    drop(tmux);
    drop(home);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g_against_a_stopped_source_leaves_the_keys_working_and_traffic_starts_once_it_answers() {
    // The source's connect timeout (60 s) is twice what each screen wait allows, so that
    // starting the traffic stays pending while the source is frozen: a loop that awaited
    // it would not answer a key before every wait below had failed.
    let (lab, dir, tmux) = frozen_lab("traffic-stall", 60).await;

    let frozen = Frozen::new(&lab.source);
    tmux.keys(&["g"]);
    tmux.wait_for("the traffic question", |s| {
        s.contains("Start change traffic?")
    })
    .await;
    tmux.keys(&["y"]);
    tmux.wait_for("traffic starting", |s| s.contains("traffic starting"))
        .await;
    // The loop is not waiting for the frozen source: help, filter and pause answer.
    help_opens_and_closes(&tmux).await;
    filter_to_tache(&tmux).await;
    tmux.keys(&["p"]);
    tmux.wait_for("PAUSED", |s| s.contains("PAUSED")).await;
    tmux.keys(&["p"]);
    let screen = tmux
        .wait_for("polling resumed", |s| !s.contains("PAUSED"))
        .await;
    assert!(
        screen.contains("traffic starting")
            && !log_text(&screen).contains("change traffic started"),
        "the start is still waiting for the frozen source:\n{screen}"
    );

    drop(frozen);
    let screen = tmux
        .wait_for("traffic running", |s| {
            // The header's `traffic 5/s` (the tables' `rows/s` column says "/s" too).
            let header = s.lines().next().unwrap_or_default();
            log_text(s).contains("change traffic started")
                && header.contains("/s ")
                && !header.contains("traffic starting")
        })
        .await;
    assert!(!screen.contains("traffic starting"), "{screen}");
    tmux.keys(&["g"]);
    let screen = tmux
        .wait_for("traffic stopped", |s| {
            log_text(s).contains("change traffic stopped:")
        })
        .await;
    assert_eq!(
        log_text(&screen).matches("change traffic started").count(),
        1,
        "one run, not two:\n{screen}"
    );

    quit_and_expect_the_terminal_restored(&tmux).await;
    drop(tmux);
    drop(dir);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

/// A config file pointing at the stand-in Airbyte API, the secret in a file of its own
/// (0600) as the README advises; returns the config's path.
fn airbyte_config(dir: &TempDir, api: &FakeAirbyte, secret: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let secret_file = dir.path().join("airbyte-secret");
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let config = dir.path().join("syncwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[airbyte]\nurl = \"{}\"\nclient_id = \"{}\"\nclient_secret_file = \"{}\"\nconnection = \"pg to pg\"\n",
            api.url,
            AirbyteOptions::default().client_id,
            secret_file.display()
        ),
    )
    .unwrap();
    config.display().to_string()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Issue 15's end to end: the last jobs on screen; `a` shows the call, `y` creates
/// exactly one job, the pane follows it from running to succeeded; a token the server
/// dropped is renewed without a word on screen; the secret is on no command line and
/// never on the screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_then_y_starts_one_airbyte_sync_and_the_pane_follows_it_to_succeeded() {
    const SECRET: &str = "Sx-e2e-airbyte-secret-7c1";
    let lab = common::guide_lab().await;
    let settings = lab.settings();
    let api = FakeAirbyte::start(AirbyteOptions {
        client_secret: SECRET.into(),
        job_runs_for: Duration::from_secs(4),
        ..AirbyteOptions::default()
    });
    let old = api.add_job("succeeded", now_ms() - 3_600_000, 61_000, 120);
    let dir = TempDir::new("airbyte");
    let config = airbyte_config(&dir, &api, SECRET);
    let tmux = Tmux::new(120, 40);
    tmux.start_syncwatch(&settings, &format!("--config '{config}'"));
    tmux.wait_for("the last job", |s| {
        s.contains("Airbyte · pg to pg") && s.contains(&format!("succeeded  job {old}"))
    })
    .await;

    // Airbyte forgets the token (it lives a few minutes): the next request renews it.
    api.expire_tokens();
    tmux.keys(&["a"]);
    let question = tmux
        .wait_for("the call a sync makes", |s| s.contains("y run it"))
        .await;
    assert!(
        question.contains("/api/public/v1/jobs") && question.contains(r#""jobType":"sync""#),
        "{question}"
    );
    assert_eq!(api.jobs_created(), 0, "nothing before y");
    tmux.keys(&["y"]);
    let new = old + 1;
    tmux.wait_for("the new job running", |s| {
        s.contains(&format!("running    job {new}"))
    })
    .await;
    // While it runs, `a` says so and sends nothing.
    tmux.keys(&["a"]);
    tmux.wait_for("a sync already running said", |s| {
        log_text(s).contains("not starting another") || log_text(s).contains("waiting for Airbyte")
    })
    .await;
    let done = tmux
        .wait_for("the new job succeeded", |s| {
            s.contains(&format!("succeeded  job {new}"))
        })
        .await;
    assert_eq!(api.jobs_created(), 1, "exactly one job");
    assert!(api.tokens_issued() >= 2, "the dropped token was renewed");
    let log = log_text(&done);
    assert!(
        !log.contains("refused") && !log.contains("Airbyte's API:"),
        "the renewal went unseen: {log}"
    );
    assert!(!done.contains(SECRET));
    assert!(!common::all_command_lines().contains(SECRET));
    quit_and_expect_the_terminal_restored(&tmux).await;
    drop(tmux);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

/// Wrong credentials: one line saying what to check, and everything else on the screen
/// still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_airbyte_credentials_are_one_clear_line_and_the_rest_keeps_working() {
    let lab = common::guide_lab().await;
    let settings = lab.settings();
    let api = FakeAirbyte::start(AirbyteOptions::default());
    let dir = TempDir::new("airbyte-wrong");
    let config = airbyte_config(&dir, &api, "Sx-not-the-secret");
    let tmux = Tmux::new(120, 40);
    tmux.start_syncwatch(&settings, &format!("--config '{config}'"));
    let screen = tmux
        .wait_for("the refusal and the tables", |s| {
            s.contains("✗ Airbyte refused the client id") && table_row(s, "utilisateur").is_some()
        })
        .await;
    let said = log_text(&screen)
        .lines()
        .filter(|l| l.contains("refused the client id"))
        .count();
    assert_eq!(said, 1, "{screen}");
    assert!(!screen.contains("Sx-not-the-secret"));
    help_opens_and_closes(&tmux).await;
    tmux.keys(&["a"]);
    tmux.wait_for("a explains", |s| log_text(s).contains("no sync started"))
        .await;
    assert_eq!(api.jobs_created(), 0);
    quit_and_expect_the_terminal_restored(&tmux).await;
    drop(tmux);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

/// Two pairs in one config, one of them on a server that is not there: the overview
/// shows both, the down pair never holds the other or the keys, Enter opens a pair's
/// screen and Esc comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_pairs_open_in_an_overview_and_a_down_pair_holds_nothing_back() {
    let lab = common::seeded_lab().await;
    let settings = lab.settings();
    let dir = TempDir::new("pairs");
    let config = dir.path().join("pairs.toml");
    std::fs::write(
        &config,
        format!(
            "engine = \"native\"\n\n[[pair]]\nname = \"main\"\nsource = \"{}\"\ndestination = \"{}\"\n\n[[pair]]\nname = \"gone\"\nsource = \"host=127.0.0.1 port=1 connect_timeout=2\"\ndestination = \"host=127.0.0.1 port=1 connect_timeout=2\"\n",
            settings.source.conninfo_without_password(),
            settings.dest.conninfo_without_password()
        ),
    )
    .unwrap();
    let tmux = Tmux::new(140, 30);
    let cmd = format!(
        "{} --config '{}'",
        env!("CARGO_BIN_EXE_syncwatch"),
        config.display()
    );
    tmux.literal(&cmd);
    tmux.keys(&["Enter"]);
    let line = |s: &str, name: &str| -> Option<String> {
        s.lines()
            .find(|l| l.trim_start_matches('│').starts_with(&format!("{name} ")))
            .map(str::to_string)
    };
    // main's line shows its slot (the lab has no pgvector, so its status is its own
    // business here); gone's is critical with nothing known.
    tmux.wait_for("both pairs, main polled and gone critical", |s| {
        s.contains("2 pairs")
            && line(s, "main").is_some_and(|l| l.contains("streaming") && !l.contains(" — "))
            && line(s, "gone").is_some_and(|l| l.contains("critical"))
    })
    .await;
    // main's counts keep moving while gone is down.
    let src = pg::connect(&settings.source, Duration::from_secs(10))
        .await
        .unwrap();
    syncwatch::io::seed::sample(&src.client, 3, 0)
        .await
        .unwrap();
    tmux.keys(&["/"]);
    tmux.literal("go");
    tmux.keys(&["Enter"]);
    tmux.wait_for("only gone", |s| {
        s.contains("Pairs (1) filter: go") && line(s, "main").is_none()
    })
    .await;
    tmux.keys(&["Enter"]);
    tmux.wait_for("gone's own screen, unreachable", |s| {
        s.contains("[gone]") && s.contains("unreachable")
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the overview again", |s| s.contains("Pairs (1)"))
        .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", |s| s.contains("Pairs (2)"))
        .await;
    tmux.keys(&["o"]);
    tmux.wait_for("sorted by status", |s| s.contains("sort status"))
        .await;
    tmux.keys(&["o", "o"]);
    tmux.wait_for("sorted by name again, main first", |s| {
        s.contains("sort name")
            && s.lines().position(|l| l.contains("│main "))
                < s.lines().position(|l| l.contains("│gone "))
    })
    .await;
    tmux.keys(&["Enter"]);
    tmux.wait_for("main's own screen, 23 users on both sides", |s| {
        s.contains("[main]") && counts(s, "utilisateur") == Some((23, 23))
    })
    .await;
    tmux.keys(&["Escape"]);
    tmux.wait_for("the overview again", |s| s.contains("2 pairs"))
        .await;
    quit_and_expect_the_terminal_restored(&tmux).await;
    drop(tmux);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}

/// The demo's servers, by the temp directories named after the demo's pid: (directories
/// left, postgres processes left).
fn demo_leftovers(pid: u32) -> (usize, usize) {
    let prefix = format!("syncwatch-{pid}-");
    let dirs = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .count();
    let procs = common::all_command_lines()
        .lines()
        .filter(|l| l.contains("postgres") && l.contains(&format!("/{prefix}")))
        .count();
    (dirs, procs)
}

/// The demo started from the pane's shell; its pid once its servers are up.
async fn start_demo(tmux: &Tmux) -> u32 {
    tmux.literal(&format!(
        "{} demo --users 20 --tasks 100",
        env!("CARGO_BIN_EXE_syncwatch")
    ));
    tmux.keys(&["Enter"]);
    tmux.wait_for("the demo's screen", |s| {
        s.contains("[demo]") && s.contains("tache")
    })
    .await;
    let shell: u32 = tmux
        .run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();
    let out = Command::new("pgrep")
        .args(["-P", &shell.to_string()])
        .output()
        .unwrap();
    let pid: u32 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("the demo runs under the pane's shell");
    assert_eq!(demo_leftovers(pid), (2, 2), "two servers, two directories");
    pid
}

async fn expect_no_leftovers(pid: u32) {
    let mut left = (0, 0);
    let gone = common::eventually(Duration::from_secs(30), || {
        left = demo_leftovers(pid);
        async move { left == (0, 0) }
    })
    .await;
    assert!(gone, "directories and servers left behind: {left:?}");
}

/// SIGTERM, and a terminal that goes away (a tmux session killed, as a dropped ssh
/// connection does), end the demo the way `q` does: both servers stopped, their
/// directories removed, the terminal given back, the status saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_a_killed_terminal_stop_the_demo_and_remove_its_servers() {
    let tmux = Tmux::new(120, 36);
    let pid = start_demo(&tmux).await;
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    expect_no_leftovers(pid).await;
    tmux.literal("echo status=$?");
    tmux.keys(&["Enter"]);
    let screen = tmux
        .wait_for("the exit status", |s| s.contains("status=143"))
        .await;
    assert!(
        screen.contains("syncwatch: stopped by SIGTERM"),
        "said why: {screen}"
    );
    let state = tmux.run(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
    assert_eq!(state.trim(), "0", "the main screen is back");

    let pid = start_demo(&tmux).await;
    tmux.run(&["kill-server"]);
    expect_no_leftovers(pid).await;
}
