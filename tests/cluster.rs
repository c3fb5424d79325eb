//! Throwaway servers and the connection layer, against real PostgreSQL 15 and 16.

mod common;

use std::process::Command;
use std::time::Duration;

use syncwatch::config::SslMode;
use syncwatch::io::pg::{self, Kind};
use syncwatch::sandbox::cluster::Cluster;
use syncwatch::sandbox::lab;

const T: Duration = Duration::from_secs(10);

#[tokio::test]
async fn each_installed_version_starts_answers_and_leaves_no_files() {
    for bin in common::all_bins() {
        let b = bin.clone();
        let cluster = tokio::task::spawn_blocking(move || Cluster::start(&b, &[]))
            .await
            .unwrap()
            .unwrap();
        let root = cluster.root().to_path_buf();
        assert!(root.join("data/PG_VERSION").is_file());
        let s = pg::connect(&cluster.admin("postgres"), T).await.unwrap();
        assert_eq!(s.version_num / 10000, bin.major as i32, "{bin}");
        // The server's processes belong to `postgres` when we are root, to us otherwise.
        let pid = cluster.pid().unwrap();
        let owner = std::fs::metadata(format!("/proc/{pid}"))
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap();
        let me = unsafe { libc::geteuid() };
        if me == 0 {
            assert_ne!(owner, 0, "postgres must not run as root");
        } else {
            assert_eq!(owner, me);
        }
        drop(s);
        tokio::task::spawn_blocking(move || drop(cluster))
            .await
            .unwrap();
        assert!(!root.exists(), "{} left behind", root.display());
        assert!(
            std::fs::metadata(format!("/proc/{pid}")).is_err(),
            "server {pid} still running"
        );
    }
}

#[tokio::test]
async fn two_servers_at_once_do_not_collide_and_restart_keeps_the_port() {
    let bin = common::all_bins().remove(0);
    let (a, mut b) = tokio::task::spawn_blocking(move || {
        (
            Cluster::start(&bin, &[]).unwrap(),
            Cluster::start(&bin, &[]).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.root(), b.root());
    let port = b.port();
    let b = tokio::task::spawn_blocking(move || {
        b.restart_with(&[("work_mem", "8MB")]).unwrap();
        b
    })
    .await
    .unwrap();
    assert_eq!(b.port(), port);
    let s = pg::connect(&b.admin("postgres"), T).await.unwrap();
    let wm: String = s
        .client
        .query_one("SHOW work_mem", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(wm, "8MB");
    drop(s);
    tokio::task::spawn_blocking(move || drop((a, b)))
        .await
        .unwrap();
}

#[tokio::test]
async fn connection_errors_say_what_happened_without_the_password() {
    let bin = common::all_bins().remove(0);
    let mut cluster = tokio::task::spawn_blocking(move || Cluster::start(&bin, &[]))
        .await
        .unwrap()
        .unwrap();
    lab::create_role_and_db(&cluster, "airbyte", "airbyte", "tasks_list")
        .await
        .unwrap();

    let ok = pg::connect(&cluster.tcp("airbyte", "airbyte", "tasks_list"), T).await;
    assert!(ok.is_ok());

    let wrong = cluster.tcp("airbyte", "n0t-the-Passw0rd", "tasks_list");
    let e = pg::connect(&wrong, T).await.err().unwrap();
    assert_eq!(e.kind, Kind::Auth);
    assert_eq!(e.sqlstate.as_deref(), Some("28P01"));
    let text = e.to_string();
    assert!(text.contains("wrong password for user airbyte"), "{text}");
    assert!(!text.contains("n0t-the-Passw0rd"), "{text}");

    let e = pg::connect(&cluster.tcp("airbyte", "airbyte", "nope"), T)
        .await
        .err()
        .unwrap();
    assert_eq!(e.kind, Kind::NoDatabase);
    assert!(
        e.to_string().contains("database nope does not exist"),
        "{e}"
    );

    let e = pg::connect(&cluster.tcp("ghost", "x", "tasks_list"), T)
        .await
        .err()
        .unwrap();
    assert!(matches!(e.kind, Kind::Auth), "{e}");

    let stopped = cluster.tcp("airbyte", "airbyte", "tasks_list");
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().unwrap();
        cluster
    })
    .await
    .unwrap();
    let e = pg::connect(&stopped, T).await.err().unwrap();
    assert_eq!(e.kind, Kind::Unreachable, "{e}");
    assert!(e.to_string().starts_with("cannot reach 127.0.0.1:"), "{e}");
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}

#[tokio::test]
async fn statement_timeout_is_set_on_every_session() {
    let bin = common::all_bins().remove(0);
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&bin, &[]))
        .await
        .unwrap()
        .unwrap();
    let s = pg::connect(&cluster.admin("postgres"), Duration::from_millis(300))
        .await
        .unwrap();
    let name: String = s
        .client
        .query_one("SELECT current_setting('application_name')", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "syncwatch");
    let e = s
        .client
        .query_one("SELECT pg_sleep(5)", &[])
        .await
        .unwrap_err();
    let e = pg::PgError::from_query(&e);
    assert_eq!(e.kind, Kind::Timeout);
    assert_eq!(e.sqlstate.as_deref(), Some("57014"));
    drop(s);
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}

