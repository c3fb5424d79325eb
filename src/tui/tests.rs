//! Render tests (whole screens from given states, compared with snapshot files) and
//! `update` tests (keys → actions → state).

use crate::model::side::Side;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::action::{Action, DiffProgress, SeedProgress, TrafficReport};
use super::app::{App, Pane, TrafficState};
use super::effect::Effect;
use super::popups::Popup;
use super::theme::Theme;
use super::{draw, map_key};
use crate::config::{Engine, Settings};
use crate::model::snapshot::{Fetched, Reach, RowCount, SideSnapshot, Snapshot};
use crate::testing::{healthy, many_tables};

const T0: i64 = 1_764_000_000_000;

fn settings() -> Settings {
    Settings {
        engine: Engine::Native,
        ..Settings::default()
    }
}

fn app() -> App {
    let mut app = App::new(settings(), T0);
    app.utc_offset_secs = 0;
    app
}

/// Feeds `polls` polls of `snap`, one second apart, the way the pollers would.
fn feed(app: &mut App, snap: &Snapshot, polls: usize) {
    for _ in 0..polls {
        let t = app.now_ms + 1000;
        app.update(Action::Tick(t));
        app.update(Action::Polled(
            Side::Source,
            Box::new(snap.source.clone()),
            t,
        ));
        app.update(Action::Polled(Side::Dest, Box::new(snap.dest.clone()), t));
    }
}

fn render(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme { color: false };
    terminal.draw(|f| draw::draw(f, app, &theme)).unwrap();
    terminal
}

fn screen(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}

fn set_rows(side: &mut SideSnapshot, name: &str, rows: i64) {
    if let Fetched::Ok(ts) = &mut side.tables {
        for t in ts.iter_mut().filter(|t| t.name == name) {
            t.rows = Some(RowCount { rows, exact: true });
        }
    }
}

#[test]
fn all_healthy() {
    let mut app = app();
    feed(&mut app, &healthy(), 3);
    let t = render(&mut app, 120, 36);
    insta::assert_snapshot!(t.backend());
    assert!(screen(&t).contains("✓ ok"));
}

/// The source at 0/3000060 and the slot's consumer confirmed up to there.
fn caught_up(snap: &mut Snapshot) {
    snap.source.current_lsn = Some("0/3000060".into());
    if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
        slot.confirmed_flush_lsn = Some("0/3000060".into());
    }
}

#[test]
fn a_stuck_table() {
    let mut app = app();
    let mut snap = healthy();
    set_rows(&mut snap.source, "tache", 2_000_000);
    set_rows(&mut snap.dest, "tache", 1_999_880);
    // The consumer has confirmed everything the source wrote: the gap is not on its way.
    caught_up(&mut snap);
    feed(&mut app, &snap, 20);
    let t = render(&mut app, 120, 36);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    assert!(text.contains("2 000 000") && text.contains("1 999 880") && text.contains("120"));
    assert!(text.contains("stuck"));
    assert!(text.contains("1 table(s) stuck/missing"));
}

#[test]
fn source_unreachable() {
    let mut app = app();
    feed(&mut app, &healthy(), 2);
    let mut snap = healthy();
    snap.source = SideSnapshot::down(
        "airbyte@localhost:5432/tasks_list".into(),
        Reach::Unreachable("cannot reach localhost:5432: Connection refused (os error 111) — is PostgreSQL running and listening there?".into()),
    );
    feed(&mut app, &snap, 1);
    let t = render(&mut app, 120, 36);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    assert!(text.contains("✗ unreachable"));
    assert!(
        text.contains("Connection refused"),
        "the reason is in the log"
    );
    assert!(
        text.contains("stale"),
        "old counts are not shown as current"
    );
    assert!(!text.contains("in sync"));
}

#[test]
fn publication_missing() {
    let mut app = app();
    let mut snap = healthy();
    snap.source.publication = Fetched::Ok(None);
    feed(&mut app, &snap, 2);
    app.update(Action::NextPane);
    app.update(Action::NextPane);
    let publication = app
        .checks
        .iter()
        .position(|c| c.id == "source.publication")
        .unwrap();
    for _ in 0..publication {
        app.update(Action::Down);
    }
    app.update(Action::Details);
    let t = render(&mut app, 120, 36);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    assert!(
        text.contains("CREATE PUBLICATION \"airbyte_publication\" FOR TABLE"),
        "{text}"
    );
}

#[test]
fn slot_holding_wal() {
    let mut app = app();
    let mut snap = healthy();
    if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
        slot.active = false;
        slot.retained_bytes = Some(3 << 30);
        slot.lag_bytes = Some(3 << 30);
        slot.confirmed_flush_lsn = Some("0/1A2B3C4".into());
    }
    feed(&mut app, &snap, 3);
    let t = render(&mut app, 120, 36);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    assert!(text.contains("retained 3.0 GB"));
    assert!(text.contains("inactive"));
}

