//! Fixed snapshots of a small lab for tests and benchmarks of the crates
//! built on the core (console snapshots, the render benchmark) and for the
//! core's own tests: a pump on a virtual port, a TCP link in recovery, any
//! number of extra pumps, their traffic and tasks. Built for tests and
//! with the `testing` feature; not part of the product.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use tokio::time::Instant;

use crate::connection::{ConnectionSnapshot, Counters, StateKind, TransitionRecord};
use crate::device::{
    AttrKind, Column, DeviceKind, DeviceSnapshot, PropState, Property, PropertyDef, TaskSnapshot,
    TaskSpec, TaskState, Value,
};
use crate::hub::LabSnapshot;
use crate::link::{Chunk, Direction, Framing, TapCounters, TransportKind};
use crate::protocol::turbovac::{AccessCode, ControlWord, Telegram};
use crate::sim::turbovac::{Profile, PumpState};
use crate::sim::{FaultBoard, SimDetail, SimKind, SimSnapshot};
use crate::time::Timestamp;

/// 2026-09-22 12:53:20 UTC plus `secs`.
pub fn at(base: Instant, secs: f64) -> Timestamp {
    let offset = Duration::from_secs_f64(secs);
    Timestamp {
        wall: UNIX_EPOCH + Duration::from_secs(1_790_081_600) + offset,
        mono: base + offset,
    }
}

fn record(
    base: Instant,
    secs: f64,
    from: StateKind,
    to: StateKind,
    input: &'static str,
    reason: &str,
) -> TransitionRecord {
    TransitionRecord {
        t: at(base, secs),
        from,
        to,
        input: Cow::Borrowed(input),
        reason: reason.into(),
    }
}

fn prop(
    def: PropertyDef,
    unit: Option<&str>,
    value: Value,
    state: PropState,
    t: Timestamp,
) -> Property {
    let def = PropertyDef {
        unit: unit.map(Into::into),
        ..def
    };
    Property {
        value: Some(value),
        state,
        updated: Some(t),
        ..Property::new(def)
    }
}

/// The pump's properties at `frequency`.
pub fn pump_properties(frequency: i64, t: Timestamp) -> Vec<Property> {
    use PropState::{Busy, Ok};
    let def = PropertyDef::new;
    let text = |s: &str| Value::Text(s.into());
    vec![
        prop(
            def("on", "Pump on", "Rotor")
                .kind(AttrKind::Bool)
                .writable(),
            None,
            Value::Bool(true),
            Ok,
            t,
        ),
        prop(
            def("frequency", "Rotor frequency", "Rotor").kind(AttrKind::Int),
            Some("Hz"),
            Value::from(frequency),
            Ok,
            t,
        ),
        prop(
            def("setpoint", "Setpoint (P24)", "Rotor")
                .kind(AttrKind::Int)
                .limits(750.0, 1200.0)
                .writable(),
            Some("Hz"),
            Value::from(1000),
            Ok,
            t,
        ),
        prop(
            def("ramp-rate", "Ramp rate (tasks)", "Rotor")
                .kind(AttrKind::Float)
                .decimals(1)
                .limits(0.1, 1000.0)
                .writable(),
            Some("Hz/s"),
            Value::Number(50.0),
            Ok,
            t,
        ),
        prop(
            def("motion", "Motion", "Rotor"),
            None,
            text("accelerating"),
            Ok,
            t,
        ),
        prop(
            def("temperature", "Converter temperature", "Drive").kind(AttrKind::Int),
            Some("°C"),
            Value::from(31),
            Busy,
            t,
        ),
        prop(
            def("current", "Motor current", "Drive")
                .kind(AttrKind::Float)
                .decimals(1),
            Some("A"),
            Value::Number(1.2),
            Ok,
            t,
        ),
        prop(
            def("voltage", "Circuit voltage", "Drive").kind(AttrKind::Int),
            Some("V"),
            Value::from(24),
            Ok,
            t,
        ),
        prop(
            def("status", "Status word", "Status"),
            None,
            text("PROCESS|TURNING|PARAM|ACCEL|OPERATION"),
            Ok,
            t,
        ),
        prop(
            def("error", "Error (P171)", "Status"),
            None,
            text("none"),
            Ok,
            t,
        ),
        prop(
            def("warnings", "Warnings (P227)", "Status"),
            None,
            text("none"),
            Ok,
            t,
        ),
    ]
}

