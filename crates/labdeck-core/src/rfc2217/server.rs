//! An RFC 2217 server in front of one serial port: one client at a time
//! (a second is told so and closed, as ser2net does), the port opened
//! for each client and closed when it goes, every setting the client
//! asks for applied to the port and acknowledged with what took effect.

use std::net::SocketAddr;

use bytes::Bytes;
use labdeck_protocol::rfc2217::{
    BINARY, COM_PORT_OPTION, ComPort, Options, Parity as WireParity, SGA, TelnetDecoder,
    TelnetEvent, Verb, control, escape, modem, purge,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_serial::{ClearBuffer, SerialPort, SerialStream};
use tokio_util::sync::CancellationToken;

use super::Rfc2217Event;
use crate::link::{Direction, Parity, PortPath, SerialSettings, StopBits, TrafficTap};
use crate::publish::Publisher;

const CHUNK: usize = 4096;
/// How often the port's modem lines are read for NOTIFY-MODEMSTATE.
const MODEM_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// What a server serves.
#[derive(Debug, Clone)]
pub struct ServedPort {
    pub path: PortPath,
    /// Until a client sets its own.
    pub settings: SerialSettings,
}

/// A bound RFC 2217 server; [`run`](Self::run) serves until cancelled.
#[derive(Debug)]
pub struct Rfc2217Server {
    listener: TcpListener,
    port: ServedPort,
    tap: TrafficTap,
    events: Publisher<Rfc2217Event>,
    cancel: CancellationToken,
}

impl Rfc2217Server {
    pub async fn bind(
        address: &str,
        port: ServedPort,
        tap: TrafficTap,
        events: Publisher<Rfc2217Event>,
        cancel: CancellationToken,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        Ok(Self {
            listener,
            port,
            tap,
            events,
            cancel,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accept clients one at a time until cancelled.
    pub async fn run(self) {
        let mut epoch = 0;
        loop {
            let accepted = tokio::select! {
                () = self.cancel.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            let Ok((client, peer)) = accepted else {
                continue;
            };
            let _ = client.set_nodelay(true);
            epoch += 1;
            self.events.publish(Rfc2217Event::ClientConnected {
                peer: peer.to_string(),
            });
            let session = self.session(client, epoch);
            tokio::pin!(session);
            // While one client is served, others are refused at once.
            let reason = loop {
                tokio::select! {
                    reason = &mut session => break reason,
                    more = self.listener.accept() => if let Ok((mut other, who)) = more {
                        let _ = other.write_all(b"port in use by another client\r\n").await;
                        self.events.publish(Rfc2217Event::ClientRefused {
                            peer: who.to_string(),
                            reason: "port in use by another client".into(),
                        });
                    },
                }
            };
            self.events.publish(Rfc2217Event::ClientGone {
                peer: peer.to_string(),
                reason,
            });
        }
    }

    /// Serve one client; returns why it ended.
    async fn session(&self, mut client: TcpStream, epoch: u64) -> String {
        let opened = match self.port.path.current() {
            Some(path) => crate::link::open_serial(path, self.port.settings).await,
            None => Err(crate::link::ConnectError::NotFound {
                endpoint: self.port.path.describe(),
            }),
        };
        let mut port = match opened {
            Ok(port) => port,
            Err(error) => {
                let text = format!("cannot open the port: {error}\r\n");
                let _ = client.write_all(text.as_bytes()).await;
                self.events.publish(Rfc2217Event::DeviceFailed { error });
                return "the port could not be opened".into();
            }
        };
        let mut state = Session::new(self.port.settings, &self.port.path.describe());
        if client.write_all(&state.greeting()).await.is_err() {
            return "the client went away".into();
        }
        let mut decoder = TelnetDecoder::new();
        let mut from_client = vec![0u8; CHUNK];
        let mut from_port = vec![0u8; CHUNK];
        let mut modem_poll = tokio::time::interval(MODEM_POLL);
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return "the server stopped".into(),
                read = client.read(&mut from_client) => {
                    let n = match read {
                        Ok(0) => return "the client closed the connection".into(),
                        Ok(n) => n,
                        Err(e) => return format!("client: {e}"),
                    };
                    let mut replies = Vec::new();
                    for event in decoder.push(&from_client[..n]) {
                        match event {
                            TelnetEvent::Data(data) => {
                                if let Err(e) = port.write_all(&data).await {
                                    return format!("port: {e}");
                                }
                                self.tap.record(epoch, Direction::Tx, Bytes::from(data));
                            }
                            TelnetEvent::Negotiate(verb, option) => {
                                replies.extend(state.options.answer(verb, option).unwrap_or_default());
                            }
                            TelnetEvent::Subnegotiation(COM_PORT_OPTION, payload) => {
                                match ComPort::parse(&payload, false) {
                                    Ok(command) => {
                                        let (reply, event) = state.command(&mut port, &command);
                                        replies.extend(reply);
                                        if let Some(event) = event {
                                            self.events.publish(event);
                                        }
                                    }
                                    Err(e) => self.events.publish(Rfc2217Event::BadCommand {
                                        error: e.to_string(),
                                    }),
                                }
                            }
                            TelnetEvent::Subnegotiation(..) | TelnetEvent::Command(_) => {}
                        }
                    }
                    if !replies.is_empty() && client.write_all(&replies).await.is_err() {
                        return "the client went away".into();
                    }
                }
                read = port.read(&mut from_port), if !state.suspended => {
                    let n = match read {
                        Ok(0) => return "the port closed".into(),
                        Ok(n) => n,
                        Err(e) => return format!("port: {e}"),
                    };
                    let bytes = &from_port[..n];
                    if client.write_all(&escape(bytes)).await.is_err() {
                        return "the client went away".into();
                    }
                    self.tap.record(epoch, Direction::Rx, Bytes::copy_from_slice(bytes));
                }
                _ = modem_poll.tick() => {
                    if let Some(note) = state.modem_change(&mut port)
                        && client.write_all(&note).await.is_err()
                    {
                        return "the client went away".into();
                    }
                }
            }
        }
    }
}

/// One client's negotiation and port state.
struct Session {
    settings: SerialSettings,
    signature: String,
    options: Options,
    suspended: bool,
    modem_mask: u8,
    /// The modem lines last told, `None` before the first or when the
    /// port has none (a pty).
    modem: Option<u8>,
}

impl Session {
    fn new(settings: SerialSettings, path: &str) -> Self {
        Self {
            settings,
            signature: format!("labdeck {} {path}", env!("CARGO_PKG_VERSION")),
            options: Options::new(),
            suspended: false,
            modem_mask: 0xff,
            modem: None,
        }
    }

    /// What the server offers at once: binary both ways, no go-ahead, the
    /// COM port option.
    fn greeting(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        for option in [BINARY, SGA, COM_PORT_OPTION] {
            out.extend(self.options.offer(Verb::Will, option));
        }
        out.extend(self.options.offer(Verb::Do, BINARY));
        out
    }

    /// Carry out a COM-PORT-OPTION command; the acknowledgement says what
    /// the port has now.
    fn command(
        &mut self,
        port: &mut SerialStream,
        command: &ComPort,
    ) -> (Vec<u8>, Option<Rfc2217Event>) {
        let mut event = None;
        let before = self.settings;
        // Said when the port refused, or when something changed.
        let mut changed = |result: tokio_serial::Result<()>, what: &str, now: &SerialSettings| {
            if result.is_err() || *now != before {
                event = Some(Rfc2217Event::Settings {
                    settings: *now,
                    error: result.err().map(|e| format!("{what}: {}", e.description)),
                });
            }
        };
        let answer = match *command {
            ComPort::Signature(_) => ComPort::Signature(self.signature.clone().into_bytes()),
            ComPort::SetBaudRate(0) => ComPort::SetBaudRate(self.settings.baud),
            ComPort::SetBaudRate(rate) => {
                let result = port.set_baud_rate(rate);
                if result.is_ok() {
                    self.settings.baud = rate;
                }
                changed(result, "baud rate", &self.settings);
                ComPort::SetBaudRate(self.settings.baud)
            }
            ComPort::SetDataSize(bits @ 5..=8) => {
                let result = port.set_data_bits(data_bits(bits));
                if result.is_ok() {
                    self.settings.data_bits = crate::link::DataBits(bits);
                }
                changed(result, "data bits", &self.settings);
                ComPort::SetDataSize(self.settings.data_bits.0)
            }
            ComPort::SetDataSize(_) => ComPort::SetDataSize(self.settings.data_bits.0),
            ComPort::SetParity(wire) => {
                if let Some(parity) = parity(wire) {
                    let result = port.set_parity(parity.into());
                    if result.is_ok() {
                        self.settings.parity = parity;
                    }
                    changed(result, "parity", &self.settings);
                }
                ComPort::SetParity(wire_parity(self.settings.parity))
            }
            ComPort::SetStopSize(bits @ 1..=2) => {
                let result = port.set_stop_bits(StopBits(bits).into());
                if result.is_ok() {
                    self.settings.stop_bits = StopBits(bits);
                }
                changed(result, "stop bits", &self.settings);
                ComPort::SetStopSize(self.settings.stop_bits.0)
            }
            ComPort::SetStopSize(_) => ComPort::SetStopSize(self.settings.stop_bits.0),
            ComPort::SetControl(value) => ComPort::SetControl(self.control(port, value)),
            ComPort::FlowControlSuspend => {
                self.suspended = true;
                return (Vec::new(), None);
            }
            ComPort::FlowControlResume => {
                self.suspended = false;
                return (Vec::new(), None);
            }
            ComPort::SetLineStateMask(mask) => ComPort::SetLineStateMask(mask),
            ComPort::SetModemStateMask(mask) => {
                self.modem_mask = mask;
                // Tell the lines again under the new mask.
                self.modem = None;
                ComPort::SetModemStateMask(mask)
            }
            ComPort::PurgeData(what) => {
                let buffer = match what {
                    purge::RECEIVE => ClearBuffer::Input,
                    purge::TRANSMIT => ClearBuffer::Output,
                    _ => ClearBuffer::All,
                };
                // A pty cannot purge everything; the client is answered
                // either way, so it never waits on us.
                let _ = port.clear(buffer);
                ComPort::PurgeData(what)
            }
            // Notifications are the server's to send.
            ComPort::NotifyLineState(_) | ComPort::NotifyModemState(_) => {
                return (Vec::new(), None);
            }
        };
        (answer.encode(true), event)
    }

    /// SET-CONTROL: flow control, DTR, RTS and break; the answer is the
    /// state now (or asked for).
    fn control(&mut self, port: &mut SerialStream, value: u8) -> u8 {
        use crate::link::FlowControl;
        let flow = |f: FlowControl| match f {
            FlowControl::None => control::NO_FLOW,
            FlowControl::Software => control::XON_XOFF,
            FlowControl::Hardware => control::HARDWARE,
        };
        match value {
            control::REQUEST_FLOW => flow(self.settings.flow_control),
            control::NO_FLOW | control::XON_XOFF | control::HARDWARE => {
                let wanted = match value {
                    control::XON_XOFF => FlowControl::Software,
                    control::HARDWARE => FlowControl::Hardware,
                    _ => FlowControl::None,
                };
                if port.set_flow_control(wanted.into()).is_ok() {
                    self.settings.flow_control = wanted;
                }
                flow(self.settings.flow_control)
            }
            // Lines a pty does not have are answered as asked: the
            // client's view of them is all there is.
            control::DTR_ON | control::DTR_OFF => {
                let _ = port.write_data_terminal_ready(value == control::DTR_ON);
                value
            }
            control::RTS_ON | control::RTS_OFF => {
                let _ = port.write_request_to_send(value == control::RTS_ON);
                value
            }
            control::BREAK_ON => {
                let _ = port.set_break();
                value
            }
            control::BREAK_OFF => {
                let _ = port.clear_break();
                value
            }
            other => other,
        }
    }

    /// NOTIFY-MODEMSTATE when the port's lines changed (never for a port
    /// without them).
    fn modem_change(&mut self, port: &mut SerialStream) -> Option<Vec<u8>> {
        let mut bits = 0;
        for (read, bit) in [
            (port.read_carrier_detect(), modem::CD),
            (port.read_ring_indicator(), modem::RI),
            (port.read_data_set_ready(), modem::DSR),
            (port.read_clear_to_send(), modem::CTS),
        ] {
            if read.ok()? {
                bits |= bit;
            }
        }
        let bits = bits & self.modem_mask;
        if self.modem == Some(bits) {
            return None;
        }
        self.modem = Some(bits);
        Some(ComPort::NotifyModemState(bits).encode(true))
    }
}

fn data_bits(bits: u8) -> tokio_serial::DataBits {
    match bits {
        5 => tokio_serial::DataBits::Five,
        6 => tokio_serial::DataBits::Six,
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    }
}

fn parity(wire: WireParity) -> Option<Parity> {
    match wire {
        WireParity::None => Some(Parity::None),
        WireParity::Odd => Some(Parity::Odd),
        WireParity::Even => Some(Parity::Even),
        // Mark and space are not among a Linux port's settings here;
        // the answer says what the port has.
        WireParity::Request | WireParity::Mark | WireParity::Space => None,
    }
}

fn wire_parity(parity: Parity) -> WireParity {
    match parity {
        Parity::None => WireParity::None,
        Parity::Odd => WireParity::Odd,
        Parity::Even => WireParity::Even,
    }
}
