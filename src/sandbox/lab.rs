//! A source and a destination set up as the guide says, on throwaway servers: the `demo`
//! and the integration tests stand on it. The SQL comes from `sql/`, the same files that
//! `docker-compose.yaml` mounts, so the scripts are exercised wherever the lab runs.

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};

use crate::config::{Endpoint, Engine, Settings};
use crate::io::pg;
use crate::logic::quote;
use crate::sandbox::cluster::{Cluster, PgBin};

/// One of the scripts in `sql/`, with where and as whom it runs.
pub struct Script {
    pub name: &'static str,
    pub text: &'static str,
    pub on_source: bool,
    pub on_dest: bool,
    /// Creating an extension or altering a role needs a superuser; the rest runs as the
    /// application role so that it owns the tables, as in the guide.
    pub superuser: bool,
}

pub const SCRIPTS: &[Script] = &[
    Script {
        name: "00-vector.sql",
        text: include_str!("../../sql/00-vector.sql"),
        on_source: true,
        on_dest: true,
        superuser: true,
    },
    Script {
        name: "10-schema.sql",
        text: include_str!("../../sql/10-schema.sql"),
        on_source: true,
        on_dest: true,
        superuser: false,
    },
    Script {
        name: "20-replication-role.sql",
        text: include_str!("../../sql/20-replication-role.sql"),
        on_source: true,
        on_dest: false,
        superuser: true,
    },
    Script {
        name: "30-replica-identity.sql",
        text: include_str!("../../sql/30-replica-identity.sql"),
        on_source: true,
        on_dest: false,
        superuser: false,
    },
    Script {
        name: "40-publication.sql",
        text: include_str!("../../sql/40-publication.sql"),
        on_source: true,
        on_dest: false,
        superuser: false,
    },
    Script {
        name: "50-slot.sql",
        text: include_str!("../../sql/50-slot.sql"),
        on_source: true,
        on_dest: false,
        superuser: false,
    },
];

pub const APP_USER: &str = crate::config::DEFAULT_USER;
pub const APP_PASSWORD: &str = crate::config::DEFAULT_PASSWORD;
pub const APP_DB: &str = crate::config::DEFAULT_DBNAME;

/// Settings that make logical replication work on a throwaway source.
pub const SOURCE_SETTINGS: &[(&str, &str)] = &[
    ("wal_level", "logical"),
    ("max_replication_slots", "10"),
    ("max_wal_senders", "10"),
];

/// What did not go as the guide says, without stopping the lab (e.g. no pgvector).
#[derive(Debug, Default)]
pub struct Report {
    pub warnings: Vec<String>,
}

/// A source and a destination server.
pub struct Lab {
    pub source: Cluster,
    pub dest: Cluster,
}

impl Lab {
    /// Starts both servers (blocking: call from `spawn_blocking` in async code).
    pub fn start(source_bin: &PgBin, dest_bin: &PgBin) -> Result<Lab> {
        let source = Cluster::start(source_bin, SOURCE_SETTINGS).wrap_err("starting the source")?;
        let dest = Cluster::start(dest_bin, &[]).wrap_err("starting the destination")?;
        Ok(Lab { source, dest })
    }

    /// Settings that point syncwatch at this lab as the application role, native engine.
    pub fn settings(&self) -> Settings {
        Settings {
            source: self.source.tcp(APP_USER, APP_PASSWORD, APP_DB),
            dest: self.dest.tcp(APP_USER, APP_PASSWORD, APP_DB),
            engine: Engine::Native,
            ..Settings::default()
        }
    }

    /// Role, database and every script of `sql/` on both sides. A missing pgvector is
    /// reported, not fatal, so the lab runs on any PostgreSQL.
    pub async fn bootstrap(&self) -> Result<Report> {
        let mut report = Report::default();
        for (cluster, is_source) in [(&self.source, true), (&self.dest, false)] {
            create_role_and_db(cluster, APP_USER, APP_PASSWORD, APP_DB).await?;
            let admin = cluster.admin(APP_DB);
            let app = cluster.tcp(APP_USER, APP_PASSWORD, APP_DB);
            for s in SCRIPTS {
                if !(if is_source { s.on_source } else { s.on_dest }) {
                    continue;
                }
                let ep = if s.superuser { &admin } else { &app };
                let side = if is_source { "source" } else { "destination" };
                match exec(ep, s.text).await {
                    Ok(()) => {}
                    Err(e) if s.name == "00-vector.sql" => report.warnings.push(format!(
                        "{side}: pgvector is not installed for PostgreSQL {} ({e}); install postgresql-{}-pgvector or run demo with --fetch-postgres",
                        cluster.bin().version,
                        cluster.bin().major
                    )),
                    Err(e) => {
                        return Err(e).wrap_err(format!("applying sql/{} on the {side}", s.name));
                    }
                }
            }
        }
        Ok(report)
    }

    /// Native logical replication: a subscription on the destination that consumes the
    /// guide's slot instead of creating its own.
    pub async fn subscribe(&self) -> Result<()> {
        let s = self.settings();
        let conninfo = self
            .source
            .tcp(APP_USER, APP_PASSWORD, APP_DB)
            .conninfo(true);
        let sql = format!(
            "CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} WITH (create_slot = false, slot_name = {})",
            quote::ident(&s.subscription),
            quote::literal(&conninfo),
            quote::ident(&s.publication),
            quote::literal(&s.slot),
        );
        exec(&self.dest.admin(APP_DB), &sql)
            .await
            .wrap_err("creating the subscription on the destination")
    }
}

/// Creates a login role and a database it owns, if they do not exist.
pub async fn create_role_and_db(
    cluster: &Cluster,
    user: &str,
    password: &str,
    db: &str,
) -> Result<()> {
    let admin = cluster.admin("postgres");
    let session = pg::connect(&admin, Duration::from_secs(30)).await?;
    let role = format!(
        "CREATE ROLE {} LOGIN PASSWORD {}",
        quote::ident(user),
        quote::literal(password)
    );
    create_unless(&session, "pg_roles WHERE rolname", user, &role)
        .await
        .wrap_err("creating the application role")?;
    let database = format!(
        "CREATE DATABASE {} OWNER {}",
        quote::ident(db),
        quote::ident(user)
    );
    create_unless(&session, "pg_database WHERE datname", db, &database)
        .await
        .wrap_err("creating the database")?;
    Ok(())
}

/// Runs SQL text (one or more statements) on a fresh session.
pub async fn exec(ep: &Endpoint, sql: &str) -> Result<()> {
    let session = pg::connect(ep, Duration::from_secs(60)).await?;
    session
        .client
        .batch_execute(sql)
        .await
        .map_err(|e| pg::PgError::from_query(&e))?;
    Ok(())
}

/// Runs `create` unless `SELECT 1 FROM {catalog_where} = name` finds a row.
async fn create_unless(
    session: &pg::Session,
    catalog_where: &str,
    name: &str,
    create: &str,
) -> Result<()> {
    let exists: bool = session
        .client
        .query_one(
            &format!("SELECT EXISTS (SELECT 1 FROM {catalog_where} = $1)"),
            &[&name],
        )
        .await?
        .get(0);
    if !exists {
        session.client.batch_execute(create).await?;
    }
    Ok(())
}
