//! labdeck in the middle: a pty for another program, the real port (a
//! serial device or a TCP endpoint) behind it, and every byte relayed
//! both ways unchanged and at once, through a traffic tap.
//!
//! Directions are the program's: TX is program→device, RX is
//! device→program. The line settings the program makes on its pty are
//! read by polling the pty's termios (before every chunk it writes, and
//! every [`LINE_POLL`] besides) and applied to a real serial port; a
//! pty cannot show parity or data bits (see [`crate::link::line`]), so
//! those are the sniffer's own. Canonical mode, echo and the rest of the
//! line discipline act on the program's side of the pty, as they would
//! on a real port.

pub mod decode;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_serial::{SerialPort, SerialStream};
use tokio_util::sync::CancellationToken;

use crate::link::line::{LineSettings, UNSET_SPEED};
use crate::link::pty::{PtyError, VirtualPort};
use crate::link::{
    ConnectError, Direction, FlowControl, LinkError, PortPath, SerialSettings, StopBits, TrafficTap,
};
use crate::publish::Publisher;

pub use decode::{Decode, Decoder, Frame, FrameKind};

/// How often the pty's termios is read when the program writes nothing.
pub const LINE_POLL: Duration = Duration::from_millis(20);
/// Pause between attempts to open the device.
const REOPEN: Duration = Duration::from_secs(1);
/// Largest chunk read at once.
const CHUNK: usize = 4096;

/// The real side of a sniffer.
#[derive(Debug, Clone)]
pub enum SniffDevice {
    /// A serial device (or a simulator's pty), opened with these settings
    /// until the program sets others.
    Serial {
        path: PortPath,
        settings: SerialSettings,
    },
    /// A TCP endpoint (`HOST:PORT`): bytes only, no line settings.
    Tcp { address: String },
}

impl SniffDevice {
    pub fn endpoint(&self) -> String {
        match self {
            Self::Serial { path, .. } => path.describe(),
            Self::Tcp { address } => address.clone(),
        }
    }
}

/// What happened to a sniffer, besides the traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum SniffEvent {
    /// The device is open and bytes flow.
    DeviceOpen { endpoint: String },
    /// An open attempt failed (said once per distinct error).
    DeviceFailed { error: ConnectError },
    /// The open device went away; it is opened again.
    DeviceLost { reason: LinkError },
    /// The program changed its line settings; `applied` says whether the
    /// real port took them (`error` says why not).
    Line {
        settings: Line,
        applied: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Bytes the program wrote while no device was open.
    Dropped { bytes: usize },
}

impl std::fmt::Display for SniffEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::DeviceOpen { endpoint } => write!(f, "device {endpoint} open"),
            Self::DeviceFailed { error } => write!(f, "cannot open the device: {error}"),
            Self::DeviceLost { reason } => write!(f, "device lost: {reason}; reopening"),
            Self::Line {
                settings,
                applied: true,
                ..
            } => write!(f, "program set {settings}: applied to the device"),
            Self::Line {
                settings, error, ..
            } => write!(
                f,
                "program set {settings}: not applied ({})",
                error.as_deref().unwrap_or("unknown reason")
            ),
            Self::Dropped { bytes } => {
                write!(
                    f,
                    "{bytes} byte(s) from the program dropped: no device open"
                )
            }
        }
    }
}

/// Line settings as applied to the real port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Line {
    pub baud: u32,
    pub stop_bits: StopBits,
    pub flow_control: FlowControl,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flow = match self.flow_control {
            FlowControl::None => "",
            FlowControl::Software => ", XON/XOFF",
            FlowControl::Hardware => ", RTS/CTS",
        };
        write!(
            f,
            "{} baud, {} stop bit(s){flow}",
            self.baud, self.stop_bits.0
        )
    }
}

/// A real port that can take line settings.
trait LineTarget {
    fn apply(&mut self, line: Line) -> Result<(), String>;
}

