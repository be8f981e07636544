//! The task form (`t`) and the attribute editor (`e`): typed in, checked
//! against the device's snapshot before anything is sent, so a mistake is
//! named on the spot.

use std::fmt::Write as _;

use crate::headless::command::parse_duration;
use crate::tui::keys::{KeyChord, KeyName};
use labdeck_core::device::DeviceSnapshot;

/// The fields of the task form, in order.
pub const FIELDS: [&str; 6] = [
    "device",
    "technique",
    "params",
    "interval",
    "duration",
    "name",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskForm {
    pub values: [String; 6],
    pub focus: usize,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

/// What a key did to the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey {
    Edited,
    Submit,
    Close,
}

impl TaskForm {
    /// Prefilled for a device: its first technique, 1 s, 60 s.
    pub fn new(device: Option<&DeviceSnapshot>) -> Self {
        let technique = device
            .and_then(|d| d.capabilities.techniques.first())
            .map(|t| t.name.clone())
            .unwrap_or_default();
        Self {
            values: [
                device.map(|d| d.name.to_string()).unwrap_or_default(),
                technique.clone(),
                String::new(),
                "1".into(),
                "60".into(),
                technique,
            ],
            focus: 1,
            error: None,
        }
    }

    pub fn key(&mut self, key: KeyChord) -> FormKey {
        // The name follows the technique until it is typed in.
        let name_follows = self.values[5] == self.values[1];
        let field = &mut self.values[self.focus];
        match key.key {
            KeyName::Esc => return FormKey::Close,
            KeyName::Enter => return FormKey::Submit,
            KeyName::Tab | KeyName::Down => self.focus = (self.focus + 1) % FIELDS.len(),
            KeyName::BackTab | KeyName::Up => {
                self.focus = (self.focus + FIELDS.len() - 1) % FIELDS.len();
            }
            KeyName::Backspace => {
                field.pop();
            }
            KeyName::Space => field.push(' '),
            KeyName::Char(c) if !key.ctrl => field.push(c),
            _ => {}
        }
        if name_follows && self.focus == 1 {
            // The name follows the technique while it was left alone.
            let [_, technique, .., name] = &mut self.values;
            name.clone_from(technique);
        }
        FormKey::Edited
    }

    /// The `task …` line, when every field checks out against the device.
    pub fn command(&self, devices: &[DeviceSnapshot]) -> Result<String, String> {
        let [device, technique, params, interval, duration, name] =
            self.values.each_ref().map(|v| v.trim());
        let d = devices.iter().find(|d| &*d.name == device).ok_or_else(|| {
            format!(
                "unknown device '{device}'; devices: {}",
                devices
                    .iter()
                    .map(|d| d.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        let t = d
            .capabilities
            .techniques
            .iter()
            .find(|t| t.name == technique)
            .ok_or_else(|| {
                format!(
                    "unknown technique '{technique}' for {device}; techniques: {}",
                    d.capabilities
                        .techniques
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
        for pair in params.split_whitespace() {
            let (key, value) = pair
                .split_once('=')
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .ok_or_else(|| format!("params: {pair:?} is not NAME=VALUE"))?;
            let (_, attr) = t.params.iter().find(|(p, _)| p == key).ok_or_else(|| {
                format!(
                    "technique '{technique}' takes no parameter '{key}'; parameters: {}",
                    t.params
                        .iter()
                        .map(|(p, _)| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            if let Some(prop) = d.property(attr) {
                prop.def
                    .accept(&d.name, &labdeck_core::device::Value::Text(value.into()))
                    .map_err(|e| format!("parameter '{key}': {}", e.detail()))?;
            }
        }
        for (label, text) in [("interval", interval), ("duration", duration)] {
            parse_duration(text).ok_or_else(|| {
                format!("{label} {text:?}: seconds, more than zero (0.5, 500ms, 2min)")
            })?;
        }
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err("name: one word, no spaces".into());
        }
        let mut line = format!("task {device} {technique}");
        for pair in params.split_whitespace() {
            line.push(' ');
            line.push_str(pair);
        }
        let _ = write!(line, " interval={interval} duration={duration} name={name}");
        Ok(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: char) -> KeyChord {
        KeyChord::char(c)
    }

    #[test]
    fn a_valid_form_becomes_a_task_line() {
        let data = labdeck_core::testing::lab(tokio::time::Instant::now(), 0);
        let mut form = TaskForm::new(data.devices.first());
        assert_eq!(form.values[0], "pump1");
        // technique: "monitor" → "ramp"; the name follows.
        for _ in 0..7 {
            form.key(KeyChord::plain(KeyName::Backspace));
        }
        for c in "ramp".chars() {
            form.key(key(c));
        }
        form.key(KeyChord::plain(KeyName::Tab));
        for c in "setpoint=800".chars() {
            form.key(key(c));
        }
        assert_eq!(
            form.command(&data.devices),
            Ok("task pump1 ramp setpoint=800 interval=1 duration=60 name=ramp".into())
        );
    }

    #[test]
    fn mistakes_are_named_before_sending() {
        let data = labdeck_core::testing::lab(tokio::time::Instant::now(), 0);
        let mut form = TaskForm::new(data.devices.first());
        form.values[1] = "ramp".into();
        form.values[2] = "setpoint=5000".into();
        assert_eq!(
            form.command(&data.devices),
            Err("parameter 'setpoint': value 5000 Hz is above maximum 1200 Hz".into())
        );
        form.values[2] = "speed=3".into();
        assert!(
            form.command(&data.devices)
                .unwrap_err()
                .contains("takes no parameter 'speed'")
        );
        form.values[2].clear();
        form.values[4] = "0".into();
        assert!(
            form.command(&data.devices)
                .unwrap_err()
                .starts_with("duration \"0\"")
        );
        form.values[0] = "nope".into();
        assert!(
            form.command(&data.devices)
                .unwrap_err()
                .starts_with("unknown device 'nope'")
        );
        assert_eq!(form.key(KeyChord::plain(KeyName::Esc)), FormKey::Close);
    }
}
