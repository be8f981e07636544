//! What the console runs against: the lab in this process (its Hub), or a
//! daemon's lab over its control socket (`labdeck attach`). Both give the
//! console the same things: a snapshot to start from, the traffic so far,
//! the event stream, the lab's state as it changes, and requests and
//! command lines answered in words.

use tokio::sync::{broadcast, mpsc, watch};

use super::watches::Watches;
use crate::daemon::wire::FromDaemon;
use crate::daemon::{Client, Remote, Welcome};
use crate::headless::command::{self, Reply};
use crate::replay::Player;
use labdeck_core::bus::Event;
use labdeck_core::hub::{Hub, LabSnapshot, Origin, Request};
use labdeck_core::link::Chunk;

/// The control lock as an attached console sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The daemon's socket.
    pub socket: String,
    /// Who holds control, in words, when it is someone else.
    pub holder: Option<String>,
    pub yours: bool,
}

pub enum Lab {
    Embedded(Hub),
    Attached(Box<Attached>),
    /// A recorded timeline played back (`labdeck replay`): read-only.
    Replay(Box<Replayed>),
}

/// A recording as the console sees it: the player's frames followed like
/// a daemon's.
pub struct Replayed {
    file: String,
    first: LabSnapshot,
    remote: Remote,
    player: Player,
}

impl Replayed {
    pub fn new(
        file: String,
        first: LabSnapshot,
        frames: mpsc::UnboundedReceiver<FromDaemon>,
        player: Player,
        capacity: usize,
    ) -> Self {
        Self {
            file,
            remote: Remote::follow(frames, first.clone(), capacity),
            first,
            player,
        }
    }
}

/// What a replay answers to anything that would act on the lab.
const READ_ONLY: &str = "a replay is read-only: nothing reaches a device (replay pause|resume|speed N|seek SECONDS|status)";

pub struct Attached {
    client: Client,
    welcome: Welcome,
    remote: Remote,
    control: watch::Receiver<Attachment>,
}

impl Attached {
    /// Follow what the daemon sends (see [`Remote`]).
    pub fn new(
        client: Client,
        welcome: Welcome,
        frames: mpsc::UnboundedReceiver<FromDaemon>,
        capacity: usize,
    ) -> Self {
        let remote = Remote::follow(frames, welcome.snapshot.clone(), capacity);
        let socket = client.endpoint.to_string();
        let (control_tx, control) = watch::channel(Attachment {
            socket: socket.clone(),
            holder: None,
            yours: false,
        });
        let mut lock = remote.control.clone();
        tokio::spawn(async move {
            while lock.changed().await.is_ok() {
                let (holder, yours) = lock.borrow_and_update().clone();
                let attachment = Attachment {
                    socket: socket.clone(),
                    holder,
                    yours,
                };
                if control_tx.send(attachment).is_err() {
                    break;
                }
            }
        });
        Self {
            client,
            welcome,
            remote,
            control,
        }
    }
}

/// Where the console reads the lab's state: the Hub's watches, or the
/// daemon's state frames.
pub enum State {
    Local(Box<Watches>, Hub),
    Remote(watch::Receiver<LabSnapshot>),
}

impl State {
    pub fn changed(&self) -> bool {
        match self {
            Self::Local(watches, _) => watches.changed(),
            Self::Remote(state) => state.has_changed().unwrap_or(false),
        }
    }

