//! `status`, `faults [SIM]`, `fault [SIM] FAULT on|off|toggle|VALUE`.

use labdeck_core::hub::{LabStatus, Request};
use labdeck_core::sim::{FaultInfo, FaultSetting};

use super::{Line, UsageError, usage};

pub(super) fn parse(words: &[&str]) -> Option<Result<Line, UsageError>> {
    let owned = |s: &str| s.to_string();
    let request = match words {
        ["status"] => Request::Status,
        ["faults"] => Request::Faults { simulator: None },
        ["faults", sim] => Request::Faults {
            simulator: Some(owned(sim)),
        },
        ["faults", ..] => return Some(Err(usage("faults"))),
        ["fault", fault, setting] => Request::Fault {
            simulator: None,
            fault: owned(fault),
            setting: match setting.parse::<FaultSetting>() {
                Ok(s) => s,
                Err(e) => return Some(Err(UsageError(e))),
            },
        },
        ["fault", sim, fault, setting] => Request::Fault {
            simulator: Some(owned(sim)),
            fault: owned(fault),
            setting: match setting.parse::<FaultSetting>() {
                Ok(s) => s,
                Err(e) => return Some(Err(UsageError(e))),
            },
        },
        ["fault", ..] => return Some(Err(usage("fault"))),
        _ => return None,
    };
    Some(Ok(Line::Request(request)))
}

/// One line per link, device and simulator.
pub(super) fn status(status: &LabStatus) -> String {
    let mut lines = Vec::new();
    for l in &status.links {
        let error = l
            .last_error
            .as_ref()
            .map_or_else(String::new, |e| format!(" — {e}"));
        lines.push(format!(
            "link    {:<16} {:<12} {} {}{error}",
            l.name, l.state, l.transport, l.endpoint
        ));
    }
    for d in &status.devices {
        let state = if d.liveness.is_responding() {
            format!("responding; {}", d.summary)
        } else {
            d.liveness.to_string()
        };
        lines.push(format!("device  {:<16} {:<12} {state}", d.name, d.kind));
    }
    for s in &status.simulators {
        let active: Vec<String> = s.active.iter().map(ToString::to_string).collect();
        let faults = if active.is_empty() {
            "no faults".to_string()
        } else {
            active.join(", ")
        };
        let endpoint = s.endpoint.as_deref().unwrap_or("(port closed)");
        lines.push(format!(
            "sim     {:<16} {:<12} {endpoint}; {faults}",
            s.name, s.kind
        ));
    }
    lines.join("\n")
}

pub(super) fn faults(simulator: &str, faults: &[FaultInfo]) -> String {
    let lines: Vec<String> = faults
        .iter()
        .map(|f| format!("  {f}  — {}", f.label))
        .collect();
    format!("faults of {simulator}:\n{}", lines.join("\n"))
}
