//! Supervision: every actor runs as a tracked task; one that returns an
//! error or panics is marked faulted (and raises an alarm) instead of taking
//! the process down.

use std::any::Any;
use std::borrow::Cow;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::alarm::AlarmKind;
use crate::bus::{Event, EventBus};
use crate::hub::{ActorState, ActorStatus};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub(crate) struct Supervisor {
    tracker: TaskTracker,
    bus: EventBus,
    status: watch::Sender<Vec<ActorStatus>>,
    cancel: CancellationToken,
}

impl Supervisor {
    pub fn new(bus: EventBus, cancel: CancellationToken) -> Self {
        Self {
            tracker: TaskTracker::new(),
            bus,
            status: watch::Sender::new(Vec::new()),
            cancel,
        }
    }

    pub fn tracker(&self) -> &TaskTracker {
        &self.tracker
    }

    pub fn status(&self) -> watch::Receiver<Vec<ActorStatus>> {
        self.status.subscribe()
    }

    pub fn spawn<F, E>(&self, name: Arc<str>, kind: &'static str, actor: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        self.status.send_modify(|all| {
            all.push(ActorStatus {
                name: name.clone(),
                kind: Cow::Borrowed(kind),
                state: ActorState::Running,
                reason: None,
            });
        });
        let status = self.status.clone();
        let bus = self.bus.clone();
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            let outcome = AssertUnwindSafe(actor).catch_unwind().await;
            let (state, reason) = match outcome {
                Ok(Ok(())) => (ActorState::Stopped, None),
                Ok(Err(e)) => (ActorState::Faulted, Some(e.to_string())),
                Err(panic) => (
                    ActorState::Faulted,
                    Some(format!("panicked: {}", panic_text(&*panic))),
                ),
            };
            if state == ActorState::Faulted {
                let why = reason.clone().unwrap_or_default();
                tracing::error!("{kind} {name} faulted: {why}");
                bus.send(Event::Actor {
                    t: Timestamp::now(),
                    actor: name.clone(),
                    faulted: true,
                    reason: why.clone(),
                });
                bus.alarm(
                    &name,
                    AlarmKind::Actor,
                    true,
                    format!("{kind} faulted: {why}"),
                );
            } else if !cancel.is_cancelled() {
                tracing::warn!("{kind} {name} stopped");
            }
            status.send_modify(|all| {
                if let Some(entry) = all.iter_mut().find(|a| a.name == name && a.kind == kind) {
                    entry.state = state;
                    entry.reason = reason;
                }
            });
        });
    }
}

fn panic_text(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_actor_is_marked_faulted_and_the_rest_runs() {
        let bus = EventBus::new(16);
        let mut events = bus.subscribe();
        let sup = Supervisor::new(bus, CancellationToken::new());
        let status = sup.status();
        sup.spawn::<_, String>("bad".into(), "test", async { panic!("boom") });
        sup.spawn::<_, String>("good".into(), "test", async { Ok(()) });
        sup.tracker().close();
        sup.tracker().wait().await;
        let all = status.borrow().clone();
        let bad = all.iter().find(|a| &*a.name == "bad").unwrap();
        assert_eq!(bad.state, ActorState::Faulted);
        assert_eq!(bad.reason.as_deref(), Some("panicked: boom"));
        assert_eq!(
            all.iter().find(|a| &*a.name == "good").unwrap().state,
            ActorState::Stopped
        );
        assert!(matches!(
            events.recv().await,
            Ok(Event::Actor { faulted: true, .. })
        ));
    }
}
