//! Bytes an operator sends by hand (`send`, `[[macro]]`): raw hex, or
//! text with a chosen line ending.

use serde::{Deserialize, Serialize};

/// What ends a line of text sent by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LineEnding {
    /// The text as written (escapes such as `\n` included).
    #[default]
    None,
    Cr,
    Lf,
    Crlf,
}

impl LineEnding {
    pub const NAMES: &'static str = "none, cr, lf, crlf";

    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "cr" => Some(Self::Cr),
            "lf" => Some(Self::Lf),
            "crlf" => Some(Self::Crlf),
            _ => None,
        }
    }

    pub fn bytes(self) -> &'static [u8] {
        match self {
            Self::None => b"",
            Self::Cr => b"\r",
            Self::Lf => b"\n",
            Self::Crlf => b"\r\n",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Cr => "cr",
            Self::Lf => "lf",
            Self::Crlf => "crlf",
        }
    }
}

/// `text` followed by its line ending, as bytes.
pub fn text_payload(text: &str, eol: LineEnding) -> Vec<u8> {
    [text.as_bytes(), eol.bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings() {
        assert_eq!(text_payload("*IDN?", LineEnding::Crlf), b"*IDN?\r\n");
        assert_eq!(text_payload("*IDN?\n", LineEnding::None), b"*IDN?\n");
        assert_eq!(LineEnding::parse("LF"), Some(LineEnding::Lf));
        assert_eq!(LineEnding::parse("nl"), None);
    }
}
