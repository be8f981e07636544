//! The electrometer's properties, grouped for display.

use crate::device::{AttrKind, Property};

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

pub fn sheet() -> Vec<Property> {
    vec![
        Property::new(FUNCTION, "Function", "Measure")
            .kind(AttrKind::Enum(
                ["CURR", "CHAR", "VOLT", "RES"].map(String::from).to_vec(),
            ))
            .writable()
            .status(),
        Property::new(READING, "Reading", "Measure")
            .kind(AttrKind::Float)
            .decimals(4)
            .si()
            .status(),
        Property::new(READING_STATUS, "Reading status", "Measure").status(),
        Property::new(RANGE, "Range", "Measure")
            .kind(AttrKind::Float)
            .decimals(0)
            .si()
            .writable(),
        Property::new(AUTORANGE, "Autorange", "Measure")
            .kind(AttrKind::Bool)
            .writable(),
        Property::new(NPLC, "Integration (NPLC)", "Measure")
            .kind(AttrKind::Float)
            .decimals(2)
            .limits(0.01, 10.0)
            .writable(),
        Property::new(ZERO_CHECK, "Zero check", "Measure")
            .kind(AttrKind::Bool)
            .writable()
            .status(),
        Property::new(SCAN, "Buffered scan", "Buffer"),
        Property::new(BUFFER_COUNT, "Readings stored", "Buffer"),
        Property::new(BUFFER_SIZE, "Buffer size", "Buffer"),
        Property::new(LAST_FETCH, "Last fetch", "Buffer"),
        Property::new(IDENTITY, "Identity", "Instrument"),
        Property::new(ERROR, "Last SCPI error", "Instrument").status(),
        Property::new(ERRORS_SEEN, "SCPI errors seen", "Instrument"),
        Property::new(ROUND_TRIP, "Round trip", "Link")
            .unit("ms")
            .decimals(2)
            .quiet(),
        Property::new(QUERIES, "Queries", "Link").quiet(),
        Property::new(TIMEOUTS, "Failed queries", "Link").quiet(),
    ]
}
