//! Attributes: the typed, validated side of a property — its kind, write
//! limits, options, warning and alarm thresholds — and the checks a value
//! passes before it reaches a device, each failure with its own message.

use serde::{Deserialize, Serialize};

use super::{Property, PropertyDef, Value};
use crate::error::HubError;

/// What values an attribute holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", content = "options", rename_all = "lowercase")]
pub enum AttrKind {
    Bool,
    Int,
    Float,
    #[default]
    Text,
    /// One of these words (matched without regard to case).
    Enum(Vec<String>),
}

impl AttrKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int => "int",
            Self::Float => "float",
            Self::Text => "string",
            Self::Enum(_) => "enum",
        }
    }
}

/// Display thresholds, separate from the write limits: a value beyond a
/// warning threshold is marked, beyond an alarm threshold flagged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Thresholds {
    pub warn_low: Option<f64>,
    pub warn_high: Option<f64>,
    pub alarm_low: Option<f64>,
    pub alarm_high: Option<f64>,
}

/// How a value sits against the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Normal,
    Warning,
    Alarm,
}

impl Thresholds {
    pub fn level(&self, value: f64) -> Level {
        let beyond = |low: Option<f64>, high: Option<f64>| {
            low.is_some_and(|l| value < l) || high.is_some_and(|h| value > h)
        };
        if beyond(self.alarm_low, self.alarm_high) {
            Level::Alarm
        } else if beyond(self.warn_low, self.warn_high) {
            Level::Warning
        } else {
            Level::Normal
        }
    }
}

/// `2e-9`, `20n`, `2 nA`, `200µ`: a number with an optional SI prefix and
/// an optional unit after it.
pub fn parse_number(text: &str, unit: Option<&str>) -> Option<f64> {
    let mut text = text.trim();
    if let Some(unit) = unit.filter(|u| !u.is_empty()) {
        text = text.strip_suffix(unit).unwrap_or(text).trim_end();
    }
    if let Ok(value) = text.parse::<f64>() {
        return value.is_finite().then_some(value);
    }
    let last = text.chars().last()?;
    let number = text[..text.len() - last.len_utf8()].trim();
    let scale = match last {
        'f' => 1e-15,
        'p' => 1e-12,
        'n' => 1e-9,
        'u' | 'µ' => 1e-6,
        'm' => 1e-3,
        'k' => 1e3,
        'M' => 1e6,
        'G' => 1e9,
        'T' => 1e12,
        _ => return None,
    };
    number
        .parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|v| v.is_finite())
}

/// `on`/`off`, `true`/`false`, `yes`/`no`, `1`/`0`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

impl PropertyDef {
    /// Check a value for this attribute of `device`, in order: given,
    /// writable, of the right type (text is read as the kind says: `on`,
    /// `20n`, `800 Hz`, `12:30:00` for sexagesimal formats), one of the
    /// options, not below the minimum, not above the maximum. The typed
    /// value on success.
    pub fn accept(&self, device: &str, value: &Value) -> Result<Value, HubError> {
        let attr = || self.name.to_string();
        let device = || device.to_string();
        if matches!(value, Value::Text(t) if t.trim().is_empty()) {
            return Err(HubError::NoValue {
                device: device(),
                attr: attr(),
            });
        }
        if !self.writable {
            return Err(HubError::ReadOnly {
                device: device(),
                attr: attr(),
            });
        }
        let wrong = |expected: &str| HubError::WrongType {
            device: device(),
            attr: attr(),
            value: shown(value),
            expected: expected.to_string(),
        };
        let typed = match (&self.kind, value) {
            (AttrKind::Bool, Value::Bool(b)) => Value::Bool(*b),
            (AttrKind::Bool, Value::Text(t)) => {
                Value::Bool(parse_bool(t).ok_or_else(|| wrong("on or off"))?)
            }
            (AttrKind::Bool, Value::Number(_)) => return Err(wrong("on or off")),
            (AttrKind::Int, _) => {
                let number = self
                    .number(value)
                    .filter(|v| v.fract() == 0.0 && v.abs() < 9.0e15)
                    .ok_or_else(|| wrong("a whole number"))?;
                Value::Number(number)
            }
            (AttrKind::Float, _) => {
                Value::Number(self.number(value).ok_or_else(|| wrong("a number"))?)
            }
            (AttrKind::Text, Value::Text(t)) => Value::Text(t.trim().to_string()),
            (AttrKind::Text, other) => Value::Text(shown(other)),
            (AttrKind::Enum(options), _) => {
                let text = shown(value);
                let found = options.iter().find(|o| o.eq_ignore_ascii_case(text.trim()));
                Value::Text(
                    found
                        .ok_or_else(|| HubError::NotOption {
                            device: device(),
                            attr: attr(),
                            value: text.trim().to_string(),
                            options: options.clone(),
                        })?
                        .clone(),
                )
            }
        };
        if let Some(number) = typed.as_f64() {
            let below = self.min.is_some_and(|min| number < min);
            let above = self.max.is_some_and(|max| number > max);
            if below || above {
                return Err(HubError::OutOfRange {
                    device: device(),
                    attr: attr(),
                    value: number,
                    min: self.min,
                    max: self.max,
                    unit: self.unit.clone(),
                });
            }
        }
        Ok(typed)
    }

