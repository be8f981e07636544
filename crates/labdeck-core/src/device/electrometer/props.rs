//! The electrometer's properties, grouped for display.

use crate::device::{AttrKind, PropertyDef};

pub const FUNCTION: &str = "function";
pub const READING: &str = "reading";
pub const READING_STATUS: &str = "reading-status";
pub const RANGE: &str = "range";
pub const AUTORANGE: &str = "autorange";
pub const NPLC: &str = "nplc";
pub const ZERO_CHECK: &str = "zero-check";
pub const SCAN: &str = "scan";
pub const BUFFER_COUNT: &str = "buffer-count";
pub const BUFFER_SIZE: &str = "buffer-size";
pub const LAST_FETCH: &str = "last-fetch";
pub const IDENTITY: &str = "identity";
pub const ERROR: &str = "error";
pub const ERRORS_SEEN: &str = "errors-seen";
pub const ROUND_TRIP: &str = "round-trip";
pub const QUERIES: &str = "queries";
pub const TIMEOUTS: &str = "timeouts";

pub fn sheet() -> Vec<PropertyDef> {
    vec![
        PropertyDef::new(FUNCTION, "Function", "Measure")
            .kind(AttrKind::Enum(
                ["CURR", "CHAR", "VOLT", "RES"].map(String::from).to_vec(),
            ))
            .writable()
            .status(),
        PropertyDef::new(READING, "Reading", "Measure")
            .kind(AttrKind::Float)
            .decimals(4)
            .si()
            .status(),
        PropertyDef::new(READING_STATUS, "Reading status", "Measure").status(),
        PropertyDef::new(RANGE, "Range", "Measure")
            .kind(AttrKind::Float)
            .decimals(0)
            .si()
            .writable(),
        PropertyDef::new(AUTORANGE, "Autorange", "Measure")
            .kind(AttrKind::Bool)
            .writable(),
        PropertyDef::new(NPLC, "Integration (NPLC)", "Measure")
            .kind(AttrKind::Float)
            .decimals(2)
            .limits(0.01, 10.0)
            .writable(),
        PropertyDef::new(ZERO_CHECK, "Zero check", "Measure")
            .kind(AttrKind::Bool)
            .writable()
            .status(),
        PropertyDef::new(SCAN, "Buffered scan", "Buffer"),
        PropertyDef::new(BUFFER_COUNT, "Readings stored", "Buffer"),
        PropertyDef::new(BUFFER_SIZE, "Buffer size", "Buffer"),
        PropertyDef::new(LAST_FETCH, "Last fetch", "Buffer"),
        PropertyDef::new(IDENTITY, "Identity", "Instrument"),
        PropertyDef::new(ERROR, "Last SCPI error", "Instrument").status(),
        PropertyDef::new(ERRORS_SEEN, "SCPI errors seen", "Instrument"),
        PropertyDef::new(ROUND_TRIP, "Round trip", "Link")
            .unit("ms")
            .decimals(2)
            .quiet(),
        PropertyDef::new(QUERIES, "Queries", "Link").quiet(),
        PropertyDef::new(TIMEOUTS, "Failed queries", "Link").quiet(),
    ]
}
