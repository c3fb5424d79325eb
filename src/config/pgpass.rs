//! `~/.pgpass` (or `PGPASSFILE`) lookup with libpq's matching rules and its permission check.

use std::path::{Path, PathBuf};

use super::Secret;

/// The password file libpq would read: `PGPASSFILE`, else `~/.pgpass`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass"))
}

/// Result of reading the password file: a password if a line matched, and warnings to show.
#[derive(Debug, Default)]
pub struct Lookup {
    pub password: Option<Secret>,
    pub warning: Option<String>,
}

/// Finds the password for `host:port:db:user` in `path`, like libpq: the first matching
/// line wins, `*` matches anything, a socket directory also matches `localhost`, and a
/// file readable by group or others is ignored with a warning.
pub fn lookup(path: &Path, host: &str, port: u16, db: &str, user: &str) -> Lookup {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Lookup::default();
    };
    if !meta.is_file() {
        return Lookup::default();
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Lookup {
            password: None,
            warning: Some(format!(
                "password file {} has group or world access and is ignored; permissions should be u=rw (0600) or less",
                path.display()
            )),
        };
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Lookup::default();
    };
    Lookup {
        password: find(&text, host, port, db, user),
        warning: None,
    }
}

/// The pure part of [`lookup`]: matching lines of a `.pgpass` text.
pub fn find(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<Secret> {
    let host = if host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = |pattern: &str, value: &str| pattern == "*" || pattern == value;
        if matches(&fields[0], host)
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            // A password containing ':' was split; put the rest back together.
            return Some(Secret::new(fields[4..].join(":")));
        }
    }
    None
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("never empty").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_line_wins_with_wildcards_and_escapes() {
        let text = "# comment\nother:5432:*:airbyte:nope\n*:5433:tasks_list:airbyte:a\\:b:c\nlocalhost:*:*:*:fallback\n";
        assert_eq!(
            find(text, "db", 5433, "tasks_list", "airbyte").map(|s| s.expose().to_string()),
            Some("a:b:c".to_string())
        );
        assert_eq!(
            find(text, "/tmp/sock", 1, "x", "y").map(|s| s.expose().to_string()),
            Some("fallback".to_string())
        );
        assert!(find(text, "db", 5432, "tasks_list", "airbyte").is_none());
    }

    #[test]
    fn open_permissions_are_warned_about_and_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("syncwatch-pgpass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let open = lookup(&path, "h", 1, "d", "u");
        assert!(open.password.is_none());
        assert!(open.warning.unwrap().contains("u=rw (0600)"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let closed = lookup(&path, "h", 1, "d", "u");
        assert_eq!(closed.password.unwrap().expose(), "secret");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
