//! Telnet (RFC 854) as RFC 2217 uses it: a serial port over TCP. The
//! [`TelnetDecoder`] splits a byte stream into data (`IAC IAC` unescaped),
//! option negotiation and subnegotiations; [`ComPort`] is the COM-PORT-
//! OPTION (44) command set, parsed from and encoded to subnegotiations.
//! Client-to-server codes are 0–12; a server answers with code + 100.

use thiserror::Error;

pub const IAC: u8 = 255;
pub const DONT: u8 = 254;
pub const DO: u8 = 253;
pub const WONT: u8 = 252;
pub const WILL: u8 = 251;
pub const SB: u8 = 250;
pub const SE: u8 = 240;

/// Telnet options labdeck takes part in.
pub const BINARY: u8 = 0;
pub const ECHO: u8 = 1;
pub const SGA: u8 = 3;
pub const COM_PORT_OPTION: u8 = 44;

/// Longest subnegotiation kept; longer ones are cut (and reported).
pub const MAX_SUBNEGOTIATION: usize = 256;

/// A negotiation verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Will,
    Wont,
    Do,
    Dont,
}

impl Verb {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            WILL => Self::Will,
            WONT => Self::Wont,
            DO => Self::Do,
            DONT => Self::Dont,
            _ => return None,
        })
    }

    pub fn byte(self) -> u8 {
        match self {
            Self::Will => WILL,
            Self::Wont => WONT,
            Self::Do => DO,
            Self::Dont => DONT,
        }
    }
}

/// What a telnet stream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetEvent {
    /// Payload bytes, unescaped.
    Data(Vec<u8>),
    Negotiate(Verb, u8),
    /// `IAC SB option … IAC SE`: the option and its payload, unescaped.
    Subnegotiation(u8, Vec<u8>),
    /// Any other `IAC x` (NOP, break, …).
    Command(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Data,
    Iac,
    Verb(u8),
    SbOption,
    Sb,
    SbIac,
}

/// Incremental telnet decoder: feed any chunks, get whole events.
#[derive(Debug, Default)]
pub struct TelnetDecoder {
    state: State,
    sb_option: u8,
    sb: Vec<u8>,
}

impl TelnetDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode `bytes`; data runs come out as one `Data` event each.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<TelnetEvent> {
        let mut out = Vec::new();
        let mut data = Vec::new();
        for &b in bytes {
            self.state = match self.state {
                State::Data if b == IAC => State::Iac,
                State::Data => {
                    data.push(b);
                    State::Data
                }
                State::Iac => match b {
                    IAC => {
                        data.push(IAC);
                        State::Data
                    }
                    SB => State::SbOption,
                    WILL | WONT | DO | DONT => State::Verb(b),
                    other => {
                        flush(&mut data, &mut out);
                        out.push(TelnetEvent::Command(other));
                        State::Data
                    }
                },
                State::Verb(verb) => {
                    flush(&mut data, &mut out);
                    if let Some(verb) = Verb::from_byte(verb) {
                        out.push(TelnetEvent::Negotiate(verb, b));
                    }
                    State::Data
                }
                State::SbOption => {
                    self.sb_option = b;
                    self.sb.clear();
                    State::Sb
                }
                State::Sb if b == IAC => State::SbIac,
                State::Sb => {
                    if self.sb.len() < MAX_SUBNEGOTIATION {
                        self.sb.push(b);
                    }
                    State::Sb
                }
                State::SbIac => match b {
                    SE => {
                        flush(&mut data, &mut out);
                        out.push(TelnetEvent::Subnegotiation(
                            self.sb_option,
                            std::mem::take(&mut self.sb),
                        ));
                        State::Data
                    }
                    // `IAC IAC` inside is a 255 in the payload; anything
                    // else is a peer's mistake, kept as the byte it sent.
                    other => {
                        if self.sb.len() < MAX_SUBNEGOTIATION {
                            self.sb.push(other);
                        }
                        State::Sb
                    }
                },
            };
        }
        flush(&mut data, &mut out);
        out
    }
}

fn flush(data: &mut Vec<u8>, out: &mut Vec<TelnetEvent>) {
    if !data.is_empty() {
        out.push(TelnetEvent::Data(std::mem::take(data)));
    }
}

/// Payload bytes for the wire: every 255 doubled.
pub fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 2);
    for &b in bytes {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out
}

