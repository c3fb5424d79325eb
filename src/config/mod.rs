//! Settings: where the two databases are, what the sync's objects are called, how often to
//! look. Layers, weakest first: built-in defaults (the guide's), the TOML file
//! (`--config`), the environment (`SYNCWATCH_SOURCE`, `SYNCWATCH_DEST`, `PGPASSWORD`,
//! `.pgpass`), then command-line flags.

pub mod conninfo;
pub mod file;
pub mod pgpass;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use conninfo::ConnParams;

pub const DEFAULT_USER: &str = "airbyte";
pub const DEFAULT_PASSWORD: &str = "airbyte";
pub const DEFAULT_DBNAME: &str = "tasks_list";
pub const DEFAULT_SOURCE_PORT: u16 = 5432;
pub const DEFAULT_DEST_PORT: u16 = 5433;
pub const DEFAULT_SLOT: &str = "airbyte_slot";
pub const DEFAULT_PUBLICATION: &str = "airbyte_publication";
pub const DEFAULT_SUBSCRIPTION: &str = "airbyte_subscription";
pub const DEFAULT_SCHEMA: &str = "public";
/// Where a local Airbyte (abctl) answers.
pub const DEFAULT_AIRBYTE_URL: &str = "http://localhost:8000";

/// A password. Its `Debug` and `Display` never show it; only [`Secret::expose`] does, and
/// only the connection layer calls that.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(********)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("********")
    }
}

/// libpq's `sslmode` values that syncwatch honours (`allow` is folded into `prefer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "bad sslmode{}: expected disable, prefer, require, verify-ca or verify-full",
                    conninfo::shown(other)
                ));
            }
        })
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// Where the password in use came from, so an authentication error can say where to look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    ConnectionString,
    PgPasswordEnv,
    PgPassFile,
    Default,
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PasswordSource::ConnectionString => "the connection string",
            PasswordSource::PgPasswordEnv => "PGPASSWORD",
            PasswordSource::PgPassFile => ".pgpass",
            PasswordSource::Default => "the default (airbyte)",
        })
    }
}

/// One database to connect to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// A host name, an IP address, or a unix-socket directory (starts with `/`).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub dbname: String,
    pub password: Option<Secret>,
    pub password_source: PasswordSource,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Duration,
}

impl Endpoint {
    pub fn default_with_port(port: u16) -> Self {
        Endpoint {
            host: "localhost".to_string(),
            port,
            user: DEFAULT_USER.to_string(),
            dbname: DEFAULT_DBNAME.to_string(),
            password: Some(Secret::new(DEFAULT_PASSWORD)),
            password_source: PasswordSource::Default,
            sslmode: SslMode::Prefer,
            sslrootcert: None,
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// `host:port`, as a person names a server.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// A libpq `key=value` string; the password is replaced by `********` unless asked for.
    pub fn conninfo(&self, show_password: bool) -> String {
        let shown = self.password.as_ref().map(|p| {
            if show_password {
                p.expose()
            } else {
                "********"
            }
        });
        self.conninfo_with(shown)
    }

    /// The same without any password, for a child process's command line (which every
    /// user can read): the child takes it from `PGPASSWORD`, `~/.pgpass` or the default.
    pub fn conninfo_without_password(&self) -> String {
        self.conninfo_with(None)
    }

    fn conninfo_with(&self, password: Option<&str>) -> String {
        let mut parts = vec![
            format!("host={}", quote_conninfo(&self.host)),
            format!("port={}", self.port),
            format!("user={}", quote_conninfo(&self.user)),
            format!("dbname={}", quote_conninfo(&self.dbname)),
        ];
        if let Some(p) = password {
            parts.push(format!("password={}", quote_conninfo(p)));
        }
        if self.sslmode != SslMode::Prefer {
            parts.push(format!("sslmode={}", self.sslmode));
        }
        parts.join(" ")
    }

    fn apply(&mut self, p: ConnParams) {
        if let Some(v) = p.host {
            self.host = v;
        }
        if let Some(v) = p.port {
            self.port = v;
        }
        if let Some(v) = p.user {
            self.user = v;
        }
        if let Some(v) = p.dbname {
            self.dbname = v;
        }
        if let Some(v) = p.password {
            self.password = Some(v);
            self.password_source = PasswordSource::ConnectionString;
        }
        if let Some(v) = p.sslmode {
            self.sslmode = v;
        }
        if let Some(v) = p.sslrootcert {
            self.sslrootcert = Some(v);
        }
        if let Some(v) = p.connect_timeout {
            self.connect_timeout = v;
        }
    }
}

/// `user@host:port/db`: what the header and logs show. Never the password.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}/{}", self.user, self.address(), self.dbname)
    }
}

