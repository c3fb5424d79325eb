//! Everything that talks to the outside: PostgreSQL (each piece owns its sessions, bounds
//! its statements in time and turns failures into [`crate::io::pg::PgError`]s a person can
//! act on) and Airbyte's API ([`airbyte`], bounded the same way).

pub mod airbyte;
pub mod diff;
pub mod fix;
pub mod pg;
pub mod poll;
pub mod pollers;
pub mod seed;