#[test]
fn small_terminal_80_by_24() {
    let mut app = app();
    feed(&mut app, &healthy(), 2);
    let t = render(&mut app, 80, 24);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    assert!(text.contains("utilisateur"));
    assert!(text.contains("q quit"));
}

#[test]
fn two_hundred_tables_with_a_filter() {
    let mut app = app();
    feed(&mut app, &many_tables(200), 2);
    for c in "t19".chars() {
        app.update(Action::StartFilter);
        app.update(Action::FilterChar(c));
    }
    app.update(Action::FilterApply);
    let t = render(&mut app, 100, 40);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    assert!(text.contains("Tables (10)"), "t190–t199");
    assert!(text.contains("≈1 960"), "estimates are marked");
    assert!(!text.contains("t200") && !text.contains("t018"));
}

#[test]
fn help_lists_every_binding() {
    let mut app = app();
    app.update(Action::ToggleHelp);
    let t = render(&mut app, 100, 40);
    let text = screen(&t);
    for b in super::keys::BINDINGS {
        assert!(text.contains(b.help), "help lacks {}", b.help);
    }
    insta::assert_snapshot!(t.backend());
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[test]
fn keys_map_to_actions_by_mode() {
    let mut app = app();
    assert_eq!(map_key(&app, &key('q')), Some(Action::Quit));
    assert_eq!(
        map_key(
            &app,
            &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
        ),
        Some(Action::Quit)
    );
    assert_eq!(map_key(&app, &key('c')), Some(Action::CountExact));
    assert_eq!(
        map_key(&app, &KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
        Some(Action::NextPane)
    );
    app.update(Action::StartFilter);
    assert_eq!(
        map_key(&app, &key('q')),
        Some(Action::FilterChar('q')),
        "typing, not quitting"
    );
    app.update(Action::FilterApply);
    app.update(Action::ToggleHelp);
    assert_eq!(map_key(&app, &key('c')), None, "help captures keys");
    assert_eq!(
        map_key(&app, &KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
        Some(Action::Cancel)
    );
}

#[test]
fn pause_refresh_and_count_become_effects() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    assert_eq!(
        app.update(Action::TogglePause),
        vec![Effect::SetPaused(true)]
    );
    assert!(app.paused);
    assert_eq!(
        app.update(Action::TogglePause),
        vec![Effect::SetPaused(false)]
    );
    assert_eq!(app.update(Action::Refresh), vec![Effect::Refresh]);
    app.update(Action::Down);
    assert_eq!(
        app.update(Action::CountExact),
        vec![Effect::CountExact(("public".into(), "utilisateur".into()))]
    );
    assert_eq!(app.update(Action::Quit), vec![Effect::Quit]);
}

#[test]
fn confirm_runs_only_on_yes() {
    let mut app = app();
    app.popup = Some(Popup::Confirm {
        title: "fix".into(),
        lines: vec!["SELECT 1".into()],
        on_yes: Effect::Refresh,
    });
    assert!(app.update(Action::Cancel).is_empty());
    assert!(app.popup.is_none());
    app.popup = Some(Popup::Confirm {
        title: "fix".into(),
        lines: vec!["SELECT 1".into()],
        on_yes: Effect::Refresh,
    });
    assert_eq!(app.update(Action::Confirm), vec![Effect::Refresh]);
}

#[test]
fn selection_moves_within_bounds_and_tab_cycles_panes() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    app.update(Action::Up);
    assert_eq!(app.table_selected, 0);
    for _ in 0..5 {
        app.update(Action::Down);
    }
    assert_eq!(app.table_selected, 1, "two tables");
    app.update(Action::NextPane);
    assert_eq!(app.focus, Pane::Slot);
    app.update(Action::NextPane);
    assert_eq!(app.focus, Pane::Checks);
    app.update(Action::NextPane);
    app.update(Action::NextPane);
    assert_eq!(app.focus, Pane::Tables);
    app.update(Action::PrevPane);
    assert_eq!(app.focus, Pane::Log);
}

#[test]
fn sides_going_down_and_back_are_logged_once() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    let mut down = healthy();
    down.dest = SideSnapshot::down("d".into(), Reach::Timeout("no answer".into()));
    feed(&mut app, &down, 3);
    feed(&mut app, &healthy(), 1);
    let texts: Vec<&str> = app.log.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts.iter().filter(|t| t.contains("no answer")).count(),
        1,
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("destination reachable again"))
    );
}

