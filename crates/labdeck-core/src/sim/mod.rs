//! Device simulators and their fault catalogues. Simulators run inside the
//! runtime for the demo, or alone (`labdeck sim …`) so that other programs
//! can talk to them.

pub mod electrometer;
mod fault;
pub mod replay;
pub mod turbovac;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

pub use fault::{FaultBoard, FaultInfo, FaultParam, FaultSetting, FaultSpec};

use crate::alarm::Notice;
use crate::error::HubError;
use crate::link::Framing;
use crate::publish::Publisher;
use crate::time::Timestamp;

/// Which instrument a simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimKind {
    Turbovac,
    Electrometer,
}

impl SimKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Turbovac => "turbovac",
            Self::Electrometer => "electrometer",
        }
    }
}

impl std::fmt::Display for SimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Details of a simulator that only its kind knows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SimDetail {
    Turbovac(turbovac::PumpState),
    Electrometer(Box<electrometer::ElectrometerState>),
}

/// What the console shows of a simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimSnapshot {
    pub name: Arc<str>,
    pub kind: SimKind,
    /// How its traffic frames.
    pub framing: Framing,
    /// Where clients reach it (pty path, symlink, address); `None` while closed.
    pub endpoint: Option<String>,
    pub faults: Vec<FaultInfo>,
    pub detail: SimDetail,
}

/// What a simulator reports.
#[derive(Debug, Clone)]
pub enum SimEvent {
    /// A fault was switched.
    Fault {
        t: Timestamp,
        simulator: Arc<str>,
        fault: FaultInfo,
    },
    Notice(Notice),
}

/// A simulator's way out: its events, with its name.
#[derive(Debug, Clone)]
pub(crate) struct SimReporter {
    pub name: Arc<str>,
    out: Publisher<SimEvent>,
}

impl SimReporter {
    pub fn new(name: Arc<str>, out: Publisher<SimEvent>) -> Self {
        Self { name, out }
    }

    pub fn notice(&self, message: impl Into<String>) {
        self.out
            .publish(SimEvent::Notice(Notice::new(&self.name, message)));
    }

    pub fn fault(&self, fault: FaultInfo) {
        self.out.publish(SimEvent::Fault {
            t: Timestamp::now(),
            simulator: self.name.clone(),
            fault,
        });
    }
}

/// Requests a simulator actor serves.
#[derive(Debug)]
pub(crate) enum SimRequest {
    SetFault {
        id: String,
        setting: FaultSetting,
        reply: oneshot::Sender<Result<FaultInfo, HubError>>,
    },
}

/// Cloneable handle to a running simulator.
#[derive(Debug, Clone)]
pub struct SimulatorHandle {
    name: Arc<str>,
    tx: mpsc::Sender<SimRequest>,
    state: watch::Receiver<SimSnapshot>,
}

impl SimulatorHandle {
    pub(crate) fn new(
        name: Arc<str>,
        tx: mpsc::Sender<SimRequest>,
        state: watch::Receiver<SimSnapshot>,
    ) -> Self {
        Self { name, tx, state }
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn snapshot(&self) -> SimSnapshot {
        self.state.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<SimSnapshot> {
        self.state.clone()
    }

    pub fn faults(&self) -> Vec<FaultInfo> {
        self.state.borrow().faults.clone()
    }

    /// Switch a fault and wait until the simulator applied it.
    pub async fn set_fault(&self, id: &str, setting: FaultSetting) -> Result<FaultInfo, HubError> {
        let (reply, rx) = oneshot::channel();
        let gone = || HubError::Gone {
            actor: format!("simulator {}", self.name),
        };
        self.tx
            .send(SimRequest::SetFault {
                id: id.to_string(),
                setting,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}
