//! Attributes: the typed, validated side of a property — its kind, write
//! limits, options, warning and alarm thresholds — and the checks a value
//! passes before it reaches a device, each failure with its own message.

use serde::Serialize;
use thiserror::Error;

use super::{Property, Value};

/// What values an attribute holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
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

/// Why a value or a request was refused.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum AttrError {
    #[error("unknown attribute '{attr}' of {device}; known: {known}")]
    Unknown {
        device: String,
        attr: String,
        known: String,
    },
    #[error("no value given for attribute '{attr}'")]
    Empty { attr: String },
    #[error("attribute '{attr}' is read-only")]
    ReadOnly { attr: String },
    #[error("value '{value}' for attribute '{attr}' is not {expected}")]
    Type {
        attr: String,
        value: String,
        expected: &'static str,
    },
    #[error("value '{value}' for attribute '{attr}' is not one of {options}")]
    NotAnOption {
        attr: String,
        value: String,
        options: String,
    },
    #[error("value {value} is below minimum {min}")]
    BelowMin { value: String, min: String },
    #[error("value {value} is above maximum {max}")]
    AboveMax { value: String, max: String },
    #[error(
        "attribute '{attr}' is controlled by the running task '{task}'; set --force to override"
    )]
    Busy { attr: String, task: String },
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

impl Property {
    /// A number with this attribute's unit, for messages: `2500 Hz`.
    fn quantity(&self, value: f64) -> String {
        match &self.unit {
            Some(unit) => format!("{value} {unit}"),
            None => value.to_string(),
        }
    }

    /// Check a value for this attribute, in order: given, writable, of
    /// the right type, one of the options, not below the minimum, not
    /// above the maximum. The typed value on success.
    pub fn validate(&self, input: &str) -> Result<Value, AttrError> {
        let attr = || self.name.clone();
        let input = input.trim();
        if input.is_empty() {
            return Err(AttrError::Empty { attr: attr() });
        }
        if !self.writable {
            return Err(AttrError::ReadOnly { attr: attr() });
        }
        let wrong = |expected| AttrError::Type {
            attr: attr(),
            value: input.to_string(),
            expected,
        };
        let value = match &self.kind {
            AttrKind::Bool => Value::Bool(parse_bool(input).ok_or_else(|| wrong("on or off"))?),
            AttrKind::Int => {
                let number = parse_number(input, self.unit.as_deref())
                    .filter(|v| v.fract() == 0.0 && v.abs() < 9.0e15)
                    .ok_or_else(|| wrong("a whole number"))?;
                Value::Int(number as i64)
            }
            AttrKind::Float => Value::Float(
                parse_number(input, self.unit.as_deref())
                    .or_else(|| {
                        // INDI numbers also take 12:30:36 and a decimal comma.
                        self.format
                            .as_ref()
                            .and_then(|_| crate::protocol::indi::parse_number(input))
                    })
                    .ok_or_else(|| wrong("a number"))?,
            ),
            AttrKind::Text => Value::Text(input.to_string()),
            AttrKind::Enum(options) => {
                let found = options.iter().find(|o| o.eq_ignore_ascii_case(input));
                Value::Text(
                    found
                        .ok_or_else(|| AttrError::NotAnOption {
                            attr: attr(),
                            value: input.to_string(),
                            options: options.join(", "),
                        })?
                        .clone(),
                )
            }
        };
        if let Some(number) = value.as_f64().filter(|_| !matches!(value, Value::Bool(_))) {
            if let Some(min) = self.min.filter(|min| number < *min) {
                return Err(AttrError::BelowMin {
                    value: self.quantity(number),
                    min: self.quantity(min),
                });
            }
            if let Some(max) = self.max.filter(|max| number > *max) {
                return Err(AttrError::AboveMax {
                    value: self.quantity(number),
                    max: self.quantity(max),
                });
            }
        }
        Ok(value)
    }

    /// How the current value sits against the display thresholds.
    pub fn level(&self) -> Level {
        match self.value.as_ref().and_then(Value::as_f64) {
            Some(v) if !matches!(self.value, Some(Value::Bool(_))) => self.thresholds.level(v),
            _ => Level::Normal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setpoint() -> Property {
        Property::new("setpoint", "Setpoint", "Rotor")
            .unit("Hz")
            .kind(AttrKind::Int)
            .limits(750.0, 1200.0)
            .writable()
    }

    fn message(p: &Property, input: &str) -> String {
        p.validate(input).unwrap_err().to_string()
    }

    #[test]
    fn each_failure_has_its_message_in_the_documented_order() {
        let p = setpoint();
        assert_eq!(message(&p, " "), "no value given for attribute 'setpoint'");
        assert_eq!(
            message(&Property::new("frequency", "f", "g"), "1"),
            "attribute 'frequency' is read-only"
        );
        assert_eq!(
            message(&p, "fast"),
            "value 'fast' for attribute 'setpoint' is not a whole number"
        );
        assert_eq!(
            message(&p, "800.5"),
            "value '800.5' for attribute 'setpoint' is not a whole number"
        );
        assert_eq!(
            message(&p, "2500"),
            "value 2500 Hz is above maximum 1200 Hz"
        );
        assert_eq!(
            message(&p, "500 Hz"),
            "value 500 Hz is below minimum 750 Hz"
        );
        assert_eq!(p.validate("800 Hz"), Ok(Value::Int(800)));
        let f = Property::new("function", "Function", "M")
            .kind(AttrKind::Enum(vec!["CURR".into(), "VOLT".into()]))
            .writable();
        assert_eq!(f.validate("volt"), Ok(Value::Text("VOLT".into())));
        assert_eq!(
            message(&f, "amps"),
            "value 'amps' for attribute 'function' is not one of CURR, VOLT"
        );
        let on = Property::new("on", "On", "R")
            .kind(AttrKind::Bool)
            .writable();
        assert_eq!(on.validate("ON"), Ok(Value::Bool(true)));
        assert_eq!(
            message(&on, "maybe"),
            "value 'maybe' for attribute 'on' is not on or off"
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
