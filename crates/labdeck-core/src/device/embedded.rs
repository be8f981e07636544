//! A device driven by the program that embeds labdeck rather than by a
//! driver on a link: it publishes its own snapshots and answers its own
//! requests. Front ends (the console, the INDI server) cannot tell it from
//! a driver, which makes it the load source of the INDI benchmarks.

use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use super::{DeviceCommand, DeviceHandle, DeviceRequest, DeviceSnapshot};
use crate::reply::Reply;

/// The embedding program's side of the device.
#[derive(Debug)]
pub struct EmbeddedDevice {
    state: watch::Sender<DeviceSnapshot>,
    requests: mpsc::Receiver<DeviceRequest>,
}

/// A request waiting for the embedding program's answer.
#[derive(Debug)]
pub struct EmbeddedRequest(DeviceRequest);

impl EmbeddedDevice {
    /// The device and the handle front ends use, starting from `snapshot`.
    pub fn new(snapshot: DeviceSnapshot) -> (Self, DeviceHandle) {
        let name: Arc<str> = snapshot.name.clone();
        let (state, watch) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(64);
        let handle = DeviceHandle::new(name, tx, watch);
        (Self { state, requests }, handle)
    }

    /// Change the published snapshot; every watcher is woken.
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
    pub fn answer(self, reply: Reply) {
        let _ = self.0.reply.send(reply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Property, Value};

    fn snapshot() -> DeviceSnapshot {
        DeviceSnapshot {
            name: "probe".into(),
            driver: "embedded",
            link: "none".into(),
            online: true,
            summary: String::new(),
            properties: vec![Property::new("x", "X", "Main")],
            alarms: vec![],
            techniques: vec![],
            tasks: vec![],
        }
    }

    #[tokio::test]
    async fn requests_reach_the_embedder_and_answers_reach_the_caller() {
        let (mut device, handle) = EmbeddedDevice::new(snapshot());
        let mut watch = handle.watch();
        let caller = tokio::spawn(async move {
            handle
                .command(DeviceCommand::Set {
                    attr: "x".into(),
                    value: "2".into(),
                    force: false,
                })
                .await
        });
        let request = device.next_request().await.expect("a request");
        assert!(matches!(request.command(), DeviceCommand::Set { attr, .. } if attr == "x"));
        device.publish(|s| s.properties[0].value = Some(Value::Float(2.0)));
        request.answer(Reply::ok("set"));
        assert!(caller.await.unwrap().success);
        assert!(watch.has_changed().unwrap());
        assert_eq!(
            watch.borrow_and_update().properties[0].value,
            Some(Value::Float(2.0))
        );
    }
}
