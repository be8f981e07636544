//! SCPI (IEEE 488.2) text: line framing, program messages split into
//! units with headers and parameters, mnemonic patterns with long and short
//! forms and optional nodes, and the standard error numbers.

mod error;
mod framing;
mod message;
mod pattern;

pub use error::ScpiError;
pub use framing::{FrameError, LineFramer};
pub use message::{Header, NumberArg, Param, Unit, parse_units};
pub use pattern::{Pattern, PatternError};
