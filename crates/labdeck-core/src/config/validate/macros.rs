//! `[[macro]]`: a name, a link or device, the bytes (text with a line
//! ending, or hex) and, for a periodic send, how often.

use std::collections::HashMap;
use std::time::Duration;

use toml::Spanned;

use super::{Checker, MAX_DURATION, MIN_DURATION, known};
use crate::config::MacroSpec;
use crate::config::raw::RawMacro;
use crate::link::{LineEnding, hex_string, parse_hex, text_payload};
use crate::time::parse_duration;

pub(super) fn macros(
    c: &mut Checker,
    raw: &[Spanned<RawMacro>],
    targets: &HashMap<String, usize>,
) -> Vec<MacroSpec> {
    c.names("macro", raw, |m| &m.name);
    raw.iter()
        .filter_map(|m| one(c, m.get_ref(), m.span(), targets))
        .collect()
}

fn one(
    c: &mut Checker,
    m: &RawMacro,
    span: std::ops::Range<usize>,
    targets: &HashMap<String, usize>,
) -> Option<MacroSpec> {
    let name = m.name.get_ref();
    let target = m.link.get_ref();
    if !targets.contains_key(target) {
        c.error(
            m.link.span(),
            format!(
                "macro {name:?}: unknown link or device {target:?}; {}",
                known(targets)
            ),
        );
    }
    let eol = match &m.eol {
        None => LineEnding::None,
        Some(eol) => LineEnding::parse(eol.get_ref()).unwrap_or_else(|| {
            c.error(
                eol.span(),
                format!(
                    "eol must be one of {}, found {:?}",
                    LineEnding::NAMES,
                    eol.get_ref()
                ),
            );
            LineEnding::None
        }),
    };
    let (bytes, shown) = match (&m.text, &m.hex) {
        (Some(text), None) => {
            let shown = format!("text {:?} + {}", text.get_ref(), eol.as_str());
            (text_payload(text.get_ref(), eol), shown)
        }
        (None, Some(hex)) => {
            if let Some(eol) = &m.eol {
                c.error(eol.span(), "eol applies to text, not to hex bytes");
            }
            match parse_hex(hex.get_ref()) {
                Some(bytes) if !bytes.is_empty() => {
                    let shown = format!("hex {}", hex_string(&bytes));
                    (bytes, shown)
                }
                _ => {
                    c.error(
                        hex.span(),
                        format!(
                            "hex must be pairs of hex digits (\"02 16 00\"), found {:?}",
                            hex.get_ref()
                        ),
                    );
                    return None;
                }
            }
        }
        _ => {
            c.error(
                span,
                format!(
                    "macro {name:?}: give the bytes as text = \"…\" or hex = \"…\" (one of them)"
                ),
            );
            return None;
        }
    };
    let every = m.every.as_ref().and_then(|every| {
        let seconds = match every.get_ref() {
            toml::Value::Float(f) => Some(*f),
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::String(s) => parse_duration(s).map(|d| d.as_secs_f64()),
            _ => None,
        };
        let range = MIN_DURATION.as_secs_f64()..=MAX_DURATION.as_secs_f64();
        match seconds {
            Some(s) if s.is_finite() && range.contains(&s) => Some(Duration::from_secs_f64(s)),
            _ => {
                c.error(
                    every.span(),
                    "every must be a duration of 1 ms to 1 day: seconds (0.5) or text (\"500ms\", \"2s\", \"1min\")",
                );
                None
            }
        }
    });
    if m.start == Some(true) && m.every.is_none() {
        c.error(
            m.name.span(),
            format!("macro {name:?}: start = true needs every = …"),
        );
    }
    Some(MacroSpec {
        name: name.clone(),
        target: target.clone(),
        bytes,
        shown,
        every,
        start: m.start.unwrap_or(false),
    })
}
