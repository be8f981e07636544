//! Bytes by hand: `send` to a link (through the device that drives it,
//! so they go out between its own exchanges), and `[[macro]]`s, sent
//! once or every so often until stopped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{Hub, HubResult, Outcome};
use crate::config::MacroSpec;
use crate::device::{DeviceCommand, DeviceHandle};
use crate::error::HubError;
use crate::request::MacroCommand;

/// How long a send waits for an answer unless told.
pub const DEFAULT_WAIT: Duration = Duration::from_millis(500);

/// The configured macros and the periodic ones running.
#[derive(Debug, Default)]
pub(crate) struct Macros {
    specs: Vec<MacroSpec>,
    running: Mutex<HashMap<String, CancellationToken>>,
}

impl Macros {
    pub fn new(specs: Vec<MacroSpec>) -> Self {
        Self {
            specs,
            running: Mutex::default(),
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, CancellationToken>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Macros {
    fn drop(&mut self) {
        for token in self.running().values() {
            token.cancel();
        }
    }
}

/// A macro as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MacroInfo {
    pub name: String,
    pub target: String,
    /// `text "*IDN?" + lf`, `hex 02 16 …`.
    pub payload: String,
    pub every_ms: Option<u64>,
    pub running: bool,
}

/// What a macro command did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "macro", rename_all = "kebab-case")]
pub enum MacroOutcome {
    /// Sent once; what the device did.
    Sent {
        outcome: Box<Outcome>,
    },
    Started {
        every_ms: u64,
    },
    /// It was running already.
    Running {
        every_ms: u64,
    },
    Stopped,
}

impl Hub {
    /// The device that drives `target` (a link, or a device's name).
    fn sender(&self, target: &str) -> Result<&DeviceHandle, HubError> {
        if let Some(device) = self.device(target) {
            return Ok(device);
        }
        if self.connection(target).is_none() {
            return Err(HubError::UnknownConnection {
                name: target.to_string(),
                known: self
                    .connections()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect(),
            });
        }
        self.devices()
            .iter()
            .find(|d| &*d.snapshot().link == target)
            .ok_or_else(|| HubError::NoDeviceOnLink {
                link: target.to_string(),
            })
    }

    pub(super) async fn send_bytes(
        &self,
        target: &str,
        bytes: Vec<u8>,
        wait: Option<Duration>,
    ) -> HubResult {
        let device = self.sender(target)?;
        let outcome = device
            .command(DeviceCommand::Send {
                bytes,
                wait: wait.unwrap_or(DEFAULT_WAIT),
            })
            .await?;
        Ok(Outcome::Device {
            device: device.name().clone(),
            outcome,
        })
    }

    /// The configured macros, and which periodic ones run.
    pub fn macros(&self) -> Vec<MacroInfo> {
        let macros = &self.inner.macros;
        let running = macros.running();
        macros
            .specs
            .iter()
            .map(|m| MacroInfo {
                name: m.name.clone(),
                target: m.target.clone(),
                payload: m.shown.clone(),
                every_ms: m.every.map(|d| d.as_millis() as u64),
                running: running.contains_key(&m.name),
            })
            .collect()
    }

    pub(super) async fn macro_command(&self, name: &str, command: MacroCommand) -> HubResult {
        let macros = &self.inner.macros;
        let Some(spec) = macros.specs.iter().find(|m| m.name == name).cloned() else {
            return Err(HubError::UnknownMacro {
                name: name.to_string(),
                known: macros.specs.iter().map(|m| m.name.clone()).collect(),
            });
        };
        let outcome = match (command, spec.every) {
            (MacroCommand::Run, None) => MacroOutcome::Sent {
                outcome: Box::new(self.send_bytes(&spec.target, spec.bytes, None).await?),
            },
            (MacroCommand::Stop, None) => return Err(HubError::NotPeriodic { name: spec.name }),
            (MacroCommand::Run, Some(every)) => self.start_periodic(&spec, every)?,
            (MacroCommand::Stop, Some(_)) => {
                if let Some(token) = macros.running().remove(name) {
                    token.cancel();
                }
                MacroOutcome::Stopped
            }
        };
        Ok(Outcome::Macro {
            name: spec.name,
            outcome,
        })
    }

    /// Start the periodic macros marked `start = true`.
    pub fn start_macros(&self) {
        for spec in &self.inner.macros.specs {
            if let (true, Some(every)) = (spec.start, spec.every)
                && let Err(e) = self.start_periodic(spec, every)
            {
                tracing::warn!("macro {}: {e}", spec.name);
            }
        }
    }

    fn start_periodic(&self, spec: &MacroSpec, every: Duration) -> Result<MacroOutcome, HubError> {
        let every_ms = every.as_millis() as u64;
        let device = self.sender(&spec.target)?.clone();
        let mut running = self.inner.macros.running();
        if running.contains_key(&spec.name) {
            return Ok(MacroOutcome::Running { every_ms });
        }
        let token = CancellationToken::new();
        running.insert(spec.name.clone(), token.clone());
        let (name, bytes) = (spec.name.clone(), spec.bytes.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A failing send is logged when it starts failing, not each time.
            let mut failing = false;
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let wait = every.min(DEFAULT_WAIT);
                let sent = device
                    .command(DeviceCommand::Send {
                        bytes: bytes.clone(),
                        wait,
                    })
                    .await;
                match sent {
                    Ok(_) if failing => {
                        tracing::info!("macro {name}: sending again");
                        failing = false;
                    }
                    Err(HubError::Gone { .. }) => break,
                    Err(e) if !failing => {
                        tracing::warn!("macro {name}: {e}");
                        failing = true;
                    }
                    _ => {}
                }
            }
        });
        Ok(MacroOutcome::Started { every_ms })
    }
}