/// `IAC verb option`.
pub fn negotiate(verb: Verb, option: u8) -> [u8; 3] {
    [IAC, verb.byte(), option]
}

/// Which options each side has on, for BINARY, SGA and COM-PORT-OPTION
/// (everything else is refused). Negotiation is answered only on a change
/// of state, RFC 1143's rule against loops.
#[derive(Debug, Clone)]
pub struct Options {
    we: [bool; 256],
    they: [bool; 256],
}

impl Default for Options {
    fn default() -> Self {
        Self {
            we: [false; 256],
            they: [false; 256],
        }
    }
}

impl Options {
    pub fn new() -> Self {
        Self::default()
    }

    fn supported(option: u8) -> bool {
        matches!(option, BINARY | SGA | COM_PORT_OPTION)
    }

    /// Offer (WILL) or ask for (DO) an option; taken as on from here.
    pub fn offer(&mut self, verb: Verb, option: u8) -> [u8; 3] {
        let at = usize::from(option);
        match verb {
            Verb::Will => self.we[at] = true,
            Verb::Do => self.they[at] = true,
            Verb::Wont => self.we[at] = false,
            Verb::Dont => self.they[at] = false,
        }
        negotiate(verb, option)
    }

    /// The answer to the peer's `verb option`, if one is due.
    pub fn answer(&mut self, verb: Verb, option: u8) -> Option<[u8; 3]> {
        let supported = Self::supported(option);
        let at = usize::from(option);
        let answer = match verb {
            Verb::Do if supported && !self.we[at] => {
                self.we[at] = true;
                Verb::Will
            }
            Verb::Do if !supported => Verb::Wont,
            Verb::Dont if self.we[at] => {
                self.we[at] = false;
                Verb::Wont
            }
            Verb::Will if supported && !self.they[at] => {
                self.they[at] = true;
                Verb::Do
            }
            Verb::Will if !supported => Verb::Dont,
            Verb::Wont if self.they[at] => {
                self.they[at] = false;
                Verb::Dont
            }
            _ => return None,
        };
        Some(negotiate(answer, option))
    }
}

/// Parity as RFC 2217 numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parity {
    /// 0: ask for the current value.
    Request,
    None,
    Odd,
    Even,
    Mark,
    Space,
}

impl Parity {
    pub fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Request,
            1 => Self::None,
            2 => Self::Odd,
            3 => Self::Even,
            4 => Self::Mark,
            5 => Self::Space,
            _ => return None,
        })
    }

    pub fn byte(self) -> u8 {
        match self {
            Self::Request => 0,
            Self::None => 1,
            Self::Odd => 2,
            Self::Even => 3,
            Self::Mark => 4,
            Self::Space => 5,
        }
    }
}

/// `SET-CONTROL` values (RFC 2217 §3, the ones a serial port has).
pub mod control {
    pub const REQUEST_FLOW: u8 = 0;
    pub const NO_FLOW: u8 = 1;
    pub const XON_XOFF: u8 = 2;
    pub const HARDWARE: u8 = 3;
    pub const REQUEST_BREAK: u8 = 4;
    pub const BREAK_ON: u8 = 5;
    pub const BREAK_OFF: u8 = 6;
    pub const REQUEST_DTR: u8 = 7;
    pub const DTR_ON: u8 = 8;
    pub const DTR_OFF: u8 = 9;
    pub const REQUEST_RTS: u8 = 10;
    pub const RTS_ON: u8 = 11;
    pub const RTS_OFF: u8 = 12;
}

/// `NOTIFY-MODEMSTATE` bits.
pub mod modem {
    pub const CD: u8 = 0x80;
    pub const RI: u8 = 0x40;
    pub const DSR: u8 = 0x20;
    pub const CTS: u8 = 0x10;
}

/// `PURGE-DATA` values.
pub mod purge {
    pub const RECEIVE: u8 = 1;
    pub const TRANSMIT: u8 = 2;
    pub const BOTH: u8 = 3;
}