/// A self-signed CA and a server certificate for 127.0.0.1/localhost, made with openssl.
fn make_certs(dir: &std::path::Path, owner: Option<(u32, u32)>) -> (String, String, String) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=syncwatch test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "server.crt",
    ]);
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=other CA",
        "-keyout",
        "other.key",
        "-out",
        "other.crt",
    ]);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        dir.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    if let Some((uid, gid)) = owner {
        for f in ["server.key", "server.crt", "ca.crt"] {
            std::os::unix::fs::chown(dir.join(f), Some(uid), Some(gid)).unwrap();
        }
    }
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    (p("server.crt"), p("server.key"), p("ca.crt"))
}

#[tokio::test]
async fn sslmodes_disable_prefer_require_and_verify_full_work_against_a_tls_server() {
    let Some(bin) = common::all_bins().into_iter().find(common::has_ssl) else {
        common::skip(
            "sslmodes_disable_prefer_require_and_verify_full…",
            "no server here is built with SSL",
        );
        return;
    };
    let certs = std::env::temp_dir().join(format!("syncwatch-certs-{}", std::process::id()));
    std::fs::create_dir_all(&certs).unwrap();
    let me = unsafe { libc::geteuid() };
    let owner = (me == 0).then(|| {
        let out = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .unwrap();
        let uid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let out = Command::new("id")
            .args(["-g", "postgres"])
            .output()
            .unwrap();
        let gid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        (uid, gid)
    });
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&certs, Some(uid), Some(gid)).unwrap();
    }
    let (crt, key, ca) = make_certs(&certs, owner);
    let settings = [
        ("ssl", "on"),
        ("ssl_cert_file", crt.as_str()),
        ("ssl_key_file", key.as_str()),
    ];
    let owned: Vec<(String, String)> = settings
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let cluster = tokio::task::spawn_blocking(move || {
        let s: Vec<(&str, &str)> = owned
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        Cluster::start(&bin, &s)
    })
    .await
    .unwrap()
    .unwrap();
    lab::create_role_and_db(&cluster, "airbyte", "airbyte", "tasks_list")
        .await
        .unwrap();

    let uses_tls = |mode: SslMode, root: Option<&str>, host: &str| {
        let mut ep = cluster.tcp("airbyte", "airbyte", "tasks_list");
        ep.sslmode = mode;
        ep.host = host.to_string();
        ep.sslrootcert = root.map(Into::into);
        async move {
            let s = pg::connect(&ep, T).await?;
            let ssl: bool = s
                .client
                .query_one(
                    "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            Ok::<bool, pg::PgError>(ssl)
        }
    };
    assert!(!uses_tls(SslMode::Disable, None, "127.0.0.1").await.unwrap());
    assert!(uses_tls(SslMode::Prefer, None, "127.0.0.1").await.unwrap());
    assert!(uses_tls(SslMode::Require, None, "127.0.0.1").await.unwrap());
    assert!(
        uses_tls(SslMode::VerifyFull, Some(&ca), "127.0.0.1")
            .await
            .unwrap()
    );
    assert!(
        uses_tls(SslMode::VerifyFull, Some(&ca), "localhost")
            .await
            .unwrap()
    );
    let other = certs.join("other.crt").to_string_lossy().into_owned();
    let e = uses_tls(SslMode::VerifyFull, Some(&other), "127.0.0.1")
        .await
        .unwrap_err();
    assert_eq!(e.kind, Kind::Tls, "{e}");
    assert!(e.to_string().contains("TLS"), "{e}");
    let e = uses_tls(SslMode::VerifyCa, Some("/nonexistent/ca.pem"), "127.0.0.1")
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot read sslrootcert /nonexistent/ca.pem"),
        "{e}"
    );

    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
    std::fs::remove_dir_all(&certs).unwrap();
}

#[tokio::test]
async fn require_against_a_server_without_tls_is_refused_clearly() {
    let bin = common::all_bins().remove(0);
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(&bin, &[]))
        .await
        .unwrap()
        .unwrap();
    lab::create_role_and_db(&cluster, "airbyte", "airbyte", "tasks_list")
        .await
        .unwrap();
    let mut ep = cluster.tcp("airbyte", "airbyte", "tasks_list");
    ep.sslmode = SslMode::Prefer;
    assert!(
        pg::connect(&ep, T).await.is_ok(),
        "prefer falls back to plain"
    );
    ep.sslmode = SslMode::Require;
    let e = pg::connect(&ep, T).await.err().unwrap();
    assert_eq!(e.kind, Kind::Tls, "{e}");
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .unwrap();
}
