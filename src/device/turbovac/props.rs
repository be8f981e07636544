//! The pump's properties, grouped for display.

use crate::device::Property;

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
pub const ROUND_TRIP: &str = "round-trip";
pub const TELEGRAMS: &str = "telegrams";
pub const TIMEOUTS: &str = "timeouts";
pub const DISCARDED: &str = "discarded";

pub fn sheet() -> Vec<Property> {
    vec![
        Property::new(ON, "Pump on", "Rotor").writable(),
        Property::new(FREQUENCY, "Rotor frequency", "Rotor").unit("Hz"),
        Property::new(SETPOINT, "Setpoint (P24)", "Rotor")
            .unit("Hz")
            .writable(),
        Property::new(MOTION, "Motion", "Rotor"),
        Property::new(TEMPERATURE, "Converter temperature", "Drive").unit("°C"),
        Property::new(CURRENT, "Motor current", "Drive")
            .unit("A")
            .decimals(1),
        Property::new(VOLTAGE, "Circuit voltage", "Drive").unit("V"),
        Property::new(STATUS, "Status word", "Status"),
        Property::new(ERROR, "Error (P171)", "Status"),
        Property::new(WARNINGS, "Warnings (P227)", "Status"),
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
