//! The electrometer simulator's fault catalogues. The `lsst` dialect has
//! no reading model and no error queue, so it lists only the transport
//! faults.

use crate::sim::{FaultParam, FaultSpec};

pub const DELAY: &str = "delay";
pub const UNSTABLE: &str = "unstable";
pub const NO_REPLY: &str = "no-reply";
pub const GARBAGE: &str = "garbage";
pub const DROP: &str = "drop";
pub const LISTENER_DOWN: &str = "listener-down";
pub const OVERFLOW: &str = "overflow";
pub const STUCK: &str = "stuck";
pub const INJECT_ERROR: &str = "inject-error";

/// Seconds of the `unstable` delay: uniform in 0..UNSTABLE_MAX before each
/// reply, as the LSST mock's `unstable=True`.
pub const UNSTABLE_MAX: f64 = 2.0;

const TRANSPORT: [FaultSpec; 6] = [
    FaultSpec {
        id: DELAY,
        label: "Reply delay",
        param: Some(FaultParam {
            unit: "ms",
            default: 500,
            min: 1,
            max: 60_000,
        }),
    },
    FaultSpec {
        id: UNSTABLE,
        label: "Unstable: random 0–2 s before each reply",
        param: None,
    },
    FaultSpec {
        id: NO_REPLY,
        label: "No reply to queries (commands still run)",
        param: None,
    },
    FaultSpec {
        id: GARBAGE,
        label: "Garbage: invalid UTF-8 and escapes instead of replies",
        param: Some(FaultParam {
            unit: "bytes",
            default: 16,
            min: 1,
            max: 4096,
        }),
    },
    FaultSpec {
        id: DROP,
        label: "Drop the client and every new one",
        param: None,
    },
    FaultSpec {
        id: LISTENER_DOWN,
        label: "Listener down: connections refused",
        param: None,
    },
];

const INSTRUMENT: [FaultSpec; 3] = [
    FaultSpec {
        id: OVERFLOW,
        label: "Overflow readings (+9.9E37, status O)",
        param: None,
    },
    FaultSpec {
        id: STUCK,
        label: "Stuck reading: the value stops changing",
        param: None,
    },
    FaultSpec {
        id: INJECT_ERROR,
        label: "Queue SCPI error -N once",
        param: Some(FaultParam {
            unit: "error",
            default: 222,
            min: 100,
            max: 499,
        }),
    },
];

pub const SCPI_CATALOGUE: &[FaultSpec] = &concat(&TRANSPORT, &INSTRUMENT);
pub const LSST_CATALOGUE: &[FaultSpec] = &TRANSPORT;

const fn concat(a: &[FaultSpec; 6], b: &[FaultSpec; 3]) -> [FaultSpec; 9] {
    [a[0], a[1], a[2], a[3], a[4], a[5], b[0], b[1], b[2]]
}

/// Bytes that are never valid UTF-8 and would wreck a terminal printed raw.
const HOSTILE: &[u8] = b"\xff\xfe\x1b[2J\x1b]0;pwned\x07\x9b\xc3\x28\x80";

/// `count` bytes of garbage, cycling through the hostile set, never a line
/// terminator, so the client reads them as one bad reply.
pub fn garbage(count: usize) -> Vec<u8> {
    HOSTILE.iter().copied().cycle().take(count.max(1)).collect()
}