#[test]
fn f_on_a_failing_check_shows_its_sql_and_y_runs_it() {
    let mut app = app();
    let mut snap = healthy();
    snap.source.slot = Fetched::Ok(None);
    if let Fetched::Ok(r) = &mut snap.source.role {
        r.replication = true;
    }
    feed(&mut app, &snap, 1);
    app.update(Action::NextPane);
    app.update(Action::NextPane);
    let slot = app
        .checks
        .iter()
        .position(|c| c.id == "source.slot")
        .unwrap();
    for _ in 0..slot {
        app.update(Action::Down);
    }
    assert!(app.update(Action::Fix).is_empty(), "nothing runs before y");
    match &app.popup {
        Some(Popup::Confirm { lines, .. }) => {
            assert!(
                lines.iter().any(|l| l
                    .contains("pg_create_logical_replication_slot('airbyte_slot', 'pgoutput')")),
                "{lines:?}"
            )
        }
        other => panic!("expected a confirmation, got {other:?}"),
    }
    let t = render(&mut app, 100, 30);
    assert!(screen(&t).contains("y run it"));
    match app.update(Action::Confirm).as_slice() {
        [Effect::RunFixes(steps)] => assert_eq!(steps[0].check_id, "source.slot"),
        other => panic!("expected RunFixes, got {other:?}"),
    }
    // n changes nothing.
    app.update(Action::Fix);
    assert!(app.update(Action::Cancel).is_empty());
    assert!(app.popup.is_none());
}

#[test]
fn a_fix_the_role_cannot_run_is_shown_not_asked() {
    let mut app = app();
    let mut snap = healthy();
    snap.source.version_num = Some(140010);
    if let Fetched::Ok(st) = &mut snap.source.settings {
        st.wal_level = "replica".into();
    }
    feed(&mut app, &snap, 1);
    app.focus = Pane::Checks;
    app.check_selected = app
        .checks
        .iter()
        .position(|c| c.id == "source.wal_level")
        .unwrap();
    app.update(Action::Fix);
    match &app.popup {
        Some(Popup::Text { lines, .. }) => {
            assert!(
                lines.iter().any(|l| l.contains("cannot run this")),
                "{lines:?}"
            )
        }
        other => panic!("expected an explanation, got {other:?}"),
    }
}

#[test]
fn read_only_refuses_fixes() {
    let mut app = app();
    app.settings.read_only = true;
    let mut snap = healthy();
    snap.source.slot = Fetched::Ok(None);
    feed(&mut app, &snap, 1);
    assert!(app.update(Action::FixAll).is_empty());
    assert!(app.popup.is_none());
    assert!(app.log.back().unwrap().text.contains("read-only"));
}

#[test]
fn s_opens_the_seed_form_plus_and_tab_change_it_y_starts_esc_stops() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    app.update(Action::Seed);
    assert!(matches!(
        app.popup,
        Some(Popup::SeedForm { ref table, rows: 1_000 }) if table.as_deref() == Some("tache")
    ));
    assert_eq!(map_key(&app, &key('+')), Some(Action::SeedMore));
    app.update(Action::SeedMore);
    app.update(Action::SeedScope);
    let t = render(&mut app, 100, 30);
    assert!(screen(&t).contains("Seed 10 000 rows into every published table"));
    app.update(Action::SeedScope);
    assert_eq!(
        app.update(Action::Confirm),
        vec![Effect::Seed {
            table: Some("tache".into()),
            rows: 10_000
        }]
    );
    app.update(Action::SeedProgress(SeedProgress {
        table: "public.tache".into(),
        written: 4_000,
        target: 10_000,
        rows_per_sec: 50_000.0,
    }));
    let t = render(&mut app, 100, 30);
    assert!(
        screen(&t).contains("seeding public.tache"),
        "the gauge shows"
    );
    assert!(screen(&t).contains("40%"));
    assert_eq!(app.update(Action::Cancel), vec![Effect::CancelSeed]);
    assert_eq!(
        app.update(Action::SeedDone("seeded 4000 rows".into())),
        vec![Effect::Refresh]
    );
    assert!(app.seeding.is_none());
}

fn traffic(run: u32, changes: u64, rate: f64, running: bool) -> Action {
    Action::TrafficStats(TrafficReport {
        run,
        changes,
        rate,
        running,
    })
}

#[test]
fn g_asks_then_starts_traffic_and_g_again_stops_it() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    assert!(app.update(Action::Traffic).is_empty());
    assert_eq!(app.update(Action::Confirm), vec![Effect::StartTraffic(1)]);
    assert_eq!(app.traffic, TrafficState::Starting);
    let t = render(&mut app, 140, 30);
    assert!(screen(&t).contains("traffic starting"), "{}", screen(&t));
    app.update(traffic(1, 40, 19.6, true));
    let t = render(&mut app, 140, 30);
    assert!(screen(&t).contains("traffic 20/s"));
    assert_eq!(app.update(Action::Traffic), vec![Effect::StopTraffic]);
    assert_eq!(app.traffic, TrafficState::Off);
    // Counts still in flight from the run just stopped do not bring it back.
    app.update(traffic(1, 41, 19.0, true));
    assert_eq!(app.traffic, TrafficState::Off);
    // The next run has the next number.
    app.update(Action::Traffic);
    assert_eq!(app.update(Action::Confirm), vec![Effect::StartTraffic(2)]);
}

