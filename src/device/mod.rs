//! Devices: the property model, device handles and drivers.

mod core;
pub mod electrometer;
mod property;
pub mod turbovac;

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

pub use property::{PropState, Property, PropertySheet, PropertyUpdate, Value, si_format};

use crate::reply::Reply;

/// What the console shows of a device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceSnapshot {
    pub name: Arc<str>,
    pub driver: &'static str,
    pub link: Arc<str>,
    /// The device answers over its link.
    pub online: bool,
    /// One line for lists, e.g. "accelerating 420 Hz".
    pub summary: String,
    pub properties: Vec<Property>,
    /// Active device alarms (errors, warnings).
    pub alarms: Vec<String>,
}

/// A request to a driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceCommand {
    /// Write a property, value as text (parsed and checked by the driver).
    Set { attr: String, value: String },
    /// A driver action such as `on`, `off`, `reset`, `read 24`.
    Action { name: String, args: Vec<String> },
}

#[derive(Debug)]
pub(crate) struct DeviceRequest {
    pub command: DeviceCommand,
    pub reply: oneshot::Sender<Reply>,
}

/// Cloneable handle to a running driver.
#[derive(Debug, Clone)]
pub struct DeviceHandle {
    name: Arc<str>,
    tx: mpsc::Sender<DeviceRequest>,
    state: watch::Receiver<DeviceSnapshot>,
}

impl DeviceHandle {
    pub(crate) fn new(
        name: Arc<str>,
        tx: mpsc::Sender<DeviceRequest>,
        state: watch::Receiver<DeviceSnapshot>,
    ) -> Self {
        Self { name, tx, state }
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn snapshot(&self) -> DeviceSnapshot {
        self.state.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<DeviceSnapshot> {
        self.state.clone()
    }

    /// Send a command and wait for the driver's reply.
    pub async fn command(&self, command: DeviceCommand) -> Reply {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(DeviceRequest { command, reply })
            .await
            .is_err()
        {
            return Reply::fail(format!("device {} is not running", self.name));
        }
        rx.await.unwrap_or_else(|_| {
            Reply::fail(format!("device {} stopped before answering", self.name))
        })
    }

    pub async fn action(&self, name: &str, args: &[&str]) -> Reply {
        self.command(DeviceCommand::Action {
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        })
        .await
    }

    pub async fn set(&self, attr: &str, value: &str) -> Reply {
        self.command(DeviceCommand::Set {
            attr: attr.into(),
            value: value.into(),
        })
        .await
    }

    /// Read a property from the latest snapshot.
    pub fn get(&self, attr: &str) -> Reply {
        let snapshot = self.state.borrow();
        match snapshot.properties.iter().find(|p| p.name == attr) {
            Some(p) => Reply::ok(format!(
                "{}.{} = {} [{}]",
                self.name,
                p.name,
                p.display(),
                p.state.as_str()
            ))
            .with_data(p),
            None => Reply::fail(format!(
                "unknown attribute {attr:?} of {}; known: {}",
                self.name,
                snapshot
                    .properties
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}
