//! A database error as plain data: what kind (callers branch on it: a side that is
//! down is not a failed check), the SQLSTATE, the message and the server's hint. Built
//! from driver errors in [`crate::io::pg::error`].

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing answers at the address, or the connection broke.
    Unreachable,
    /// No answer within the time limit (connect or statement).
    Timeout,
    /// Password or role refused.
    Auth,
    /// pg_hba.conf has no line that lets this connection in.
    Rejected,
    NoDatabase,
    PermissionDenied,
    Tls,
    /// The server is starting, stopping or out of connection slots: try again later.
    NotReady,
    Other,
}

/// A database error as a person should read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgError {
    pub kind: Kind,
    pub sqlstate: Option<String>,
    /// The server's own words, without its hint.
    pub message: String,
    /// The server's hint (`HINT:` in psql), shown after the message.
    pub hint: Option<String>,
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        if let Some(code) = &self.sqlstate {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}

impl PgError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        PgError {
            kind,
            sqlstate: None,
            message: message.into(),
            hint: None,
        }
    }
}

impl std::error::Error for PgError {}
