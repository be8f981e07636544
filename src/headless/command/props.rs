//! `set [--force] DEVICE.ATTR VALUE`, `get DEVICE.ATTR`, `props DEVICE [TEXT]`.

use labdeck_core::device::{Property, Value};
use labdeck_core::hub::Request;

use super::{Line, UsageError, rest_after, usage};
use crate::format;

fn dotted(text: &str, verb: &str) -> Result<(String, String), UsageError> {
    match text.split_once('.') {
        Some((device, attr)) if !device.is_empty() && !attr.is_empty() => {
            Ok((device.into(), attr.into()))
        }
        _ => Err(usage(verb)),
    }
}

pub(super) fn parse(words: &[&str], line: &str) -> Option<Result<Line, UsageError>> {
    let request = match words {
        ["set", "--force", target, _, ..] => {
            dotted(target, "set").map(|(device, attr)| Request::Set {
                device,
                attr,
                value: Value::Text(rest_after(line, 3)),
                force: true,
            })
        }
        // The value is the rest of the line, spaces included; the device
        // reads it as the attribute's kind says.
        ["set", target, _, ..] => dotted(target, "set").map(|(device, attr)| Request::Set {
            device,
            attr,
            value: Value::Text(rest_after(line, 2)),
            force: false,
        }),
        ["set", ..] => Err(usage("set")),
        ["get", target] => {
            dotted(target, "get").map(|(device, attr)| Request::Get { device, attr })
        }
        ["get", ..] => Err(usage("get")),
        ["props", device] => Ok(Request::Properties {
            device: (*device).to_string(),
            filter: None,
        }),
        ["props", device, _, ..] => Ok(Request::Properties {
            device: (*device).to_string(),
            filter: Some(rest_after(line, 2)),
        }),
        ["props", ..] => Err(usage("props")),
        _ => return None,
    };
    Some(request.map(Line::Request))
}

/// `pump1.setpoint = 1000 Hz [Ok]`.
pub(super) fn property(device: &str, p: &Property) -> String {
    format!(
        "{device}.{} = {} [{}]",
        p.def.name,
        format::property(p),
        p.state.as_str()
    )
}

/// A heading and one line per property: name = value [state] (group).
pub(super) fn properties(device: &str, properties: &[Property]) -> String {
    let lines: Vec<String> = properties
        .iter()
        .map(|p| {
            let w = if p.def.writable { " w" } else { "" };
            format!(
                "  {} = {} [{}]{w} ({})",
                p.def.name,
                format::property(p),
                p.state.as_str(),
                p.def.group
            )
        })
        .collect();
    format!(
        "{device}: {} properties\n{}",
        properties.len(),
        lines.join("\n")
    )
}
