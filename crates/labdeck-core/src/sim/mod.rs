//! Device simulators and their fault catalogues. Simulators run inside the
//! runtime for the demo, or alone (`labdeck sim …`) so that other programs
//! can talk to them.

pub mod electrometer;
mod fault;
pub mod turbovac;

use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};

pub use fault::{FaultBoard, FaultError, FaultInfo, FaultParam, FaultSetting, FaultSpec};

/// Details of a simulator that only its kind knows.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SimDetail {
    Turbovac(turbovac::PumpState),
    Electrometer(Box<electrometer::ElectrometerState>),
}

/// What the console shows of a simulator.
#[derive(Debug, Clone, Serialize)]
pub struct SimSnapshot {
    pub name: Arc<str>,
    pub kind: &'static str,
    /// Where clients reach it (pty path, symlink, address); `None` while closed.
    pub endpoint: Option<String>,
    pub faults: Vec<FaultInfo>,
    pub detail: SimDetail,
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum SimError {
    #[error(transparent)]
    Fault(#[from] FaultError),
    #[error("simulator {0} is not running")]
    Gone(Arc<str>),
}

/// Requests a simulator actor serves.
#[derive(Debug)]
pub(crate) enum SimRequest {
    SetFault {
        id: String,
        setting: FaultSetting,
        reply: oneshot::Sender<Result<FaultInfo, FaultError>>,
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
    pub async fn set_fault(&self, id: &str, setting: FaultSetting) -> Result<FaultInfo, SimError> {
        let (reply, rx) = oneshot::channel();
        let gone = || SimError::Gone(self.name.clone());
        self.tx
            .send(SimRequest::SetFault {
                id: id.to_string(),
                setting,
                reply,
            })
            .await
            .map_err(|_| gone())?;
        Ok(rx.await.map_err(|_| gone())??)
    }
}
