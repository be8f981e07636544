//! What every driver shares: the session it is handed by its connection
//! manager, the request queue, the property sheet and the published
//! snapshot — and the actor loop that polls while connected.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::{
    DeviceCommand, DeviceHandle, DeviceRequest, DeviceSnapshot, PropState, PropertySheet,
    PropertyUpdate, Value,
};
use crate::bus::{Event, EventBus};
use crate::connection::Session;
use crate::reply::Reply;

pub(crate) struct DeviceCore {
    pub name: Arc<str>,
    pub link: Arc<str>,
    driver: &'static str,
    sessions: mpsc::Receiver<Session>,
    sessions_open: bool,
    pub session: Option<Session>,
    requests: mpsc::Receiver<DeviceRequest>,
    state: watch::Sender<DeviceSnapshot>,
    pub sheet: PropertySheet,
    pub bus: EventBus,
    cancel: CancellationToken,
}

impl DeviceCore {
    pub fn new(
        name: Arc<str>,
        link: Arc<str>,
        driver: &'static str,
        sheet: PropertySheet,
        sessions: mpsc::Receiver<Session>,
        bus: EventBus,
        cancel: CancellationToken,
    ) -> (Self, DeviceHandle) {
        let snapshot = DeviceSnapshot {
            name: name.clone(),
            driver,
            link: link.clone(),
            online: false,
            summary: "offline".into(),
            properties: sheet.all().to_vec(),
            alarms: Vec::new(),
        };
        let (state, state_rx) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(32);
        let handle = DeviceHandle::new(name.clone(), tx, state_rx);
        let core = Self {
            name,
            link,
            driver,
            sessions,
            sessions_open: true,
            session: None,
            requests,
            state,
            sheet,
            bus,
            cancel,
        };
        (core, handle)
    }

    pub fn set(&mut self, name: &str, value: Value, state: PropState) {
        if let Some(update) = self.sheet.set(name, value, state) {
            self.announce(update);
        }
    }

    pub fn set_state(&mut self, name: &str, state: PropState) {
        if let Some(update) = self.sheet.set_state(name, state) {
            self.announce(update);
        }
    }

    fn announce(&self, update: PropertyUpdate) {
        self.bus.publish(Event::Property {
            device: self.name.clone(),
            update,
        });
    }

    /// The link went down: every value is stale.
    pub fn mark_idle(&mut self) {
        for update in self.sheet.mark_all(PropState::Idle) {
            self.announce(update);
        }
    }

    /// Drop the session; whether there was one.
    pub fn take_session(&mut self) -> bool {
        let had = self.session.take().is_some();
        if had {
            tracing::info!("{}: link down", self.name);
        }
        had
    }

    /// The "not connected" reply for commands.
    pub fn offline_reply(&self) -> Option<Reply> {
        self.session.is_none().then(|| {
            Reply::fail(format!(
                "{} is not connected (link {})",
                self.name, self.link
            ))
        })
    }

    pub fn publish(&self, online: bool, summary: String, alarms: Vec<String>) {
        self.state.send_replace(DeviceSnapshot {
            name: self.name.clone(),
            driver: self.driver,
            link: self.link.clone(),
            online,
            summary,
            properties: self.sheet.all().to_vec(),
            alarms,
        });
    }
}

/// What a driver does; `drive` runs the loop around it.
pub(crate) trait Driver {
    fn core(&mut self) -> &mut DeviceCore;
    fn poll_interval(&self) -> Duration;
    /// A new session is in `core().session`.
    async fn attached(&mut self);
    /// The session is gone (already taken from the core).
    fn detached(&mut self);
    async fn poll(&mut self);
    async fn command(&mut self, command: DeviceCommand) -> Reply;
}

enum Wake {
    Stop,
    Session(Option<Session>),
    Closed,
    Request(Option<DeviceRequest>),
    Poll,
}

/// The driver actor: sessions from the connection manager, requests from
/// the hub, polls at the driver's period while connected.
pub(crate) async fn drive<D: Driver>(mut driver: D) -> Result<(), Infallible> {
    let mut poll = tokio::time::interval(driver.poll_interval());
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let core = driver.core();
        let closed = core.session.as_ref().map(|s| s.closed.clone());
        let connected = core.session.is_some();
        let wake = tokio::select! {
            biased;
            _ = core.cancel.cancelled() => Wake::Stop,
            session = core.sessions.recv(), if core.sessions_open => Wake::Session(session),
            _ = cancelled(closed.as_ref()) => Wake::Closed,
            request = core.requests.recv() => Wake::Request(request),
            _ = poll.tick(), if connected => Wake::Poll,
        };
        match wake {
            Wake::Stop | Wake::Request(None) => break,
            Wake::Session(Some(session)) => {
                tracing::info!("{}: link up on {}", core.name, session.endpoint);
                core.session = Some(session);
                driver.attached().await;
                poll.reset();
            }
            Wake::Session(None) => core.sessions_open = false,
            Wake::Closed => {
                if core.take_session() {
                    driver.detached();
                }
            }
            Wake::Request(Some(request)) => {
                let reply = match driver.core().offline_reply() {
                    Some(offline) => offline,
                    None => driver.command(request.command).await,
                };
                let _ = request.reply.send(reply);
            }
            Wake::Poll => driver.poll().await,
        }
    }
    driver.core().session = None;
    Ok(())
}

async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}
