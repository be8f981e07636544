//! The runtime: a supervisor that builds simulators, links, connection
//! managers and drivers from a configuration and owns their lifecycles.

mod ports;
mod snoop;
mod supervise;
mod thread;

use crate::store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use self::supervise::Supervisor;
use self::thread::DeviceThread;
use crate::bus::EventBus;
use crate::config::{Config, DriverSpec, SimulatorKind, TransportSpec};
use crate::connection::{ConnCommand, ConnectionManager, LinkParts};
use crate::device::DriverParts;
use crate::device::electrometer::ElectrometerDriver;
use crate::device::indi::IndiClientDriver;
use crate::device::turbovac::PumpDriver;
use crate::hub::{Hub, HubParts};
use crate::link::pty::PtyError;
use crate::link::{Opener, PortPath, SerialOpener, TcpOpener, TrafficTap};
use crate::rfc2217::Rfc2217Opener;
use crate::server::ServerError;
use crate::sim::electrometer::ElectrometerSimulator;
use crate::sim::turbovac::PumpSimulator;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("simulator {name}: {source}")]
    Simulator { name: String, source: PtyError },
    #[error("simulator {name}: {source}")]
    Server { name: String, source: ServerError },
    #[error("link {link} refers to simulator {simulator}, which does not exist")]
    MissingSimulator { link: String, simulator: String },
    #[error("link {link}: {source}")]
    Capture {
        link: String,
        source: crate::capture::CaptureError,
    },
    #[error("sniff link {name}: {source}")]
    Sniffer { name: String, source: PtyError },
    #[error("rfc2217 server {name}: cannot listen on {address}: {source}")]
    Listen {
        name: String,
        address: String,
        source: std::io::Error,
    },
    #[error("shutdown did not finish within {0:?}")]
    ShutdownTimeout(Duration),
    #[error("cannot start the device thread: {0}")]
    Thread(std::io::Error),
}

/// Everything running for one configuration.
#[derive(Debug)]
pub struct Runtime {
    hub: Hub,
    supervisor: Supervisor,
    cancel: CancellationToken,
    devices: DeviceThread,
}

impl Runtime {
    /// Build and start everything the configuration names. Links with
    /// `autoconnect` start connecting at once.
    pub async fn start(config: &Config) -> Result<Self, RuntimeError> {
        Self::start_on(config, EventBus::new(config.traffic.events)).await
    }

    /// Start on a bus the caller made, so it can subscribe before the
    /// first event (a headless front end prints every one).
    pub async fn start_on(config: &Config, bus: EventBus) -> Result<Self, RuntimeError> {
        let devices = DeviceThread::start().map_err(RuntimeError::Thread)?;
        let config = config.clone();
        let (hub, supervisor, cancel) = devices
            .run(async move { build(&config, bus).await })
            .await?;
        Ok(Self {
            hub,
            supervisor,
            cancel,
            devices,
        })
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Run a front end's actor (a server over the Hub) under the same
    /// supervision as the rest: a crash is an actor alarm, and shutdown
    /// cancels it through the token it is given.
    pub fn supervise<F, E>(
        &self,
        name: Arc<str>,
        kind: &'static str,
        actor: impl FnOnce(CancellationToken) -> F,
    ) where
        F: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        self.supervisor
            .spawn(name, kind, actor(self.cancel.child_token()));
    }

    /// Cancel every actor and wait for them to finish: links closed,
    /// virtual ports and their symlinks gone.
    pub async fn shutdown(self) -> Result<(), RuntimeError> {
        const LIMIT: Duration = Duration::from_secs(5);
        self.cancel.cancel();
        let tracker = self.supervisor.tracker();
        tracker.close();
        let finished = tokio::time::timeout(LIMIT, tracker.wait()).await;
        self.devices.stop().await;
        if let Some(store) = self.hub.store() {
            store.close();
        }
        finished.map_err(|_| RuntimeError::ShutdownTimeout(LIMIT))
    }
}

