//! Turns tokio-postgres errors into [`PgError`]s: one-line explanations that keep the
//! SQLSTATE and the server's hint and say what to do.

use crate::config::Endpoint;
pub use crate::model::error::{Kind, PgError};

impl PgError {
    pub fn timeout(ep: &Endpoint, what: &str, secs: f64) -> Self {
        PgError::new(
            Kind::Timeout,
            format!(
                "{what} at {} got no answer within {secs:.1} s: the server is stalled or the network drops packets",
                ep.address()
            ),
        )
    }

    /// Explains an error met while connecting to `ep`.
    pub fn from_connect(e: &tokio_postgres::Error, ep: &Endpoint) -> Self {
        let mut err = Self::classify(e);
        let addr = ep.address();
        if let Some(db) = e.as_db_error() {
            let msg = db.message();
            err.message = match db.code().code() {
                "28P01" => format!(
                    "wrong password for user {} at {addr} (password from {}): fix it in --source/--dest, PGPASSWORD or ~/.pgpass",
                    ep.user, ep.password_source
                ),
                "28000" if msg.contains("pg_hba.conf") => format!(
                    "{addr} refuses this connection ({msg}): add a matching line to the server's pg_hba.conf and reload it"
                ),
                "28000" if msg.contains("does not exist") => format!(
                    "role {} does not exist at {addr}: create it (CREATE ROLE … LOGIN) or connect as another user",
                    ep.user
                ),
                "3D000" => format!(
                    "database {} does not exist at {addr}: create it (CREATE DATABASE …) or set dbname",
                    ep.dbname
                ),
                _ => format!("{addr}: {msg}"),
            };
            return err;
        }
        if err.kind == Kind::Unreachable && !err.message.starts_with("TLS") {
            err.message = format!(
                "cannot reach {addr}: {} — is PostgreSQL running and listening there?",
                err.message
            );
        }
        err
    }

    /// Explains an error from a statement on an open session.
    pub fn from_query(e: &tokio_postgres::Error) -> Self {
        let mut err = Self::classify(e);
        if err.kind == Kind::Unreachable && err.sqlstate.is_none() {
            err.message = format!(
                "lost the connection ({}): the server stopped, restarted or ended this session — is PostgreSQL still running? Try again once it is",
                err.message
            );
        }
        err
    }

    /// The kind of error and the server's or the socket's own words.
    fn classify(e: &tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code().code().to_string();
            let kind = match code.as_str() {
                "28P01" | "28000" if db.message().contains("pg_hba.conf") => Kind::Rejected,
                "28P01" | "28000" => Kind::Auth,
                "3D000" => Kind::NoDatabase,
                "42501" => Kind::PermissionDenied,
                "57014" => Kind::Timeout,
                "57P01" | "57P02" | "57P03" | "53300" => Kind::NotReady,
                _ => Kind::Other,
            };
            let mut message = db.message().to_string();
            if kind == Kind::Timeout {
                message = "statement timed out (statement_timeout): the server is overloaded or a lock is held"
                    .to_string();
            } else if code == "55P03" {
                message = format!(
                    "{message}: another session holds a lock on what this reads (see pg_locks and pg_stat_activity)"
                );
            }
            return PgError {
                kind,
                sqlstate: Some(code),
                message,
                hint: db.hint().map(str::to_string),
            };
        }
        // Not a server error: walk the source chain for the I/O cause.
        let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                // tokio-rustls reports handshake failures as I/O errors wrapping rustls's.
                if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                    return tls_error(tls);
                }
                let kind = match io.kind() {
                    std::io::ErrorKind::TimedOut => Kind::Timeout,
                    _ => Kind::Unreachable,
                };
                return PgError::new(kind, io.to_string());
            }
            if let Some(tls) = s.downcast_ref::<rustls::Error>() {
                return tls_error(tls);
            }
            source = s.source();
        }
        let text = e.to_string();
        let kind = if e.is_closed() || text.contains("closed") || text.contains("connection") {
            Kind::Unreachable
        } else if text.contains("TLS") || text.contains("tls") || text.contains("ssl") {
            Kind::Tls
        } else {
            Kind::Other
        };
        PgError::new(kind, text)
    }
}

fn tls_error(e: &rustls::Error) -> PgError {
    PgError::new(
        Kind::Tls,
        format!(
            "TLS handshake failed: {e} — check sslrootcert and the server certificate's names, or use sslmode=require to encrypt without verifying"
        ),
    )
}
