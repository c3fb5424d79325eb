//! Airbyte's public API over HTTP. [`http`] sends one request; the pure side (paths,
//! bodies, answers, what a failure means) is [`crate::logic::airbyte_api`].

pub mod client;
pub mod http;
pub mod task;