    pub async fn any_changed(&mut self) {
        match self {
            Self::Local(watches, _) => watches.any_changed().await,
            Self::Remote(state) => {
                if state.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }

    pub fn read(&mut self) -> LabSnapshot {
        match self {
            Self::Local(watches, hub) => watches.read(hub),
            Self::Remote(state) => state.borrow_and_update().clone(),
        }
    }
}

impl Lab {
    pub fn snapshot(&self) -> LabSnapshot {
        match self {
            Self::Embedded(hub) => hub.snapshot(),
            Self::Attached(a) => a.welcome.snapshot.clone(),
            Self::Replay(r) => r.first.clone(),
        }
    }

    /// Every link's traffic so far, oldest first.
    pub fn history(&self) -> Vec<Chunk> {
        match self {
            Self::Embedded(hub) => hub.history(),
            Self::Attached(a) => a.welcome.history.clone(),
            Self::Replay(_) => Vec::new(),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        match self {
            Self::Embedded(hub) => hub.subscribe(),
            Self::Attached(a) => a.remote.subscribe(),
            Self::Replay(r) => r.remote.subscribe(),
        }
    }

    pub fn state(&self) -> State {
        match self {
            Self::Embedded(hub) => State::Local(Box::new(Watches::new(hub)), hub.clone()),
            Self::Attached(a) => State::Remote(a.remote.state.clone()),
            Self::Replay(r) => State::Remote(r.remote.state.clone()),
        }
    }

    /// The control lock, when attached.
    pub fn control(&self) -> Option<watch::Receiver<Attachment>> {
        match self {
            Self::Embedded(_) | Self::Replay(_) => None,
            Self::Attached(a) => Some(a.control.clone()),
        }
    }

    pub fn take_control(&self) -> Reply {
        match self {
            Self::Embedded(_) => Reply::fail("not attached: this console runs its own lab"),
            Self::Replay(_) => Reply::fail(READ_ONLY),
            Self::Attached(a) => match a.client.take_control() {
                Ok(()) => Reply::ok("control taken"),
                Err(e) => Reply::fail(e.to_string()),
            },
        }
    }

    /// Why an attached console's daemon ended the connection: its own
    /// words when it gave them.
    pub fn detached(&self) -> String {
        match self {
            Self::Embedded(_) => "the lab stopped".into(),
            Self::Replay(r) => format!("the replay of {} stopped", r.file),
            Self::Attached(a) => match a.remote.ended() {
                Some(reason) => format!("{}: {reason}", a.client.endpoint),
                None => format!("{}: the connection closed", a.client.endpoint),
            },
        }
    }

    /// In the header: what this console runs against.
    pub fn describe(&self) -> String {
        match self {
            Self::Embedded(_) => "embedded".into(),
            Self::Attached(a) => format!("attached {}", a.client.endpoint),
            Self::Replay(r) => format!("replay {}", r.file),
        }
    }

    pub async fn request(&self, request: Request) -> Reply {
        match self {
            Self::Embedded(hub) => {
                Reply::from_result(hub.request_as(Origin::Console, request).await)
            }
            Self::Attached(a) => answer(a.client.request(request).await),
            Self::Replay(_) => Reply::fail(READ_ONLY),
        }
    }

    /// A palette line in the Hub's command language; `None` for a blank.
    pub async fn line(&self, line: &str) -> Option<Reply> {
        match self {
            Self::Embedded(hub) => command::execute(hub, Origin::Console, line).await,
            Self::Attached(a) => Some(answer(a.client.line(line).await)),
            Self::Replay(r) => Some(match crate::replay::parse(line) {
                None if line.trim().is_empty() => return None,
                None => Reply::fail(READ_ONLY),
                Some(Err(usage)) => Reply::fail(usage),
                Some(Ok(control)) => {
                    if let Some(control) = control {
                        r.player.control(control);
                        // The player takes it before the next frame.
                        tokio::task::yield_now().await;
                    }
                    Reply::ok(r.player.position().to_string())
                }
            }),
        }
    }

    /// One link's traffic so far (captures).
    pub async fn link_history(&self, link: &str) -> Result<Vec<Chunk>, String> {
        match self {
            Self::Embedded(hub) => hub
                .tap(link)
                .map(labdeck_core::link::TrafficTap::history)
                .ok_or_else(|| {
                    format!(
                        "unknown link {link:?}; links: {}",
                        hub.taps()
                            .iter()
                            .map(|t| t.link().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }),
            Self::Attached(a) => a.client.history(link).await.map_err(|e| e.to_string())?,
            Self::Replay(_) => Err(format!(
                "a replay keeps no history of {link}: the traffic pane shows what has played"
            )),
        }
    }
}

fn answer(result: Result<(bool, String), crate::daemon::ClientError>) -> Reply {
    match result {
        Ok((true, text)) => Reply::ok(text),
        Ok((false, text)) => Reply::fail(text),
        Err(e) => Reply::fail(e.to_string()),
    }
}