/// The lab: a pump on `pump-port` behind `pump-sim`, a TCP link `scpi`
/// in recovery with no device, and `extra` more pumps on serial ports.
pub fn lab(base: Instant, extra: usize) -> LabSnapshot {
    let pump_port = ConnectionSnapshot {
        name: "pump-port".into(),
        transport: TransportKind::Virtual,
        endpoint: "/dev/pts/7".into(),
        simulator: Some("pump-sim".into()),
        state: StateKind::Connected,
        attempt: 0,
        retry_at: None,
        since: at(base, 2.0),
        last_error: None,
        alarm: None,
        counters: Counters {
            attempts: 2,
            successes: 2,
            failures: 0,
            losses: 1,
            alarms: 1,
        },
        transitions: vec![
            record(
                base,
                0.0,
                StateKind::Ready,
                StateKind::Connecting,
                "connect",
                "connect requested",
            ),
            record(
                base,
                0.1,
                StateKind::Connecting,
                StateKind::Connected,
                "opened",
                "opened /dev/pts/7",
            ),
            record(
                base,
                1.0,
                StateKind::Connected,
                StateKind::Recovering,
                "link-lost",
                "link lost: no reply within 1.0 s; retry in 0.4 s",
            ),
            record(
                base,
                1.5,
                StateKind::Recovering,
                StateKind::Connecting,
                "retry-due",
                "retry due (attempt 2)",
            ),
            record(
                base,
                2.0,
                StateKind::Connecting,
                StateKind::Connected,
                "opened",
                "opened /dev/pts/7",
            ),
        ],
    };
    let scpi = ConnectionSnapshot {
        name: "scpi".into(),
        transport: TransportKind::Tcp,
        endpoint: "127.0.0.1:5025".into(),
        simulator: None,
        state: StateKind::Recovering,
        attempt: 3,
        retry_at: Some(at(base, 7.5)),
        since: at(base, 3.0),
        last_error: Some("open failed: 127.0.0.1:5025: connection refused".into()),
        alarm: Some(crate::alarm::Alarm {
            t: at(base, 3.0),
            ..crate::alarm::Alarm::new(
                &Arc::from("scpi"),
                crate::alarm::AlarmKind::Link,
                true,
                "end of file (peer closed the link)",
            )
        }),
        counters: Counters {
            attempts: 3,
            successes: 1,
            failures: 2,
            losses: 1,
            alarms: 0,
        },
        transitions: vec![record(
            base,
            3.0,
            StateKind::Connected,
            StateKind::Recovering,
            "link-lost",
            "link lost: end of file",
        )],
    };
    let mut connections = vec![pump_port, scpi];
    let t = at(base, 4.9);
    let mut devices = vec![DeviceSnapshot {
        name: "pump1".into(),
        kind: DeviceKind::Turbovac,
        link: "pump-port".into(),
        capabilities: Arc::new(crate::device::turbovac::capabilities()),
        liveness: crate::device::Liveness::Responding,
        summary: "accelerating 420 Hz".into(),
        properties: pump_properties(420, t),
        alarms: vec![],
        tasks: tasks(base),
        queue: crate::device::QueueMode::Active,
    }];
    for n in 0..extra {
        let link: Arc<str> = format!("port-{n:02}").into();
        let mut c = connections[0].clone();
        c.name = link.clone();
        c.endpoint = format!("/dev/ttyUSB{n}");
        c.transport = TransportKind::Serial;
        c.simulator = None;
        connections.push(c);
        devices.push(DeviceSnapshot {
            name: format!("pump-{n:02}").into(),
            link,
            ..devices[0].clone()
        });
    }
    let faults = {
        let mut board = FaultBoard::new("pump-sim".into(), crate::sim::turbovac::faults::CATALOGUE);
        let _ = board.set("delay", crate::sim::FaultSetting::Value(250));
        board.list()
    };
    let simulators = vec![SimSnapshot {
        name: "pump-sim".into(),
        kind: SimKind::Turbovac,
        framing: Framing::UssTelegrams,
        endpoint: Some("/dev/pts/7".into()),
        faults,
        detail: SimDetail::Turbovac(PumpState {
            profile: Profile::Realistic,
            on: true,
            frequency: 420.0,
            goal: 1000.0,
            temperature: 31.0,
            current: 1.2,
            voltage: 24.0,
            status: 0x8a14,
            error: None,
            warnings: 0,
            outputs: 0,
            telegrams: 1234,
        }),
    }];
    let taps = connections
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                TapCounters {
                    rx_bytes: 24_000,
                    tx_bytes: 24_000,
                    chunks: 2000,
                    evicted: 0,
                },
            )
        })
        .collect();
    LabSnapshot {
        connections,
        devices,
        simulators,
        taps,
        actors: Vec::new(),
        recording: None,
        macros: Vec::new(),
        framing: Vec::new(),
        jobs: Vec::new(),
    }
}

