//! Text from devices and peers never reaches the terminal as is: control
//! characters (C0, DEL, C1) and bidirectional overrides become visible
//! stand-ins, so an escape sequence on a link can neither clear the screen,
//! move the cursor nor retitle the window.

use std::borrow::Cow;
use std::fmt::Write as _;

/// What a control character is shown as.
pub const STAND_IN: char = '·';

fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Safe text: control characters replaced by `·`.
pub fn text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if unsafe_char(c) { STAND_IN } else { c })
            .collect(),
    )
}

/// Name of an ASCII control byte, as serial terminals show it.
pub fn control_name(b: u8) -> Option<&'static str> {
    const NAMES: [&str; 32] = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL", "BS", "HT", "LF", "VT", "FF", "CR",
        "SO", "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB",
        "ESC", "FS", "GS", "RS", "US",
    ];
    match b {
        0..=31 => Some(NAMES[usize::from(b)]),
        127 => Some("DEL"),
        _ => None,
    }
}

/// Bytes as text with control bytes by name (`<STX>`, `<CR>`) and
/// non-ASCII bytes as `<xx>`: for line protocols.
pub fn named(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match (control_name(b), b) {
            (Some(name), _) => {
                out.push('<');
                out.push_str(name);
                out.push('>');
            }
            (None, 0x20..=0x7e) => out.push(char::from(b)),
            (None, _) => {
                let _ = write!(out, "<{b:02x}>");
            }
        }
    }
    out
}

/// Printable ASCII as is, everything else as `.`: the ASCII column of a
/// hex dump.
pub fn dots(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..=0x7e).contains(&b) {
                char::from(b)
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_become_visible() {
        assert_eq!(text("ok"), "ok");
        assert_eq!(text("\x1b[2Jx\x07"), "·[2Jx·");
        assert_eq!(text("a\u{9b}b\u{202e}c"), "a·b·c");
        assert_eq!(named(b"\x02*IDN?\r\n\xff"), "<STX>*IDN?<CR><LF><ff>");
        assert_eq!(dots(b"\x1b]0;t\x07A"), ".]0;t.A");
    }

    proptest! {
        #[test]
        fn nothing_unsafe_survives(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let lossy = String::from_utf8_lossy(&bytes);
            for shown in [text(&lossy).into_owned(), named(&bytes), dots(&bytes)] {
                prop_assert!(!shown.chars().any(unsafe_char), "{shown:?}");
            }
        }
    }
}
