//! The full-screen view. Start-up order: error hooks (main), terminal init, run, restore —
//! restore also on error (guard), on panic (our hook, chained to color-eyre's), on
//! SIGHUP and SIGTERM, and when the terminal itself has gone ([`terminal`]).
//! The loop selects over terminal events, poller reports, background reports and a
//! tick; it awaits none of the work it starts ([`effects`] runs each piece as a task),
//! and draws only when something changed.

pub mod action;
pub mod app;
pub mod draw;
pub mod effect;
pub mod effects;
pub mod keys;
pub mod overview;
pub mod panes;
pub mod popups;
pub mod terminal;
pub mod theme;

#[cfg(test)]
mod tests;

use std::time::Duration;

use color_eyre::eyre::{Result, WrapErr};
use crossterm::event::{Event, EventStream, KeyEvent, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::config::Settings;
use crate::io::pollers::{self, PollerMsg};
use action::Action;
use app::App;
use effects::{Effects, Flow};
use theme::Theme;

/// How often the clock and poll ages are redrawn when nothing else happens.
const TICK: Duration = Duration::from_millis(500);

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What a key means in the current state of the UI.
pub fn map_key(app: &App, ev: &KeyEvent) -> Option<Action> {
    if ev.kind != KeyEventKind::Press {
        return None;
    }
    match &app.popup {
        Some(p) => keys::popup(ev, p.asks()),
        None if app.filter_editing => keys::filtering(ev),
        None => keys::normal(ev),
    }
}

/// How the view ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// `q` or Ctrl-C.
    Quit,
    /// SIGHUP (the terminal or the ssh session went away) or SIGTERM: its name and number.
    Signal(&'static str, i32),
    /// Reading or drawing failed: the terminal is gone (EIO), why.
    TerminalGone(String),
}

impl Ended {
    /// 0 for `q`; 128 + the signal's number, as a shell reports it; 1 for a lost terminal.
    pub fn exit_code(&self) -> u8 {
        match self {
            Ended::Quit => 0,
            Ended::Signal(_, n) => (128 + n) as u8,
            Ended::TerminalGone(_) => 1,
        }
    }

    /// A line for the log or stderr (when anything can still read it).
    pub fn describe(&self) -> Option<String> {
        match self {
            Ended::Quit => None,
            Ended::Signal(name, _) => Some(format!("stopped by {name}")),
            Ended::TerminalGone(why) => Some(format!("the terminal went away ({why})")),
        }
    }
}

/// The live view draws on stdout: refused, with what to use instead, when it is not a
/// terminal.
fn need_terminal() -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        color_eyre::eyre::bail!(
            "the live view needs a terminal; for scripts use `syncwatch check --json`"
        );
    }
    Ok(())
}

/// SIGHUP and SIGTERM, as a stream the loop selects on.
struct Stops {
    hup: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Stops {
    fn new() -> Result<Stops> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Stops {
            hup: signal(SignalKind::hangup()).wrap_err("listening for SIGHUP")?,
            term: signal(SignalKind::terminate()).wrap_err("listening for SIGTERM")?,
        })
    }

    async fn next(&mut self) -> Ended {
        tokio::select! {
            _ = self.hup.recv() => Ended::Signal("SIGHUP", libc::SIGHUP),
            _ = self.term.recv() => Ended::Signal("SIGTERM", libc::SIGTERM),
        }
    }
}

/// Runs the view until the user quits, a signal stops it or the terminal goes away.
/// `badge` marks the header (e.g. "demo").
pub async fn run(settings: Settings, badge: Option<String>) -> Result<Ended> {
    need_terminal()?;
    let theme = Theme::from_env();
    let mut app = App::new(settings.clone(), now_ms());
    app.badge = badge;
    app.push_log(
        action::LogLevel::Info,
        format!(
            "watching {} → {} (engine {}, every {:.1} s); ? for keys",
            settings.source,
            settings.dest,
            settings.engine,
            settings.poll_interval.as_secs_f64()
        ),
    );
    for w in &settings.warnings {
        app.push_log(action::LogLevel::Warn, w.clone());
    }
    let (poll_tx, mut poll_rx) = mpsc::unbounded_channel();
    // Background actions (fixes, …) report back as actions.
    let (act_tx, mut act_rx) = mpsc::unbounded_channel::<Action>();
    let mut stops = Stops::new()?;
    let pollers = pollers::spawn(&settings, poll_tx);
    // With no API configured the sender is kept and never used: its branch just waits.
    let (api_tx, mut api_rx) = mpsc::unbounded_channel();
    let api = settings
        .airbyte
        .clone()
        .map(|a| crate::io::airbyte::task::spawn(a, api_tx.clone()));
    let mut terminal = terminal::Guard::take().wrap_err("setting up the terminal")?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    let mut dirty = true;
    let mut effects = Effects::new(settings.clone(), act_tx, pollers, api);
    loop {
        if dirty {
            if let Err(e) = terminal
                .terminal()
                .draw(|f| draw::draw(f, &mut app, &theme))
            {
                effects.shutdown();
                return Ok(Ended::TerminalGone(e.to_string()));
            }
            dirty = false;
        }
        let action = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => map_key(&app, &k),
                Some(Ok(Event::Resize(..))) => { dirty = true; None }
                Some(Ok(_)) => None,
                Some(Err(e)) => {
                    effects.shutdown();
                    return Ok(Ended::TerminalGone(e.to_string()));
                }
                None => {
                    effects.shutdown();
                    return Ok(Ended::TerminalGone("no more input".into()));
                }
            },
            ended = stops.next() => {
                effects.shutdown();
                return Ok(ended);
            }
            msg = poll_rx.recv() => match msg {
                Some(PollerMsg::Started(side)) => Some(Action::PollStarted(side, now_ms())),
                Some(PollerMsg::Polled(side, snap)) => Some(Action::Polled(side, snap, now_ms())),
                None => None,
            },
            _ = tick.tick() => Some(Action::Tick(now_ms())),
            a = act_rx.recv() => a,
            m = api_rx.recv() => m.map(Action::Api),
        };
        let Some(action) = action else { continue };
        // A request starting changes nothing visible until it is overdue, which the tick
        // shows.
        dirty = !matches!(
            action,
            Action::PollStarted(..) | Action::Api(crate::io::airbyte::task::ApiMsg::Asking(_))
        );
        for effect in app.update(action) {
            if effects.run(effect) == Flow::Quit {
                return Ok(Ended::Quit);
            }
        }
    }
}

