//! Fault catalogues: every simulator lists its faults with a stable id, a
//! label and a state; each can be switched at runtime.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::HubError;

/// A numeric setting a fault carries (e.g. a delay in ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultParam {
    pub unit: &'static str,
    pub default: u64,
    pub min: u64,
    pub max: u64,
}

/// A fault a simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultSpec {
    /// Stable identifier used in commands and key bindings.
    pub id: &'static str,
    pub label: &'static str,
    pub param: Option<FaultParam>,
}

/// A fault and its current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultInfo {
    pub id: Cow<'static, str>,
    pub label: Cow<'static, str>,
    pub active: bool,
    pub value: Option<u64>,
    /// The value's unit, for faults that take one.
    pub unit: Option<Cow<'static, str>>,
    /// The values it accepts, for faults that take one.
    pub range: Option<(u64, u64)>,
}

impl FaultInfo {
    /// The value with its unit: `300 ms`, `bit 3`.
    pub fn setting(&self) -> Option<String> {
        match (self.value, self.unit.as_deref()) {
            (Some(value), Some("bit")) => Some(format!("bit {value}")),
            // SCPI errors are negative; the value is the magnitude.
            (Some(value), Some("error")) => Some(format!("error -{value}")),
            (Some(value), Some(unit)) => Some(format!("{value} {unit}")),
            _ => None,
        }
    }
}

impl std::fmt::Display for FaultInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.active { "on" } else { "off" };
        write!(f, "{} {state}", self.id)?;
        if let Some(setting) = self.setting() {
            write!(f, " ({setting})")?;
        }
        Ok(())
    }
}

/// How to switch a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultSetting {
    On,
    Off,
    Toggle,
    /// Switch on with this value.
    Value(u64),
}

impl std::str::FromStr for FaultSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "on" | "true" | "1" => Ok(Self::On),
            "off" | "false" | "0" => Ok(Self::Off),
            "toggle" => Ok(Self::Toggle),
            other => other
                .parse()
                .map(Self::Value)
                .map_err(|_| format!("expected on, off, toggle or a number, found {other:?}")),
        }
    }
}

/// The switchable state of a catalogue.
#[derive(Debug, Clone)]
pub struct FaultBoard {
    simulator: Arc<str>,
    specs: &'static [FaultSpec],
    active: Vec<bool>,
    values: Vec<Option<u64>>,
}

impl FaultBoard {
    pub fn new(simulator: Arc<str>, specs: &'static [FaultSpec]) -> Self {
        Self {
            simulator,
            specs,
            active: vec![false; specs.len()],
            values: specs.iter().map(|s| s.param.map(|p| p.default)).collect(),
        }
    }

    fn position(&self, id: &str) -> Result<usize, HubError> {
        self.specs
            .iter()
            .position(|s| s.id == id)
            .ok_or_else(|| HubError::UnknownFault {
                simulator: self.simulator.to_string(),
                fault: id.to_string(),
                known: self.specs.iter().map(|s| s.id.to_string()).collect(),
            })
    }

    /// Apply a setting; returns the fault's new state.
    pub fn set(&mut self, id: &str, setting: FaultSetting) -> Result<FaultInfo, HubError> {
        let i = self.position(id)?;
        let spec = self.specs[i];
        match setting {
            FaultSetting::On => self.active[i] = true,
            FaultSetting::Off => self.active[i] = false,
            FaultSetting::Toggle => self.active[i] = !self.active[i],
            FaultSetting::Value(value) => {
                let Some(param) = spec.param else {
                    return Err(HubError::FaultTakesNoValue {
                        simulator: self.simulator.to_string(),
                        fault: id.to_string(),
                    });
                };
                if !(param.min..=param.max).contains(&value) {
                    return Err(HubError::FaultValueOutOfRange {
                        simulator: self.simulator.to_string(),
                        fault: id.to_string(),
                        value,
                        unit: param.unit.to_string(),
                        min: param.min,
                        max: param.max,
                    });
                }
                self.values[i] = Some(value);
                self.active[i] = true;
            }
        }
        Ok(self.info(i))
    }

    /// Whether a fault is on (unknown ids are off).
    pub fn is_on(&self, id: &str) -> bool {
        self.position(id).is_ok_and(|i| self.active[i])
    }

    /// The value of an active fault with a parameter.
    pub fn value(&self, id: &str) -> Option<u64> {
        let i = self.position(id).ok()?;
        if self.active[i] { self.values[i] } else { None }
    }

    fn info(&self, i: usize) -> FaultInfo {
        let spec = self.specs[i];
        FaultInfo {
            id: Cow::Borrowed(spec.id),
            label: Cow::Borrowed(spec.label),
            active: self.active[i],
            value: self.values[i],
            unit: spec.param.map(|p| Cow::Borrowed(p.unit)),
            range: spec.param.map(|p| (p.min, p.max)),
        }
    }

    pub fn list(&self) -> Vec<FaultInfo> {
        (0..self.specs.len()).map(|i| self.info(i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[FaultSpec] = &[
        FaultSpec {
            id: "no-reply",
            label: "No reply",
            param: None,
        },
        FaultSpec {
            id: "delay",
            label: "Reply delay",
            param: Some(FaultParam {
                unit: "ms",
                default: 300,
                min: 1,
                max: 10_000,
            }),
        },
    ];

    #[test]
    fn switching_and_values() {
        let mut board = FaultBoard::new("sim".into(), SPECS);
        assert!(!board.is_on("no-reply"));
        board.set("no-reply", FaultSetting::Toggle).unwrap();
        assert!(board.is_on("no-reply"));
        assert_eq!(board.value("delay"), None);
        board.set("delay", FaultSetting::On).unwrap();
        assert_eq!(board.value("delay"), Some(300));
        let info = board.set("delay", FaultSetting::Value(1500)).unwrap();
        assert_eq!(info.to_string(), "delay on (1500 ms)");
        assert!(matches!(
            board.set("delay", FaultSetting::Value(0)),
            Err(HubError::FaultValueOutOfRange { .. })
        ));
        assert!(matches!(
            board.set("no-reply", FaultSetting::Value(3)),
            Err(HubError::FaultTakesNoValue { .. })
        ));
        let err = board.set("nope", FaultSetting::On).unwrap_err();
        assert_eq!(
            err.to_string(),
            "sim: unknown fault \"nope\"; known faults: no-reply, delay"
        );
    }

    #[test]
    fn settings_parse() {
        assert_eq!("on".parse(), Ok(FaultSetting::On));
        assert_eq!("250".parse(), Ok(FaultSetting::Value(250)));
        assert!("maybe".parse::<FaultSetting>().is_err());
    }
}
