//! Parsing of libpq connection strings — `postgresql://` URIs and `key=value` lists — into
//! a partial endpoint. Errors name the setting and the offending part, never the password.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::{Secret, SslMode};

/// The fields a connection string may set; `None` means "not said here".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnParams {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub dbname: Option<String>,
    pub sslmode: Option<SslMode>,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
}

/// Why a connection string was refused. `Display` is one line and safe to print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnInfoError {
    /// Which setting held the string, e.g. `source (--source / SYNCWATCH_SOURCE)`.
    pub setting: String,
    pub reason: String,
}

impl fmt::Display for ConnInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.reason)
    }
}

impl std::error::Error for ConnInfoError {}

/// Parses a URI (`postgresql://…` or `postgres://…`) or a `key=value` list.
pub fn parse(setting: &str, text: &str) -> Result<ConnParams, ConnInfoError> {
    let err = |reason: String| ConnInfoError {
        setting: setting.to_string(),
        reason,
    };
    let trimmed = text.trim();
    if let Some(rest) = trimmed
        .strip_prefix("postgresql://")
        .or_else(|| trimmed.strip_prefix("postgres://"))
    {
        parse_uri(rest).map_err(err)
    } else if trimmed.contains("://") {
        Err(err(
            "a URI must start with postgresql:// or postgres://".to_string()
        ))
    } else {
        parse_key_values(trimmed).map_err(err)
    }
}

fn parse_uri(rest: &str) -> Result<ConnParams, String> {
    let mut params = ConnParams::default();
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (before_query, None),
    };
    // The password may itself contain '@' only percent-encoded, so the last '@' splits.
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            params.user = Some(decode(user, "user name")?);
        }
        if let Some(p) = password {
            // Never echo the password, even when its encoding is bad.
            let p =
                decode(p, "password").map_err(|_| "bad %-encoding in the password".to_string())?;
            params.password = Some(Secret::new(p));
        }
    }
    if !hostport.is_empty() {
        if hostport.contains(',') {
            return Err("several hosts are not supported; give one host".to_string());
        }
        let (host, port) = split_host_port(hostport)?;
        if !host.is_empty() {
            params.host = Some(decode(host, "host")?);
        }
        if let Some(port) = port {
            params.port = Some(parse_port(port)?);
        }
    }
    if let Some(path) = path
        && !path.is_empty()
    {
        params.dbname = Some(decode(path, "database name")?);
    }
    if let Some(query) = query {
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| "a URI parameter has no `=value`".to_string())?;
            let key = decode(key, "parameter name")?;
            let value = if key == "password" {
                decode(value, "password")
                    .map_err(|_| "bad %-encoding in the password".to_string())?
            } else {
                decode(value, &key)?
            };
            set(&mut params, &key, value)?;
        }
    }
    Ok(params)
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "unclosed `[` in an IPv6 host".to_string())?;
        return match after {
            "" => Ok((host, None)),
            p if p.starts_with(':') => Ok((host, Some(&p[1..]))),
            _ => Err("unexpected text after the IPv6 host (expected `:port`)".to_string()),
        };
    }
    Ok(match hostport.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (hostport, None),
    })
}

fn parse_key_values(text: &str) -> Result<ConnParams, String> {
    let mut params = ConnParams::default();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            // The word itself is not echoed: it may be a password typed alone.
            return Err(
                "a word has no `=value` (expected a postgresql:// URI or key=value pairs)"
                    .to_string(),
            );
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(format!("unterminated quoted value for `{key}`"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        set(&mut params, &key, value)?;
    }
    Ok(params)
}

fn set(params: &mut ConnParams, key: &str, value: String) -> Result<(), String> {
    match key {
        "host" => params.host = Some(value),
        "port" => params.port = Some(parse_port(&value)?),
        "user" => params.user = Some(value),
        "password" => params.password = Some(Secret::new(value)),
        "dbname" => params.dbname = Some(value),
        "sslmode" => params.sslmode = Some(value.parse()?),
        "sslrootcert" => params.sslrootcert = Some(PathBuf::from(value)),
        "connect_timeout" => {
            let secs: u64 = value.parse().map_err(|_| {
                format!(
                    "bad connect_timeout{}: expected whole seconds",
                    shown(&value)
                )
            })?;
            params.connect_timeout = Some(Duration::from_secs(secs.max(1)));
        }
        // syncwatch always names itself; accepting the key keeps copied strings working.
        "application_name" => {}
        other => {
            return Err(format!(
                "unknown parameter `{other}` (known: host, port, user, password, dbname, sslmode, sslrootcert, connect_timeout)"
            ));
        }
    }
    Ok(())
}

/// ` `value`` for an error message, or nothing when the value might carry something
/// that must not be echoed (a password typed in the wrong place, a whole string).
pub(crate) fn shown(value: &str) -> String {
    let plain = value.len() <= 24
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if plain {
        format!(" `{value}`")
    } else {
        String::new()
    }
}

pub(crate) fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(format!(
            "bad port{}: expected a number from 1 to 65535",
            shown(text)
        )),
    }
}