#[test]
fn g_while_traffic_is_still_connecting_gives_up_on_it_instead_of_starting_a_second() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    app.update(Action::Traffic);
    app.update(Action::Confirm);
    assert_eq!(app.update(Action::Traffic), vec![Effect::StopTraffic]);
    assert_eq!(app.traffic, TrafficState::Off);
    assert!(app.popup.is_none(), "no second question");
    // Its task then says it ended.
    app.update(traffic(1, 0, 0.0, false));
    assert_eq!(app.traffic, TrafficState::Off);
}

#[test]
fn a_late_report_of_stopped_traffic_does_not_hide_the_next_run() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    app.update(traffic(2, 5, 5.0, true));
    app.update(traffic(1, 80, 0.0, false));
    assert_eq!(
        app.traffic,
        TrafficState::Running {
            changes: 5,
            rate: 5.0
        }
    );
    app.update(traffic(2, 9, 4.0, false));
    assert_eq!(app.traffic, TrafficState::Off);
}

#[test]
fn read_only_refuses_seed_and_traffic() {
    let mut app = app();
    app.settings.read_only = true;
    feed(&mut app, &healthy(), 1);
    assert!(app.update(Action::Seed).is_empty());
    assert!(app.update(Action::Traffic).is_empty());
    assert!(app.popup.is_none());
    assert!(
        app.log
            .iter()
            .filter(|l| l.text.contains("read-only"))
            .count()
            == 2
    );
}

#[test]
fn d_diffs_the_selected_table_in_the_background_and_shows_the_result() {
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    assert_eq!(
        app.update(Action::Diff),
        vec![Effect::Diff(
            ("public".into(), "tache".into()),
            crate::tui::effect::DiffHints::default()
        )]
    );
    assert!(app.update(Action::Diff).is_empty(), "one diff at a time");
    app.update(Action::DiffProgress(DiffProgress {
        phase: "comparing segments (level 1)".into(),
        done: 3,
        total: 8,
    }));
    let t = render(&mut app, 100, 30);
    assert!(screen(&t).contains("diffing public.tache: comparing segments (level 1) 3/8"));
    app.update(Action::DiffDone(
        "public.tache".into(),
        Ok(vec![
            "public.tache: 1 missing".into(),
            "  missing id=7".into(),
        ]),
    ));
    assert!(app.diffing.is_none());
    let t = render(&mut app, 100, 30);
    assert!(screen(&t).contains("missing id=7"));
}

/// The log pane's rows of a rendered screen, borders stripped.
fn log_rows(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.contains("┌ Log"))
        .skip(1)
        .take_while(|l| !l.contains('└'))
        .map(|l| l.trim_matches('"').trim_matches('│').trim_end().to_string())
        .collect()
}

#[test]
fn a_long_log_line_wraps_so_its_end_is_on_screen() {
    let refusal = "source.publication: `CREATE PUBLICATION \"airbyte_publication\" FOR TABLE \"public\".\"tache\", \"public\".\"u…` was refused for role mon: it needs the CREATE privilege on database tasks_list (GRANT CREATE ON DATABASE \"tasks_list\" TO \"mon\") and to own the tables it publishes, or a superuser [42501]";
    let mut app = app();
    feed(&mut app, &healthy(), 1);
    app.update(Action::Log(
        super::action::LogLevel::Info,
        "running fix".into(),
    ));
    app.update(Action::Log(super::action::LogLevel::Error, refusal.into()));
    let t = render(&mut app, 120, 40);
    let rows = log_rows(&screen(&t));
    // The newest line at the bottom, its continuation rows under its text.
    let start = rows
        .iter()
        .position(|r| r.contains("source.publication:"))
        .expect("the refusal is shown");
    let joined = rows[start..]
        .iter()
        .map(|r| r.trim())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(joined.ends_with(refusal), "{rows:#?}");
    assert!(rows[start + 1].starts_with("         "), "{rows:#?}");
    assert!(
        rows[..start].iter().any(|r| r.contains("running fix")),
        "{rows:#?}"
    );

    // 80×24: two rows for the log; the newest line from its start.
    let t = render(&mut app, 80, 24);
    let rows = log_rows(&screen(&t));
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert!(
        rows[0].contains("source.publication: `CREATE PUBLICATION"),
        "{rows:#?}"
    );
}