fn quote_conninfo(value: &str) -> String {
    if !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\')
    {
        return value.to_string();
    }
    let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
    format!("'{escaped}'")
}

/// Who consumes the slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Engine {
    /// Airbyte's Postgres source in CDC mode.
    #[default]
    Airbyte,
    /// A PostgreSQL subscription on the destination.
    Native,
}

impl FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "airbyte" => Ok(Engine::Airbyte),
            "native" => Ok(Engine::Native),
            other => Err(format!("bad engine `{other}`: expected airbyte or native")),
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Airbyte => "airbyte",
            Engine::Native => "native",
        })
    }
}

/// Airbyte's public API, when configured: where it answers, as which application, and
/// which connection reads the slot. Optional: without it syncwatch works from the
/// databases alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AirbyteApi {
    /// Without a trailing `/`; the API lives under `/api/public/v1`.
    pub url: String,
    pub client_id: Option<String>,
    /// From the environment or a file, never a flag (a command line is public).
    pub client_secret: Option<Secret>,
    /// The connection's id, or its name (looked up through the API).
    pub connection: String,
}

/// The API settings as the layers give them, checked whole by [`AirbyteParts::resolve`].
#[derive(Clone, Debug, Default)]
pub(crate) struct AirbyteParts {
    pub url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub connection: Option<String>,
}

impl AirbyteParts {
    fn resolve(self) -> Result<Option<AirbyteApi>, ConfigError> {
        if self.url.is_none()
            && self.client_id.is_none()
            && self.client_secret.is_none()
            && self.connection.is_none()
        {
            return Ok(None);
        }
        let Some(connection) = self.connection else {
            return Err(ConfigError(
                "airbyte: no connection — set [airbyte] connection, SYNCWATCH_AIRBYTE_CONNECTION or --airbyte-connection to its id or its name".into(),
            ));
        };
        let url = self.url.unwrap_or_else(|| DEFAULT_AIRBYTE_URL.to_string());
        let url = url.trim().trim_end_matches('/').to_string();
        // The same parse the client uses: a URL that passes here is one it can ask.
        crate::model::airbyte::ApiUrl::parse(&url).map_err(ConfigError)?;
        match (&self.client_id, &self.client_secret) {
            (Some(_), None) => {
                return Err(ConfigError(
                    "airbyte: a client_id but no secret — put it in SYNCWATCH_AIRBYTE_CLIENT_SECRET or in the file [airbyte] client_secret_file names".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(ConfigError(
                    "airbyte: a client secret but no client_id — set [airbyte] client_id or SYNCWATCH_AIRBYTE_CLIENT_ID".into(),
                ));
            }
            _ => {}
        }
        Ok(Some(AirbyteApi {
            url,
            client_id: self.client_id,
            client_secret: self.client_secret,
            connection: non_empty("airbyte connection", &connection)?,
        }))
    }
}

/// Everything syncwatch needs to know, resolved from all layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub source: Endpoint,
    pub dest: Endpoint,
    pub slot: String,
    pub publication: String,
    pub subscription: String,
    pub schema: String,
    /// Airbyte: the destination's schema (its destination-defined namespace); `None`:
    /// the source table's own schema.
    pub dest_schema: Option<String>,
    /// Airbyte: the stream prefix prepended to each destination table's name.
    pub dest_prefix: String,
    pub engine: Engine,
    /// Airbyte: the connection's schedule. `None`: judged from the syncs seen.
    pub sync_interval: Option<Duration>,
    pub poll_interval: Duration,
    pub statement_timeout: Duration,
    /// Tables estimated above this many rows show the planner's estimate, marked `≈`.
    pub exact_count_max_rows: u64,
    pub retained_wal_warning_bytes: u64,
    pub retained_wal_critical_bytes: u64,
    /// Retained WAL that will break something (invalidate the slot, or reach the
    /// critical threshold) within this long at its current growth warns…
    pub forecast_warning: Duration,
    /// …and within this long is critical.
    pub forecast_critical: Duration,
    /// How much of the slot's history the live view keeps (its charts' window).
    pub history: Duration,
    /// `serve`: at most this many tables of the pair get per-table series.
    pub metrics_max_tables: usize,
    pub read_only: bool,
    /// Airbyte's API, when configured.
    pub airbyte: Option<AirbyteApi>,
    /// Things worth telling the user that are not errors (e.g. an open `.pgpass`).
    pub warnings: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            source: Endpoint::default_with_port(DEFAULT_SOURCE_PORT),
            dest: Endpoint::default_with_port(DEFAULT_DEST_PORT),
            slot: DEFAULT_SLOT.to_string(),
            publication: DEFAULT_PUBLICATION.to_string(),
            subscription: DEFAULT_SUBSCRIPTION.to_string(),
            schema: DEFAULT_SCHEMA.to_string(),
            dest_schema: None,
            dest_prefix: String::new(),
            engine: Engine::Airbyte,
            sync_interval: None,
            poll_interval: Duration::from_secs(1),
            statement_timeout: Duration::from_secs(5),
            exact_count_max_rows: 1_000_000,
            retained_wal_warning_bytes: 1 << 30,
            retained_wal_critical_bytes: 10 << 30,
            forecast_warning: Duration::from_secs(6 * 3600),
            forecast_critical: Duration::from_secs(3600),
            history: Duration::from_secs(3600),
            metrics_max_tables: DEFAULT_METRICS_MAX_TABLES,
            read_only: false,
            airbyte: None,
            warnings: Vec::new(),
        }
    }
}

