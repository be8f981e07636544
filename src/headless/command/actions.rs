//! `pump DEVICE on|off|reset`, `read`/`write DEVICE PNU …`, `scan`,
//! `fetch`, `scpi DEVICE TEXT`, `do DEVICE ACTION [ARG…]`; and the words
//! for what a device did.

use std::fmt::Write as _;

use labdeck_core::device::{ActionOutcome, DeviceOutcome, si_format};
use labdeck_core::hub::Request;

use super::{Line, UsageError, rest_after, tasks, usage};
use crate::format;

fn action(device: &str, action: &str, args: &[&str]) -> Request {
    Request::Action {
        device: device.to_string(),
        action: action.to_string(),
        args: args.iter().map(ToString::to_string).collect(),
    }
}

pub(super) fn parse(words: &[&str], line: &str) -> Option<Result<Line, UsageError>> {
    let request = match words {
        ["pump", device, on @ ("on" | "off")] => Request::Power {
            device: (*device).to_string(),
            on: *on == "on",
            force: false,
        },
        ["pump", "--force", device, on @ ("on" | "off")] => Request::Power {
            device: (*device).to_string(),
            on: *on == "on",
            force: true,
        },
        ["pump", device, "reset"] => action(device, "reset", &[]),
        ["pump", ..] => return Some(Err(usage("pump"))),
        [verb @ ("read" | "write"), device, args @ ..] if !args.is_empty() => {
            action(device, verb, args)
        }
        [verb @ ("scan" | "fetch"), device, args @ ..] => action(device, verb, args),
        // The SCPI text is the rest of the line, spaces included.
        ["scpi", device, _, ..] => action(device, "scpi", &[&rest_after(line, 2)]),
        ["do", device, name, args @ ..] => action(device, name, args),
        [
            verb @ ("read" | "write" | "scan" | "fetch" | "scpi" | "do"),
            ..,
        ] => {
            return Some(Err(usage(verb)));
        }
        _ => return None,
    };
    Some(Ok(Line::Request(request)))
}

/// What a device did, in words.
pub(super) fn device(device: &str, outcome: &DeviceOutcome) -> String {
    match outcome {
        DeviceOutcome::Sent {
            sent,
            reply,
            round_trip_ms,
            following,
        } => super::send::sent(device, sent, reply.as_deref(), *round_trip_ms, *following),
        DeviceOutcome::Set { property } => format!(
            "{device}.{} = {}",
            property.def.name,
            format::property(property)
        ),
        DeviceOutcome::Pending {
            attr,
            sent,
            within_s,
            off_step,
        } => {
            let note = off_step.map_or_else(String::new, |step| {
                format!(" (not a multiple of its step {step}; sent as typed)")
            });
            format!(
                "{device}: sent {attr} = {sent}{note}; Busy until the server answers (at most {within_s} s)"
            )
        }
        DeviceOutcome::Power { on } => {
            format!("{device} switched {}", if *on { "on" } else { "off" })
        }
        DeviceOutcome::Action(action) => self::action_done(device, action),
        DeviceOutcome::Status(report) => tasks::status(device, report),
        DeviceOutcome::Measured { properties } => {
            let mut text = format!("{device}: measured");
            for p in properties {
                let _ = write!(
                    text,
                    "\n  {} = {} [{}]",
                    p.def.name,
                    format::property(p),
                    p.state.as_str()
                );
            }
            text
        }
        DeviceOutcome::TaskQueued {
            id,
            name,
            position,
            waits_for_link,
        } => {
            let waiting = if *waits_for_link {
                " (waits for the link)"
            } else {
                ""
            };
            format!("{device}: task #{id} '{name}' queued, position {position}{waiting}")
        }
        DeviceOutcome::TaskCancelled {
            id,
            name,
            was_running,
        } => {
            if *was_running {
                format!("{device}: task '{name}' cancelled; device in its safe state")
            } else {
                format!("{device}: queued task #{id} '{name}' cancelled")
            }
        }
        DeviceOutcome::SafeState { what } => format!("{device}: safe state: {what}"),
        DeviceOutcome::Queue {
            mode,
            cancelled,
            safe,
        } => {
            let safe = safe.as_ref().map_or_else(String::new, |s| format!("; {s}"));
            format!("{device}: queue {mode}, {cancelled} task(s) cancelled{safe}")
        }
        DeviceOutcome::Stopped { cancelled, safe } => {
            format!("{device}: stopped ({cancelled} queued task(s) cancelled); safe state: {safe}")
        }
        DeviceOutcome::Mirrored => format!("{device}: mirrored properties updated"),
    }
}

fn action_done(device: &str, done: &ActionOutcome) -> String {
    match done {
        ActionOutcome::Polled {
            status,
            round_trip_us,
        } => {
            let ms = *round_trip_us as f64 / 1e3;
            format!("{device}: {status} in {ms:.3} ms")
        }
        ActionOutcome::Reading { property } => {
            format!("{device}: {}", format::property(property))
        }
        ActionOutcome::Parameter { pnu, index, value } => format!("P{pnu}[{index}] = {value}"),
        ActionOutcome::ResetSent { control_word } => {
            format!("{device}: error reset sent ({control_word})")
        }
        ActionOutcome::ErrorsCleared => format!("{device}: error queue cleared"),
        ActionOutcome::ResetToDefaults => format!("{device}: reset to defaults"),
        ActionOutcome::ScanStarted { points, interval_s } => {
            format!("{device}: scan of {points} readings every {interval_s} s started")
        }
        ActionOutcome::ScanStopped => format!("{device}: scan stopped"),
        ActionOutcome::Fetched { summary, file } => {
            let unit = summary.unit.as_str();
            let mut text = format!(
                "{device}: {} readings, mean {}, σ {} ({} bytes in {:.1} ms)",
                summary.count,
                si_format(summary.mean, 4, unit),
                si_format(summary.std_dev, 2, unit),
                summary.bytes,
                summary.millis
            );
            if let Some(path) = file {
                let _ = write!(text, "; written to {}", path.display());
            }
            text
        }
        ActionOutcome::Sent { text } => format!("{device}: sent {text:?}"),
        ActionOutcome::Answer { text } => {
            let shown: String = text.chars().take(200).collect();
            if shown.len() < text.len() {
                format!("{device}: {shown}… ({} bytes)", text.len())
            } else {
                format!("{device}: {shown}")
            }
        }
        ActionOutcome::AskedForProperties => format!("{device}: asked for every property"),
        ActionOutcome::RemoteDevices { devices } => {
            format!("{device}: {}", devices.join(", "))
        }
    }
}
