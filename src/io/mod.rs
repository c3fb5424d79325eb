//! Everything that talks to the outside: PostgreSQL (each piece owns its sessions, bounds
//! its statements in time and turns failures into [`crate::io::pg::PgError`]s a person can
//! act on), Airbyte's API ([`airbyte`], bounded the same way) and the Prometheus
//! endpoint ([`exporter`]).

pub mod airbyte;
pub mod diff;
pub mod exporter;
pub mod fix;
pub mod pg;
pub mod poll;
pub mod pollers;
pub mod seed;
