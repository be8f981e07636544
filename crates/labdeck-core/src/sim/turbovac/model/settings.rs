//! How a simulated pump is set up: profile, tunables, model faults.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which pump the simulator behaves like (§10.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Byte-identical to turboctl's VirtualPump on the captured vectors.
    #[default]
    Compat,
    /// The real pump's limits, reply timing and physics.
    Realistic,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compat => "compat",
            Self::Realistic => "realistic",
        }
    }
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "compat" => Ok(Self::Compat),
            "realistic" => Ok(Self::Realistic),
            other => Err(format!(
                "unknown profile {other:?} (expected compat or realistic)"
            )),
        }
    }
}

/// Tunables of the model (§10.2). Defaults are turboctl's constants.
#[derive(Debug, Clone, PartialEq)]
pub struct PumpConfig {
    pub profile: Profile,
    /// Acceleration toward the setpoint, Hz/s.
    pub ramp_rate: f64,
    /// Deceleration when switched off or braked, Hz/s.
    pub decel_rate: f64,
    /// Switch off when no ON command came for this long.
    pub auto_off: Duration,
    /// Rotor model step.
    pub tick: Duration,
    /// Compat constants while on: °C, 0.1 A, V.
    pub on_temperature: i16,
    pub on_current: u16,
    pub on_voltage: u16,
    /// Realistic profile: ambient temperature, °C.
    pub ambient: f64,
    /// Realistic profile: delay replies by the wire time at 19200 baud plus P180.
    pub wire_timing: bool,
    /// Realistic profile: let DETAINED and bit 8 flicker as the real pump's do.
    pub flicker: bool,
    /// Fraction of the setpoint an overloaded rotor is braked to.
    pub stall_fraction: f64,
}

impl Default for PumpConfig {
    fn default() -> Self {
        Self {
            profile: Profile::Compat,
            ramp_rate: 100.0,
            decel_rate: 100.0,
            auto_off: Duration::from_secs(10),
            tick: Duration::from_millis(100),
            on_temperature: 30,
            on_current: 10,
            on_voltage: 24,
            ambient: 25.0,
            wire_timing: false,
            flicker: false,
            stall_fraction: 0.3,
        }
    }
}

impl PumpConfig {
    pub fn for_profile(profile: Profile) -> Self {
        Self {
            profile,
            ..Self::default()
        }
    }
}

/// Faults that act on the pump itself (wire faults live in the I/O actor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelFaults {
    /// Converter over-temperature: error 5, the pump coasts down.
    pub overtemp: bool,
    /// Mechanical overload: the rotor is braked; overload warning.
    pub overload: bool,
    /// A P227 warning bit held set.
    pub warning_bit: Option<u8>,
}
