//! A device driven by the program that embeds labdeck rather than by a
//! driver on a link: it sets its own values and answers its own requests.
//! Front ends (the console, the INDI server) cannot tell it from a
//! driver, which makes it the load source of the INDI benchmarks.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::property::{PropState, SheetChange, Value, ValueUpdate};
use super::report::{DeviceEvent, DeviceReporter};
use super::{DeviceCommand, DeviceHandle, DeviceRequest, DeviceResult, DeviceSnapshot};
use crate::publish::Publisher;
use crate::time::Timestamp;

/// The embedding program's side of the device.
#[derive(Debug)]
pub struct EmbeddedDevice {
    state: watch::Sender<DeviceSnapshot>,
    requests: mpsc::Receiver<DeviceRequest>,
    report: DeviceReporter,
}

/// A request waiting for the embedding program's answer.
#[derive(Debug)]
pub struct EmbeddedRequest(DeviceRequest);

impl EmbeddedDevice {
    /// The device and the handle front ends use, starting from `snapshot`;
    /// its events go to `out`.
    pub fn new(snapshot: DeviceSnapshot, out: Publisher<DeviceEvent>) -> (Self, DeviceHandle) {
        let name: Arc<str> = snapshot.name.clone();
        let (state, watch) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(64);
        let handle = DeviceHandle::new(name.clone(), tx, watch);
        let report = DeviceReporter::new(name, out);
        (
            Self {
                state,
                requests,
                report,
            },
            handle,
        )
    }

    /// Set a property's value and state, as a driver does: the snapshot
    /// follows and the change goes out as an event. Unknown names are
    /// ignored.
    pub fn set(&self, name: &str, value: Value, state: PropState) {
        let mut update = None;
        self.state.send_if_modified(|s| {
            if let Some((i, p)) = s
                .properties
                .iter_mut()
                .enumerate()
                .find(|(_, p)| &*p.def.name == name)
            {
                let t = Timestamp::now();
                p.value = Some(value);
                p.state = state;
                p.updated = Some(t);
                update = Some((
                    i,
                    ValueUpdate {
                        name: p.def.name.clone(),
                        t,
                        value: p.value.clone(),
                        state,
                    },
                ));
            }
            false
        });
        if let Some((i, update)) = update {
            self.report.change(&SheetChange::Value(i, update));
        }
    }

    /// Change device-level state (online, summary, alarms, the set of
    /// properties); every watcher is woken.
    pub fn publish(&self, change: impl FnOnce(&mut DeviceSnapshot)) {
        self.state.send_modify(change);
    }

    /// The next request, or None once every handle is gone.
    pub async fn next_request(&mut self) -> Option<EmbeddedRequest> {
        self.requests.recv().await.map(EmbeddedRequest)
    }
}

impl EmbeddedRequest {
    pub fn command(&self) -> &DeviceCommand {
        &self.0.command
    }

    /// Answer the caller (who may have given up waiting: not an error).
    pub fn answer(self, result: DeviceResult) {
        let _ = self.0.reply.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Capabilities, DeviceKind, DeviceOutcome, Property, PropertyDef};
    use crate::publish::Discard;

    fn snapshot() -> DeviceSnapshot {
        DeviceSnapshot {
            name: "probe".into(),
            kind: DeviceKind::Embedded,
            link: "none".into(),
            capabilities: Arc::new(Capabilities::default()),
            liveness: crate::device::Liveness::Responding,
            summary: String::new(),
            properties: vec![Property::new(PropertyDef::new("x", "X", "Main"))],
            alarms: vec![],
            tasks: vec![],
            queue: crate::device::QueueMode::Active,
        }
    }

    fn handle_property(device: &EmbeddedDevice) -> Property {
        device.state.borrow().properties[0].clone()
    }

    #[tokio::test]
    async fn requests_reach_the_embedder_and_answers_reach_the_caller() {
        let (mut device, handle) = EmbeddedDevice::new(snapshot(), Arc::new(Discard));
        let mut watch = handle.watch();
        let caller = tokio::spawn(async move { handle.set("x", 2.0).await });
        let request = device.next_request().await.expect("a request");
        assert!(matches!(request.command(), DeviceCommand::Set { attr, .. } if attr == "x"));
        device.set("x", Value::Number(2.0), PropState::Ok);
        let property = handle_property(&device);
        request.answer(Ok(DeviceOutcome::Set { property }));
        assert!(caller.await.unwrap().is_ok());
        // A value does not wake watchers; the snapshot has it all the same.
        assert!(!watch.has_changed().unwrap());
        assert_eq!(
            watch.borrow_and_update().properties[0].value,
            Some(Value::Number(2.0))
        );
    }
}
