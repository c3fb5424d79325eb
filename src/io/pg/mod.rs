//! Sessions with PostgreSQL: connecting (TLS, timeouts, application name), errors as a
//! person should read them, and the catalog queries.

pub mod catalog;
pub mod error;
pub mod seed_catalog;
pub mod tls;

use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use crate::config::{Endpoint, SslMode};
pub use error::{Kind, PgError};

pub const APPLICATION_NAME: &str = "syncwatch";

/// An open session and the server's version (`server_version_num`, e.g. 160014).
pub struct Session {
    pub client: Client,
    pub version_num: i32,
}

fn config_for(ep: &Endpoint, statement_timeout: Duration) -> Config {
    let mut c = Config::new();
    if ep.host.starts_with('/') {
        c.host_path(&ep.host);
    } else {
        c.host(&ep.host);
    }
    c.port(ep.port)
        .user(&ep.user)
        .dbname(&ep.dbname)
        .application_name(APPLICATION_NAME)
        .connect_timeout(ep.connect_timeout)
        // Every statement of every session is bounded, so a stalled server cannot hold
        // a poller or an action forever.
        .options(format!(
            "-c statement_timeout={} -c lock_timeout={}",
            statement_timeout.as_millis().max(1),
            statement_timeout.as_millis().max(1)
        ))
        .ssl_mode(match ep.sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
    if let Some(p) = &ep.password {
        c.password(p.expose());
    }
    c
}

/// Opens a session to `ep`. The whole handshake (TCP, TLS, authentication) is bounded by
/// the endpoint's connect timeout; the connection task is spawned on the current runtime.
pub async fn connect(ep: &Endpoint, statement_timeout: Duration) -> Result<Session, PgError> {
    let config = config_for(ep, statement_timeout);
    let tls = tls::connector(ep)?;
    let handshake = async {
        match tls {
            None => {
                let (client, conn) = config.connect(NoTls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok::<_, tokio_postgres::Error>(client)
            }
            Some(tls) => {
                let (client, conn) = config.connect(tls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok(client)
            }
        }
    };
    let limit = ep.connect_timeout + Duration::from_millis(500);
    let client = match tokio::time::timeout(limit, handshake).await {
        Err(_) => return Err(PgError::timeout(ep, "connecting", limit.as_secs_f64())),
        Ok(Err(e)) => return Err(PgError::from_connect(&e, ep)),
        Ok(Ok(c)) => c,
    };
    let version_num = query_version(&client, ep, statement_timeout).await?;
    Ok(Session {
        client,
        version_num,
    })
}

async fn query_version(
    client: &Client,
    ep: &Endpoint,
    statement_timeout: Duration,
) -> Result<i32, PgError> {
    let q = client.query_one("SELECT current_setting('server_version_num')::int", &[]);
    match tokio::time::timeout(statement_timeout + Duration::from_millis(500), q).await {
        Err(_) => Err(PgError::timeout(
            ep,
            "reading the server version",
            statement_timeout.as_secs_f64(),
        )),
        Ok(Err(e)) => Err(PgError::from_query(&e)),
        Ok(Ok(row)) => Ok(row.get(0)),
    }
}
