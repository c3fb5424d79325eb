//! Frame cost with many tables: `cargo bench --bench render [-- TABLES]` (default 1000).
//! Builds a state from an hour of polls (3600, one a second, with a sync every ten
//! minutes), prints the heap it holds (counted by this bench's allocator), and draws the
//! main screen and the slot's chart view (`w`) into ratatui's TestBackend at several
//! sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use syncwatch::model::side::Side;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use syncwatch::config::Settings;
use syncwatch::logic::timeline::Timeline;
use syncwatch::model::lsn::Lsn;
use syncwatch::model::snapshot::{Fetched, RowCount};
use syncwatch::testing::many_tables;
use syncwatch::tui::action::Action;
use syncwatch::tui::app::App;
use syncwatch::tui::draw::draw;
use syncwatch::tui::theme::Theme;

const FRAMES: usize = 300;
const POLLS: i64 = 3600;

/// Counts live heap bytes, to say what an hour of history costs.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn frames(app: &mut App, theme: &Theme, w: u16, h: u16, label: &str) {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    let mut times: Vec<f64> = (0..FRAMES)
        .map(|i| {
            app.update(Action::Tick(POLLS * 1000 + i as i64));
            let t = Instant::now();
            terminal.draw(|f| draw(f, app, theme)).expect("draw");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{label:>8} {:>9} {mean:>10.3} {:>10.3} {:>10.3}",
        format!("{w}×{h}"),
        times[times.len() * 95 / 100],
        times[times.len() - 1]
    );
}

fn main() {
    let tables: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let before = LIVE.load(Ordering::Relaxed);
    let mut app = App::new(Settings::default(), 0);
    let base = many_tables(tables);
    for poll in 0..POLLS {
        let mut snap = base.clone();
        // The source writes 16 kB/s; a sync every ten minutes, for twenty seconds,
        // confirms what the previous one read.
        let current = 0x100_0000 + poll as u64 * 16_384;
        let active = poll % 600 >= 580;
        let confirmed =
            0x100_0000 + ((poll / 600) * 600).saturating_sub(600).max(0) as u64 * 16_384;
        snap.source.current_lsn = Some(Lsn(current).to_string());
        if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
            slot.active = active;
            slot.confirmed_flush_lsn = Some(Lsn(confirmed).to_string());
            slot.retained_bytes = Some((current - confirmed) as i64);
            slot.lag_bytes = Some((current - confirmed) as i64);
        }
        // The destination trails by a varying amount, so every sparkline has shape.
        if let Fetched::Ok(ts) = &mut snap.dest.tables {
            for (i, t) in ts.iter_mut().enumerate() {
                let lag = (poll + i as i64) % 9;
                t.rows = t.rows.map(|r| RowCount {
                    rows: r.rows - lag,
                    exact: r.exact,
                });
                t.changes = Some(poll * 3 + i as i64);
            }
        }
        let at = poll * 1000;
        app.update(Action::Tick(at));
        app.update(Action::Polled(Side::Source, Box::new(snap.source), at));
        app.update(Action::Polled(Side::Dest, Box::new(snap.dest), at));
    }
    drop(base);
    let held = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    let timeline = app.tracker.syncs().timeline();
    let slot_bytes = timeline.points().len() * Timeline::POINT_BYTES;
    println!(
        "{tables} tables, an hour of polls ({POLLS}): the app holds {:.1} MB — the slot's timeline {} points, {:.0} kB; per table {:.1} kB (its last {} samples, throughput, the latest snapshot's share)\n",
        held as f64 / 1e6,
        timeline.points().len(),
        slot_bytes as f64 / 1e3,
        (held - slot_bytes) as f64 / tables as f64 / 1e3,
        syncwatch::logic::divergence::HISTORY,
    );
    app.update(Action::CycleSort); // sort by Δ: the costlier order
    let theme = Theme { color: true };
    println!("{FRAMES} frames per size, sorted by Δ\n");
    println!(
        "{:>8} {:>9} {:>10} {:>10} {:>10}",
        "view", "size", "mean ms", "p95 ms", "max ms"
    );
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        frames(&mut app, &theme, w, h, "main");
    }
    app.update(Action::SlotHistory);
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        frames(&mut app, &theme, w, h, "charts");
    }
}
