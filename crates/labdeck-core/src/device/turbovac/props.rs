//! The pump's properties, grouped for display.

use crate::device::{AttrKind, Property, Thresholds};

pub const ON: &str = "on";
pub const FREQUENCY: &str = "frequency";
pub const SETPOINT: &str = "setpoint";
pub const MOTION: &str = "motion";
pub const TEMPERATURE: &str = "temperature";
pub const CURRENT: &str = "current";
pub const VOLTAGE: &str = "voltage";
pub const STATUS: &str = "status";
pub const ERROR: &str = "error";
pub const WARNINGS: &str = "warnings";
pub const KEEP_ALIVE: &str = "keep-alive";
pub const RAMP_RATE: &str = "ramp-rate";
pub const ROUND_TRIP: &str = "round-trip";
pub const TELEGRAMS: &str = "telegrams";
pub const TIMEOUTS: &str = "timeouts";
pub const DISCARDED: &str = "discarded";

pub fn sheet() -> Vec<Property> {
    vec![
        Property::new(ON, "Pump on", "Rotor")
            .kind(AttrKind::Bool)
            .writable()
            .status(),
        Property::new(FREQUENCY, "Rotor frequency", "Rotor")
            .unit("Hz")
            .kind(AttrKind::Int)
            .status(),
        Property::new(SETPOINT, "Setpoint (P24)", "Rotor")
            .unit("Hz")
            .kind(AttrKind::Int)
            .writable(),
        Property::new(RAMP_RATE, "Ramp rate (tasks)", "Rotor")
            .unit("Hz/s")
            .kind(AttrKind::Float)
            .decimals(1)
            .limits(0.1, 1000.0)
            .writable(),
        Property::new(MOTION, "Motion", "Rotor").status(),
        Property::new(TEMPERATURE, "Converter temperature", "Drive")
            .unit("°C")
            .kind(AttrKind::Int)
            .thresholds(Thresholds {
                warn_high: Some(55.0),
                alarm_high: Some(65.0),
                ..Thresholds::default()
            })
            .status(),
        Property::new(CURRENT, "Motor current", "Drive")
            .unit("A")
            .kind(AttrKind::Float)
            .decimals(1),
        Property::new(VOLTAGE, "Circuit voltage", "Drive")
            .unit("V")
            .kind(AttrKind::Int)
            .thresholds(Thresholds {
                warn_low: Some(21.0),
                warn_high: Some(27.0),
                ..Thresholds::default()
            }),
        Property::new(STATUS, "Status word", "Status"),
        Property::new(ERROR, "Error (P171)", "Status").status(),
        Property::new(WARNINGS, "Warnings (P227)", "Status").status(),
        Property::new(KEEP_ALIVE, "Keep-alive sent", "Link"),
        Property::new(ROUND_TRIP, "Round trip", "Link")
            .unit("ms")
            .decimals(2)
            .quiet(),
        Property::new(TELEGRAMS, "Telegrams", "Link").quiet(),
        Property::new(TIMEOUTS, "Failed exchanges", "Link").quiet(),
        Property::new(DISCARDED, "Discarded bytes", "Link")
            .unit("B")
            .quiet(),
    ]
}