impl LineTarget for SerialStream {
    fn apply(&mut self, line: Line) -> Result<(), String> {
        self.set_baud_rate(line.baud)
            .and_then(|()| self.set_stop_bits(line.stop_bits.into()))
            .and_then(|()| self.set_flow_control(line.flow_control.into()))
            .map_err(|e| e.description)
    }
}

impl LineTarget for TcpStream {
    fn apply(&mut self, _line: Line) -> Result<(), String> {
        Err("a TCP endpoint has no line settings".into())
    }
}

/// One sniffer: its pty exists from [`create`](Self::create) on, so the
/// program can be started before the device is there.
#[derive(Debug)]
pub struct Sniffer {
    port: VirtualPort,
    device: SniffDevice,
    tap: TrafficTap,
    events: Publisher<SniffEvent>,
    cancel: CancellationToken,
    /// What the program asked for last (the device's settings at first).
    wanted: Line,
    /// What the open device has.
    applied: Option<Line>,
    /// A program has set a rate on the pty (and so its other settings).
    configured: bool,
}

impl Sniffer {
    /// Create the program's pty (and its symlink). Call inside a runtime.
    pub fn create(
        device: SniffDevice,
        link: Option<&Path>,
        tap: TrafficTap,
        events: Publisher<SniffEvent>,
        cancel: CancellationToken,
    ) -> Result<Self, PtyError> {
        let port = VirtualPort::open_idle_at(link, UNSET_SPEED)?;
        let settings = match &device {
            SniffDevice::Serial { settings, .. } => *settings,
            SniffDevice::Tcp { .. } => SerialSettings::DEFAULT,
        };
        Ok(Self {
            port,
            device,
            tap,
            events,
            cancel,
            wanted: Line {
                baud: settings.baud,
                stop_bits: settings.stop_bits,
                flow_control: settings.flow_control,
            },
            applied: None,
            configured: false,
        })
    }

    /// What the program opens: the symlink if there is one, else the pty.
    pub fn client_path(&self) -> &Path {
        self.port.client_path()
    }

    /// Relay until cancelled, opening the device again whenever it goes.
    pub async fn run(mut self) {
        let mut epoch = 0;
        let mut last_failure = None;
        while !self.cancel.is_cancelled() {
            let opened = tokio::select! {
                () = self.cancel.cancelled() => return,
                opened = self.open() => opened,
            };
            match opened {
                Ok(Device::Serial(mut stream)) => {
                    last_failure = None;
                    epoch += 1;
                    // Opened with what the program asked for last.
                    self.applied = Some(self.wanted);
                    self.relay(&mut stream, epoch).await;
                    // A device that goes as soon as it opens is not
                    // opened again at once.
                    self.wait_for_device().await;
                }
                Ok(Device::Tcp(mut stream)) => {
                    last_failure = None;
                    epoch += 1;
                    self.relay(&mut stream, epoch).await;
                    self.wait_for_device().await;
                }
                Err(error) => {
                    if last_failure.as_ref() != Some(&error) {
                        last_failure = Some(error.clone());
                        self.events.publish(SniffEvent::DeviceFailed { error });
                    }
                    self.wait_for_device().await;
                }
            }
        }
    }

    async fn open(&self) -> Result<Device, ConnectError> {
        match &self.device {
            SniffDevice::Serial { path, settings } => {
                let mut settings = *settings;
                settings.baud = self.wanted.baud;
                settings.stop_bits = self.wanted.stop_bits;
                settings.flow_control = self.wanted.flow_control;
                let Some(path) = path.current() else {
                    return Err(ConnectError::NotFound {
                        endpoint: self.device.endpoint(),
                    });
                };
                crate::link::open_serial(path, settings)
                    .await
                    .map(Device::Serial)
            }
            SniffDevice::Tcp { address } => TcpStream::connect(address)
                .await
                .map(|stream| {
                    let _ = stream.set_nodelay(true);
                    Device::Tcp(stream)
                })
                .map_err(|e| ConnectError::from_io(address, &e)),
        }
    }