/// Build everything on the device thread (their I/O is registered
/// there) and start it.
async fn build(
    config: &Config,
    bus: EventBus,
) -> Result<(Hub, Supervisor, CancellationToken), RuntimeError> {
    let cancel = CancellationToken::new();
    let supervisor = Supervisor::new(bus.clone(), cancel.clone());
    let ring = config.traffic.ring_limits();
    let mut taps = Vec::new();
    // Subscribed before anything starts: the recorded timeline is whole.
    let timeline = config
        .timeline
        .as_ref()
        .map(|path| (path.clone(), bus.subscribe()));

    let mut simulators = Vec::new();
    let mut ports: HashMap<&str, watch::Receiver<Option<PathBuf>>> = HashMap::new();
    let mut addresses: HashMap<&str, String> = HashMap::new();
    for sim in &config.simulators {
        let name: Arc<str> = sim.name.as_str().into();
        let tap = TrafficTap::new(name.clone(), ring, Arc::new(bus.clone()));
        match &sim.kind {
            SimulatorKind::Turbovac(spec) => {
                let (actor, handle, port) = PumpSimulator::create(
                    name.clone(),
                    spec.clone(),
                    Arc::new(bus.clone()),
                    tap.clone(),
                    cancel.child_token(),
                )
                .map_err(|source| RuntimeError::Simulator {
                    name: sim.name.clone(),
                    source,
                })?;
                supervisor.spawn(name, "simulator", actor.run());
                simulators.push(handle);
                ports.insert(&sim.name, port);
            }
            SimulatorKind::Electrometer(spec) => {
                let (actor, handle) = ElectrometerSimulator::create(
                    name.clone(),
                    spec.clone(),
                    Arc::new(bus.clone()),
                    Some(tap.clone()),
                    cancel.child_token(),
                )
                .await
                .map_err(|source| RuntimeError::Server {
                    name: sim.name.clone(),
                    source,
                })?;
                addresses.insert(&sim.name, actor.local_addr().to_string());
                supervisor.spawn(name, "simulator", actor.run());
                simulators.push(handle);
            }
        }
        taps.push(tap);
    }

    let mut connections = Vec::new();
    let mut sessions = HashMap::new();
    for link in &config.links {
        let name: Arc<str> = link.name.as_str().into();
        let opener: Arc<dyn Opener> = match &link.transport {
            TransportSpec::Serial { path, settings } => {
                Arc::new(SerialOpener::new(PortPath::Fixed(path.clone()), *settings))
            }
            TransportSpec::Virtual {
                simulator,
                settings,
            } => {
                let current = ports.get(simulator.as_str()).cloned().ok_or_else(|| {
                    RuntimeError::MissingSimulator {
                        link: link.name.clone(),
                        simulator: simulator.clone(),
                    }
                })?;
                let path = PortPath::Virtual {
                    simulator: simulator.clone(),
                    current,
                };
                Arc::new(SerialOpener::new(path, *settings))
            }
            TransportSpec::Tcp { address } => Arc::new(TcpOpener::new(address.clone())),
            TransportSpec::Rfc2217 { address, settings } => {
                Arc::new(Rfc2217Opener::new(address.clone(), *settings))
            }
            TransportSpec::SimulatedTcp { simulator } => {
                let address = addresses.get(simulator.as_str()).ok_or_else(|| {
                    RuntimeError::MissingSimulator {
                        link: link.name.clone(),
                        simulator: simulator.clone(),
                    }
                })?;
                Arc::new(TcpOpener::new(address.clone()))
            }
        };
        let session_tx = if config.devices.iter().any(|d| d.link == link.name) {
            let (tx, rx) = mpsc::channel(4);
            sessions.insert(link.name.as_str(), rx);
            Some(tx)
        } else {
            None
        };
        let tap = TrafficTap::new(name.clone(), ring, Arc::new(bus.clone()));
        if let Some(path) = &link.capture {
            ports::capture(&name, path, &tap, &supervisor, &cancel)?;
        }
        let simulator = match &link.transport {
            TransportSpec::Virtual { simulator, .. }
            | TransportSpec::SimulatedTcp { simulator } => Some(simulator.as_str().into()),
            TransportSpec::Serial { .. }
            | TransportSpec::Tcp { .. }
            | TransportSpec::Rfc2217 { .. } => None,
        };
        let (manager, handle) = ConnectionManager::new(LinkParts {
            name: name.clone(),
            opener,
            policy: link.retry,
            tap: tap.clone(),
            out: Arc::new(bus.clone()),
            sessions: session_tx,
            simulator,
            cancel: cancel.child_token(),
        });
        supervisor.spawn(name, "connection", manager.run());
        taps.push(tap);
        connections.push(handle);
    }

    ports::start_sniffers(
        &config.sniffers,
        &ports,
        ring,
        &bus,
        &supervisor,
        &cancel,
        &mut taps,
    )?;
    ports::start_rfc2217(
        &config.rfc2217,
        &ports,
        ring,
        &bus,
        &supervisor,
        &cancel,
        &mut taps,
    )
    .await?;

    let store = (!config.devices.is_empty())
        .then(|| open_store(&config.tasks.data_dir, &bus))
        .flatten();
    let mut devices = Vec::new();
    let mut relays = Vec::new();
    let labdeck = crate::device::indi::new_labdeck_id();
    for device in &config.devices {
        let name: Arc<str> = device.name.as_str().into();
        let Some(session_rx) = sessions.remove(device.link.as_str()) else {
            continue;
        };
        let parts = |sessions| DriverParts {
            name: name.clone(),
            link: device.link.as_str().into(),
            sessions,
            out: Arc::new(bus.clone()),
            tasks: config.tasks.clone(),
            journal: store
                .clone()
                .map(|s| Arc::new(s) as Arc<dyn crate::device::TaskJournal>),
            cancel: cancel.child_token(),
        };
        match &device.driver {
            DriverSpec::Turbovac(cfg) => {
                let (driver, handle) = PumpDriver::new(parts(session_rx), *cfg);
                supervisor.spawn(name, "driver", driver.run());
                devices.push(handle);
            }
            DriverSpec::Electrometer(cfg) => {
                let (driver, handle) = ElectrometerDriver::new(parts(session_rx), cfg.clone());
                supervisor.spawn(name, "driver", driver.run());
                devices.push(handle);
            }
            DriverSpec::Indi(cfg) => {
                let (driver, handle) =
                    IndiClientDriver::new(parts(session_rx), cfg.clone(), labdeck.clone());
                relays.push(driver.relay());
                supervisor.spawn(name, "driver", driver.run());
                devices.push(handle);
            }
        }
    }
    spawn_snoops(config, &devices, &bus, &supervisor, &cancel);

    for (link, handle) in config.links.iter().zip(&connections) {
        if link.autoconnect {
            let _ = handle.post(ConnCommand::Connect);
        }
    }

    let hub = Hub::new(HubParts {
        connections,
        simulators,
        devices,
        relays,
        labdeck,
        taps,
        bus,
        actors: supervisor.status(),
        macros: config.macros.clone(),
        store,
    });
    hub.start_macros();
    if let Some((path, events)) = timeline {
        let recorder = crate::timeline::record(
            events,
            hub.clone(),
            path,
            config.origin.to_string(),
            cancel.child_token(),
        );
        supervisor.spawn("timeline".into(), "recorder", recorder);
    }
    Ok((hub, supervisor, cancel))
}

