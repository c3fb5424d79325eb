//! The TOML configuration file (`--config`). Unknown keys are errors, so a typo never
//! silently falls back to a default. See `assets/syncwatch.toml` for a commented sample.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, Settings, conninfo, non_empty};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// A `[[pair]]`'s name (at the top level: the one pair's, `default` when unset).
    pub name: Option<String>,
    /// `[[pair]]` entries: each a sync of its own, with these same keys; the top-level
    /// keys are every pair's defaults.
    #[serde(default)]
    pub pair: Vec<FileConfig>,
    pub source: Option<String>,
    pub destination: Option<String>,
    pub slot: Option<String>,
    pub publication: Option<String>,
    pub subscription: Option<String>,
    pub schema: Option<String>,
    pub dest_schema: Option<String>,
    pub dest_prefix: Option<String>,
    pub engine: Option<String>,
    pub sync_interval: Option<String>,
    pub poll_interval_ms: Option<u64>,
    pub statement_timeout_ms: Option<u64>,
    pub exact_count_max_rows: Option<u64>,
    pub retained_wal_warning_mb: Option<u64>,
    pub retained_wal_critical_mb: Option<u64>,
    pub forecast_warning: Option<String>,
    pub forecast_critical: Option<String>,
    pub history: Option<String>,
    pub metrics_max_tables: Option<usize>,
    pub read_only: Option<bool>,
    pub airbyte: Option<AirbyteFile>,
}

/// `[airbyte]`: the API. The secret lives in a file of its own (or the environment), so
/// the configuration can be shared without it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AirbyteFile {
    pub url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret_file: Option<std::path::PathBuf>,
    pub connection: Option<String>,
}

impl AirbyteFile {
    pub(super) fn apply(self, parts: &mut super::AirbyteParts) -> Result<(), ConfigError> {
        parts.url = self.url.or(parts.url.take());
        parts.client_id = self.client_id.or(parts.client_id.take());
        parts.connection = self.connection.or(parts.connection.take());
        if let Some(path) = &self.client_secret_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError(format!(
                    "config `airbyte.client_secret_file` {}: {e}",
                    path.display()
                ))
            })?;
            let secret = text.trim();
            if secret.is_empty() {
                return Err(ConfigError(format!(
                    "config `airbyte.client_secret_file` {}: the file is empty",
                    path.display()
                )));
            }
            parts.client_secret = Some(super::Secret::new(secret));
        }
        Ok(())
    }
}

/// Reads and parses the file; errors are one line naming the file, the line and the key.
pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?;
    parse(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
}

/// Parses TOML text; the error is a single line (`line N: message`).
pub fn parse(text: &str) -> Result<FileConfig, String> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().trim().replace('\n', " ");
        match line {
            Some(l) => format!("line {l}: {msg}"),
            None => msg,
        }
    })
}

impl FileConfig {
    pub(super) fn apply(
        self,
        s: &mut Settings,
        explicit_password: &mut [bool; 2],
    ) -> Result<(), ConfigError> {
        if let Some(text) = &self.source {
            let p = conninfo::parse("config `source`", text)?;
            explicit_password[0] |= p.password.is_some();
            s.source.apply(p);
        }
        if let Some(text) = &self.destination {
            let p = conninfo::parse("config `destination`", text)?;
            explicit_password[1] |= p.password.is_some();
            s.dest.apply(p);
        }
        if let Some(v) = &self.slot {
            s.slot = non_empty("config `slot`", v)?;
        }
        if let Some(v) = &self.publication {
            s.publication = non_empty("config `publication`", v)?;
        }
        if let Some(v) = &self.subscription {
            s.subscription = non_empty("config `subscription`", v)?;
        }
        if let Some(v) = &self.schema {
            s.schema = non_empty("config `schema`", v)?;
        }
        if let Some(v) = &self.dest_schema {
            s.dest_schema = Some(non_empty("config `dest_schema`", v)?);
        }
        if let Some(v) = &self.dest_prefix {
            s.dest_prefix = v.clone();
        }
        if let Some(v) = &self.engine {
            s.engine = v
                .parse()
                .map_err(|e| ConfigError(format!("config `engine`: {e}")))?;
        }
        if let Some(v) = &self.sync_interval {
            s.sync_interval = Some(super::duration("config `sync_interval`", v)?);
        }
        if let Some(ms) = self.poll_interval_ms {
            if ms < 100 {
                return Err(ConfigError(
                    "config `poll_interval_ms`: must be at least 100".to_string(),
                ));
            }
            s.poll_interval = Duration::from_millis(ms);
        }
        if let Some(ms) = self.statement_timeout_ms {
            s.statement_timeout = Duration::from_millis(ms.max(1));
        }
        if let Some(n) = self.exact_count_max_rows {
            s.exact_count_max_rows = n;
        }
        if let Some(mb) = self.retained_wal_warning_mb {
            s.retained_wal_warning_bytes = mb << 20;
        }
        if let Some(mb) = self.retained_wal_critical_mb {
            s.retained_wal_critical_bytes = mb << 20;
        }
        if let Some(v) = &self.forecast_warning {
            s.forecast_warning = super::duration("config `forecast_warning`", v)?;
        }
        if let Some(v) = &self.forecast_critical {
            s.forecast_critical = super::duration("config `forecast_critical`", v)?;
        }
        if let Some(v) = &self.history {
            s.history = super::duration("config `history`", v)?;
        }
        if let Some(n) = self.metrics_max_tables {
            s.metrics_max_tables = n;
        }
        if let Some(ro) = self.read_only {
            s.read_only = ro;
        }
        Ok(())
    }
}