    /// Until the next open attempt: the program's bytes have nowhere to
    /// go, as with an unplugged cable; they are counted, not kept.
    async fn wait_for_device(&mut self) {
        let pause = tokio::time::sleep(REOPEN);
        tokio::pin!(pause);
        let mut buf = [0u8; CHUNK];
        loop {
            tokio::select! {
                () = &mut pause => return,
                () = self.cancel.cancelled() => return,
                read = self.port.read(&mut buf) => {
                    if let Ok(n) = read && n > 0 {
                        self.events.publish(SniffEvent::Dropped { bytes: n });
                    }
                }
            }
        }
    }

    /// Relay between the pty and an open device until it goes or the
    /// sniffer is cancelled.
    async fn relay<D>(&mut self, device: &mut D, epoch: u64)
    where
        D: AsyncRead + AsyncWrite + Unpin + LineTarget,
    {
        self.events.publish(SniffEvent::DeviceOpen {
            endpoint: self.device.endpoint(),
        });
        self.follow_line(device);
        let mut from_program = vec![0u8; CHUNK];
        let mut from_device = vec![0u8; CHUNK];
        let mut poll = tokio::time::interval(LINE_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let lost = loop {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                read = self.port.read(&mut from_program) => {
                    let n = match read {
                        Ok(n) => n,
                        Err(e) => break LinkError::Io(format!("pty: {e}")),
                    };
                    // A rate set just before the write applies to it.
                    self.follow_line(device);
                    let bytes = &from_program[..n];
                    if let Err(e) = device.write_all(bytes).await {
                        break lost(&e);
                    }
                    self.tap.record(epoch, Direction::Tx, Bytes::copy_from_slice(bytes));
                }
                read = device.read(&mut from_device) => {
                    let n = match read {
                        Ok(0) => break LinkError::Eof,
                        Ok(n) => n,
                        Err(e) => break lost(&e),
                    };
                    let bytes = &from_device[..n];
                    if let Err(e) = self.port.write_all(bytes).await {
                        break LinkError::Io(format!("pty: {e}"));
                    }
                    self.tap.record(epoch, Direction::Rx, Bytes::copy_from_slice(bytes));
                }
                _ = poll.tick() => self.follow_line(device),
            }
        };
        self.applied = None;
        self.events.publish(SniffEvent::DeviceLost { reason: lost });
    }

    /// Take what the program set on its pty over to the device.
    fn follow_line<D: LineTarget>(&mut self, device: &mut D) {
        let Ok(now) = self.port.line_settings() else {
            return;
        };
        if let LineSettings { baud: Some(_), .. } = now {
            // Back to "unset", so the program's next request shows again.
            let _ = self.port.restore_idle_speed();
            self.configured = true;
        }
        // Until a program has configured its end, the pty's stop bits and
        // flow control are only its defaults: the sniffer's own hold.
        if !self.configured {
            return;
        }
        let wanted = Line {
            baud: now.baud.unwrap_or(self.wanted.baud),
            stop_bits: now.stop_bits,
            flow_control: now.flow_control,
        };
        let asked_again = now.baud.is_some();
        if wanted == self.wanted && (self.applied == Some(wanted) || !asked_again) {
            return;
        }
        self.wanted = wanted;
        let result = device.apply(wanted);
        if result.is_ok() {
            self.applied = Some(wanted);
        }
        self.events.publish(SniffEvent::Line {
            settings: wanted,
            applied: result.is_ok(),
            error: result.err(),
        });
    }
}

/// An open device.
enum Device {
    Serial(SerialStream),
    Tcp(TcpStream),
}

fn lost(e: &std::io::Error) -> LinkError {
    if e.raw_os_error() == Some(libc::EIO) {
        LinkError::DeviceRemoved
    } else {
        LinkError::Io(e.to_string())
    }
}