/// The view over several pairs: the overview first, each pair's own screen on Enter.
/// Every pair has its own pollers, API task and background work, exactly as one pair
/// alone; their reports reach the loop tagged with the pair, so a stalled pair delays
/// only its own lines.
pub async fn run_pairs(pairs: Vec<crate::config::Pair>) -> Result<Ended> {
    need_terminal()?;
    let theme = Theme::from_env();
    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, Action)>();
    let mut apps = Vec::new();
    let mut effects = Vec::new();
    for (i, p) in pairs.into_iter().enumerate() {
        let mut app = App::new(p.settings.clone(), now_ms());
        app.push_log(
            action::LogLevel::Info,
            format!(
                "pair {}: watching {} → {} (engine {}); Esc back to every pair, ? for keys",
                p.name, p.settings.source, p.settings.dest, p.settings.engine
            ),
        );
        for w in &p.settings.warnings {
            app.push_log(action::LogLevel::Warn, w.clone());
        }
        let (poll_tx, poll_rx) = mpsc::unbounded_channel();
        let pollers = pollers::spawn(&p.settings, poll_tx);
        forward(poll_rx, i, tx.clone(), |m| match m {
            PollerMsg::Started(side) => Action::PollStarted(side, now_ms()),
            PollerMsg::Polled(side, snap) => Action::Polled(side, snap, now_ms()),
        });
        let (act_tx, act_rx) = mpsc::unbounded_channel::<Action>();
        forward(act_rx, i, tx.clone(), |a| a);
        let (api_tx, api_rx) = mpsc::unbounded_channel();
        let api = p
            .settings
            .airbyte
            .clone()
            .map(|a| crate::io::airbyte::task::spawn(a, api_tx));
        forward(api_rx, i, tx.clone(), Action::Api);
        effects.push(Effects::new(p.settings, act_tx, pollers, api));
        apps.push((p.name, app));
    }
    let mut view = overview::Overview::new(apps);
    let mut stops = Stops::new()?;
    let mut terminal = terminal::Guard::take().wrap_err("setting up the terminal")?;
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    let stop_all = |effects: &mut Vec<Effects>| {
        for e in effects.iter_mut() {
            e.shutdown();
        }
    };
    loop {
        if let Err(e) = terminal
            .terminal()
            .draw(|f| overview::draw(f, &mut view, &theme))
        {
            stop_all(&mut effects);
            return Ok(Ended::TerminalGone(e.to_string()));
        }
        let first = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => view.map_key(&k),
                Some(Ok(_)) => None,
                Some(Err(e)) => {
                    stop_all(&mut effects);
                    return Ok(Ended::TerminalGone(e.to_string()));
                }
                None => {
                    stop_all(&mut effects);
                    return Ok(Ended::TerminalGone("no more input".into()));
                }
            },
            ended = stops.next() => {
                stop_all(&mut effects);
                return Ok(ended);
            }
            m = rx.recv() => m.map(|(i, a)| overview::Routed::Pair(i, a)),
            _ = tick.tick() => Some(overview::Routed::All(Action::Tick(now_ms()))),
        };
        // Reports from many pairs arrive in bursts: everything already waiting is applied
        // before the next frame, so twenty pairs cost one redraw, not twenty.
        let mut batch: Vec<overview::Routed> = first.into_iter().collect();
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok((i, a)) => batch.push(overview::Routed::Pair(i, a)),
                Err(_) => break,
            }
        }
        for routed in batch {
            for (i, effect) in view.update(routed) {
                if let Some(e) = effects.get_mut(i) {
                    e.run(effect);
                }
            }
        }
        if view.quit {
            stop_all(&mut effects);
            return Ok(Ended::Quit);
        }
    }
}

/// Forwards one pair's reports into the shared channel, tagged with the pair.
fn forward<T: Send + 'static>(
    mut rx: mpsc::UnboundedReceiver<T>,
    pair: usize,
    out: mpsc::UnboundedSender<(usize, Action)>,
    to_action: fn(T) -> Action,
) {
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if out.send((pair, to_action(m))).is_err() {
                return;
            }
        }
    });
}