fn decode(text: &str, what: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-encoding in the {what}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the {what} is not valid UTF-8 once decoded"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_with_every_part_is_understood() {
        let p = parse(
            "source",
            "postgresql://air%40byte:p%3Ass@db.example:6543/tasks%20list?sslmode=require&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(p.user.as_deref(), Some("air@byte"));
        assert_eq!(p.password.as_ref().map(Secret::expose), Some("p:ss"));
        assert_eq!(p.host.as_deref(), Some("db.example"));
        assert_eq!(p.port, Some(6543));
        assert_eq!(p.dbname.as_deref(), Some("tasks list"));
        assert_eq!(p.sslmode, Some(SslMode::Require));
        assert_eq!(p.connect_timeout, Some(Duration::from_secs(3)));
    }

    #[test]
    fn uri_host_may_be_a_socket_directory_or_ipv6() {
        let p = parse("s", "postgres://%2Ftmp%2Fsock:5999/db").unwrap();
        assert_eq!(p.host.as_deref(), Some("/tmp/sock"));
        let p = parse("s", "postgresql://[::1]:5433").unwrap();
        assert_eq!(p.host.as_deref(), Some("::1"));
        assert_eq!(p.port, Some(5433));
        let p = parse("s", "postgresql:///tasks?host=/var/run/postgresql").unwrap();
        assert_eq!(p.host.as_deref(), Some("/var/run/postgresql"));
    }

    #[test]
    fn key_value_with_quotes_and_escapes() {
        let p = parse(
            "dest",
            r"host=localhost port = 5433 user='a b' password='it\'s' dbname=x\ y",
        )
        .unwrap();
        assert_eq!(p.user.as_deref(), Some("a b"));
        assert_eq!(p.password.as_ref().map(Secret::expose), Some("it's"));
        assert_eq!(p.dbname.as_deref(), Some("x y"));
        assert_eq!(p.port, Some(5433));
    }

    #[test]
    fn bad_port_names_the_setting() {
        let e = parse("source (--source)", "postgresql://h:99999/db").unwrap_err();
        assert_eq!(
            e.to_string(),
            "source (--source): bad port `99999`: expected a number from 1 to 65535"
        );
        let e = parse("dest", "port=abc").unwrap_err();
        assert!(e.to_string().contains("bad port `abc`"), "{e}");
    }

    #[test]
    fn unknown_key_and_malformed_strings_are_refused() {
        assert!(
            parse("s", "hots=x")
                .unwrap_err()
                .reason
                .contains("unknown parameter `hots`")
        );
        assert!(
            parse("s", "http://x")
                .unwrap_err()
                .reason
                .contains("postgresql://")
        );
        assert!(
            parse("s", "justaword")
                .unwrap_err()
                .reason
                .contains("no `=value`")
        );
        assert!(
            parse("s", "user='open")
                .unwrap_err()
                .reason
                .contains("unterminated")
        );
        assert!(
            parse("s", "sslmode=maybe")
                .unwrap_err()
                .reason
                .contains("sslmode")
        );
        assert!(
            parse("s", "postgresql://h/db?x")
                .unwrap_err()
                .reason
                .contains("=value")
        );
    }

    #[test]
    fn errors_never_contain_the_password() {
        for text in [
            "postgresql://u:s3cr%ZZet@h/db",
            "postgresql://u:s3cr%ZZet@h:bad/db",
            "password=s3cr%ZZet port=0",
            // Found by the fuzzer: a port swallowing the rest of the string.
            "postgresql://u:s3cret@h:32 password=s3cret",
            "host=h s3cret",
            "sslmode='s3cret s3cret'",
        ] {
            let e = parse("s", text).unwrap_err();
            assert!(!e.to_string().contains("s3cr"), "{e}");
        }
    }
}
