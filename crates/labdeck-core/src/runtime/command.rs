//! The small command language shared by `serve`, `sim` (on stdin) and the
//! console's command palette.

use thiserror::Error;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::connection::ConnCommand;
use crate::device::TaskSpec;
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
        /// Also while a running task controls the attribute.
        force: bool,
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
    /// Queue a task.
    Task(TaskSpec),
    /// Cancel a device's task (`#id` or name), or its running one.
    Cancel {
        device: String,
        task: Option<String>,
    },
    /// List tasks.
    Tasks {
        device: Option<String>,
    },
    /// Queue the tasks of a method file.
    Load {
        path: String,
    },
    /// A device's status report.
    DeviceStatus {
        device: String,
    },
    /// Read a device's live values now.
    Measure {
        device: String,
    },
    /// List a device's properties, optionally only those whose name,
    /// label or group contains a text.
    Props {
        device: String,
        filter: Option<String>,
    },
    /// Cancel the running task, then the documented safe state.
    Safe {
        device: String,
    },
    /// Cancel every task of a device, then the safe state.
    EmergencyStop {
        device: String,
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
    (
        "set [--force] DEVICE.ATTR VALUE",
        "write a device attribute (--force: also one a running task controls)",
    ),
    ("get DEVICE.ATTR", "read a device attribute"),
    (
        "props DEVICE [TEXT]",
        "list a device's properties (those whose name, label or group contains TEXT)",
    ),
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
    (
        "task DEVICE TECHNIQUE [PARAM=VALUE…] [interval=S] duration=S [name=NAME]",
        "queue a task, e.g. task pump1 ramp setpoint=800 rate=50 interval=0.5 duration=30",
    ),
    (
        "cancel DEVICE [TASK]",
        "cancel the running task, or a queued one (#id or name)",
    ),
    ("tasks [DEVICE]", "queued, running and recent tasks"),
    (
        "load FILE",
        "queue the tasks of a method file (TOML [[task]] list)",
    ),
    ("status DEVICE", "a device's status report"),
    (
        "measure DEVICE",
        "read a device's live values now (returned as data)",
    ),
    (
        "safe DEVICE",
        "cancel its running task and put it in its safe state",
    ),
    (
        "estop DEVICE",
        "emergency stop: cancel all its tasks, safe state",
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
        ["status", device] => Command::DeviceStatus {
            device: owned(device),
        },
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
        ["set", "--force", target, _, ..] => {
            let (device, attr) = dotted(target, "set")?;
            Command::Set {
                device,
                attr,
                value: rest_after(line, 3),
                force: true,
            }
        }
        ["set", target, _, ..] => {
            let (device, attr) = dotted(target, "set")?;
            // The value is the rest of the line, spaces included.
            let value = rest_after(line, 2);
            Command::Set {
                device,
                attr,
                value,
                force: false,
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
        ["task", device, technique, args @ ..] => Command::Task(task(device, technique, args)?),
        ["task", ..] => return Err(usage("task")),
        ["cancel", device] => Command::Cancel {
            device: owned(device),
            task: None,
        },
        ["cancel", device, task] => Command::Cancel {
            device: owned(device),
            task: Some(owned(task)),
        },
        ["cancel", ..] => return Err(usage("cancel")),
        ["tasks"] => Command::Tasks { device: None },
        ["tasks", device] => Command::Tasks {
            device: Some(owned(device)),
        },
        ["load", _, ..] => Command::Load {
            path: rest_after(line, 1),
        },
        ["measure", device] => Command::Measure {
            device: owned(device),
        },
        ["props", device] => Command::Props {
            device: owned(device),
            filter: None,
        },
        ["props", device, _, ..] => Command::Props {
            device: owned(device),
            filter: Some(rest_after(line, 2)),
        },
        ["safe", device] => Command::Safe {
            device: owned(device),
        },
        ["estop", device] => Command::EmergencyStop {
            device: owned(device),
        },
        [
            verb @ ("tasks" | "load" | "safe" | "estop" | "measure" | "props"),
            ..,
        ] => {
            return Err(usage(verb));
        }
        [other, ..] => {
            return Err(CommandError(format!(
                "unknown command {other:?} (try 'help')"
            )));
        }
        [] => return Ok(None),
    };
    Ok(Some(command))
}

/// `0.5`, `500ms`, `2s`, `1.5min`, `1h` as a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.trim().parse().ok()?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    let secs = number * scale;
    (secs.is_finite() && secs > 0.0 && secs < 1e9).then(|| Duration::from_secs_f64(secs))
}

/// `task DEVICE TECHNIQUE k=v…`: the reserved keys set the timing and the
/// name, the others are the technique's parameters.
fn task(device: &str, technique: &str, args: &[&str]) -> Result<TaskSpec, CommandError> {
    let mut spec = TaskSpec {
        name: technique.to_string(),
        device: device.to_string(),
        technique: technique.to_string(),
        params: BTreeMap::new(),
        sampling_interval: Duration::from_secs(1),
        max_duration: Duration::ZERO,
    };
    let duration = |key: &str, value: &str| {
        parse_duration(value).ok_or_else(|| {
            CommandError(format!(
                "{key}={value}: expected a duration in seconds (0.5, 500ms, 2min)"
            ))
        })
    };
    for arg in args {
        let Some((key, value)) = arg
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            return Err(CommandError(format!(
                "{arg:?} is not KEY=VALUE; usage: task DEVICE TECHNIQUE [PARAM=VALUE…] [interval=S] duration=S [name=NAME]"
            )));
        };
        match key {
            "interval" | "sampling_interval" => spec.sampling_interval = duration(key, value)?,
            "duration" | "max_duration" => spec.max_duration = duration(key, value)?,
            "name" => spec.name = value.to_string(),
            param => {
                spec.params.insert(param.to_string(), value.to_string());
            }
        }
    }
    if spec.max_duration.is_zero() {
        return Err(CommandError(
            "a task needs duration=SECONDS (how long it runs)".into(),
        ));
    }
    Ok(spec)
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
                value: "800".into(),
                force: false,
            })
        );
        assert!(matches!(
            parse("set --force pump1.setpoint 900").unwrap(),
            Some(Command::Set { force: true, .. })
        ));
        let Some(Command::Task(spec)) =
            parse("task pump1 ramp setpoint=800 rate=50 interval=0.5 duration=30").unwrap()
        else {
            panic!("a task");
        };
        assert_eq!(spec.name, "ramp");
        assert_eq!(spec.params["setpoint"], "800");
        assert_eq!(spec.params["rate"], "50");
        assert_eq!(spec.sampling_interval, Duration::from_millis(500));
        assert_eq!(spec.max_duration, Duration::from_secs(30));
        assert_eq!(spec.expected_samples(), 60);
        assert_eq!(
            parse("cancel pump1 #3").unwrap(),
            Some(Command::Cancel {
                device: "pump1".into(),
                task: Some("#3".into())
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
        assert_eq!(
            parse("task pump1 ramp setpoint=800")
                .unwrap_err()
                .to_string(),
            "a task needs duration=SECONDS (how long it runs)"
        );
        assert!(
            parse("task em1 measure interval=fast duration=3")
                .unwrap_err()
                .to_string()
                .contains("expected a duration")
        );
        assert_eq!(parse_duration("1.5min"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("-1"), None);
        assert!(
            parse("fault x y maybe")
                .unwrap_err()
                .to_string()
                .contains("expected on, off")
        );
    }
}
