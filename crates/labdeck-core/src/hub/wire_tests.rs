//! Everything that crosses the Hub goes over a socket as JSON and comes
//! back the same: requests, outcomes, refusals, events and snapshots.

use std::borrow::Cow;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{HubError, LabSnapshot, Outcome, QueuedTask, Request};
use crate::alarm::{Alarm, AlarmKind, Notice};
use crate::bus::Event;
use crate::connection::{ConnCommand, StateKind, TransitionRecord};
use crate::device::{
    ActionOutcome, DeviceOutcome, FetchSummary, PropState, TaskChange, TaskRef, TaskState, Value,
    ValueUpdate,
};
use crate::sim::FaultSetting;
use crate::testing;

/// JSON, back, and JSON again: the same text. (Timestamps carry
/// microseconds on the wire, so the text is the exact test.)
fn round_trip<T: Serialize + DeserializeOwned + std::fmt::Debug>(value: &T) -> T {
    let json = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    back
}

#[test]
fn snapshots_survive_the_wire() {
    let lab = testing::lab(Instant::now(), 2);
    let back: LabSnapshot = round_trip(&lab);
    assert_eq!(back.devices.len(), 3);
    assert_eq!(back.devices[0].capabilities, lab.devices[0].capabilities);
    assert_eq!(
        back.devices[0].properties[2].def,
        lab.devices[0].properties[2].def
    );
    assert_eq!(back.simulators[0].faults, lab.simulators[0].faults);
    assert_eq!(back.connections[0].transitions.len(), 5);
}

#[test]
fn events_survive_the_wire() {
    let base = Instant::now();
    let lab = testing::lab(base, 0);
    let t = testing::at(base, 1.0);
    let pump: Arc<str> = "pump1".into();
    let events = vec![
        Event::Transition {
            connection: "pump-port".into(),
            record: TransitionRecord {
                t,
                from: StateKind::Connected,
                to: StateKind::Recovering,
                input: Cow::Borrowed("link-lost"),
                reason: "no reply within 1.0 s".into(),
            },
        },
        Event::Definition {
            device: pump.clone(),
            property: lab.devices[0].properties[2].def.clone(),
        },
        Event::Property {
            device: pump.clone(),
            update: ValueUpdate {
                name: "frequency".into(),
                t,
                value: Some(Value::Number(420.0)),
                state: PropState::Ok,
            },
        },
        Event::Removed {
            device: pump.clone(),
            name: "mirror".into(),
        },
        Event::Traffic(testing::traffic(base, 1).remove(0)),
        Event::Alarm(Alarm {
            t,
            source: pump.clone(),
            kind: AlarmKind::Device,
            condition: "error-5".into(),
            severity: crate::alarm::Severity::Alarm,
            active: true,
            reason: "pump error 5".into(),
        }),
        Event::Liveness {
            t,
            device: pump.clone(),
            liveness: crate::device::Liveness::NotResponding,
        },
        Event::Fault {
            t,
            simulator: "pump-sim".into(),
            fault: lab.simulators[0].faults[0].clone(),
        },
        Event::Notice(Notice {
            t,
            source: pump.clone(),
            message: "switched on".into(),
        }),
        Event::Task(TaskChange {
            t,
            device: pump,
            id: 2,
            name: "spin-up".into(),
            state: TaskState::Running,
            reason: None,
            file: Some("/data/x.csv".into()),
        }),
        Event::Actor {
            t,
            actor: "pump1".into(),
            faulted: true,
            reason: "panicked: boom".into(),
        },
    ];
    for event in &events {
        round_trip(event);
    }
    // The field names a script reads.
    let json = serde_json::to_value(&events[2]).unwrap();
    assert_eq!(json["event"], "property");
    assert_eq!(json["device"], "pump1");
    assert_eq!(json["name"], "frequency");
    assert_eq!(json["value"], 420);
    let chunk = serde_json::to_value(&events[4]).unwrap();
    assert_eq!(chunk["event"], "traffic");
    assert!(
        chunk["bytes"]
            .as_str()
            .is_some_and(|b| b.starts_with("02 16"))
    );
}

#[test]
fn requests_outcomes_and_refusals_survive_the_wire() {
    let lab = testing::lab(Instant::now(), 0);
    let requests = [
        Request::Status,
        Request::Fault {
            simulator: Some("pump-sim".into()),
            fault: "delay".into(),
            setting: FaultSetting::Value(300),
        },
        Request::Connection {
            target: "pump1".into(),
            command: ConnCommand::RetryNow,
        },
        Request::Set {
            device: "pump1".into(),
            attr: "setpoint".into(),
            value: Value::Number(800.0),
            force: false,
        },
        Request::Cancel {
            device: "pump1".into(),
            task: Some(TaskRef::Id(3)),
        },
    ];
    for request in &requests {
        assert_eq!(&round_trip(request), request);
    }
    let outcomes = [
        Outcome::Connection {
            link: "pump-port".into(),
            state: StateKind::Connected,
        },
        Outcome::MethodQueued {
            path: "m.toml".into(),
            tasks: vec![QueuedTask {
                device: "pump1".into(),
                id: 1,
            }],
            jobs: Vec::new(),
        },
        Outcome::Device {
            device: "em1".into(),
            outcome: DeviceOutcome::Action(ActionOutcome::Fetched {
                summary: FetchSummary {
                    count: 50,
                    mean: 1e-9,
                    std_dev: 1e-12,
                    min: 0.9e-9,
                    max: 1.1e-9,
                    unit: "A".into(),
                    bytes: 700,
                    millis: 2.5,
                },
                file: None,
            }),
        },
        Outcome::Tasks {
            tasks: lab.devices[0].tasks.clone(),
        },
    ];
    for outcome in &outcomes {
        round_trip(outcome);
    }
    let refusals = [
        HubError::UnknownDevice {
            name: "x".into(),
            known: vec!["pump1".into()],
        },
        HubError::Busy {
            device: "pump1".into(),
            attr: "setpoint".into(),
            controlled_by_task: "spin-up".into(),
        },
        HubError::TaskParameter {
            device: "pump1".into(),
            param: "rate".into(),
            refusal: Box::new(HubError::ReadOnly {
                device: "pump1".into(),
                attr: "rate".into(),
            }),
        },
    ];
    for refusal in &refusals {
        assert_eq!(&round_trip(refusal), refusal);
    }
}
