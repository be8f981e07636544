//! `send LINK hex 02 16 …`, `send LINK text [--eol=cr|lf|crlf|none] TEXT`,
//! `macro NAME [stop]`, `macros`, `record [FILE]`, `record stop`,
//! `capture LINK FILE.pcapng`, `capture LINK stop`.

use std::fmt::Write as _;

use labdeck_core::hub::{
    CaptureStatus, MacroCommand, MacroInfo, MacroOutcome, RecordCommand, RecordingStatus, Request,
};
use labdeck_core::link::{LineEnding, parse_hex, text_payload};

use super::{Line, UsageError, rest_after, usage};

pub(super) fn parse(words: &[&str], line: &str) -> Option<Result<Line, UsageError>> {
    let request = match words {
        ["send", target, "hex", _, ..] => match parse_hex(&rest_after(line, 3)) {
            Some(bytes) => Request::Send {
                target: (*target).to_string(),
                bytes,
                wait_ms: None,
            },
            None => {
                return Some(Err(UsageError(
                    "send: hex bytes are pairs of hex digits, e.g. send pump-port hex 02 16 00"
                        .into(),
                )));
            }
        },
        ["send", target, "text", rest @ ..] if !rest.is_empty() => {
            let mut text = rest_after(line, 3);
            let mut eol = LineEnding::None;
            if let Some(option) = rest[0].strip_prefix("--eol=") {
                let Some(e) = LineEnding::parse(option) else {
                    return Some(Err(UsageError(format!(
                        "send: --eol is one of {}, not {option:?}",
                        LineEnding::NAMES
                    ))));
                };
                eol = e;
                text = rest_after(line, 4);
            }
            match unescape(&text) {
                Ok(text) if !text.is_empty() => Request::Send {
                    target: (*target).to_string(),
                    bytes: text_payload(&text, eol),
                    wait_ms: None,
                },
                Ok(_) => return Some(Err(usage("send"))),
                Err(e) => return Some(Err(UsageError(format!("send: {e}")))),
            }
        }
        ["send", ..] => return Some(Err(usage("send"))),
        ["macros"] => Request::Macros,
        ["macro", name] => Request::Macro {
            name: (*name).to_string(),
            command: MacroCommand::Run,
        },
        ["macro", name, "stop"] => Request::Macro {
            name: (*name).to_string(),
            command: MacroCommand::Stop,
        },
        ["macro" | "macros", ..] => return Some(Err(usage("macro"))),
        ["record"] => Request::Record {
            command: RecordCommand::Start { path: None },
        },
        ["record", "stop"] => Request::Record {
            command: RecordCommand::Stop,
        },
        ["record", _, ..] => Request::Record {
            command: RecordCommand::Start {
                path: Some(rest_after(line, 1).into()),
            },
        },
        ["capture", link, "stop"] => Request::Capture {
            link: (*link).to_string(),
            path: None,
        },
        ["capture", link, _, ..] => Request::Capture {
            link: (*link).to_string(),
            path: Some(rest_after(line, 2).into()),
        },
        ["capture", ..] => return Some(Err(usage("capture"))),
        _ => return None,
    };
    Some(Ok(Line::Request(request)))
}

/// Text as typed, quotes optional, with `\n`, `\r`, `\t`, `\\`, `\"` and
/// `\xNN` escapes.
pub fn unescape(text: &str) -> Result<String, String> {
    let text = text.trim();
    let inner = match text.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .ok_or("the text opens a quote and does not close it")?,
        None => text,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let byte = u8::from_str_radix(&hex, 16)
                    .ok()
                    .filter(u8::is_ascii)
                    .ok_or_else(|| format!("\\x{hex} is not an ASCII byte (\\x00..\\x7f)"))?;
                out.push(char::from(byte));
            }
            Some(other) => return Err(format!("unknown escape \\{other}")),
            None => return Err("the text ends in a lone \\".into()),
        }
    }
    Ok(out)
}

/// Bytes as text with control bytes escaped: `KEITHLEY…\r\n`.
fn escaped(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// What a send did, in words.
pub(super) fn sent(
    device: &str,
    sent: &str,
    reply: Option<&str>,
    round_trip_ms: Option<f64>,
    following: bool,
) -> String {
    let bytes = parse_hex(sent).unwrap_or_default();
    let mut s = format!("{device}: sent {} byte(s): {sent}", bytes.len());
    match (reply.and_then(parse_hex), following) {
        (_, true) => s.push_str("; its driver reads the answer (traffic pane)"),
        (Some(reply), _) => {
            let _ = write!(
                s,
                "\nreply after {:.1} ms, {} byte(s): {}\n  as text: {}",
                round_trip_ms.unwrap_or_default(),
                reply.len(),
                labdeck_core::link::hex_string(&reply),
                escaped(&reply)
            );
        }
        (None, _) => s.push_str("; no reply"),
    }
    s
}

pub(super) fn macro_outcome(name: &str, outcome: &MacroOutcome) -> String {
    match outcome {
        MacroOutcome::Sent { outcome } => format!("macro {name}: {}", super::render(outcome)),
        MacroOutcome::Started { every_ms } => format!("macro {name}: started, every {every_ms} ms"),
        MacroOutcome::Running { every_ms } => {
            format!("macro {name}: already running, every {every_ms} ms")
        }
        MacroOutcome::Stopped => format!("macro {name}: stopped"),
    }
}

pub(super) fn macros(macros: &[MacroInfo]) -> String {
    if macros.is_empty() {
        return "no macros; define them with [[macro]] in the configuration".into();
    }
    let width = macros.iter().map(|m| m.name.len()).max().unwrap_or(0);
    let mut s = format!("{} macro(s):", macros.len());
    for m in macros {
        let every = match (m.every_ms, m.running) {
            (None, _) => "once".to_string(),
            (Some(ms), true) => format!("every {ms} ms, RUNNING"),
            (Some(ms), false) => format!("every {ms} ms, stopped"),
        };
        let _ = write!(
            s,
            "\n  {:<width$}  {}  {}  ({every})",
            m.name, m.target, m.payload
        );
    }
    s
}

pub(super) fn capture(status: &CaptureStatus) -> String {
    let path = status.path.display();
    if status.on {
        format!(
            "capturing {} to {path} as pcapng ({} packet(s) so far; capture {} stop ends it)",
            status.link, status.packets, status.link
        )
    } else {
        format!(
            "stopped capturing {} to {path}: {} packet(s)",
            status.link, status.packets
        )
    }
}

pub(super) fn recording(status: &RecordingStatus) -> String {
    let path = status.path.display();
    if status.on {
        format!(
            "recording every frame to {path} ({} so far; record stop ends it)",
            status.frames
        )
    } else {
        format!("stopped recording {path}: {} frame(s)", status.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_and_quotes() {
        assert_eq!(unescape("\"*IDN?\\n\"").unwrap(), "*IDN?\n");
        assert_eq!(unescape("*RST\\r\\n").unwrap(), "*RST\r\n");
        assert_eq!(unescape("a\\x02b").unwrap(), "a\u{2}b");
        assert!(unescape("\"open").is_err());
        assert!(unescape("bad\\q").is_err());
        assert_eq!(escaped(b"OK\r\n\x02"), "OK\\r\\n\\x02");
    }
}
