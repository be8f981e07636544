//! Serial ports (real or the slave side of a virtual port) through
//! tokio-serial, with full settings and exclusive open.

use std::path::PathBuf;
use std::str::FromStr;

use futures::future::BoxFuture;
use serde::Serialize;
use tokio::sync::watch;
use tokio_serial::SerialStream;

use super::{ConnectError, Opener, Transport, TransportKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parity {
    None,
    Odd,
    Even,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowControl {
    None,
    Software,
    Hardware,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DataBits(pub u8);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StopBits(pub u8);

impl FromStr for Parity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "odd" => Ok(Self::Odd),
            "even" => Ok(Self::Even),
            _ => Err("expected none, odd or even".into()),
        }
    }
}

impl FromStr for FlowControl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(Self::None),
            "software" => Ok(Self::Software),
            "hardware" => Ok(Self::Hardware),
            _ => Err("expected none, software or hardware".into()),
        }
    }
}

/// Everything needed to open a serial port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SerialSettings {
    pub baud: u32,
    pub data_bits: DataBits,
    pub parity: Parity,
    pub stop_bits: StopBits,
    pub flow_control: FlowControl,
    /// Refuse to share the port (TIOCEXCL plus an advisory lock).
    pub exclusive: bool,
}

impl SerialSettings {
    /// 9600 8N1, no flow control, exclusive.
    pub const DEFAULT: Self = Self {
        baud: 9600,
        data_bits: DataBits(8),
        parity: Parity::None,
        stop_bits: StopBits(1),
        flow_control: FlowControl::None,
        exclusive: true,
    };

    /// The notation operators know: `19200 8E1`.
    pub fn summary(&self) -> String {
        let parity = match self.parity {
            Parity::None => 'N',
            Parity::Odd => 'O',
            Parity::Even => 'E',
        };
        format!(
            "{} {}{}{}",
            self.baud, self.data_bits.0, parity, self.stop_bits.0
        )
    }

    fn builder(&self, path: &str) -> tokio_serial::SerialPortBuilder {
        let data_bits = match self.data_bits.0 {
            5 => tokio_serial::DataBits::Five,
            6 => tokio_serial::DataBits::Six,
            7 => tokio_serial::DataBits::Seven,
            _ => tokio_serial::DataBits::Eight,
        };
        tokio_serial::new(path, self.baud)
            .data_bits(data_bits)
            .parity(self.parity.into())
            .stop_bits(self.stop_bits.into())
            .flow_control(self.flow_control.into())
            .exclusive(self.exclusive)
    }
}

impl From<Parity> for tokio_serial::Parity {
    fn from(parity: Parity) -> Self {
        match parity {
            Parity::None => Self::None,
            Parity::Odd => Self::Odd,
            Parity::Even => Self::Even,
        }
    }
}

impl From<StopBits> for tokio_serial::StopBits {
    fn from(bits: StopBits) -> Self {
        match bits.0 {
            2 => Self::Two,
            _ => Self::One,
        }
    }
}

impl From<FlowControl> for tokio_serial::FlowControl {
    fn from(flow: FlowControl) -> Self {
        match flow {
            FlowControl::None => Self::None,
            FlowControl::Software => Self::Software,
            FlowControl::Hardware => Self::Hardware,
        }
    }
}

impl Default for SerialSettings {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Where a serial port lives: a fixed device path, or the current path of a
/// simulator's virtual port (which changes when the port is reopened, and
/// is absent while the simulator has hung up).
#[derive(Debug, Clone)]
pub enum PortPath {
    Fixed(PathBuf),
    Virtual {
        simulator: String,
        current: watch::Receiver<Option<PathBuf>>,
    },
}

impl PortPath {
    /// The path to open now (`None`: a simulator's port is closed).
    pub fn current(&self) -> Option<PathBuf> {
        match self {
            Self::Fixed(path) => Some(path.clone()),
            Self::Virtual { current, .. } => current.borrow().clone(),
        }
    }

    /// The path now, or what it would be.
    pub fn describe(&self) -> String {
        match (self.current(), self) {
            (Some(path), _) => path.display().to_string(),
            (None, Self::Virtual { simulator, .. }) => format!("{simulator} (port closed)"),
            (None, Self::Fixed(_)) => unreachable!("a fixed path is always present"),
        }
    }
}

/// Opens a serial port with fixed settings.
#[derive(Debug, Clone)]
pub struct SerialOpener {
    path: PortPath,
    settings: SerialSettings,
}

impl SerialOpener {
    pub fn new(path: PortPath, settings: SerialSettings) -> Self {
        Self { path, settings }
    }

    pub fn settings(&self) -> &SerialSettings {
        &self.settings
    }
}

impl Opener for SerialOpener {
    fn kind(&self) -> TransportKind {
        match self.path {
            PortPath::Fixed(_) => TransportKind::Serial,
            PortPath::Virtual { .. } => TransportKind::Virtual,
        }
    }

    fn endpoint(&self) -> String {
        self.path.describe()
    }

    fn open(&self) -> BoxFuture<'static, Result<Transport, ConnectError>> {
        let path = self.path.current();
        let endpoint = self.path.describe();
        let settings = self.settings;
        Box::pin(async move {
            let Some(path) = path else {
                return Err(ConnectError::NotFound { endpoint });
            };
            let endpoint = path.display().to_string();
            let opened = open_stream(path, settings).await?;
            Ok(Transport {
                stream: Box::new(opened),
                endpoint,
            })
        })
    }
}

/// Open a serial port with `settings`.
pub(crate) async fn open_stream(
    path: PathBuf,
    settings: SerialSettings,
) -> Result<SerialStream, ConnectError> {
    let endpoint = path.display().to_string();
    let name = endpoint.clone();
    // Opening a tty can block (carrier detect, a slow USB adapter): keep
    // it off the runtime's worker threads.
    tokio::task::spawn_blocking(move || {
        SerialStream::open(&settings.builder(&name)).map_err(|e| classify(&name, e))
    })
    .await
    .map_err(|e| ConnectError::Io {
        endpoint,
        errno: None,
        message: format!("open task failed: {e}"),
    })?
}

/// Map serialport's error kinds onto the distinctions operators need.
fn classify(endpoint: &str, err: tokio_serial::Error) -> ConnectError {
    use tokio_serial::ErrorKind;
    let endpoint = endpoint.to_string();
    match err.kind {
        // serialport reports EBUSY (TIOCEXCL) and a held lock as NoDevice.
        ErrorKind::NoDevice => ConnectError::Busy { endpoint },
        ErrorKind::InvalidInput => ConnectError::InvalidSettings {
            endpoint,
            message: err.description,
        },
        ErrorKind::Io(kind) => {
            ConnectError::from_io(&endpoint, &std::io::Error::new(kind, err.description))
        }
        ErrorKind::Unknown if err.description.contains("Invalid argument") => {
            ConnectError::InvalidSettings {
                endpoint,
                message: err.description,
            }
        }
        ErrorKind::Unknown => ConnectError::Io {
            endpoint,
            errno: None,
            message: err.description,
        },
    }
}
