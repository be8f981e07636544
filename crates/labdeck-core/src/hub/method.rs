//! Method files: a TOML list of tasks, queued in order on their devices,
//! and of jobs, each a list of tasks run one after another across devices.
//!
//! ```toml
//! [[task]]
//! name = "spin-up"
//! device = "pump1"
//! technique = "ramp"
//! sampling_interval = 0.5
//! max_duration = 30
//! params = { setpoint = 800, rate = 50 }
//!
//! [[job]]
//! name = "pump-down"
//! on-failure = "stop"      # or "continue"
//! reset-at-end = true      # each device to its safe state at the end
//! link-timeout = 60        # seconds a task waits for a link that is down
//! [[job.task]]
//! device = "pump1"
//! technique = "ramp"
//! max_duration = 30
//! params = { setpoint = 800 }
//! ```
//!
//! tomato's names are accepted too: `technique_name`, `technique_params`
//! or `task_params`. Errors name the file, line and column.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::{ConfigError, ConfigErrors};
use crate::device::{DEFAULT_LINK_TIMEOUT, TaskSpec, Value};
use crate::jobs::{JobSpec, OnFailure};

/// What a method file holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Method {
    /// Tasks outside jobs, each queued on its device.
    pub tasks: Vec<TaskSpec>,
    pub jobs: Vec<JobSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMethod {
    #[serde(default)]
    task: Vec<Spanned<RawTask>>,
    #[serde(default)]
    job: Vec<Spanned<RawJob>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
    name: String,
    #[serde(default, rename = "on-failure", alias = "on_failure")]
    on_failure: OnFailure,
    #[serde(default = "yes", rename = "reset-at-end", alias = "reset_at_end")]
    reset_at_end: bool,
    #[serde(rename = "link-timeout", alias = "link_timeout")]
    link_timeout: Option<Spanned<f64>>,
    #[serde(default)]
    task: Vec<Spanned<RawTask>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTask {
    name: Option<String>,
    device: Spanned<String>,
    #[serde(alias = "technique_name")]
    technique: Spanned<String>,
    sampling_interval: Option<Spanned<f64>>,
    max_duration: Spanned<f64>,
    #[serde(alias = "link-timeout")]
    link_timeout: Option<Spanned<f64>>,
    #[serde(default, alias = "technique_params", alias = "task_params")]
    params: BTreeMap<String, Spanned<toml::Value>>,
}

type Errors<'a> = dyn FnMut(std::ops::Range<usize>, String) + 'a;

/// Seconds more than zero (and less than 30 years).
fn seconds(v: &Spanned<f64>, key: &str, error: &mut Errors<'_>) -> Option<Duration> {
    let secs = *v.get_ref();
    if secs.is_finite() && secs > 0.0 && secs < 1e9 {
        Some(Duration::from_secs_f64(secs))
    } else {
        error(
            v.span(),
            format!("{key} must be more than zero seconds, found {secs}"),
        );
        None
    }
}

/// One task; `link_timeout` applies unless it says its own.
fn task_spec(task: &RawTask, link_timeout: Duration, error: &mut Errors<'_>) -> Option<TaskSpec> {
    let interval = match &task.sampling_interval {
        Some(v) => seconds(v, "sampling_interval", error),
        None => Some(Duration::from_secs(1)),
    };
    let duration = seconds(&task.max_duration, "max_duration", error);
    let link_timeout = match &task.link_timeout {
        Some(v) => seconds(v, "link_timeout", error),
        None => Some(link_timeout),
    };
    let mut params = BTreeMap::new();
    for (key, value) in &task.params {
        let value = match value.get_ref() {
            toml::Value::String(s) => Value::Text(s.clone()),
            toml::Value::Integer(i) => Value::from(*i),
            toml::Value::Float(f) => Value::Number(*f),
            toml::Value::Boolean(b) => Value::Bool(*b),
            _ => {
                error(
                    value.span(),
                    format!("parameter {key}: expected a number, a string or a boolean"),
                );
                continue;
            }
        };
        params.insert(key.clone(), value);
    }
    Some(TaskSpec {
        name: task
            .name
            .clone()
            .unwrap_or_else(|| task.technique.get_ref().clone()),
        device: task.device.get_ref().clone(),
        technique: task.technique.get_ref().clone(),
        params,
        sampling_interval: interval?,
        max_duration: duration?,
        link_timeout: link_timeout?,
        job: None,
    })
}

/// Parse a method; `origin` names it in errors.
pub fn parse_method(text: &str, origin: &str) -> Result<Method, ConfigErrors> {
    let raw: RawMethod = toml::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigError::at(
            origin,
            text,
            e.span().unwrap_or(0..0),
            e.message().trim_end(),
        )])
    })?;
    let mut errors = Vec::new();
    let mut method = Method::default();
    let mut error = |span: std::ops::Range<usize>, message: String| {
        errors.push(ConfigError::at(origin, text, span, message));
    };
    if raw.task.is_empty() && raw.job.is_empty() {
        error(0..0, "no tasks: add [[task]] or [[job]] tables".into());
    }
    for task in &raw.task {
        method
            .tasks
            .extend(task_spec(task.get_ref(), DEFAULT_LINK_TIMEOUT, &mut error));
    }
    for job in &raw.job {
        let (span, job) = (job.span(), job.get_ref());
        if job.task.is_empty() {
            error(
                span,
                format!("job '{}' has no tasks: add [[job.task]] tables", job.name),
            );
            continue;
        }
        if method.jobs.iter().any(|j| j.name == job.name) {
            error(span, format!("a second job named '{}'", job.name));
        }
        let timeout = match &job.link_timeout {
            Some(v) => seconds(v, "link-timeout", &mut error),
            None => Some(DEFAULT_LINK_TIMEOUT),
        };
        let Some(timeout) = timeout else { continue };
        let tasks: Vec<TaskSpec> = job
            .task
            .iter()
            .filter_map(|t| task_spec(t.get_ref(), timeout, &mut error))
            .collect();
        method.jobs.push(JobSpec {
            name: job.name.clone(),
            tasks,
            on_failure: job.on_failure,
            reset_at_end: job.reset_at_end,
            method: None,
        });
    }
    if errors.is_empty() {
        Ok(method)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Read and parse a method file.
pub fn load_method(path: &Path) -> Result<Method, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read method {}: {e}", path.display()))?;
    let mut method = parse_method(&text, &path.display().to_string()).map_err(|e| e.to_string())?;
    for job in &mut method.jobs {
        job.method = Some(path.to_path_buf());
    }
    Ok(method)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_in_order_with_tomato_names_accepted() {
        let text = r#"
[[task]]
name = "spin-up"
device = "pump1"
technique = "ramp"
sampling_interval = 0.5
max_duration = 30
params = { setpoint = 800, rate = 50.5 }

[[task]]
device = "em1"
technique_name = "measure"
max_duration = 10
technique_params = { function = "CURR", nplc = 1 }
"#;
        let tasks = parse_method(text, "m.toml").unwrap().tasks;
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].params["rate"], Value::Number(50.5));
        assert_eq!(tasks[0].expected_samples(), 60);
        assert_eq!(tasks[1].name, "measure");
        assert_eq!(tasks[1].sampling_interval, Duration::from_secs(1));
        assert_eq!(tasks[1].params["function"], Value::from("CURR"));
    }

    #[test]
    fn errors_point_at_the_value() {
        let text = "[[task]]\ndevice = \"pump1\"\ntechnique = \"ramp\"\nmax_duration = -1\n";
        let message = parse_method(text, "m.toml").unwrap_err().to_string();
        assert!(
            message.starts_with("error: m.toml:4:16: max_duration must be more than zero"),
            "{message}"
        );
        let message = parse_method("[[task]]\ndevice = 1\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("m.toml:2:10"), "{message}");
        let message = parse_method("", "m.toml").unwrap_err().to_string();
        assert!(message.contains("no tasks"), "{message}");
    }

    #[test]
    fn the_example_methods_parse() {
        let demo = parse_method(
            include_str!("../../../../examples/demo-method.toml"),
            "demo",
        )
        .expect("examples/demo-method.toml");
        assert_eq!(demo.tasks.len(), 3);
        let job = parse_method(include_str!("../../../../examples/job-method.toml"), "job")
            .expect("examples/job-method.toml");
        assert_eq!(job.jobs.len(), 1);
        assert_eq!(job.jobs[0].tasks.len(), 3);
        assert_eq!(job.jobs[0].tasks[0].link_timeout, Duration::from_secs(30));
    }

    #[test]
    fn jobs_with_their_settings_and_link_timeouts() {
        let text = r#"
[[job]]
name = "pump-down"
on-failure = "continue"
link-timeout = 5
[[job.task]]
device = "pump1"
technique = "ramp"
max_duration = 30
params = { setpoint = 800 }
[[job.task]]
device = "em1"
technique = "measure"
max_duration = 10
link_timeout = 2

[[job]]
name = "check"
reset_at_end = false
[[job.task]]
device = "pump1"
technique = "monitor"
max_duration = 3
"#;
        let method = parse_method(text, "m.toml").unwrap();
        assert!(method.tasks.is_empty());
        let [down, check] = &method.jobs[..] else {
            panic!("{method:?}")
        };
        assert_eq!(down.on_failure, OnFailure::Continue);
        assert!(down.reset_at_end);
        assert_eq!(down.tasks[0].link_timeout, Duration::from_secs(5));
        assert_eq!(down.tasks[1].link_timeout, Duration::from_secs(2));
        assert_eq!(check.on_failure, OnFailure::Stop);
        assert!(!check.reset_at_end);
        assert_eq!(check.tasks[0].link_timeout, DEFAULT_LINK_TIMEOUT);

        let message = parse_method("[[job]]\nname = \"x\"\non-failure = \"maybe\"\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("m.toml:3:14") && message.contains("maybe"),
            "{message}"
        );
        let message = parse_method("[[job]]\nname = \"x\"\n", "m.toml")
            .unwrap_err()
            .to_string();
        assert!(message.contains("job 'x' has no tasks"), "{message}");
    }
}
