//! The password never shows: not in any process's command line, not on screen, not in
//! `check` output (text or JSON), not in the log. The real binary runs with the password
//! in a `.pgpass` file, as a careful user would set it up.

mod common;

use std::process::Command;
use std::time::Duration;

use syncwatch::sandbox::lab::exec;

const SECRET: &str = "Zq7-s3cret-PW";

use common::all_command_lines;

#[tokio::test]
async fn the_password_is_never_on_a_command_line_the_screen_or_in_output() {
    let lab = common::guide_lab().await;
    for c in [&lab.source, &lab.dest] {
        exec(
            &c.admin("tasks_list"),
            &format!("ALTER ROLE airbyte PASSWORD '{SECRET}'"),
        )
        .await
        .unwrap();
    }
    let settings = lab.settings();
    let home = std::env::temp_dir().join(format!("syncwatch-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let pgpass = home.join(".pgpass");
    std::fs::write(
        &pgpass,
        format!("127.0.0.1:*:tasks_list:airbyte:{SECRET}\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let no_password = |ep: &syncwatch::config::Endpoint| {
        format!(
            "host={} port={} user=airbyte dbname=tasks_list sslmode=disable",
            ep.host, ep.port
        )
    };
    let (src, dst) = (no_password(&settings.source), no_password(&settings.dest));

    // check and check --json, with a wrong password too (the error path).
    for args in [
        vec![
            "check", "--source", &src, "--dest", &dst, "--engine", "native",
        ],
        vec!["check", "--json", "--source", &src, "--dest", &dst],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .args(&args)
            .env("HOME", &home)
            .env_remove("PGPASSWORD")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("reachable"), "{text}");
        assert!(
            !text.contains(SECRET),
            "{args:?} printed the password: {text}"
        );
    }

    // The live view in tmux: the screen, the help, a details popup, every command line.
    let socket = format!("syncwatch-secrets-{}", std::process::id());
    let tmux = |args: &[&str]| {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cmd = format!(
        "HOME={} {} --source '{src}' --dest '{dst}' --engine native",
        home.display(),
        env!("CARGO_BIN_EXE_syncwatch")
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        "s",
        "-x",
        "120",
        "-y",
        "40",
        "bash",
        "--norc",
    ]);
    tmux(&["send-keys", "-t", "s", "-l", &cmd]);
    tmux(&["send-keys", "-t", "s", "Enter"]);
    let mut screens = String::new();
    let shown = common::eventually(Duration::from_secs(30), || {
        let s = tmux(&["capture-pane", "-p", "-t", "s"]);
        let ok = s.contains("✓ src reachable");
        screens.push_str(&s);
        async move { ok }
    })
    .await;
    assert!(shown, "{screens}");
    for keys in [
        &["Enter"][..],
        &["Escape", "Tab", "Tab", "Enter"],
        &["Escape", "?"],
    ] {
        for k in keys {
            tmux(&["send-keys", "-t", "s", k]);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        screens.push_str(&tmux(&["capture-pane", "-p", "-t", "s"]));
    }
    let lines = all_command_lines();
    tmux(&["send-keys", "-t", "s", "Escape"]);
    tmux(&["send-keys", "-t", "s", "q"]);
    tmux(&["kill-server"]);
    assert!(!screens.contains(SECRET), "the screen showed the password");
    assert!(
        !lines.contains(SECRET),
        "a command line carries the password"
    );
    assert!(lines.contains("syncwatch"), "the process list was read");

    std::fs::remove_dir_all(&home).unwrap();
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}
