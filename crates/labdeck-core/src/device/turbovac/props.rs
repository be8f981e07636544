//! The pump's properties, grouped for display.

use crate::device::{AttrKind, PropertyDef, Thresholds};

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

pub fn sheet() -> Vec<PropertyDef> {
    vec![
        PropertyDef::new(ON, "Pump on", "Rotor")
            .kind(AttrKind::Bool)
            .writable()
            .status(),
        PropertyDef::new(FREQUENCY, "Rotor frequency", "Rotor")
            .unit("Hz")
            .kind(AttrKind::Int)
            .status(),
        PropertyDef::new(SETPOINT, "Setpoint (P24)", "Rotor")
            .unit("Hz")
            .kind(AttrKind::Int)
            .writable(),
        PropertyDef::new(RAMP_RATE, "Ramp rate (tasks)", "Rotor")
            .unit("Hz/s")
            .kind(AttrKind::Float)
            .decimals(1)
            .limits(0.1, 1000.0)
            .writable(),
        PropertyDef::new(MOTION, "Motion", "Rotor").status(),
        PropertyDef::new(TEMPERATURE, "Converter temperature", "Drive")
            .unit("°C")
            .kind(AttrKind::Int)
            .thresholds(Thresholds {
                warn_high: Some(55.0),
                alarm_high: Some(65.0),
                ..Thresholds::default()
            })
            .status(),
        PropertyDef::new(CURRENT, "Motor current", "Drive")
            .unit("A")
            .kind(AttrKind::Float)
            .decimals(1),
        PropertyDef::new(VOLTAGE, "Circuit voltage", "Drive")
            .unit("V")
            .kind(AttrKind::Int)
            .thresholds(Thresholds {
                warn_low: Some(21.0),
                warn_high: Some(27.0),
                ..Thresholds::default()
            }),
        PropertyDef::new(STATUS, "Status word", "Status"),
        PropertyDef::new(ERROR, "Error (P171)", "Status").status(),
        PropertyDef::new(WARNINGS, "Warnings (P227)", "Status").status(),
        PropertyDef::new(KEEP_ALIVE, "Keep-alive sent", "Link"),
        PropertyDef::new(ROUND_TRIP, "Round trip", "Link")
            .unit("ms")
            .decimals(2)
            .quiet(),
        PropertyDef::new(TELEGRAMS, "Telegrams", "Link").quiet(),
        PropertyDef::new(TIMEOUTS, "Failed exchanges", "Link").quiet(),
        PropertyDef::new(DISCARDED, "Discarded bytes", "Link")
            .unit("B")
            .quiet(),
    ]
}
