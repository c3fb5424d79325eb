//! docker-compose.yaml cannot be run here (no docker engine), so it is checked against
//! the defaults and the sql/ directory instead.

use serde_yaml::Value;
use syncwatch::config::Settings;
use syncwatch::sandbox::lab::SCRIPTS;

fn compose() -> Value {
    read("docker-compose.yaml")
}

fn read(file: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The sql/ scripts a service's volumes mount, in order.
fn mounted(svc: &Value) -> Vec<String> {
    strings(&svc["volumes"])
        .iter()
        .filter_map(|m| m.strip_prefix("./sql/"))
        .filter_map(|m| m.split(':').next())
        .map(str::to_string)
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn services_match_the_default_ports_credentials_and_database() {
    let c = compose();
    let d = Settings::default();
    for (name, ep) in [("source", &d.source), ("destination", &d.dest)] {
        let svc = &c["services"][name];
        assert!(svc.is_mapping(), "service {name} missing");
        assert_eq!(
            strings(&svc["ports"]),
            vec![format!("{}:5432", ep.port)],
            "{name}"
        );
        let env = &svc["environment"];
        assert_eq!(env["POSTGRES_USER"].as_str(), Some(ep.user.as_str()));
        assert_eq!(
            env["POSTGRES_PASSWORD"].as_str(),
            ep.password.as_ref().map(|p| p.expose())
        );
        assert_eq!(env["POSTGRES_DB"].as_str(), Some(ep.dbname.as_str()));
        assert!(
            svc["image"]
                .as_str()
                .unwrap()
                .starts_with("pgvector/pgvector:"),
            "{name} needs pgvector"
        );
    }
    let cmd = strings(&c["services"]["source"]["command"]).join(" ");
    for setting in [
        "wal_level=logical",
        "max_replication_slots=",
        "max_wal_senders=",
    ] {
        assert!(
            cmd.contains(setting),
            "source command lacks {setting}: {cmd}"
        );
    }
}

#[test]
fn the_destination_gets_the_schema_only_for_native_replication() {
    // Airbyte creates its own tables, with its columns: by default only `vector`.
    assert_eq!(
        mounted(&compose()["services"]["destination"]),
        ["00-vector.sql"]
    );
    let native = read("docker-compose.native.yaml");
    assert_eq!(
        mounted(&native["services"]["destination"]),
        ["10-schema.sql"]
    );
    assert!(
        native["services"]["source"].is_null(),
        "the source is the same"
    );
}

#[test]
fn every_script_is_mounted_where_the_lab_applies_it_and_exists() {
    let c = compose();
    let native = read("docker-compose.native.yaml");
    for (name, on) in [("source", true), ("destination", false)] {
        let mut scripts = mounted(&c["services"][name]);
        scripts.extend(mounted(&native["services"][name]));
        scripts.sort();
        let mounts = strings(&c["services"][name]["volumes"]);
        let expected: Vec<&str> = SCRIPTS
            .iter()
            .filter(|s| if on { s.on_source } else { s.on_dest })
            .map(|s| s.name)
            .collect();
        assert_eq!(scripts, expected, "{name} (with the native override)");
        for m in &mounts {
            if let Some(rest) = m.strip_prefix("./sql/") {
                let file = rest.split(':').next().unwrap();
                assert!(
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("sql")
                        .join(file)
                        .is_file(),
                    "{file} is mounted but missing"
                );
                assert!(m.contains("/docker-entrypoint-initdb.d/"), "{m}");
            }
        }
    }
    // And nothing in sql/ is forgotten by the lab.
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/sql"))
        .unwrap()
        .count();
    assert_eq!(on_disk, SCRIPTS.len());
}
