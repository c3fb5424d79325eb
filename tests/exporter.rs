//! `syncwatch serve` scraped by a real Prometheus (Debian's `prometheus`), against real
//! servers; the alert rules checked and unit-tested by `promtool`. Without Prometheus
//! the tests skip with a reason, unless SYNCWATCH_REQUIRE_PROMETHEUS is set (CI).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use syncwatch::sandbox::lab::exec;

fn tool(name: &str) -> Option<PathBuf> {
    let found = ["/usr/bin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("SYNCWATCH_REQUIRE_PROMETHEUS").is_none(),
            "{name} is missing (apt-get install prometheus)"
        );
        common::skip(name, "Debian's prometheus package is not installed");
    }
    found
}

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prometheus")
}

#[test]
fn the_alert_rules_and_the_scrape_config_pass_promtool() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    for args in [
        vec!["check", "rules", "syncwatch.rules.yml"],
        vec!["test", "rules", "syncwatch.rules.test.yml"],
        vec!["check", "config", "prometheus.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(&args)
            .current_dir(rules_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A GET over plain HTTP/1.0; the status and the body.
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let status = raw.split_whitespace().nth(1)?.parse().ok()?;
    let body = raw.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first value of an instant query through Prometheus's HTTP API.
fn query(prom: &str, q: &str) -> Option<f64> {
    let (status, body) = get(prom, &format!("/api/v1/query?query={}", encode(q)))?;
    if status != 200 {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(&body).ok()?;
    doc["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process when dropped (also when an assertion fails).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_serve_and_sees_the_slot_a_difference_and_a_side_going_down() {
    let Some(prometheus) = tool("prometheus") else {
        return;
    };
    let mut lab = common::seeded_lab().await;
    let settings = lab.settings();
    // Five users only the destination has: a difference of -5 once replication settles.
    exec(
        &lab.dest.admin("tasks_list"),
        "INSERT INTO utilisateur (id, username, email) SELECT g, 'extra' || g, 'x' || g || '@example.org' FROM generate_series(100001, 100005) g",
    )
    .await
    .unwrap();

    let mut serve = Running(
        Command::new(env!("CARGO_BIN_EXE_syncwatch"))
            .args(["serve", "--listen", "127.0.0.1:0", "--engine", "native"])
            .args(["--source", &settings.source.conninfo_without_password()])
            .args(["--dest", &settings.dest.conninfo_without_password()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(serve.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("serve said {line:?}"))
        .to_string();
    assert_eq!(get(&addr, "/healthz"), Some((200, "ok\n".into())));

    let dir = std::env::temp_dir().join(format!("syncwatch-prom-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: syncwatch\n    static_configs:\n      - targets: [\"{addr}\"]\n",
            rules_dir().join("syncwatch.rules.yml").display()
        ),
    )
    .unwrap();
    let prom = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let _prometheus = Running(
        Command::new(prometheus)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={prom}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );

    let seen = |q: &'static str, want: fn(f64) -> bool| {
        let prom = prom.clone();
        async move {
            let mut last = None;
            let ok = common::eventually(Duration::from_secs(60), || {
                last = query(&prom, q);
                let ok = last.is_some_and(want);
                async move { ok }
            })
            .await;
            (ok, last)
        }
    };
    let (ok, v) = seen(
        r#"syncwatch_slot_retained_bytes{pair="default",slot="airbyte_slot"}"#,
        |v| v > 0.0,
    )
    .await;
    let log_text = || std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
    assert!(
        ok,
        "retained bytes through Prometheus: {v:?}\n{}",
        log_text()
    );
    let (ok, v) = seen(
        r#"syncwatch_table_difference{pair="default",schema="public",table="utilisateur"}"#,
        |v| v == -5.0,
    )
    .await;
    assert!(ok, "the planted difference: {v:?}");
    let (ok, v) = seen(r#"syncwatch_up{side="destination"}"#, |v| v == 1.0).await;
    assert!(ok, "{v:?}");

    tokio::task::block_in_place(|| lab.dest.crash()).unwrap();
    let (ok, v) = seen(r#"syncwatch_up{side="destination"}"#, |v| v == 0.0).await;
    assert!(ok, "the destination down, as Prometheus sees it: {v:?}");
    let (ok, v) = seen(r#"syncwatch_up{side="source"}"#, |v| v == 1.0).await;
    assert!(ok, "the source still up: {v:?}");
    assert_eq!(
        get(&addr, "/healthz").map(|r| r.0),
        Some(200),
        "alive while a side is down"
    );

    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
    tokio::task::spawn_blocking(move || drop(lab))
        .await
        .unwrap();
}
