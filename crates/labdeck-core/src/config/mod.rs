//! Configuration: the TOML schema, the embedded demo, discovery, and
//! validation with file:line:column errors.

mod error;
mod load;
mod raw;
mod summary;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

pub use error::{ConfigError, ConfigErrors, LoadError};
pub use load::{DEMO, discover, load, not_utf8, parse};
pub use validate::{MAX_DURATION, MIN_DURATION};

use crate::connection::RetryPolicy;
use crate::device::TaskSettings;
use crate::device::electrometer::ElectrometerDriverConfig;
use crate::device::indi::IndiClientConfig;
use crate::device::turbovac::PumpDriverConfig;
use crate::link::SerialSettings;
use crate::sim::electrometer::ElectrometerSimSpec;
use crate::sim::turbovac::TurbovacSimSpec;

/// Where a configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    File(PathBuf),
    Demo,
}

impl std::fmt::Display for ConfigOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Demo => f.write_str("<embedded demo>"),
        }
    }
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub origin: ConfigOrigin,
    pub logging: LoggingSettings,
    pub traffic: TrafficSettings,
    /// Where tasks record, how many may wait per device.
    pub tasks: TaskSettings,
    pub simulators: Vec<SimulatorSpec>,
    pub links: Vec<LinkSpec>,
    pub devices: Vec<DeviceSpec>,
    /// The INDI server, when on.
    pub indi_server: Option<IndiServerSpec>,
    pub macros: Vec<MacroSpec>,
    /// Record the run's timeline to this file (`--record`; see
    /// [`crate::timeline`]).
    pub timeline: Option<PathBuf>,
    /// `[[link]]`s of type `sniff`: labdeck between another program and a port.
    pub sniffers: Vec<SniffSpec>,
    /// `[[rfc2217]]`: ports served over RFC 2217.
    pub rfc2217: Vec<Rfc2217Spec>,
}

/// Where a sniffer's or an RFC 2217 server's real port is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// A serial device.
    Path(PathBuf),
    /// A simulator's virtual port (its current pty).
    Simulator(String),
    /// A TCP endpoint (sniffers only).
    Address(String),
}

impl PortSpec {
    pub fn describe(&self) -> String {
        match self {
            Self::Path(path) => path.display().to_string(),
            Self::Simulator(name) => format!("simulator {name}'s port"),
            Self::Address(address) => address.clone(),
        }
    }
}

/// A `[[link]]` of type `sniff`.
#[derive(Debug, Clone, PartialEq)]
pub struct SniffSpec {
    pub name: String,
    pub device: PortSpec,
    /// Until the program sets its own.
    pub settings: SerialSettings,
    /// The stable symlink to the program's pty.
    pub pty_link: Option<PathBuf>,
    pub decode: crate::sniff::Decode,
    pub capture: Option<PathBuf>,
}

/// An `[[rfc2217]]` server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfc2217Spec {
    pub name: String,
    pub port: PortSpec,
    /// `HOST:PORT` to listen on (127.0.0.1 unless told).
    pub listen: String,
}

/// A named send (`[[macro]]`), once or periodic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroSpec {
    pub name: String,
    /// A link, or a device standing for its link.
    pub target: String,
    pub bytes: Vec<u8>,
    /// As written, for lists: `text "*IDN?" + lf`, `hex 02 16 …`.
    pub shown: String,
    pub every: Option<Duration>,
    /// A periodic macro that starts with labdeck.
    pub start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggingSettings {
    /// A tracing filter: a level or `target=level` directives.
    pub level: String,
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficSettings {
    /// Chunks kept per link for scrollback.
    pub ring: usize,
    /// Bytes kept per link for scrollback (payload and a record per chunk).
    pub ring_bytes: usize,
    /// Capacity of the event bus.
    pub events: usize,
}

impl Default for TrafficSettings {
    fn default() -> Self {
        Self {
            ring: 10_000,
            ring_bytes: 4 * 1024 * 1024,
            events: 4096,
        }
    }
}

impl TrafficSettings {
    /// The history each link's tap keeps.
    pub fn ring_limits(&self) -> crate::link::RingLimits {
        crate::link::RingLimits {
            chunks: self.ring,
            bytes: self.ring_bytes,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorSpec {
    pub name: String,
    pub kind: SimulatorKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SimulatorKind {
    Turbovac(TurbovacSimSpec),
    Electrometer(ElectrometerSimSpec),
}

impl SimulatorKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Turbovac(_) => "turbovac",
            Self::Electrometer(_) => "electrometer",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinkSpec {
    pub name: String,
    pub transport: TransportSpec,
    pub retry: RetryPolicy,
    pub autoconnect: bool,
    /// Every chunk also goes to this pcapng file (created at start).
    pub capture: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TransportSpec {
    Serial {
        path: PathBuf,
        settings: SerialSettings,
    },
    /// The slave side of a simulator's virtual serial port.
    Virtual {
        simulator: String,
        settings: SerialSettings,
    },
    Tcp {
        address: String,
    },
    /// A TCP connection to a simulator's server (its bound port).
    SimulatedTcp {
        simulator: String,
    },
    /// A remote serial port server (ser2net, labgrid) over RFC 2217.
    Rfc2217 {
        address: String,
        settings: SerialSettings,
    },
}

impl TransportSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Serial { .. } => "serial",
            Self::Virtual { .. } => "virtual",
            Self::Tcp { .. } | Self::SimulatedTcp { .. } => "tcp",
            Self::Rfc2217 { .. } => "rfc2217",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSpec {
    pub name: String,
    pub link: String,
    pub driver: DriverSpec,
    /// Remote INDI vectors shown with the device's own properties.
    pub snoop: Vec<SnoopSpec>,
}

/// A remote vector a device shows: `REMOTE:DEVICE.VECTOR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnoopSpec {
    /// The `[[indi.remote]]` it comes through.
    pub remote: String,
    pub device: String,
    pub vector: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum DriverSpec {
    Turbovac(PumpDriverConfig),
    Electrometer(ElectrometerDriverConfig),
    /// A remote INDI server (`[[indi.remote]]`).
    Indi(IndiClientConfig),
}

impl DriverSpec {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Turbovac(_) => "turbovac",
            Self::Electrometer(_) => "electrometer",
            Self::Indi(_) => "indi",
        }
    }
}

/// How the INDI server listens and what it allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndiServerSpec {
    pub host: String,
    pub port: u16,
    pub max_clients: usize,
    /// Connections one address may hold at once.
    pub max_per_address: usize,
    /// A connection that has not sent one complete element within this is
    /// closed (and is the first to go when the slots are full).
    pub handshake_timeout: Duration,
    pub outbox: OutboxLimits,
}

impl Default for IndiServerSpec {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 7624,
            max_clients: 10,
            max_per_address: 8,
            handshake_timeout: Duration::from_secs(10),
            outbox: OutboxLimits::default(),
        }
    }
}

/// A network client's outgoing queue, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxLimits {
    /// Backlog at which the client is dropped.
    pub bytes: usize,
    /// Backlog at which BLOBs are no longer queued for it.
    pub blob_bytes: usize,
}

impl Default for OutboxLimits {
    fn default() -> Self {
        Self {
            bytes: 16 * 1024 * 1024,
            blob_bytes: 2 * 1024 * 1024,
        }
    }
}
