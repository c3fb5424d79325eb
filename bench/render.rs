//! Frame cost with many tables: `cargo bench --bench render [-- TABLES]` (default 1000). Builds a state with full
//! histories (60 polls) and draws it into ratatui's TestBackend at several sizes.

use std::time::Instant;
use syncwatch::model::side::Side;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use syncwatch::config::{Engine, Settings};
use syncwatch::model::snapshot::{Fetched, RowCount};
use syncwatch::testing::many_tables;
use syncwatch::tui::action::Action;
use syncwatch::tui::app::App;
use syncwatch::tui::draw::draw;
use syncwatch::tui::theme::Theme;

const FRAMES: usize = 300;

fn main() {
    let tables: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let settings = Settings {
        engine: Engine::Native,
        ..Settings::default()
    };
    let mut app = App::new(settings, 0);
    for poll in 0..60i64 {
        let mut snap = many_tables(tables);
        // The destination trails by a varying amount, so every sparkline has shape.
        if let Fetched::Ok(ts) = &mut snap.dest.tables {
            for (i, t) in ts.iter_mut().enumerate() {
                let lag = (poll + i as i64) % 9;
                t.rows = t.rows.map(|r| RowCount {
                    rows: r.rows - lag,
                    exact: r.exact,
                });
            }
        }
        let at = poll * 1000;
        app.update(Action::Tick(at));
        app.update(Action::Polled(Side::Source, Box::new(snap.source), at));
        app.update(Action::Polled(Side::Dest, Box::new(snap.dest), at));
    }
    app.update(Action::CycleSort); // sort by Δ: the costlier order
    let theme = Theme { color: true };
    println!("{tables} tables, 60-poll histories, {FRAMES} frames per size, sorted by Δ\n");
    println!(
        "{:>9} {:>10} {:>10} {:>10}",
        "size", "mean ms", "p95 ms", "max ms"
    );
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
        let mut times: Vec<f64> = (0..FRAMES)
            .map(|i| {
                app.update(Action::Tick(60_000 + i as i64));
                let t = Instant::now();
                terminal.draw(|f| draw(f, &mut app, &theme)).expect("draw");
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        println!(
            "{:>9} {mean:>10.3} {:>10.3} {:>10.3}",
            format!("{w}×{h}"),
            times[times.len() * 95 / 100],
            times[times.len() - 1]
        );
    }
}