/// What the command line said; `None` leaves the lower layers' value.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub source: Option<String>,
    pub dest: Option<String>,
    pub slot: Option<String>,
    pub publication: Option<String>,
    pub schema: Option<String>,
    pub dest_schema: Option<String>,
    pub dest_prefix: Option<String>,
    pub engine: Option<String>,
    pub sync_interval: Option<String>,
    pub airbyte_url: Option<String>,
    pub airbyte_connection: Option<String>,
    pub read_only: bool,
    /// `--pair NAME`: only this `[[pair]]` of the config file.
    pub pair: Option<String>,
}

/// `serve`'s cap on tables with series, per pair: 10 000 tables × 10 series would swamp a
/// Prometheus; the tables left out are counted in `syncwatch_tables_omitted`.
pub const DEFAULT_METRICS_MAX_TABLES: usize = 2000;

/// The name of the one pair a config without `[[pair]]` describes.
pub const DEFAULT_PAIR: &str = "default";

/// One sync to watch: a source, a destination and everything between, by name.
#[derive(Clone, Debug)]
pub struct Pair {
    pub name: String,
    pub settings: Settings,
}

/// A setting that could not be used. One line, names the setting, safe to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl From<conninfo::ConnInfoError> for ConfigError {
    fn from(e: conninfo::ConnInfoError) -> Self {
        ConfigError(e.to_string())
    }
}

/// Every pair the configuration describes, after `--pair`.
pub fn load_pairs(overrides: &Overrides) -> Result<Vec<Pair>, ConfigError> {
    load_pairs_with_env(overrides, &|k| std::env::var(k).ok())
}

