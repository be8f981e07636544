//! Method files: a TOML list of tasks, queued in order.
//!
//! ```toml
//! [[task]]
//! name = "spin-up"
//! device = "pump1"
//! technique = "ramp"
//! sampling_interval = 0.5
//! max_duration = 30
//! params = { setpoint = 800, rate = 50 }
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
use crate::device::{TaskSpec, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMethod {
    #[serde(default)]
    task: Vec<Spanned<RawTask>>,
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
    #[serde(default, alias = "technique_params", alias = "task_params")]
    params: BTreeMap<String, Spanned<toml::Value>>,
}

/// Parse a method; `origin` names it in errors.
pub fn parse_method(text: &str, origin: &str) -> Result<Vec<TaskSpec>, ConfigErrors> {
    let raw: RawMethod = toml::from_str(text).map_err(|e| {
        ConfigErrors(vec![ConfigError::at(
            origin,
            text,
            e.span().unwrap_or(0..0),
            e.message().trim_end(),
        )])
    })?;
    let mut errors = Vec::new();
    let mut tasks = Vec::new();
    let mut error = |span: std::ops::Range<usize>, message: String| {
        errors.push(ConfigError::at(origin, text, span, message));
    };
    if raw.task.is_empty() {
        error(0..0, "no tasks: add [[task]] tables".into());
    }
    for task in &raw.task {
        let task = task.get_ref();
        let seconds =
            |v: &Spanned<f64>, key: &str, error: &mut dyn FnMut(std::ops::Range<usize>, String)| {
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
            };
        let interval = match &task.sampling_interval {
            Some(v) => seconds(v, "sampling_interval", &mut error),
            None => Some(Duration::from_secs(1)),
        };
        let duration = seconds(&task.max_duration, "max_duration", &mut error);
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
        if let (Some(sampling_interval), Some(max_duration)) = (interval, duration) {
            tasks.push(TaskSpec {
                name: task
                    .name
                    .clone()
                    .unwrap_or_else(|| task.technique.get_ref().clone()),
                device: task.device.get_ref().clone(),
                technique: task.technique.get_ref().clone(),
                params,
                sampling_interval,
                max_duration,
            });
        }
    }
    if errors.is_empty() {
        Ok(tasks)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Read and parse a method file.
pub fn load_method(path: &Path) -> Result<Vec<TaskSpec>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read method {}: {e}", path.display()))?;
    parse_method(&text, &path.display().to_string()).map_err(|e| e.to_string())
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
        let tasks = parse_method(text, "m.toml").unwrap();
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
}
