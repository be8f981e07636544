//! `task DEVICE TECHNIQUE k=v…`, `cancel DEVICE [TASK]`, `tasks [DEVICE]`,
//! `load FILE`, `status DEVICE`, `measure DEVICE`, `safe DEVICE`,
//! `estop DEVICE`; and the words for tasks and status reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use labdeck_core::device::{
    DEFAULT_LINK_TIMEOUT, StatusReport, TaskRef, TaskSnapshot, TaskSpec, Value,
};
use labdeck_core::hub::Request;
use labdeck_core::time::Timestamp;

use super::{Line, UsageError, parse_duration, rest_after, usage};
use crate::format;

pub(super) fn parse(words: &[&str], line: &str) -> Option<Result<Line, UsageError>> {
    let device = |d: &&str| (*d).to_string();
    let request = match words {
        ["task", d, technique, args @ ..] => task(d, technique, args),
        ["task", ..] => Err(usage("task")),
        ["cancel", d] => Ok(Request::Cancel {
            device: device(d),
            task: None,
        }),
        ["cancel", d, task] => Ok(Request::Cancel {
            device: device(d),
            task: Some(TaskRef::parse(task)),
        }),
        ["cancel", ..] => Err(usage("cancel")),
        ["tasks"] => Ok(Request::Tasks { device: None }),
        ["tasks", d] => Ok(Request::Tasks {
            device: Some(device(d)),
        }),
        ["load", _, ..] => Ok(Request::Load {
            path: PathBuf::from(rest_after(line, 1)),
        }),
        ["status", d] => Ok(Request::DeviceStatus { device: device(d) }),
        ["measure", d] => Ok(Request::Measure { device: device(d) }),
        ["safe", d] => Ok(Request::Safe { device: device(d) }),
        ["estop", d] => Ok(Request::EmergencyStop { device: device(d) }),
        [
            verb @ ("tasks" | "load" | "safe" | "estop" | "measure" | "status"),
            ..,
        ] => Err(usage(verb)),
        _ => return None,
    };
    Some(request.map(Line::Request))
}

/// `task DEVICE TECHNIQUE k=v…`: the reserved keys set the timing and the
/// name, the others are the technique's parameters, as written.
fn task(device: &str, technique: &str, args: &[&str]) -> Result<Request, UsageError> {
    let mut spec = TaskSpec {
        name: technique.to_string(),
        device: device.to_string(),
        technique: technique.to_string(),
        params: BTreeMap::new(),
        sampling_interval: Duration::from_secs(1),
        max_duration: Duration::ZERO,
        link_timeout: DEFAULT_LINK_TIMEOUT,
        job: None,
    };
    let duration = |key: &str, value: &str| {
        parse_duration(value).ok_or_else(|| {
            UsageError(format!(
                "{key}={value}: expected a duration in seconds (0.5, 500ms, 2min)"
            ))
        })
    };
    for arg in args {
        let Some((key, value)) = arg
            .split_once('=')
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        else {
            return Err(UsageError(format!(
                "{arg:?} is not KEY=VALUE; usage: task DEVICE TECHNIQUE [PARAM=VALUE…] [interval=S] duration=S [name=NAME] [link-timeout=S]"
            )));
        };
        match key {
            "interval" | "sampling_interval" => spec.sampling_interval = duration(key, value)?,
            "duration" | "max_duration" => spec.max_duration = duration(key, value)?,
            "name" => spec.name = value.to_string(),
            "link-timeout" | "link_timeout" => spec.link_timeout = duration(key, value)?,
            param => {
                spec.params
                    .insert(param.to_string(), Value::Text(value.to_string()));
            }
        }
    }
    if spec.max_duration.is_zero() {
        return Err(UsageError(
            "a task needs duration=SECONDS (how long it runs)".into(),
        ));
    }
    Ok(Request::Task(spec))
}

/// One line per task, or `no tasks`.
pub(super) fn list(tasks: &[TaskSnapshot]) -> String {
    if tasks.is_empty() {
        return "no tasks".into();
    }
    let now = Timestamp::now();
    let lines: Vec<String> = tasks
        .iter()
        .map(|t| format!("  {}", describe(t, now)))
        .collect();
    format!("tasks:\n{}", lines.join("\n"))
}

/// `pump1 #2 spin-up (ramp) running 40% 24/60 samples -> FILE`.
pub fn describe(task: &TaskSnapshot, now: Timestamp) -> String {
    let mut line = format!(
        "{} #{} {} ({}) {} {:.0}% {}/{} samples",
        task.spec.device,
        task.id,
        task.spec.name,
        task.spec.technique,
        task.state.as_str(),
        task.progress(now) * 100.0,
        task.samples,
        task.expected
    );
    if let Some(reason) = &task.reason {
        let _ = write!(line, " ({reason})");
    }
    if let Some(job) = &task.spec.job {
        let _ = write!(line, " [job #{} '{}']", job.id, job.name);
    }
    if let Some(file) = &task.file {
        let _ = write!(line, " -> {}", file.display());
    }
    line
}

/// `pump1: idle; on on, frequency 0 Hz, …`.
pub(super) fn status(device: &str, report: &StatusReport) -> String {
    let task = report
        .running
        .as_ref()
        .map_or_else(|| "idle".to_string(), |t| format!("running '{t}'"));
    let values: Vec<String> = report
        .properties
        .iter()
        .map(|p| format!("{} {}", p.def.name, format::property(p)))
        .collect();
    format!("{device}: {task}; {}", values.join(", "))
}
