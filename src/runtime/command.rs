//! The small command language shared by `serve`, `sim` (on stdin) and the
//! console's command palette.

use thiserror::Error;

use crate::connection::ConnCommand;
use crate::sim::FaultSetting;

/// One parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Status,
    /// List the faults of a simulator (the only one when `sim` is `None`).
    Faults {
        sim: Option<String>,
    },
    Fault {
        sim: Option<String>,
        fault: String,
        setting: FaultSetting,
    },
    /// `pump DEVICE on|off|reset`.
    Pump {
        device: String,
        action: String,
    },
    /// `connect|disconnect|teardown|retry NAME` (a link or a device's link).
    Connection {
        target: String,
        command: ConnCommand,
    },
    Set {
        device: String,
        attr: String,
        value: String,
    },
    Get {
        device: String,
        attr: String,
    },
    /// A driver action: `read DEVICE PNU [INDEX]`, `write DEVICE PNU VALUE [INDEX]`.
    Action {
        device: String,
        action: String,
        args: Vec<String>,
    },
    Quit,
}

/// A line the language does not accept, with the usage that applies.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("{0}")]
pub struct CommandError(pub String);

/// Usage lines, also the palette's completion source.
pub const USAGE: &[(&str, &str)] = &[
    ("status", "connections, devices and simulators at a glance"),
    ("faults [SIM]", "list a simulator's faults and their state"),
    (
        "fault [SIM] FAULT on|off|toggle|VALUE",
        "switch a simulator fault",
    ),
    (
        "pump DEVICE on|off|reset",
        "switch the pump or reset its error",
    ),
    ("connect NAME", "connect a link (or a device's link)"),
    ("disconnect NAME", "disconnect; stops recovery too"),
    ("teardown NAME", "release a link for good"),
    ("retry NAME", "retry a recovering link now"),
    ("set DEVICE.ATTR VALUE", "write a device attribute"),
    ("get DEVICE.ATTR", "read a device attribute"),
    ("read DEVICE PNU [INDEX]", "read a pump parameter"),
    ("write DEVICE PNU VALUE [INDEX]", "write a pump parameter"),
    (
        "scan DEVICE [POINTS] [INTERVAL_S]",
        "start a buffered electrometer scan",
    ),
    (
        "fetch DEVICE [FILE.csv]",
        "read the electrometer's buffer (:TRAC:DATA?)",
    ),
    (
        "scpi DEVICE TEXT",
        "send raw SCPI; a query's answer is shown",
    ),
    (
        "do DEVICE ACTION [ARG…]",
        "any driver action (e.g. do em1 clear, do em1 stop)",
    ),
    ("help", "this list"),
    ("quit", "stop"),
];

fn usage(prefix: &str) -> CommandError {
    let line = USAGE
        .iter()
        .find(|(u, _)| u.split_whitespace().next() == Some(prefix))
        .map_or(prefix, |(u, _)| u);
    CommandError(format!("usage: {line}"))
}

fn dotted(text: &str, verb: &str) -> Result<(String, String), CommandError> {
    match text.split_once('.') {
        Some((device, attr)) if !device.is_empty() && !attr.is_empty() => {
            Ok((device.into(), attr.into()))
        }
        _ => Err(usage(verb)),
    }
}

