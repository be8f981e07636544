//! SCPI error numbers and texts, as an instrument's error queue reports them
//! (`<code>,"<text>"`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScpiError {
    pub code: i32,
    pub text: &'static str,
}

impl ScpiError {
    pub const NONE: Self = Self::new(0, "No error");
    pub const COMMAND: Self = Self::new(-100, "Command error");
    pub const INVALID_CHARACTER: Self = Self::new(-101, "Invalid character");
    pub const SYNTAX: Self = Self::new(-102, "Syntax error");
    pub const DATA_TYPE: Self = Self::new(-104, "Data type error");
    pub const PARAMETER_NOT_ALLOWED: Self = Self::new(-108, "Parameter not allowed");
    pub const MISSING_PARAMETER: Self = Self::new(-109, "Missing parameter");
    pub const UNDEFINED_HEADER: Self = Self::new(-113, "Undefined header");
    pub const EXECUTION: Self = Self::new(-200, "Execution error");
    pub const INIT_IGNORED: Self = Self::new(-213, "Init ignored");
    pub const SETTINGS_CONFLICT: Self = Self::new(-221, "Settings conflict");
    pub const OUT_OF_RANGE: Self = Self::new(-222, "Data out of range");
    pub const ILLEGAL_VALUE: Self = Self::new(-224, "Illegal parameter value");
    pub const DATA_STALE: Self = Self::new(-230, "Data corrupt or stale");
    pub const QUEUE_OVERFLOW: Self = Self::new(-350, "Queue overflow");
    pub const QUERY_INTERRUPTED: Self = Self::new(-410, "Query INTERRUPTED");
    pub const ELEMENT_MISMATCH: Self = Self::new(313, "Buffer and format element mismatch");

    pub const fn new(code: i32, text: &'static str) -> Self {
        Self { code, text }
    }

    /// A known error for `code`, or a generic one.
    pub fn from_code(code: i32) -> Self {
        [
            Self::NONE,
            Self::COMMAND,
            Self::INVALID_CHARACTER,
            Self::SYNTAX,
            Self::DATA_TYPE,
            Self::PARAMETER_NOT_ALLOWED,
            Self::MISSING_PARAMETER,
            Self::UNDEFINED_HEADER,
            Self::EXECUTION,
            Self::INIT_IGNORED,
            Self::SETTINGS_CONFLICT,
            Self::OUT_OF_RANGE,
            Self::ILLEGAL_VALUE,
            Self::DATA_STALE,
            Self::QUEUE_OVERFLOW,
            Self::QUERY_INTERRUPTED,
            Self::ELEMENT_MISMATCH,
        ]
        .into_iter()
        .find(|e| e.code == code)
        .unwrap_or(Self::new(code, "Device-specific error"))
    }
}

impl fmt::Display for ScpiError {
    /// The `:SYST:ERR?` answer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},\"{}\"", self.code, self.text)
    }
}
