//! The TURBOVAC simulator's fault catalogue.

use crate::sim::{FaultParam, FaultSpec};

pub const NO_REPLY: &str = "no-reply";
pub const BAD_BCC: &str = "bad-bcc";
pub const GARBAGE: &str = "garbage";
pub const DELAY: &str = "delay";
pub const TRUNCATED: &str = "truncated";
pub const HANG_UP: &str = "hang-up";
pub const OVERTEMP: &str = "overtemp";
pub const OVERLOAD: &str = "overload";
pub const WARNING: &str = "warning";
pub const ESCAPES: &str = "escapes";

/// What the `escapes` fault sends: screen clear, cursor moves, a window
/// title, colours, a C1 CSI and invalid UTF-8 — a terminal must never see
/// any of it raw.
pub const ESCAPE_PAYLOAD: &[u8] =
    b"\x1b[2J\x1b[H\x1b]0;pwned\x07\x1b[31;1mRED\x1b[10;10HX\xff\xfe\x9b2J\r\n";

pub const CATALOGUE: &[FaultSpec] = &[
    FaultSpec {
        id: NO_REPLY,
        label: "No reply (telegrams are read and dropped)",
        param: None,
    },
    FaultSpec {
        id: BAD_BCC,
        label: "Corrupted BCC in every reply",
        param: None,
    },
    FaultSpec {
        id: GARBAGE,
        label: "Garbage bytes before every reply",
        param: Some(FaultParam {
            unit: "bytes",
            default: 5,
            min: 1,
            max: 64,
        }),
    },
    FaultSpec {
        id: DELAY,
        label: "Reply delay",
        param: Some(FaultParam {
            unit: "ms",
            default: 300,
            min: 1,
            max: 60_000,
        }),
    },
    FaultSpec {
        id: TRUNCATED,
        label: "Truncated replies",
        param: Some(FaultParam {
            unit: "bytes",
            default: 12,
            min: 1,
            max: 23,
        }),
    },
    FaultSpec {
        id: HANG_UP,
        label: "Hang-up: port closed until cleared",
        param: None,
    },
    FaultSpec {
        id: OVERTEMP,
        label: "Converter over-temperature (error 5)",
        param: None,
    },
    FaultSpec {
        id: OVERLOAD,
        label: "Overload: rotor braked, overload warning",
        param: None,
    },
    FaultSpec {
        id: ESCAPES,
        label: "Terminal escape sequences before every reply",
        param: None,
    },
    FaultSpec {
        id: WARNING,
        label: "Warning bit in P227",
        param: Some(FaultParam {
            unit: "bit",
            default: 0,
            min: 0,
            max: 15,
        }),
    },
];