/// The same with `env` standing for the process environment (tests pass a map).
///
/// Layers, weakest first: defaults, the file's top-level keys, the pair's own keys, the
/// environment, flags. The environment and flags apply to every pair selected, except
/// those that name one pair's objects (`--source`, `--dest`, `--slot`, `--publication`,
/// `--airbyte-connection` and their variables): with several pairs selected they are
/// refused rather than applied to all, which would point every pair at one server.
pub fn load_pairs_with_env(
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Pair>, ConfigError> {
    let mut top = match &overrides.config_file {
        Some(path) => file::load(path)?,
        None => file::FileConfig::default(),
    };
    let entries = std::mem::take(&mut top.pair);
    if entries.is_empty() {
        let name = top.name.take().unwrap_or_else(|| DEFAULT_PAIR.to_string());
        let name = pair_name("config `name`", &name)?;
        if let Some(want) = &overrides.pair
            && *want != name
        {
            return Err(ConfigError(format!(
                "--pair {want:?}: the configuration has one pair, {name:?}"
            )));
        }
        let settings = resolve(&[top], overrides, env)?;
        return Ok(vec![Pair { name, settings }]);
    }
    if top.name.is_some() {
        return Err(ConfigError(
            "config `name`: with [[pair]] entries, each pair has its own name".into(),
        ));
    }
    let mut names: Vec<String> = Vec::new();
    for (i, p) in entries.iter().enumerate() {
        let Some(name) = &p.name else {
            return Err(ConfigError(format!(
                "config [[pair]] #{}: no name — give each pair a `name`",
                i + 1
            )));
        };
        let name = pair_name("config [[pair]] `name`", name)?;
        if !p.pair.is_empty() {
            return Err(ConfigError(format!(
                "config [[pair]] {name:?}: a pair cannot hold pairs"
            )));
        }
        if names.contains(&name) {
            return Err(ConfigError(format!(
                "config [[pair]] {name:?}: two pairs have this name"
            )));
        }
        names.push(name);
    }
    let chosen: Vec<(String, file::FileConfig)> = match &overrides.pair {
        Some(want) => {
            let Some(i) = names.iter().position(|n| n == want) else {
                return Err(ConfigError(format!(
                    "--pair {want:?}: no such pair; the configuration has {}",
                    names.join(", ")
                )));
            };
            vec![(names[i].clone(), entries[i].clone())]
        }
        None => names.into_iter().zip(entries).collect(),
    };
    if chosen.len() > 1 {
        one_pair_only(overrides, env, chosen.len())?;
    }
    chosen
        .into_iter()
        .map(|(name, entry)| {
            let settings = resolve(&[top.clone(), entry], overrides, env)
                .map_err(|e| ConfigError(format!("pair {name:?}: {e}")))?;
            Ok(Pair { name, settings })
        })
        .collect()
}

/// A pair's name goes in metric labels and on screen: printable, one line, not empty.
fn pair_name(setting: &str, v: &str) -> Result<String, ConfigError> {
    let v = non_empty(setting, v.trim())?;
    if v.chars().any(char::is_control) {
        return Err(ConfigError(format!(
            "{setting} {v:?}: control characters are not allowed"
        )));
    }
    Ok(v)
}

/// Refuses the flags and variables that name one pair's objects when several pairs are
/// selected.
fn one_pair_only(
    o: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    n: usize,
) -> Result<(), ConfigError> {
    let flags = [
        ("--source", o.source.is_some()),
        ("--dest", o.dest.is_some()),
        ("--slot", o.slot.is_some()),
        ("--publication", o.publication.is_some()),
        ("--airbyte-connection", o.airbyte_connection.is_some()),
    ];
    let vars = [
        "SYNCWATCH_SOURCE",
        "SYNCWATCH_DEST",
        "SYNCWATCH_AIRBYTE_CONNECTION",
    ];
    let given = flags
        .iter()
        .filter(|(_, set)| *set)
        .map(|(f, _)| *f)
        .chain(
            vars.iter()
                .copied()
                .filter(|v| env(v).is_some_and(|x| !x.trim().is_empty())),
        )
        .next();
    match given {
        Some(what) => Err(ConfigError(format!(
            "{what} names one pair's server or objects, and the configuration has {n} pairs: add --pair NAME, or set it in that [[pair]]"
        ))),
        None => Ok(()),
    }
}

impl Settings {
    /// The settings of the one pair selected (the only one, or `--pair`'s), from the real
    /// environment. Commands that work on one pair use this.
    pub fn load(overrides: &Overrides) -> Result<Settings, ConfigError> {
        Self::load_with_env(overrides, &|k| std::env::var(k).ok())
    }

    /// The same with `env` standing for the process environment (tests pass a map).
    pub fn load_with_env(
        overrides: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        only_pair(&load_pairs_with_env(overrides, env)?)
    }
}

/// The settings of the one pair in `pairs`; with several, which to choose.
pub fn only_pair(pairs: &[Pair]) -> Result<Settings, ConfigError> {
    match pairs {
        [one] => Ok(one.settings.clone()),
        many => {
            let names: Vec<&str> = many.iter().map(|p| p.name.as_str()).collect();
            Err(ConfigError(format!(
                "the configuration has {} pairs ({}): choose one with --pair NAME",
                many.len(),
                names.join(", ")
            )))
        }
    }
}

/// One pair's settings: `layers` of the file in order (top level, then the pair's own),
/// then the environment and the flags.
fn resolve(
    layers: &[file::FileConfig],
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    let mut s = Settings::default();
    // Passwords found in lower layers are tracked per side to know what to fall back on.
    let mut explicit = [false, false];

    let mut airbyte = AirbyteParts::default();
    for layer in layers {
        let mut f = layer.clone();
        if let Some(a) = f.airbyte.take() {
            a.apply(&mut airbyte)?;
        }
        f.apply(&mut s, &mut explicit)?;
    }

    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if let Some(v) = env("SYNCWATCH_AIRBYTE_URL") {
        airbyte.url = Some(v);
    }
    if let Some(v) = env("SYNCWATCH_AIRBYTE_CLIENT_ID") {
        airbyte.client_id = Some(v);
    }
    if let Some(v) = env("SYNCWATCH_AIRBYTE_CLIENT_SECRET") {
        airbyte.client_secret = Some(Secret::new(v.trim()));
    }
    if let Some(v) = env("SYNCWATCH_AIRBYTE_CONNECTION") {
        airbyte.connection = Some(v);
    }
    if let Some(v) = &overrides.airbyte_url {
        airbyte.url = Some(v.clone());
    }
    if let Some(v) = &overrides.airbyte_connection {
        airbyte.connection = Some(v.clone());
    }
    s.airbyte = airbyte.resolve()?;
    for (i, (var, flag)) in [
        ("SYNCWATCH_SOURCE", "--source"),
        ("SYNCWATCH_DEST", "--dest"),
    ]
    .into_iter()
    .enumerate()
    {
        let side = if i == 0 { &mut s.source } else { &mut s.dest };
        if let Some(text) = env(var) {
            let p = conninfo::parse(var, &text)?;
            explicit[i] |= p.password.is_some();
            side.apply(p);
        }
        let flag_value = if i == 0 {
            &overrides.source
        } else {
            &overrides.dest
        };
        if let Some(text) = flag_value {
            let p = conninfo::parse(flag, text)?;
            explicit[i] |= p.password.is_some();
            side.apply(p);
        }
    }

    if let Some(v) = &overrides.slot {
        s.slot = non_empty("--slot", v)?;
    }
    if let Some(v) = &overrides.publication {
        s.publication = non_empty("--publication", v)?;
    }
    if let Some(v) = &overrides.schema {
        s.schema = non_empty("--schema", v)?;
    }
    if let Some(v) = &overrides.dest_schema {
        s.dest_schema = Some(non_empty("--dest-schema", v)?);
    }
    if let Some(v) = &overrides.dest_prefix {
        s.dest_prefix = v.clone();
    }
    if let Some(v) = &overrides.engine {
        s.engine = v
            .parse()
            .map_err(|e| ConfigError(format!("--engine: {e}")))?;
    }
    if let Some(v) = &overrides.sync_interval {
        s.sync_interval = Some(duration("--sync-interval", v)?);
    }
    s.read_only |= overrides.read_only;

    // Passwords not given explicitly: PGPASSWORD, then .pgpass, then the default.
    let pgpass_path = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".pgpass")));
    for (i, side) in [&mut s.source, &mut s.dest].into_iter().enumerate() {
        if explicit[i] {
            continue;
        }
        if let Some(p) = env("PGPASSWORD") {
            side.password = Some(Secret::new(p));
            side.password_source = PasswordSource::PgPasswordEnv;
            continue;
        }
        if let Some(path) = &pgpass_path {
            let found = pgpass::lookup(path, &side.host, side.port, &side.dbname, &side.user);
            if let Some(w) = found.warning
                && !s.warnings.contains(&w)
            {
                s.warnings.push(w);
            }
            if let Some(p) = found.password {
                side.password = Some(p);
                side.password_source = PasswordSource::PgPassFile;
            }
        }
    }
    file::validate(&s)?;
    Ok(s)
}

