//! `syncwatch` / `syncwatch tui`: the live view on the configured pair.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::config::Settings;

pub async fn run(settings: &Settings) -> Result<ExitCode> {
    crate::tui::run(settings.clone(), None).await?;
    Ok(ExitCode::SUCCESS)
}
