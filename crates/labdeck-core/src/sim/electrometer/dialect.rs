//! The two dialects behind one interface: bytes of a line in, reply lines
//! and perhaps a reason to drop the client out.

use serde::{Deserialize, Serialize};

use super::lsst::{Brand, LsstDevice};
use super::model::ReadingModel;
use super::scpi::{Instrument, InstrumentState};
use crate::protocol::scpi::ScpiError;
use crate::server::Encoding;

/// Which instrument behaviour to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DialectSpec {
    /// As the real 6517B behaves.
    #[default]
    Scpi,
    /// Byte-compatible with the LSST mock; `strict` also rejects the
    /// control software's commands the mock does not know.
    Lsst { brand: Brand, strict: bool },
}

impl DialectSpec {
    pub fn describe(self) -> String {
        match self {
            Self::Scpi => "scpi".into(),
            Self::Lsst { brand, strict } => {
                format!(
                    "lsst {}{}",
                    brand.name(),
                    if strict { " strict" } else { "" }
                )
            }
        }
    }

    /// Line terminator both ways; the SCPI one is configurable.
    pub fn terminator(self, scpi: &[u8]) -> Vec<u8> {
        match self {
            Self::Scpi => scpi.to_vec(),
            Self::Lsst { brand, .. } => brand.terminator().to_vec(),
        }
    }

    pub fn encoding(self) -> Encoding {
        match self {
            Self::Lsst { brand, .. } if brand.latin1() => Encoding::Latin1,
            _ => Encoding::Utf8,
        }
    }
}

/// What one line produced.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub replies: Vec<String>,
    /// Drop the client after the replies, and why.
    pub close: Option<String>,
}

/// What the console shows of the instrument.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dialect", rename_all = "lowercase")]
pub enum DialectState {
    Scpi(InstrumentState),
    Lsst {
        brand: Brand,
        mode: std::borrow::Cow<'static, str>,
    },
}

#[derive(Debug)]
pub enum Dialect {
    Scpi(Box<Instrument>),
    Lsst(LsstDevice),
}

impl Dialect {
    pub fn new(spec: DialectSpec, model: ReadingModel) -> Self {
        match spec {
            DialectSpec::Scpi => Self::Scpi(Box::new(Instrument::new(model))),
            DialectSpec::Lsst { brand, strict } => Self::Lsst(LsstDevice::new(brand, strict)),
        }
    }

    pub fn greeting(&self) -> Option<&'static str> {
        match self {
            Self::Lsst(device) => device.brand().greeting(),
            Self::Scpi(_) => None,
        }
    }

    /// Handle one line (terminator stripped) at `now` seconds of simulated
    /// time.
    pub fn handle(&mut self, bytes: &[u8], now: f64) -> Outcome {
        match self {
            Self::Scpi(instrument) => {
                let Ok(text) = std::str::from_utf8(bytes) else {
                    // The instrument rejects the message and keeps the link.
                    tracing::debug!("scpi: line is not valid UTF-8: {bytes:?}");
                    instrument.push_error(ScpiError::INVALID_CHARACTER);
                    return Outcome::default();
                };
                Outcome {
                    replies: instrument.handle_line(text, now).into_iter().collect(),
                    close: None,
                }
            }
            Self::Lsst(device) => {
                let text = if device.brand().latin1() {
                    bytes.iter().map(|&b| char::from(b)).collect()
                } else {
                    match std::str::from_utf8(bytes) {
                        Ok(text) => text.to_string(),
                        Err(e) => {
                            return Outcome {
                                replies: Vec::new(),
                                close: Some(format!("line is not valid UTF-8 ({e})")),
                            };
                        }
                    }
                };
                let outcome = device.handle_line(&text);
                Outcome {
                    replies: outcome.replies,
                    close: outcome.close,
                }
            }
        }
    }

    /// Let time pass (the buffer fills while an acquisition runs).
    pub fn advance(&mut self, now: f64) {
        if let Self::Scpi(instrument) = self {
            instrument.advance(now);
        }
    }

    pub fn state(&self) -> DialectState {
        match self {
            Self::Scpi(instrument) => DialectState::Scpi(instrument.state()),
            Self::Lsst(device) => DialectState::Lsst {
                brand: device.brand(),
                mode: device.mode().into(),
            },
        }
    }

    /// An acquisition fills the buffer on the instrument's own timer.
    pub fn acquiring(&self) -> bool {
        matches!(self, Self::Scpi(instrument) if instrument.state().acquiring)
    }

    pub fn instrument_mut(&mut self) -> Option<&mut Instrument> {
        match self {
            Self::Scpi(instrument) => Some(instrument),
            Self::Lsst(_) => None,
        }
    }
}