#[test]
fn a_refused_seed_or_traffic_write_names_the_privileges_and_the_grant() {
    use color_eyre::eyre::WrapErr;
    let mut s = settings();
    s.source.user = "mon".into();
    let refused: color_eyre::Result<()> = Err(crate::io::pg::PgError {
        kind: crate::io::pg::Kind::PermissionDenied,
        sqlstate: Some("42501".into()),
        message: "permission denied for table tache".into(),
        hint: None,
    }
    .into());
    let e = refused
        .wrap_err("writing rows into public.tache (COPY batch 1 of 1)")
        .unwrap_err();
    assert_eq!(
        super::effects::refused_write(&e, &["INSERT"], &s).as_deref(),
        Some(
            "role mon needs the INSERT privilege on table tache (GRANT INSERT ON TABLE \"public\".\"tache\" TO \"mon\"), or a superuser"
        )
    );
    assert!(
        super::effects::refused_write(&e, &["INSERT", "UPDATE", "DELETE"], &s)
            .unwrap()
            .contains("the INSERT, UPDATE, DELETE privileges on table tache (GRANT INSERT, UPDATE, DELETE ON TABLE")
    );
    let other = color_eyre::eyre::eyre!("no table to send traffic to");
    assert_eq!(super::effects::refused_write(&other, &["INSERT"], &s), None);
}

#[test]
fn with_airbyte_the_slot_pane_tells_the_last_sync_and_new_rows_read_pending_not_stuck() {
    let mut app = App::new(Settings::default(), T0);
    app.utc_offset_secs = 0;
    let mut snap = healthy();
    caught_up(&mut snap);
    let slot_active = |snap: &mut Snapshot, active: bool| {
        if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
            slot.active = active;
        }
    };
    // Between syncs, then a sync of five seconds.
    slot_active(&mut snap, false);
    feed(&mut app, &snap, 2);
    slot_active(&mut snap, true);
    feed(&mut app, &snap, 5);
    slot_active(&mut snap, false);
    feed(&mut app, &snap, 1);
    let text = screen(&render(&mut app, 140, 36));
    assert!(text.contains("last sync 0.0s ago, took 5.0s"), "{text}");
    // Ten rows on the source after it, the slot inactive for two minutes.
    snap.source.current_lsn = Some("0/3100000".into());
    set_rows(&mut snap.source, "tache", 20);
    if let Fetched::Ok(ts) = &mut snap.source.tables {
        for t in ts.iter_mut().filter(|t| t.name == "tache") {
            t.modifications = Some(2);
        }
    }
    feed(&mut app, &snap, 120);
    let text = screen(&render(&mut app, 140, 36));
    let row = text
        .lines()
        .find(|l| l.contains("│tache"))
        .unwrap_or_default();
    assert!(row.contains("pending"), "{text}");
    assert!(!text.contains("stuck"), "{text}");
    assert!(text.contains("last sync 2m00s ago"), "{text}");
}

