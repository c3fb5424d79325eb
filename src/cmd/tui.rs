//! `syncwatch` / `syncwatch tui`: the live view — one pair's screen, or with several
//! pairs an overview that opens each pair's.

use std::process::ExitCode;

use color_eyre::eyre::Result;

use crate::config::Pair;

pub async fn run(pairs: &[Pair]) -> Result<ExitCode> {
    let ended = match pairs {
        [one] => crate::tui::run(one.settings.clone(), None).await?,
        many => crate::tui::run_pairs(many.to_vec()).await?,
    };
    Ok(super::after_the_view(&ended))
}