/// One COM-PORT-OPTION command (either direction: [`encode`](Self::encode)
/// adds 100 to the code for a server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComPort {
    Signature(Vec<u8>),
    /// 0 asks for the current rate.
    SetBaudRate(u32),
    /// 5–8; 0 asks.
    SetDataSize(u8),
    SetParity(Parity),
    /// 1, 2, or 3 for 1.5; 0 asks.
    SetStopSize(u8),
    SetControl(u8),
    NotifyLineState(u8),
    NotifyModemState(u8),
    FlowControlSuspend,
    FlowControlResume,
    SetLineStateMask(u8),
    SetModemStateMask(u8),
    PurgeData(u8),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ComPortError {
    #[error("empty COM-PORT-OPTION subnegotiation")]
    Empty,
    #[error("unknown COM-PORT-OPTION command {0}")]
    UnknownCommand(u8),
    #[error("COM-PORT-OPTION command {command}: expected {expected} value byte(s), found {found}")]
    Length {
        command: u8,
        expected: usize,
        found: usize,
    },
    #[error("COM-PORT-OPTION parity {0} is not 0–5")]
    Parity(u8),
}

impl ComPort {
    /// Parse the payload of an option-44 subnegotiation (after the option
    /// byte); `from_server` when codes are + 100.
    pub fn parse(payload: &[u8], from_server: bool) -> Result<Self, ComPortError> {
        let (&code, value) = payload.split_first().ok_or(ComPortError::Empty)?;
        let command = if from_server {
            code.checked_sub(100)
                .ok_or(ComPortError::UnknownCommand(code))?
        } else {
            code
        };
        let byte = |value: &[u8]| -> Result<u8, ComPortError> {
            match value {
                [b] => Ok(*b),
                _ => Err(ComPortError::Length {
                    command,
                    expected: 1,
                    found: value.len(),
                }),
            }
        };
        Ok(match command {
            0 => Self::Signature(value.to_vec()),
            1 => match value {
                [a, b, c, d] => Self::SetBaudRate(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => {
                    return Err(ComPortError::Length {
                        command,
                        expected: 4,
                        found: value.len(),
                    });
                }
            },
            2 => Self::SetDataSize(byte(value)?),
            3 => {
                let b = byte(value)?;
                Self::SetParity(Parity::from_byte(b).ok_or(ComPortError::Parity(b))?)
            }
            4 => Self::SetStopSize(byte(value)?),
            5 => Self::SetControl(byte(value)?),
            6 => Self::NotifyLineState(byte(value)?),
            7 => Self::NotifyModemState(byte(value)?),
            8 => Self::FlowControlSuspend,
            9 => Self::FlowControlResume,
            10 => Self::SetLineStateMask(byte(value)?),
            11 => Self::SetModemStateMask(byte(value)?),
            12 => Self::PurgeData(byte(value)?),
            _ => return Err(ComPortError::UnknownCommand(code)),
        })
    }

    fn code(&self) -> u8 {
        match self {
            Self::Signature(_) => 0,
            Self::SetBaudRate(_) => 1,
            Self::SetDataSize(_) => 2,
            Self::SetParity(_) => 3,
            Self::SetStopSize(_) => 4,
            Self::SetControl(_) => 5,
            Self::NotifyLineState(_) => 6,
            Self::NotifyModemState(_) => 7,
            Self::FlowControlSuspend => 8,
            Self::FlowControlResume => 9,
            Self::SetLineStateMask(_) => 10,
            Self::SetModemStateMask(_) => 11,
            Self::PurgeData(_) => 12,
        }
    }

    /// `IAC SB 44 code value… IAC SE`, the value escaped.
    pub fn encode(&self, from_server: bool) -> Vec<u8> {
        let mut payload = vec![self.code() + if from_server { 100 } else { 0 }];
        match self {
            Self::Signature(text) => payload.extend_from_slice(text),
            Self::SetBaudRate(rate) => payload.extend_from_slice(&rate.to_be_bytes()),
            Self::SetParity(parity) => payload.push(parity.byte()),
            Self::SetDataSize(b)
            | Self::SetStopSize(b)
            | Self::SetControl(b)
            | Self::NotifyLineState(b)
            | Self::NotifyModemState(b)
            | Self::SetLineStateMask(b)
            | Self::SetModemStateMask(b)
            | Self::PurgeData(b) => payload.push(*b),
            Self::FlowControlSuspend | Self::FlowControlResume => {}
        }
        let mut out = vec![IAC, SB, COM_PORT_OPTION];
        out.extend(escape(&payload));
        out.extend_from_slice(&[IAC, SE]);
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn data_negotiation_and_subnegotiation_apart() {
        let mut d = TelnetDecoder::new();
        let mut stream = vec![b'a', IAC, IAC, b'b'];
        stream.extend_from_slice(&negotiate(Verb::Will, COM_PORT_OPTION));
        stream.extend(ComPort::SetBaudRate(19_200).encode(false));
        stream.push(b'c');
        // Split anywhere: the same events.
        for cut in 0..stream.len() {
            let mut d2 = TelnetDecoder::new();
            let mut events = d2.push(&stream[..cut]);
            events.extend(d2.push(&stream[cut..]));
            let data: Vec<u8> = events
                .iter()
                .filter_map(|e| match e {
                    TelnetEvent::Data(d) => Some(d.clone()),
                    _ => None,
                })
                .flatten()
                .collect();
            assert_eq!(data, vec![b'a', IAC, b'b', b'c'], "cut at {cut}");
        }
        let events = d.push(&stream);
        assert_eq!(
            events,
            vec![
                TelnetEvent::Data(vec![b'a', IAC, b'b']),
                TelnetEvent::Negotiate(Verb::Will, COM_PORT_OPTION),
                TelnetEvent::Subnegotiation(COM_PORT_OPTION, vec![1, 0, 0, 0x4b, 0]),
                TelnetEvent::Data(vec![b'c']),
            ]
        );
    }

    #[test]
    fn commands_parse_both_ways_and_255_is_escaped() {
        // pyserial's SET-BAUDRATE 115200 and a server's answer.
        assert_eq!(
            ComPort::SetBaudRate(115_200).encode(false),
            vec![IAC, SB, 44, 1, 0, 1, 0xc2, 0, IAC, SE]
        );
        assert_eq!(
            ComPort::parse(&[101, 0, 1, 0xc2, 0], true),
            Ok(ComPort::SetBaudRate(115_200))
        );
        let odd = ComPort::SetBaudRate(0x0000_00ff).encode(true);
        assert_eq!(odd, vec![IAC, SB, 44, 101, 0, 0, 0, IAC, IAC, IAC, SE]);
        let events = TelnetDecoder::new().push(&odd);
        let TelnetEvent::Subnegotiation(44, payload) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(ComPort::parse(payload, true), Ok(ComPort::SetBaudRate(255)));
        assert_eq!(
            ComPort::parse(&[3, 3], false),
            Ok(ComPort::SetParity(Parity::Even))
        );
        assert_eq!(ComPort::parse(&[3, 9], false), Err(ComPortError::Parity(9)));
        assert!(matches!(
            ComPort::parse(&[1, 0], false),
            Err(ComPortError::Length { expected: 4, .. })
        ));
        assert_eq!(ComPort::parse(&[], false), Err(ComPortError::Empty));
        assert_eq!(
            ComPort::parse(&[42], false),
            Err(ComPortError::UnknownCommand(42))
        );
    }

    #[test]
    fn negotiation_is_answered_once_and_unknown_options_refused() {
        let mut options = Options::new();
        options.offer(Verb::Will, COM_PORT_OPTION);
        // The peer's DO confirms our offer: nothing to answer.
        assert_eq!(options.answer(Verb::Do, COM_PORT_OPTION), None);
        assert_eq!(
            options.answer(Verb::Will, BINARY),
            Some(negotiate(Verb::Do, BINARY))
        );
        assert_eq!(options.answer(Verb::Will, BINARY), None);
        assert_eq!(
            options.answer(Verb::Do, ECHO),
            Some(negotiate(Verb::Wont, ECHO))
        );
        assert_eq!(
            options.answer(Verb::Dont, COM_PORT_OPTION),
            Some(negotiate(Verb::Wont, COM_PORT_OPTION))
        );
    }

    #[test]
    fn an_endless_subnegotiation_is_bounded() {
        let mut d = TelnetDecoder::new();
        d.push(&[IAC, SB, 44]);
        d.push(&vec![7; 10 * MAX_SUBNEGOTIATION]);
        let events = d.push(&[IAC, SE]);
        let TelnetEvent::Subnegotiation(_, payload) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(payload.len(), MAX_SUBNEGOTIATION);
    }

    proptest! {
        #[test]
        fn escaped_data_round_trips(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let events = TelnetDecoder::new().push(&escape(&data));
            let back: Vec<u8> = events.into_iter().flat_map(|e| match e {
                TelnetEvent::Data(d) => d,
                other => panic!("{other:?}"),
            }).collect();
            prop_assert_eq!(back, data);
        }

        #[test]
        fn any_bytes_decode_without_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = TelnetDecoder::new().push(&data);
        }
    }
}