/// The line after its first `words` words, inner spacing kept.
fn rest_after(line: &str, words: usize) -> String {
    let mut rest = line.trim_start();
    for _ in 0..words {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end().to_string()
}

/// Parse one line. Blank lines and `#` comments are `Ok(None)`.
pub fn parse(line: &str) -> Result<Option<Command>, CommandError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let owned = |s: &str| s.to_string();
    let command = match words.as_slice() {
        ["help" | "?"] => Command::Help,
        ["status"] => Command::Status,
        ["quit" | "exit"] => Command::Quit,
        ["faults"] => Command::Faults { sim: None },
        ["faults", sim] => Command::Faults {
            sim: Some(owned(sim)),
        },
        ["faults", ..] => return Err(usage("faults")),
        ["fault", fault, setting] => Command::Fault {
            sim: None,
            fault: owned(fault),
            setting: setting.parse().map_err(CommandError)?,
        },
        ["fault", sim, fault, setting] => Command::Fault {
            sim: Some(owned(sim)),
            fault: owned(fault),
            setting: setting.parse().map_err(CommandError)?,
        },
        ["fault", ..] => return Err(usage("fault")),
        ["pump", device, action @ ("on" | "off" | "reset")] => Command::Pump {
            device: owned(device),
            action: owned(action),
        },
        ["pump", ..] => return Err(usage("pump")),
        [
            verb @ ("connect" | "disconnect" | "teardown" | "retry"),
            target,
        ] => Command::Connection {
            target: owned(target),
            command: match *verb {
                "connect" => ConnCommand::Connect,
                "disconnect" => ConnCommand::Disconnect,
                "teardown" => ConnCommand::Teardown,
                _ => ConnCommand::RetryNow,
            },
        },
        [verb @ ("connect" | "disconnect" | "teardown" | "retry"), ..] => return Err(usage(verb)),
        ["set", target, _, ..] => {
            let (device, attr) = dotted(target, "set")?;
            // The value is the rest of the line, spaces included.
            let value = rest_after(line, 2);
            Command::Set {
                device,
                attr,
                value,
            }
        }
        ["set", ..] => return Err(usage("set")),
        ["get", target] => {
            let (device, attr) = dotted(target, "get")?;
            Command::Get { device, attr }
        }
        ["get", ..] => return Err(usage("get")),
        [verb @ ("read" | "write"), device, args @ ..] if !args.is_empty() => Command::Action {
            device: owned(device),
            action: owned(verb),
            args: args.iter().map(|a| owned(a)).collect(),
        },
        [verb @ ("read" | "write"), ..] => return Err(usage(verb)),
        [verb @ ("scan" | "fetch"), device, args @ ..] => Command::Action {
            device: owned(device),
            action: owned(verb),
            args: args.iter().map(|a| owned(a)).collect(),
        },
        ["scpi", device, _, ..] => Command::Action {
            device: owned(device),
            action: "scpi".into(),
            // The SCPI text is the rest of the line, spaces included.
            args: vec![rest_after(line, 2)],
        },
        ["do", device, action, args @ ..] => Command::Action {
            device: owned(device),
            action: owned(action),
            args: args.iter().map(|a| owned(a)).collect(),
        },
        [verb @ ("scan" | "fetch" | "scpi" | "do"), ..] => return Err(usage(verb)),
        [other, ..] => {
            return Err(CommandError(format!(
                "unknown command {other:?} (try 'help')"
            )));
        }
        [] => return Ok(None),
    };
    Ok(Some(command))
}

/// The help text.
pub fn help() -> String {
    let width = USAGE.iter().map(|(u, _)| u.len()).max().unwrap_or(0);
    USAGE
        .iter()
        .map(|(u, what)| format!("  {u:<width$}  {what}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_language() {
        assert_eq!(
            parse("fault pump-sim no-reply on").unwrap(),
            Some(Command::Fault {
                sim: Some("pump-sim".into()),
                fault: "no-reply".into(),
                setting: FaultSetting::On
            })
        );
        assert_eq!(
            parse("fault delay 1500").unwrap(),
            Some(Command::Fault {
                sim: None,
                fault: "delay".into(),
                setting: FaultSetting::Value(1500)
            })
        );
        assert_eq!(
            parse("set pump1.setpoint  800").unwrap(),
            Some(Command::Set {
                device: "pump1".into(),
                attr: "setpoint".into(),
                value: "800".into()
            })
        );
        assert_eq!(
            parse("disconnect pump-port").unwrap(),
            Some(Command::Connection {
                target: "pump-port".into(),
                command: ConnCommand::Disconnect
            })
        );
        assert_eq!(
            parse("read pump1 171 2").unwrap(),
            Some(Command::Action {
                device: "pump1".into(),
                action: "read".into(),
                args: vec!["171".into(), "2".into()]
            })
        );
        assert_eq!(
            parse("scpi em1 :SENS:FUNC  'VOLT';*IDN?").unwrap(),
            Some(Command::Action {
                device: "em1".into(),
                action: "scpi".into(),
                args: vec![":SENS:FUNC  'VOLT';*IDN?".into()]
            })
        );
        assert_eq!(
            parse("scan em1 500 0.01").unwrap(),
            Some(Command::Action {
                device: "em1".into(),
                action: "scan".into(),
                args: vec!["500".into(), "0.01".into()]
            })
        );
        assert_eq!(
            parse("do em1 clear").unwrap(),
            Some(Command::Action {
                device: "em1".into(),
                action: "clear".into(),
                args: vec![]
            })
        );
        assert_eq!(parse("  # comment").unwrap(), None);
    }

    #[test]
    fn errors_say_how_to_use_it() {
        assert_eq!(
            parse("pump p1 sideways").unwrap_err().to_string(),
            "usage: pump DEVICE on|off|reset"
        );
        assert_eq!(
            parse("get pump1").unwrap_err().to_string(),
            "usage: get DEVICE.ATTR"
        );
        assert_eq!(
            parse("frobnicate").unwrap_err().to_string(),
            "unknown command \"frobnicate\" (try 'help')"
        );
        assert!(
            parse("fault x y maybe")
                .unwrap_err()
                .to_string()
                .contains("expected on, off")
        );
    }
}
