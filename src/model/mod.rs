//! Plain data shared by every layer: what a poll saw, what checks say, which side.
//! Types and their small accessors only; decisions live in [`crate::logic`].

pub mod airbyte;
pub mod check;
pub mod error;
pub mod lsn;
pub mod side;
pub mod snapshot;