/// A ramping pump's polls, a parameter error and SCPI lines.
pub fn traffic(base: Instant, polls: usize) -> Vec<Chunk> {
    let chunk = |secs: f64, link: &str, dir, bytes: Vec<u8>| Chunk {
        link: link.into(),
        epoch: 1,
        dir,
        t: at(base, secs),
        bytes: Bytes::from(bytes),
    };
    let mut chunks = Vec::new();
    for i in 0..polls {
        let secs = 3.0 + i as f64 * 0.1;
        let query = Telegram::query(ControlWord::RUN.0, AccessCode::None, 0, 0, 0);
        let mut reply = Telegram::query(0x8a14, AccessCode::None, 0, 0, 0);
        reply.pzd = [0x8a14, 300 + i as u16 * 5, 31, 12, 0, 24];
        chunks.push(chunk(
            secs,
            "pump-port",
            Direction::Tx,
            query.encode().to_vec(),
        ));
        chunks.push(chunk(
            secs + 0.0002,
            "pump-port",
            Direction::Rx,
            reply.encode().to_vec(),
        ));
    }
    let write = Telegram::query(ControlWord::RUN.0, AccessCode::Write16, 24, 0, 2500);
    let mut refused = Telegram::query(0x8a14, AccessCode::None, 24, 0, 2);
    refused.ak = 7;
    chunks.push(chunk(
        4.5,
        "pump-port",
        Direction::Tx,
        write.encode().to_vec(),
    ));
    chunks.push(chunk(
        4.5002,
        "pump-port",
        Direction::Rx,
        refused.encode().to_vec(),
    ));
    chunks.push(chunk(4.6, "scpi", Direction::Tx, b"*IDN?\n".to_vec()));
    chunks.push(chunk(
        4.61,
        "scpi",
        Direction::Rx,
        b"KEITHLEY INSTRUMENTS INC.,MODEL 6517B,4096797,A13\n".to_vec(),
    ));
    chunks
}

/// A finished, a running and a queued task of `pump1`.
pub fn tasks(base: Instant) -> Vec<TaskSnapshot> {
    let spec = |name: &str, technique: &str, interval: f64, duration: f64| TaskSpec {
        name: name.into(),
        device: "pump1".into(),
        technique: technique.into(),
        params: [("setpoint".to_string(), Value::from("800"))].into(),
        sampling_interval: std::time::Duration::from_secs_f64(interval),
        max_duration: std::time::Duration::from_secs_f64(duration),
        link_timeout: crate::device::DEFAULT_LINK_TIMEOUT,
        job: None,
    };
    let columns = vec![
        Column::new("setpoint", Some("Hz")),
        Column::new("frequency", Some("Hz")),
    ];
    let done = TaskSnapshot {
        id: 1,
        spec: spec("warm-up", "monitor", 1.0, 10.0),
        state: TaskState::Completed,
        reason: None,
        submitted: at(base, 0.0),
        started: Some(at(base, 0.0)),
        ended: Some(at(base, 0.0)),
        paused_since: None,
        paused_s: 0.0,
        samples: 10,
        expected: 10,
        columns: columns.clone(),
        file: Some("/data/20261121T071200-pump1-warm-up.csv".into()),
        recent: Vec::new(),
    };
    let recent = (1..=20)
        .map(|i| {
            let t = f64::from(i) * 0.5;
            (t, vec![Some(750.0 + 5.0 * t), Some(700.0 + 9.0 * t)])
        })
        .collect();
    let running = TaskSnapshot {
        id: 2,
        spec: spec("spin-up", "ramp", 0.5, 30.0),
        state: TaskState::Running,
        started: Some(at(base, 0.0)),
        ended: None,
        samples: 20,
        expected: 60,
        file: Some("/data/20261121T071210-pump1-spin-up.csv".into()),
        recent,
        ..done.clone()
    };
    let queued = TaskSnapshot {
        id: 3,
        spec: spec("hold", "monitor", 1.0, 60.0),
        state: TaskState::Queued,
        started: None,
        ended: None,
        samples: 0,
        expected: 60,
        file: None,
        ..done.clone()
    };
    vec![done, running, queued]
}