/// The task store in the data directory, and what crashed runs left said
/// in the log and as notices. Without it tasks still run, unkept.
fn open_store(dir: &std::path::Path, bus: &EventBus) -> Option<Store> {
    let source: Arc<str> = "tasks".into();
    let (store, recovery) = match Store::open(dir) {
        Ok(opened) => opened,
        Err(e) => {
            tracing::warn!("{e}; tasks run without crash recovery");
            bus.notice(&source, format!("{e}; tasks run without crash recovery"));
            return None;
        }
    };
    for task in &recovery.interrupted {
        let samples = task
            .samples
            .map_or_else(String::new, |n| format!(", {n} samples kept"));
        let text = format!(
            "task '{}' on {} was interrupted: labdeck stopped while it ran (run {}){samples}",
            task.name, task.device, task.run
        );
        tracing::warn!("{text}");
        bus.notice(&source, text);
    }
    let work = &recovery.resumable;
    for job in &work.jobs {
        let text = format!(
            "job '{}' (run {}) was interrupted: {} task(s) not started; 'resume' runs them",
            job.was.name,
            job.run,
            job.rest.tasks.len()
        );
        tracing::warn!("{text}");
        bus.notice(&source, text);
    }
    if !work.tasks.is_empty() {
        let text = format!(
            "{} task(s) were waiting when labdeck stopped; 'resume' queues them again",
            work.tasks.len()
        );
        tracing::warn!("{text}");
        bus.notice(&source, text);
    }
    Some(store)
}

/// One mirroring task per (device, remote) pair of `snoop` entries.
fn spawn_snoops(
    config: &Config,
    devices: &[crate::device::DeviceHandle],
    bus: &EventBus,
    supervisor: &Supervisor,
    cancel: &CancellationToken,
) {
    let find = |name: &str| devices.iter().find(|d| &**d.name() == name);
    for spec in &config.devices {
        let mut remotes: Vec<&str> = spec.snoop.iter().map(|s| s.remote.as_str()).collect();
        remotes.dedup();
        for remote in remotes {
            let (Some(target), Some(source)) = (find(&spec.name), find(remote)) else {
                continue;
            };
            let specs = spec
                .snoop
                .iter()
                .filter(|s| s.remote == remote)
                .cloned()
                .collect();
            let name: Arc<str> = format!("{}:snoop:{remote}", spec.name).into();
            supervisor.spawn(
                name,
                "snoop",
                snoop::mirror(
                    target.clone(),
                    source.clone(),
                    specs,
                    bus.clone(),
                    cancel.child_token(),
                ),
            );
        }
    }
}
