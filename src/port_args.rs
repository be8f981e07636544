//! Arguments of the subcommands that stand in front of a port: `labdeck
//! sniff` (the real port, how to decode, where to capture) and `labdeck
//! rfc2217` (where to listen); both open a serial port with [`SerialArgs`].

use std::path::PathBuf;

use clap::Args;

use labdeck::headless::{Rfc2217Options, SniffOptions};
use labdeck_core::link::{DataBits, FlowControl, Parity, PortPath, SerialSettings, StopBits};
use labdeck_core::rfc2217::ServedPort;
use labdeck_core::sniff::{Decode, SniffDevice};

#[derive(Debug, Args)]
pub struct SniffArgs {
    /// The real port: a serial device (/dev/ttyUSB0, a simulator's pty), or
    /// HOST:PORT for a TCP endpoint.
    #[arg(value_name = "DEVICE")]
    device: String,
    /// Also maintain a symlink to the program's pty at this path.
    #[arg(long, value_name = "PATH")]
    link: Option<PathBuf>,
    /// How to cut the traffic into frames: uss (TURBOVAC telegrams, replies
    /// paired with requests), scpi (lines, queries paired), text (lines) or none.
    #[arg(long, default_value = "none", value_name = "DECODE")]
    decode: Decode,
    /// Write every chunk to this pcapng file (Wireshark, tshark; README: capture format).
    #[arg(long, value_name = "FILE.pcapng")]
    capture: Option<PathBuf>,
    #[command(flatten)]
    serial: SerialArgs,
    /// Print frames and events as JSON lines.
    #[arg(long)]
    json: bool,
}

impl SniffArgs {
    pub fn options(self) -> SniffOptions {
        let device = if looks_like_tcp(&self.device) {
            SniffDevice::Tcp {
                address: self.device,
            }
        } else {
            SniffDevice::Serial {
                path: PortPath::Fixed(PathBuf::from(self.device)),
                settings: self.serial.settings(),
            }
        };
        SniffOptions {
            device,
            link: self.link,
            decode: self.decode,
            capture: self.capture,
            json: self.json,
        }
    }
}

/// `HOST:PORT` (not a path): a TCP endpoint.
fn looks_like_tcp(device: &str) -> bool {
    !device.starts_with('/')
        && !device.starts_with('.')
        && device
            .rsplit_once(':')
            .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
}

/// How a serial device is opened until its user sets other settings.
#[derive(Debug, Args)]
pub struct SerialArgs {
    /// Serial device: the rate until the program or client sets one.
    #[arg(long, default_value_t = 9600)]
    baud: u32,
    /// Serial device: parity (sniff: a pty cannot show the program's, so this one holds).
    #[arg(long, default_value = "none", value_parser = clap::value_parser!(Parity))]
    parity: Parity,
    /// Serial device: data bits, 5–8 (sniff: a pty cannot show the program's either).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(5..=8))]
    data_bits: u8,
    /// Serial device: stop bits (1 or 2) until the program or client sets them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    stop_bits: u8,
}

impl SerialArgs {
    fn settings(&self) -> SerialSettings {
        SerialSettings {
            baud: self.baud,
            data_bits: DataBits(self.data_bits),
            parity: self.parity,
            stop_bits: StopBits(self.stop_bits),
            flow_control: FlowControl::None,
            exclusive: true,
        }
    }
}

#[derive(Debug, Args)]
pub struct Rfc2217Args {
    /// The serial device to serve (/dev/ttyUSB0, a simulator's pty).
    #[arg(value_name = "DEVICE")]
    device: PathBuf,
    /// Address to listen on. RFC 2217 has no authentication: anything
    /// but loopback lets every host that reaches it use the port.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// TCP port; 0 picks a free one (printed as the first line).
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[command(flatten)]
    serial: SerialArgs,
    /// Print events as JSON lines.
    #[arg(long)]
    json: bool,
}

impl Rfc2217Args {
    pub fn options(self) -> Rfc2217Options {
        Rfc2217Options {
            address: format!("{}:{}", self.host, self.port),
            port: ServedPort {
                path: PortPath::Fixed(self.device),
                settings: self.serial.settings(),
            },
            json: self.json,
        }
    }
}