    /// A number from a typed value or from text in this attribute's terms.
    fn number(&self, value: &Value) -> Option<f64> {
        match value {
            Value::Number(v) => v.is_finite().then_some(*v),
            Value::Text(t) => parse_number(t, self.unit.as_deref()).or_else(|| {
                // INDI numbers also take 12:30:36 and a decimal comma.
                self.format
                    .as_ref()
                    .and_then(|_| crate::protocol::indi::parse_number(t))
            }),
            Value::Bool(_) => None,
        }
    }
}

/// A value as a user typed it, for messages.
fn shown(value: &Value) -> String {
    match value {
        Value::Bool(true) => "on".into(),
        Value::Bool(false) => "off".into(),
        Value::Number(v) => v.to_string(),
        Value::Text(t) => t.trim().to_string(),
    }
}

impl Property {
    /// How the current value sits against the display thresholds.
    pub fn level(&self) -> Level {
        match self.value.as_ref().and_then(Value::as_f64) {
            Some(v) => self.def.thresholds.level(v),
            None => Level::Normal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setpoint() -> PropertyDef {
        PropertyDef::new("setpoint", "Setpoint", "Rotor")
            .unit("Hz")
            .kind(AttrKind::Int)
            .limits(750.0, 1200.0)
            .writable()
    }

    fn message(p: &PropertyDef, input: &str) -> String {
        p.accept("pump1", &Value::Text(input.into()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn each_failure_has_its_message_in_the_documented_order() {
        let p = setpoint();
        assert_eq!(
            message(&p, " "),
            "pump1: no value given for attribute 'setpoint'"
        );
        assert_eq!(
            message(&PropertyDef::new("frequency", "f", "g"), "1"),
            "pump1: attribute 'frequency' is read-only"
        );
        assert_eq!(
            message(&p, "fast"),
            "pump1: value 'fast' for attribute 'setpoint' is not a whole number"
        );
        assert_eq!(
            message(&p, "800.5"),
            "pump1: value '800.5' for attribute 'setpoint' is not a whole number"
        );
        assert_eq!(
            message(&p, "2500"),
            "pump1: value 2500 Hz is above maximum 1200 Hz"
        );
        assert_eq!(
            message(&p, "500 Hz"),
            "pump1: value 500 Hz is below minimum 750 Hz"
        );
        assert_eq!(
            p.accept("pump1", &Value::Text("800 Hz".into())),
            Ok(Value::Number(800.0))
        );
        assert_eq!(
            p.accept("pump1", &Value::Number(900.0)),
            Ok(Value::Number(900.0))
        );
        let f = PropertyDef::new("function", "Function", "M")
            .kind(AttrKind::Enum(vec!["CURR".into(), "VOLT".into()]))
            .writable();
        assert_eq!(
            f.accept("em1", &Value::Text("volt".into())),
            Ok(Value::Text("VOLT".into()))
        );
        assert_eq!(
            message(&f, "amps"),
            "pump1: value 'amps' for attribute 'function' is not one of CURR, VOLT"
        );
        let on = PropertyDef::new("on", "On", "R")
            .kind(AttrKind::Bool)
            .writable();
        assert_eq!(
            on.accept("p", &Value::Text("ON".into())),
            Ok(Value::Bool(true))
        );
        assert_eq!(on.accept("p", &Value::Bool(false)), Ok(Value::Bool(false)));
        assert_eq!(
            message(&on, "maybe"),
            "pump1: value 'maybe' for attribute 'on' is not on or off"
        );
    }

    #[test]
    fn numbers_take_si_prefixes_and_units() {
        assert_eq!(parse_number("20n", Some("A")), Some(20.0 * 1e-9));
        assert_eq!(parse_number("2 nA", Some("A")), Some(2.0 * 1e-9));
        assert_eq!(parse_number("2e-9", None), Some(2e-9));
        assert_eq!(parse_number("200µ", None), Some(200.0 * 1e-6));
        assert_eq!(parse_number("inf", None), None);
        assert_eq!(parse_number("fast", None), None);
        assert_eq!(parse_number("", None), None);
    }

    #[test]
    fn thresholds_grade_values() {
        let t = Thresholds {
            warn_high: Some(50.0),
            alarm_high: Some(60.0),
            ..Thresholds::default()
        };
        assert_eq!(t.level(25.0), Level::Normal);
        assert_eq!(t.level(55.0), Level::Warning);
        assert_eq!(t.level(61.0), Level::Alarm);
    }
}