#[test]
fn with_airbyte_each_table_says_when_its_rows_were_last_loaded() {
    use crate::model::snapshot::Freshness;
    let mut app = App::new(Settings::default(), T0);
    app.utc_offset_secs = 0;
    let mut snap = healthy();
    if let Fetched::Ok(ts) = &mut snap.dest.tables {
        for t in ts.iter_mut() {
            t.freshness = Some(Freshness {
                // tache loaded 3 minutes before the first poll; utilisateur not indexed.
                loaded_at_ms: (t.name == "tache").then_some(T0 - 180_000),
                loaded_indexed: t.name == "tache",
                ..Freshness::default()
            });
        }
    }
    feed(&mut app, &snap, 2);
    let text = screen(&render(&mut app, 120, 36));
    assert!(text.contains("loaded"), "{text}");
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(&format!("│{name} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("tache").contains("3m02s"), "{text}");
    assert!(row("utilisateur").contains('—'), "{text}");
    // The native engine has no such column.
    let mut native = app_with_native_snap(&snap);
    let text = screen(&render(&mut native, 120, 36));
    assert!(!text.contains("loaded"), "{text}");
}

fn app_with_native_snap(snap: &Snapshot) -> App {
    let mut app = app();
    feed(&mut app, snap, 2);
    app
}

/// Ten minutes of polls: the source writing 64 kB/s, the slot's consumer (Airbyte)
/// syncing every three minutes for twenty seconds.
fn ten_minutes_of_airbyte() -> App {
    let mut app = App::new(Settings::default(), T0);
    app.utc_offset_secs = 0;
    let mut confirmed = 0x100_0000u64;
    for s in 0..600u64 {
        let mut snap = healthy();
        let current = 0x100_0000 + s * 65_536;
        let active = s % 180 >= 160;
        if s % 180 == 160 {
            confirmed = current - 65_536 * 20;
        }
        snap.source.current_lsn = Some(crate::model::lsn::Lsn(current).to_string());
        if let Fetched::Ok(Some(slot)) = &mut snap.source.slot {
            slot.active = active;
            slot.confirmed_flush_lsn = Some(crate::model::lsn::Lsn(confirmed).to_string());
            slot.retained_bytes = Some((current - confirmed) as i64);
            slot.lag_bytes = Some((current - confirmed) as i64);
        }
        feed(&mut app, &snap, 1);
    }
    app
}

#[test]
fn w_shows_the_slot_over_time_as_charts_with_the_syncs_marked() {
    let mut app = ten_minutes_of_airbyte();
    assert_eq!(app.tracker.syncs().sessions().count(), 3);
    app.update(Action::SlotHistory);
    let t = render(&mut app, 120, 36);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    for want in [
        "retained WAL",
        "lag (unconfirmed WAL)",
        "lag (time behind)",
        "-1h00m",
        "now",
        "┊ sync",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    // Esc closes it; Enter on the slot pane opens it again.
    app.update(Action::Cancel);
    assert!(app.popup.is_none());
    app.update(Action::NextPane);
    assert_eq!(app.focus, Pane::Slot);
    app.update(Action::Details);
    assert_eq!(app.popup, Some(Popup::Slot));
}

#[test]
fn the_slot_charts_fit_80_by_24() {
    let mut app = ten_minutes_of_airbyte();
    app.update(Action::SlotHistory);
    let t = render(&mut app, 80, 24);
    insta::assert_snapshot!(t.backend());
    let text = screen(&t);
    assert!(text.contains("lag (time behind)"), "{text}");
}

#[test]
fn the_history_window_is_the_configured_one() {
    let settings = Settings {
        history: std::time::Duration::from_secs(600),
        ..Settings::default()
    };
    let app = App::new(settings, T0);
    assert_eq!(app.tracker.syncs().timeline().window_ms(), 600_000);
}

mod airbyte_api {
    //! The jobs pane and `a`, from the API task's reports as plain values.
    use super::*;
    use crate::config::{AirbyteApi, Secret};
    use crate::io::airbyte::task::ApiMsg;
    use crate::model::airbyte::{ApiProblem, Connection, Job, JobStatus};
    use crate::model::check::{CheckId, Status};

    fn with_api(read_only: bool) -> App {
        let s = Settings {
            engine: Engine::Airbyte,
            read_only,
            airbyte: Some(AirbyteApi {
                url: "http://localhost:8000".into(),
                client_id: Some("client".into()),
                client_secret: Some(Secret::new("Sx-airbyte-secret")),
                connection: "pg to pg".into(),
            }),
            ..Settings::default()
        };
        let mut app = App::new(s, T0);
        app.utc_offset_secs = 0;
        app
    }

    fn conn() -> Connection {
        Connection {
            id: "9924bcd0-99be-453d-ba47-c2c9766f7da5".into(),
            name: "pg to pg".into(),
        }
    }

    fn job(id: i64, status: &str, ago_ms: i64, dur_ms: i64) -> Job {
        Job {
            id,
            status: JobStatus::parse(status),
            job_type: "sync".into(),
            started_at_ms: Some(T0 - ago_ms),
            updated_at_ms: None,
            duration_ms: Some(dur_ms),
            rows: Some(1234 * id as u64),
            bytes: Some(56_000 * id as u64),
        }
    }

    fn listed(app: &mut App, jobs: Vec<Job>) {
        app.update(Action::Api(ApiMsg::Connection(Ok(conn()), app.now_ms)));
        app.update(Action::Api(ApiMsg::Jobs(Ok(jobs), app.now_ms)));
    }

    fn check(app: &App) -> &crate::model::check::Check {
        app.checks
            .iter()
            .find(|c| c.id == CheckId::SourceSyncJob)
            .expect("source.sync_job is among the checks")
    }

    #[test]
    fn the_jobs_pane_shows_the_last_jobs_and_a_failed_one_is_critical() {
        let mut app = with_api(false);
        feed(&mut app, &healthy(), 2);
        listed(
            &mut app,
            vec![
                job(3, "failed", 600_000, 65_000),
                job(2, "succeeded", 4_200_000, 80_000),
                job(1, "succeeded", 7_800_000, 70_000),
            ],
        );
        let t = render(&mut app, 120, 40);
        insta::assert_snapshot!(t.backend());
        let text = screen(&t);
        assert!(text.contains("Airbyte · pg to pg"), "{text}");
        assert!(text.contains("failed     job 3"), "{text}");
        assert!(text.contains("3 702 rows"), "{text}");
        assert_eq!(check(&app).status, Status::Critical);
        // Between Airbyte syncs the sources' own checks stay as they were.
        let ids: Vec<_> = app.checks.iter().map(|c| c.id).collect();
        let at = ids
            .iter()
            .position(|i| *i == CheckId::SourceSyncJob)
            .unwrap();
        assert_eq!(ids[at - 1], CheckId::SourceSyncs, "after the slot's syncs");
    }

    #[test]
    fn the_jobs_pane_fits_80_by_24_with_one_job() {
        let mut app = with_api(false);
        feed(&mut app, &healthy(), 2);
        listed(
            &mut app,
            vec![
                job(2, "running", 20_000, 0),
                job(1, "succeeded", 3_600_000, 70_000),
            ],
        );
        let t = render(&mut app, 80, 24);
        insta::assert_snapshot!(t.backend());
        let text = screen(&t);
        assert!(text.contains("running    job 2"), "{text}");
        assert!(
            !text.contains("job 1 "),
            "one job on a small screen: {text}"
        );
    }

    #[test]
    fn a_asks_with_the_call_then_y_starts_exactly_one_sync() {
        let mut app = with_api(false);
        feed(&mut app, &healthy(), 1);
        listed(&mut app, vec![job(1, "succeeded", 3_600_000, 70_000)]);
        assert!(app.update(Action::SyncNow).is_empty(), "asks first");
        match &app.popup {
            Some(Popup::Confirm { lines, on_yes, .. }) => {
                assert_eq!(*on_yes, Effect::StartSync);
                let text = lines.join("\n");
                assert!(
                    text.contains("POST http://localhost:8000/api/public/v1/jobs"),
                    "{text}"
                );
                assert!(text.contains(r#""jobType":"sync""#), "{text}");
                assert!(!text.contains("Sx-airbyte-secret"));
            }
            p => panic!("{p:?}"),
        }
        assert_eq!(app.update(Action::Confirm), vec![Effect::StartSync]);
        // Asked again before Airbyte answered: said, not sent twice.
        assert!(app.update(Action::SyncNow).is_empty());
        assert!(app.popup.is_none());
        assert!(app.log.back().unwrap().text.contains("waiting for Airbyte"));
        app.update(Action::Api(ApiMsg::SyncStarted(
            Ok(job(2, "running", 0, 0)),
            app.now_ms,
        )));
        assert_eq!(app.api.as_ref().unwrap().jobs[0].id, 2, "shown at once");
        assert_eq!(check(&app).status, Status::Ok, "a running job is fine");
        // A job running: `a` says so and starts nothing.
        assert!(app.update(Action::SyncNow).is_empty());
        assert!(app.popup.is_none());
        assert!(
            app.log.back().unwrap().text.contains("job 2 is running"),
            "{:?}",
            app.log.back()
        );
        // It ends: the listing says succeeded, the log says so once.
        app.update(Action::Api(ApiMsg::Jobs(
            Ok(vec![
                job(2, "succeeded", 0, 9_000),
                job(1, "succeeded", 3_600_000, 70_000),
            ]),
            app.now_ms,
        )));
        assert!(
            app.log
                .back()
                .unwrap()
                .text
                .contains("job 2: running → succeeded")
        );
    }

    #[test]
    fn a_is_refused_in_read_only_mode_and_explained_without_an_api() {
        let mut ro = with_api(true);
        listed(&mut ro, vec![]);
        assert!(ro.update(Action::SyncNow).is_empty());
        assert!(ro.popup.is_none());
        assert!(ro.log.back().unwrap().text.contains("read-only"));

        let mut none = app();
        assert!(none.update(Action::SyncNow).is_empty());
        assert!(none.popup.is_none());
        assert!(none.log.back().unwrap().text.contains("[airbyte]"));
        assert!(
            none.checks.iter().all(|c| c.id != CheckId::SourceSyncJob),
            "no API, no job check"
        );
    }

    #[test]
    fn wrong_credentials_are_one_line_and_the_rest_of_the_screen_keeps_working() {
        let mut app = with_api(false);
        feed(&mut app, &healthy(), 2);
        let refused = ApiProblem::Credentials(
            "Airbyte refused the client id and secret (401: Invalid client credentials) — check [airbyte] client_id and the secret (`abctl local credentials` prints them)".into(),
        );
        for _ in 0..3 {
            app.update(Action::Api(ApiMsg::Connection(
                Err(refused.clone()),
                app.now_ms,
            )));
        }
        let said = app
            .log
            .iter()
            .filter(|l| l.text.contains("refused the client id"))
            .count();
        assert_eq!(said, 1, "said once, not at every retry");
        assert_eq!(check(&app).status, Status::Unknown);
        let t = render(&mut app, 120, 40);
        let text = screen(&t);
        assert!(text.contains("✗ Airbyte refused the client id"), "{text}");
        assert!(
            text.contains("utilisateur"),
            "the tables still show: {text}"
        );
        assert!(!text.contains("Sx-airbyte-secret"));
        // The keys still work.
        app.update(Action::NextPane);
        assert_eq!(app.focus, Pane::Slot);
        assert!(app.update(Action::SyncNow).is_empty());
        assert!(app.log.back().unwrap().text.contains("no sync started"));
    }

    #[test]
    fn a_stalled_api_shows_as_stalled() {
        let mut app = with_api(false);
        listed(&mut app, vec![job(1, "succeeded", 3_600_000, 70_000)]);
        app.update(Action::Api(ApiMsg::Asking(app.now_ms)));
        app.update(Action::Tick(app.now_ms + 12_000));
        let text = screen(&render(&mut app, 120, 40));
        assert!(text.contains("API not answering for 12.0s"), "{text}");
        assert!(text.contains("job 1 "), "the last jobs stay: {text}");
    }
}

mod overview {
    //! Several pairs: the overview's lines, keys and screen, from plain values.
    use super::*;
    use crate::tui::overview::{self, Overview, Routed};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn three() -> Overview {
        let mut pairs = Vec::new();
        for (name, lose) in [("orders", 0), ("billing", 7), ("crm", 0)] {
            let mut app = app();
            let mut snap = healthy();
            set_rows(&mut snap.dest, "tache", 10 - lose);
            feed(&mut app, &snap, 2);
            pairs.push((name.to_string(), app));
        }
        // crm's destination is down.
        let crm = &mut pairs[2].1;
        let down = SideSnapshot::down(
            "airbyte@localhost:5433/tasks_list".into(),
            Reach::Unreachable("connection refused".into()),
        );
        let t = crm.now_ms + 1000;
        crm.update(Action::Polled(Side::Dest, Box::new(down), t));
        Overview::new(pairs)
    }

    fn apply(o: &mut Overview, k: KeyCode) -> Vec<(usize, Effect)> {
        let r = o.map_key(&key(k)).expect("the key means something");
        o.update(r)
    }

    fn render_overview(o: &mut Overview, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| overview::draw(f, o, &Theme { color: false }))
            .unwrap();
        t
    }

    #[test]
    fn one_line_per_pair_with_its_state() {
        let mut o = three();
        let lines = o.lines();
        let billing = &lines[1].1;
        assert_eq!(billing.name, "billing");
        assert_eq!(billing.largest_difference, Some(7));
        assert!(lines[2].1.down, "crm's destination is down");
        let t = render_overview(&mut o, 120, 12);
        insta::assert_snapshot!(t.backend());
        let text = screen(&t);
        assert!(text.contains("3 pairs"), "{text}");
        assert!(text.contains("billing"), "{text}");
    }

    #[test]
    fn enter_opens_a_pair_esc_comes_back_and_its_keys_are_its_own() {
        let mut o = three();
        apply(&mut o, KeyCode::Char('j'));
        apply(&mut o, KeyCode::Enter);
        assert_eq!(o.open, Some(1));
        let text = screen(&render_overview(&mut o, 120, 36));
        assert!(text.contains("[billing]"), "the pair's own screen: {text}");
        // `p` pauses only this pair's polling.
        let effects = apply(&mut o, KeyCode::Char('p'));
        assert_eq!(effects, vec![(1, Effect::SetPaused(true))]);
        // Esc with a popup open closes the popup, not the pair.
        apply(&mut o, KeyCode::Char('?'));
        apply(&mut o, KeyCode::Esc);
        assert_eq!(o.open, Some(1));
        apply(&mut o, KeyCode::Esc);
        assert_eq!(o.open, None);
    }

    #[test]
    fn the_overview_sorts_and_filters() {
        let mut o = three();
        apply(&mut o, KeyCode::Char('o'));
        assert_eq!(
            o.lines()[0].1.name,
            "crm",
            "worst status first (down: critical)"
        );
        apply(&mut o, KeyCode::Char('o'));
        assert_eq!(o.lines()[0].1.name, "billing", "largest Δ first");
        apply(&mut o, KeyCode::Char('/'));
        for c in "or".chars() {
            apply(&mut o, KeyCode::Char(c));
        }
        apply(&mut o, KeyCode::Enter);
        let names: Vec<String> = o.lines().into_iter().map(|(_, l)| l.name).collect();
        assert_eq!(names, ["orders"]);
        // r refreshes every pair; q quits all.
        assert_eq!(apply(&mut o, KeyCode::Char('r')).len(), 3);
        assert_eq!(apply(&mut o, KeyCode::Char('q')).len(), 3);
        assert!(o.quit);
        // The clock goes to every pair.
        let mut o = three();
        o.update(Routed::All(Action::Tick(T0 + 60_000)));
        assert!(o.pairs.iter().all(|(_, a)| a.now_ms == T0 + 60_000));
    }
}