/// What must hold between settings, once every layer is applied (a pair may raise one
/// threshold above the top level's other).
pub(super) fn validate(s: &Settings) -> Result<(), ConfigError> {
    if s.forecast_critical > s.forecast_warning {
        return Err(ConfigError(
            "config `forecast_critical`: must not exceed forecast_warning".to_string(),
        ));
    }
    if s.retained_wal_warning_bytes > s.retained_wal_critical_bytes {
        return Err(ConfigError(
            "config `retained_wal_warning_mb`: must not exceed retained_wal_critical_mb"
                .to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Engine, Overrides};

    #[test]
    fn the_sample_file_in_assets_parses_and_matches_the_defaults() {
        let text = include_str!("../../assets/syncwatch.toml");
        let f = parse(text).unwrap();
        let mut s = Settings::default();
        f.apply(&mut s, &mut [false, false]).unwrap();
        let d = Settings::default();
        assert_eq!(s.source.address(), d.source.address());
        assert_eq!(s.dest.address(), d.dest.address());
        assert_eq!(s.slot, d.slot);
        assert_eq!(s.engine, d.engine);
        assert_eq!(s.poll_interval, d.poll_interval);
    }

    #[test]
    fn a_sync_interval_is_written_as_people_write_durations() {
        let mut s = Settings::default();
        let f = parse("sync_interval = \"1h30m\"").unwrap();
        f.apply(&mut s, &mut [false; 2]).unwrap();
        assert_eq!(s.sync_interval, Some(Duration::from_secs(5400)));
        for bad in ["", "1x", "h", "15", "0s", "99999999999999999999d"] {
            let f = parse(&format!("sync_interval = {bad:?}")).unwrap();
            let e = f
                .apply(&mut Settings::default(), &mut [false; 2])
                .unwrap_err();
            assert!(e.0.starts_with("config `sync_interval`: "), "{e}");
            assert!(e.0.contains("like 90s, 15m"), "{e}");
        }
    }

    #[test]
    fn the_airbyte_table_reads_its_secret_from_a_file() {
        let dir = std::env::temp_dir().join(format!("syncwatch-abfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "hunter2-secret\n").unwrap();
        let text = format!(
            "[airbyte]\nurl = \"http://airbyte:8000\"\nclient_id = \"app\"\nclient_secret_file = {:?}\nconnection = \"pg to pg\"\n",
            secret.display().to_string()
        );
        let mut parts = crate::config::AirbyteParts::default();
        parse(&text)
            .unwrap()
            .airbyte
            .unwrap()
            .apply(&mut parts)
            .unwrap();
        assert_eq!(parts.url.as_deref(), Some("http://airbyte:8000"));
        assert_eq!(parts.connection.as_deref(), Some("pg to pg"));
        assert_eq!(
            parts.client_secret.as_ref().unwrap().expose(),
            "hunter2-secret"
        );
        assert!(!format!("{parts:?}").contains("hunter2"));
        let missing = "[airbyte]\nclient_secret_file = \"/nonexistent/secret\"\n";
        let e = parse(missing)
            .unwrap()
            .airbyte
            .unwrap()
            .apply(&mut crate::config::AirbyteParts::default())
            .unwrap_err();
        assert!(
            e.0.starts_with("config `airbyte.client_secret_file` /nonexistent/secret:"),
            "{e}"
        );
        let e = parse("[airbyte]\nsecret = \"x\"\n").unwrap_err();
        assert!(e.contains("secret"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unknown_key_is_named_with_its_line() {
        let e = parse("slot = \"x\"\npublicaton = \"p\"\n").unwrap_err();
        assert!(e.starts_with("line 2: unknown field `publicaton`"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn wrong_type_and_bad_values_are_refused() {
        assert!(
            parse("poll_interval_ms = \"fast\"")
                .unwrap_err()
                .contains("line 1")
        );
        let f = parse("engine = \"kafka\"").unwrap();
        let e = f
            .apply(&mut Settings::default(), &mut [false; 2])
            .unwrap_err();
        assert!(e.0.starts_with("config `engine`: bad engine"));
        let f = parse("source = \"postgresql://h:70000/db\"").unwrap();
        let e = f
            .apply(&mut Settings::default(), &mut [false; 2])
            .unwrap_err();
        assert!(e.0.contains("config `source`: bad port `70000`"), "{e}");
    }

    #[test]
    fn file_is_weaker_than_environment_and_flags() {
        let dir = std::env::temp_dir().join(format!("syncwatch-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(
            &path,
            "source = \"host=filehost port=1111\"\ndestination = \"host=filedst\"\nengine = \"native\"\nslot = \"fileslot\"\n",
        )
        .unwrap();
        let o = Overrides {
            config_file: Some(path),
            slot: Some("flagslot".into()),
            ..Default::default()
        };
        let env = |k: &str| (k == "SYNCWATCH_SOURCE").then(|| "port=2222".to_string());
        let s = Settings::load_with_env(&o, &env).unwrap();
        assert_eq!(s.source.address(), "filehost:2222");
        assert_eq!(s.dest.address(), "filedst:5433");
        assert_eq!(s.engine, Engine::Native);
        assert_eq!(s.slot, "flagslot");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_names_the_file() {
        let o = Overrides {
            config_file: Some("/nonexistent/syncwatch.toml".into()),
            ..Default::default()
        };
        let e = Settings::load_with_env(&o, &|_| None).unwrap_err();
        assert!(
            e.0.starts_with("config file /nonexistent/syncwatch.toml:"),
            "{e}"
        );
    }
}
