//! `labdeck sniff`'s arguments: the real port, how to open it until the
//! program sets its own rate, how to decode, where to capture.

use std::path::PathBuf;

use clap::Args;

use labdeck::headless::SniffOptions;
use labdeck_core::link::{DataBits, FlowControl, Parity, SerialSettings, StopBits};
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
    /// Serial device: the rate until the program sets one.
    #[arg(long, default_value_t = 9600)]
    baud: u32,
    /// Serial device: parity. A pty cannot show the program's, so this one holds.
    #[arg(long, default_value = "none", value_parser = clap::value_parser!(Parity))]
    parity: Parity,
    /// Serial device: data bits (5–8). A pty cannot show the program's either.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(5..=8))]
    data_bits: u8,
    /// Serial device: stop bits until the program sets them (1 or 2).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=2))]
    stop_bits: u8,
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
                path: PathBuf::from(self.device),
                settings: SerialSettings {
                    baud: self.baud,
                    data_bits: DataBits(self.data_bits),
                    parity: self.parity,
                    stop_bits: StopBits(self.stop_bits),
                    flow_control: FlowControl::None,
                    exclusive: true,
                },
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
