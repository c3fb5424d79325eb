//! Everything that talks to PostgreSQL. Each piece owns its sessions, bounds its
//! statements in time and turns failures into [`crate::io::pg::PgError`]s a person can act on.

pub mod diff;
pub mod fix;
pub mod pg;
pub mod poll;
pub mod pollers;
pub mod seed;
