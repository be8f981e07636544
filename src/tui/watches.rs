//! The Hub's watches (connection, device and simulator snapshots), read
//! when they change.

use futures::FutureExt;
use tokio::sync::watch;

use super::app::Data;
use labdeck_core::connection::{ConnectionHandle, ConnectionSnapshot};
use labdeck_core::device::{DeviceHandle, DeviceSnapshot};
use labdeck_core::hub::Hub;
use labdeck_core::jobs::JobSnapshot;
use labdeck_core::sim::{SimSnapshot, SimulatorHandle};

pub struct Watches {
    connections: Vec<watch::Receiver<ConnectionSnapshot>>,
    devices: Vec<watch::Receiver<DeviceSnapshot>>,
    simulators: Vec<watch::Receiver<SimSnapshot>>,
    jobs: watch::Receiver<Vec<JobSnapshot>>,
}

impl Watches {
    pub fn new(hub: &Hub) -> Self {
        Self {
            connections: hub
                .connections()
                .iter()
                .map(ConnectionHandle::watch)
                .collect(),
            devices: hub.devices().iter().map(DeviceHandle::watch).collect(),
            simulators: hub
                .simulators()
                .iter()
                .map(SimulatorHandle::watch)
                .collect(),
            jobs: hub.jobs().watch(),
        }
    }

    /// Whether a snapshot changed since it was last read.
    pub fn changed(&self) -> bool {
        fn any<T>(watches: &[watch::Receiver<T>]) -> bool {
            watches.iter().any(|w| w.has_changed().unwrap_or(false))
        }
        any(&self.connections)
            || any(&self.devices)
            || any(&self.simulators)
            || self.jobs.has_changed().unwrap_or(false)
    }

    /// Until a snapshot changes (never, when every actor has stopped).
    pub async fn any_changed(&mut self) {
        fn live<T: Send + Sync>(
            watches: &mut [watch::Receiver<T>],
        ) -> impl Iterator<Item = futures::future::BoxFuture<'_, ()>> {
            watches
                .iter_mut()
                // A closed watch would be ready forever.
                .filter(|w| w.has_changed().is_ok())
                .map(|w| w.changed().map(|_| ()).boxed())
        }
        let waiting: Vec<_> = live(&mut self.connections)
            .chain(live(&mut self.devices))
            .chain(live(&mut self.simulators))
            .chain(live(std::slice::from_mut(&mut self.jobs)))
            .collect();
        if waiting.is_empty() {
            return std::future::pending().await;
        }
        futures::future::select_all(waiting).await;
    }

    pub fn read(&mut self, hub: &Hub) -> Data {
        fn latest<T: Clone>(watches: &mut [watch::Receiver<T>]) -> Vec<T> {
            watches
                .iter_mut()
                .map(|w| w.borrow_and_update().clone())
                .collect()
        }
        Data {
            actors: hub.actors(),
            connections: latest(&mut self.connections),
            devices: latest(&mut self.devices),
            simulators: latest(&mut self.simulators),
            taps: hub
                .taps()
                .iter()
                .map(|t| (t.link().clone(), t.counters()))
                .collect(),
            recording: hub.recording(),
            macros: hub.macros(),
            framing: hub.framing(),
            jobs: self.jobs.borrow_and_update().clone(),
        }
    }
}
