//! The text or hex pattern of the traffic filter and search.

/// A text or hex pattern for the traffic filter: `02 16` or `0216` as hex
/// (even number of hex digits), anything else as text.
pub(super) enum Pattern {
    Hex(Vec<u8>),
    Text(String),
}

impl Pattern {
    pub(super) fn parse(text: &str) -> Option<Self> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return None;
        }
        let digits: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len().is_multiple_of(2) && digits.chars().all(|c| c.is_ascii_hexdigit()) {
            let bytes = (0..digits.len())
                .step_by(2)
                .filter_map(|i| u8::from_str_radix(&digits[i..i + 2], 16).ok())
                .collect();
            return Some(Self::Hex(bytes));
        }
        Some(Self::Text(trimmed.to_lowercase()))
    }

    pub(super) fn matches(&self, bytes: &[u8]) -> bool {
        match self {
            Self::Hex(needle) => bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
            Self::Text(needle) => String::from_utf8_lossy(bytes)
                .to_lowercase()
                .contains(needle),
        }
    }
}