/// A duration as people write it: `90s`, `15m`, `1h`, `1h30m`, `2d`.
pub(crate) fn duration(setting: &str, v: &str) -> Result<Duration, ConfigError> {
    let bad = || {
        ConfigError(format!(
            "{setting}: {v:?} is not a duration — write it like 90s, 15m, 1h or 1h30m"
        ))
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in v.trim().chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|x| total.checked_add(x))
            .ok_or_else(bad)?;
        digits.clear();
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

pub(crate) fn non_empty(setting: &str, v: &str) -> Result<String, ConfigError> {
    if v.is_empty() {
        Err(ConfigError(format!("{setting}: must not be empty")))
    } else {
        Ok(v.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn defaults_are_the_guides() {
        let s = Settings::load_with_env(&Overrides::default(), &env_of(&[])).unwrap();
        assert_eq!(s.source.address(), "localhost:5432");
        assert_eq!(s.dest.address(), "localhost:5433");
        assert_eq!(s.source.user, "airbyte");
        assert_eq!(s.source.password.as_ref().unwrap().expose(), "airbyte");
        assert_eq!(s.source.password_source, PasswordSource::Default);
        assert_eq!(s.dest.dbname, "tasks_list");
        assert_eq!(s.slot, "airbyte_slot");
        assert_eq!(s.publication, "airbyte_publication");
        assert_eq!(s.schema, "public");
        assert_eq!(s.engine, Engine::Airbyte);
    }

    #[test]
    fn flags_beat_environment_which_beats_defaults() {
        let env = env_of(&[
            (
                "SYNCWATCH_SOURCE",
                "postgresql://envuser@envhost:6000/envdb",
            ),
            ("SYNCWATCH_DEST", "host=dsthost port=7000"),
        ]);
        let o = Overrides {
            source: Some("port=6001".into()),
            engine: Some("native".into()),
            slot: Some("s2".into()),
            ..Default::default()
        };
        let s = Settings::load_with_env(&o, &env).unwrap();
        assert_eq!(s.source.host, "envhost");
        assert_eq!(s.source.port, 6001);
        assert_eq!(s.source.user, "envuser");
        assert_eq!(s.source.dbname, "envdb");
        assert_eq!(s.dest.address(), "dsthost:7000");
        assert_eq!(s.dest.user, "airbyte");
        assert_eq!(s.engine, Engine::Native);
        assert_eq!(s.slot, "s2");
    }

    #[test]
    fn pgpassword_replaces_the_default_but_not_an_explicit_password() {
        let env = env_of(&[
            ("PGPASSWORD", "fromenv"),
            ("SYNCWATCH_DEST", "postgresql://u:explicit@h/db"),
        ]);
        let s = Settings::load_with_env(&Overrides::default(), &env).unwrap();
        assert_eq!(s.source.password.as_ref().unwrap().expose(), "fromenv");
        assert_eq!(s.source.password_source, PasswordSource::PgPasswordEnv);
        assert_eq!(s.dest.password.as_ref().unwrap().expose(), "explicit");
        assert_eq!(s.dest.password_source, PasswordSource::ConnectionString);
    }

    #[test]
    fn pgpass_is_used_when_nothing_else_gives_a_password() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("syncwatch-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pgpass");
        std::fs::write(&path, "localhost:5433:tasks_list:airbyte:frompgpass\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let env = env_of(&[("PGPASSFILE", path.to_str().unwrap())]);
        let s = Settings::load_with_env(&Overrides::default(), &env).unwrap();
        assert_eq!(s.dest.password.as_ref().unwrap().expose(), "frompgpass");
        assert_eq!(s.dest.password_source, PasswordSource::PgPassFile);
        // The source (port 5432) has no line: it keeps the default.
        assert_eq!(s.source.password_source, PasswordSource::Default);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_environment_value_names_the_variable() {
        let env = env_of(&[("SYNCWATCH_DEST", "postgresql://h:0/db")]);
        let e = Settings::load_with_env(&Overrides::default(), &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SYNCWATCH_DEST: bad port `0`: expected a number from 1 to 65535"
        );
        let o = Overrides {
            engine: Some("kafka".into()),
            ..Default::default()
        };
        let e = Settings::load_with_env(&o, &env_of(&[])).unwrap_err();
        assert!(e.to_string().starts_with("--engine: bad engine `kafka`"));
    }

    #[test]
    fn no_password_in_debug_or_display() {
        let env = env_of(&[("SYNCWATCH_SOURCE", "postgresql://u:hunter2@h/db")]);
        let s = Settings::load_with_env(&Overrides::default(), &env).unwrap();
        let shown = [
            format!("{s:?}"),
            format!("{:#?}", s),
            s.source.to_string(),
            s.source.conninfo(false),
            format!("{}", s.source.password.as_ref().unwrap()),
        ];
        for text in shown {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert!(s.source.conninfo(true).contains("password=hunter2"));
        let child = s.source.conninfo_without_password();
        assert!(!child.contains("password"), "{child}");
        assert_eq!(
            child,
            s.source.conninfo(false).replace(" password=********", "")
        );
    }

    #[test]
    fn airbyte_api_settings_layer_and_never_show_the_secret() {
        let none = Settings::load_with_env(&Overrides::default(), &env_of(&[])).unwrap();
        assert_eq!(none.airbyte, None, "optional: nothing set, nothing asked");
        let env = env_of(&[
            ("SYNCWATCH_AIRBYTE_CLIENT_ID", "app"),
            ("SYNCWATCH_AIRBYTE_CLIENT_SECRET", "s3cr3t-value\n"),
            ("SYNCWATCH_AIRBYTE_CONNECTION", "from-env"),
        ]);
        let o = Overrides {
            airbyte_connection: Some("9924bcd0-99be-453d-ba47-c2c9766f7da5".into()),
            ..Default::default()
        };
        let s = Settings::load_with_env(&o, &env).unwrap();
        let a = s.airbyte.clone().unwrap();
        assert_eq!(a.url, DEFAULT_AIRBYTE_URL);
        assert_eq!(
            a.connection, "9924bcd0-99be-453d-ba47-c2c9766f7da5",
            "the flag wins"
        );
        assert_eq!(a.client_secret.as_ref().unwrap().expose(), "s3cr3t-value");
        for text in [format!("{s:?}"), format!("{a:#?}")] {
            assert!(!text.contains("s3cr3t"), "{text}");
        }
        let e = Settings::load_with_env(
            &Overrides::default(),
            &env_of(&[("SYNCWATCH_AIRBYTE_URL", "http://h:8000/")]),
        )
        .unwrap_err();
        assert!(e.0.starts_with("airbyte: no connection"), "{e}");
        let e = Settings::load_with_env(
            &Overrides::default(),
            &env_of(&[
                ("SYNCWATCH_AIRBYTE_CONNECTION", "c"),
                ("SYNCWATCH_AIRBYTE_CLIENT_ID", "app"),
            ]),
        )
        .unwrap_err();
        assert!(e.0.contains("no secret"), "{e}");
        let o = Overrides {
            airbyte_url: Some("localhost:8000".into()),
            airbyte_connection: Some("c".into()),
            ..Default::default()
        };
        let e = Settings::load_with_env(&o, &env_of(&[])).unwrap_err();
        assert!(e.0.contains("expected http://host"), "{e}");
        let o = Overrides {
            airbyte_url: Some("https://api.airbyte.com/".into()),
            airbyte_connection: Some("c".into()),
            ..Default::default()
        };
        let s = Settings::load_with_env(&o, &env_of(&[])).unwrap();
        assert_eq!(s.airbyte.unwrap().url, "https://api.airbyte.com");
    }

    #[test]
    fn conninfo_round_trips_through_the_parser() {
        let mut e = Endpoint::default_with_port(5999);
        e.user = "a b".into();
        e.password = Some(Secret::new("it's"));
        let p = conninfo::parse("x", &e.conninfo(true)).unwrap();
        assert_eq!(p.user.as_deref(), Some("a b"));
        assert_eq!(p.password.unwrap().expose(), "it's");
        assert_eq!(p.port, Some(5999));
    }

    fn pairs_file(text: &str) -> (PathBuf, Overrides) {
        let dir = std::env::temp_dir().join(format!(
            "syncwatch-pairs-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pairs.toml");
        std::fs::write(&path, text).unwrap();
        let o = Overrides {
            config_file: Some(path.clone()),
            ..Default::default()
        };
        (path, o)
    }

    const TWO: &str = r#"
engine = "native"
retained_wal_critical_mb = 2048
destination = "host=dst.example"

[[pair]]
name = "orders"
source = "host=db1 dbname=orders"
slot = "orders_slot"

[[pair]]
name = "billing"
source = "host=db1 dbname=billing"
engine = "airbyte"
retained_wal_warning_mb = 4096
retained_wal_critical_mb = 8192
"#;

    #[test]
    fn pairs_take_the_top_level_as_defaults_and_their_own_keys_over_it() {
        let (_, o) = pairs_file(TWO);
        let pairs = load_pairs_with_env(&o, &env_of(&[])).unwrap();
        let names: Vec<&str> = pairs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["orders", "billing"]);
        let (orders, billing) = (&pairs[0].settings, &pairs[1].settings);
        assert_eq!(orders.source.address(), "db1:5432");
        assert_eq!(orders.source.dbname, "orders");
        assert_eq!(
            orders.dest.address(),
            "dst.example:5433",
            "a top-level default"
        );
        assert_eq!(orders.slot, "orders_slot");
        assert_eq!(billing.slot, DEFAULT_SLOT);
        assert_eq!(
            (orders.engine, billing.engine),
            (Engine::Native, Engine::Airbyte)
        );
        assert_eq!(orders.retained_wal_critical_bytes, 2048 << 20);
        // The pair's warning (4 GB) is above the top level's critical (2 GB): judged once
        // every layer is in, so it holds.
        assert_eq!(billing.retained_wal_warning_bytes, 4096 << 20);

        // --pair picks one; the flags that name one pair's objects then apply to it.
        let one = Overrides {
            pair: Some("billing".into()),
            slot: Some("flag_slot".into()),
            ..o.clone()
        };
        let s = Settings::load_with_env(&one, &env_of(&[])).unwrap();
        assert_eq!(
            (s.source.dbname.as_str(), s.slot.as_str()),
            ("billing", "flag_slot")
        );

        // Without --pair, a one-pair command is told to choose.
        let e = Settings::load_with_env(&o, &env_of(&[])).unwrap_err();
        assert!(
            e.0.contains("2 pairs (orders, billing): choose one with --pair"),
            "{e}"
        );
        // And flags that would point every pair at one server are refused.
        for (o, what) in [
            (
                Overrides {
                    source: Some("host=x".into()),
                    ..o.clone()
                },
                "--source",
            ),
            (
                Overrides {
                    slot: Some("s".into()),
                    ..o.clone()
                },
                "--slot",
            ),
        ] {
            let e = load_pairs_with_env(&o, &env_of(&[])).unwrap_err();
            assert!(e.0.starts_with(what) && e.0.contains("--pair NAME"), "{e}");
        }
        let e = load_pairs_with_env(&o, &env_of(&[("SYNCWATCH_DEST", "host=y")])).unwrap_err();
        assert!(e.0.starts_with("SYNCWATCH_DEST"), "{e}");
        // Flags that are not one pair's apply to all.
        let ro = Overrides {
            read_only: true,
            ..o.clone()
        };
        assert!(
            load_pairs_with_env(&ro, &env_of(&[]))
                .unwrap()
                .iter()
                .all(|p| p.settings.read_only)
        );
    }

    #[test]
    fn bad_pairs_are_one_line_naming_the_pair() {
        for (text, want) in [
            ("[[pair]]\nslot = \"s\"\n", "config [[pair]] #1: no name"),
            (
                "[[pair]]\nname = \"a\"\n[[pair]]\nname = \"a\"\n",
                "config [[pair]] \"a\": two pairs have this name",
            ),
            (
                "name = \"top\"\n[[pair]]\nname = \"a\"\n",
                "config `name`: with [[pair]] entries",
            ),
            (
                "[[pair]]\nname = \"a\"\nsource = \"port=70000\"\n",
                "pair \"a\": config `source`: bad port",
            ),
            ("[[pair]]\nname = \"a\\nb\"\n", "control characters"),
        ] {
            let (_, o) = pairs_file(text);
            let e = load_pairs_with_env(&o, &env_of(&[])).unwrap_err();
            assert!(e.0.contains(want), "{text:?}: {e}");
            assert!(!e.0.contains('\n'), "{e}");
        }
        let (_, o) = pairs_file(TWO);
        let e = load_pairs_with_env(
            &Overrides {
                pair: Some("nope".into()),
                ..o
            },
            &env_of(&[]),
        )
        .unwrap_err();
        assert!(
            e.0.contains("no such pair; the configuration has orders, billing"),
            "{e}"
        );
    }

    #[test]
    fn without_pairs_the_one_pair_is_named_default() {
        let pairs = load_pairs_with_env(&Overrides::default(), &env_of(&[])).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].name, DEFAULT_PAIR);
        let e = load_pairs_with_env(
            &Overrides {
                pair: Some("x".into()),
                ..Default::default()
            },
            &env_of(&[]),
        )
        .unwrap_err();
        assert!(e.0.contains("one pair, \"default\""), "{e}");
    }
}
