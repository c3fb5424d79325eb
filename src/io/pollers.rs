//! One tokio task per database, each owning its connection: polls on an interval, obeys
//! commands (refresh now, pause, count a table exactly) and reports over a channel. The
//! UI never awaits these tasks; a stalled server only delays its own reports.

use crate::model::side::Side;
use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::Settings;
use crate::io::poll::{SidePoller, wanted_on_dest};
use crate::logic::mapping::Mapping;
use crate::model::snapshot::SideSnapshot;
use crate::model::snapshot::TableKey;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PollerCmd {
    RefreshNow,
    Pause(bool),
    CountExact(TableKey),
}

/// What pollers tell the UI.
#[derive(Clone, Debug)]
pub enum PollerMsg {
    Started(Side),
    Polled(Side, Box<SideSnapshot>),
}

/// Handles to both pollers; dropping it stops them.
pub struct Pollers {
    pub source: mpsc::UnboundedSender<PollerCmd>,
    pub dest: mpsc::UnboundedSender<PollerCmd>,
}

impl Pollers {
    /// Another handle to the same pollers, for background tasks that ask for a refresh.
    pub fn clone_senders(&self) -> Pollers {
        Pollers {
            source: self.source.clone(),
            dest: self.dest.clone(),
        }
    }

    pub fn send(&self, cmd: PollerCmd) {
        // A poller that has ended (runtime shutting down) has nothing left to do.
        let _ = self.source.send(cmd.clone());
        let _ = self.dest.send(cmd);
    }
}

/// Starts both pollers. The source's table list reaches the destination's poller through
/// a watch channel, so neither waits on the other.
pub fn spawn(settings: &Settings, out: mpsc::UnboundedSender<PollerMsg>) -> Pollers {
    let (wanted_tx, wanted_rx) = watch::channel(Vec::<TableKey>::new());
    let source = spawn_one(Side::Source, settings, out.clone(), None, Some(wanted_tx));
    let dest = spawn_one(Side::Dest, settings, out, Some(wanted_rx), None);
    Pollers { source, dest }
}

fn spawn_one(
    role: Side,
    settings: &Settings,
    out: mpsc::UnboundedSender<PollerMsg>,
    wanted_rx: Option<watch::Receiver<Vec<TableKey>>>,
    wanted_tx: Option<watch::Sender<Vec<TableKey>>>,
) -> mpsc::UnboundedSender<PollerCmd> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let interval = settings.poll_interval;
    let mut poller = SidePoller::new(role, settings);
    let mapping = Mapping::new(settings);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut paused = false;
        let mut forced: HashSet<TableKey> = HashSet::new();
        loop {
            let poll_now = tokio::select! {
                _ = ticker.tick() => !paused,
                cmd = rx.recv() => match cmd {
                    None => return,
                    Some(PollerCmd::RefreshNow) => true,
                    Some(PollerCmd::Pause(p)) => { paused = p; false }
                    Some(PollerCmd::CountExact(key)) => {
                        // Asked by the source's name: the destination counts where it lands.
                        forced.insert(match role {
                            Side::Source => key,
                            Side::Dest => mapping.dest_of(&key),
                        });
                        true
                    }
                },
            };
            if !poll_now {
                continue;
            }
            if out.send(PollerMsg::Started(role)).is_err() {
                return;
            }
            let wanted = wanted_rx
                .as_ref()
                .map(|w| w.borrow().clone())
                .unwrap_or_default();
            let snap = poller.poll(&wanted, &forced).await;
            if snap.reach.is_up() {
                forced.clear();
            }
            if let Some(tx) = &wanted_tx
                && snap.tables.ok().is_some()
            {
                let _ = tx.send(wanted_on_dest(&snap, &mapping));
            }
            if out.send(PollerMsg::Polled(role, Box::new(snap))).is_err() {
                return;
            }
            ticker.reset_after(interval.max(Duration::from_millis(100)));
        }
    });
    tx
}
