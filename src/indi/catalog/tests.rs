use labdeck_core::connection::ConnCommand;
use labdeck_core::device::{PropState, Property};
use labdeck_core::hub::Request;
use labdeck_core::sim::FaultSetting;
use labdeck_core::time::Timestamp;
use labdeck_protocol::indi::{Element, Message, Op};

use super::super::requests::plan;
use super::*;

fn lab() -> labdeck_core::hub::LabSnapshot {
    labdeck_core::testing::lab(tokio::time::Instant::now(), 0)
}

fn pump() -> DeviceSnapshot {
    lab().devices[0].clone()
}

fn served_pump() -> Served {
    Served::device(&pump(), None, "test/1-0")
}

#[test]
fn attributes_become_vectors() {
    let served = served_pump();
    let vs = served.vectors();
    let setpoint = served.vector("SETPOINT").unwrap();
    assert_eq!(setpoint.kind, VectorKind::Number);
    assert_eq!(setpoint.head.perm, Some(Perm::Rw));
    let m = &setpoint.members[0];
    assert_eq!(
        (
            m.value.as_str(),
            m.min.as_deref(),
            m.max.as_deref(),
            m.step.as_deref()
        ),
        ("1000", Some("750"), Some("1200"), Some("1"))
    );
    let on = served.vector("ON").unwrap();
    assert_eq!(
        (on.kind, on.head.rule),
        (VectorKind::Switch, Some(Rule::OneOfMany))
    );
    assert_eq!(on.members[0].value, "On");
    let freq = served.vector("FREQUENCY").unwrap();
    assert_eq!(freq.head.perm, Some(Perm::Ro));
    assert!(served.vector(CONNECTION).is_some());
    assert!(
        vs.iter()
            .any(|v| v.head.name == STATUS && v.kind == VectorKind::Light)
    );
    assert!(served.vector(TASKS).is_some());
    // Every vector writes as XML that reads back.
    for v in vs {
        let xml = Message::Vector(Op::Def, v.clone()).to_xml();
        let parsed = Message::from_element(&Element::parse(xml.as_bytes()).unwrap()).unwrap();
        assert_eq!(parsed, Message::Vector(Op::Def, v.clone()));
    }
}

#[test]
fn vector_names_are_unique_within_a_device() {
    let mut d = pump();
    let text = |name: &str| Property::new(PropertyDef::new(name, name, "Status"));
    d.properties.push(text("status"));
    d.properties.push(text("device-status"));
    d.properties.push(text("device_status"));
    let mut mirrored = PropertyDef::new("sky:Weather.WEATHER_STATUS.RAIN", "Rain", "Status");
    mirrored.mirror = true;
    d.properties.push(Property::new(mirrored));
    let served = Served::device(&d, None, "test/1-0");
    let names: Vec<&str> = served.vectors().iter().map(|v| &*v.head.name).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    for want in ["STATUS", STATUS, "DEVICE_STATUS_2", "DEVICE_STATUS_3"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("WEATHER")));
}

#[test]
fn a_value_changes_only_its_vector() {
    let mut served = served_pump();
    let before: Vec<Vector> = served.vectors().to_vec();
    let update = ValueUpdate {
        name: "frequency".into(),
        t: Timestamp::now(),
        value: Some(Value::Number(999.0)),
        state: PropState::Alert,
    };
    let v = served.value(&update).unwrap().clone();
    assert_eq!(v.head.name, "FREQUENCY");
    assert_eq!(v.members[0].value, "999");
    assert_eq!(v.head.state, Some(IndiState::Alert));
    let differ: Vec<&str> = served
        .vectors()
        .iter()
        .zip(&before)
        .filter(|(a, b)| a.members != b.members || a.head.state != b.head.state)
        .map(|(a, _)| &*a.head.name)
        .collect();
    assert_eq!(differ, ["FREQUENCY"]);
    let off = ValueUpdate {
        name: "on".into(),
        value: Some(Value::Bool(false)),
        ..update
    };
    let on = served.value(&off).unwrap();
    assert_eq!(
        on.members.iter().map(|m| &*m.value).collect::<Vec<_>>(),
        ["Off", "On"]
    );
}

#[test]
fn new_vectors_become_typed_requests() {
    let served = served_pump();
    let new = |n: &str, kind, members: Vec<Member>| Vector {
        kind,
        head: VectorHead {
            device: "pump1".into(),
            name: n.into(),
            ..VectorHead::default()
        },
        members,
    };
    let one = |name: &str, value: &str| vec![Member::new(name, value)];
    assert_eq!(
        plan(
            &served,
            "pump1",
            &new("SETPOINT", VectorKind::Number, one("SETPOINT", "800"))
        ),
        Ok(vec![Request::Set {
            device: "pump1".into(),
            attr: "setpoint".into(),
            value: Value::Number(800.0),
            force: false
        }])
    );
    assert!(matches!(
        plan(
            &served,
            "pump1",
            &new("ON", VectorKind::Switch, one("OFF", "On"))
        )
        .as_deref(),
        Ok([Request::Set {
            value: Value::Bool(false),
            ..
        }])
    ));
    assert!(matches!(
        plan(
            &served,
            "pump1",
            &new("CONNECTION", VectorKind::Switch, one("DISCONNECT", "On"))
        )
        .as_deref(),
        Ok([Request::Connection {
            command: ConnCommand::Disconnect,
            ..
        }])
    ));
    let refused = |vector: &str, kind, members| plan(&served, "pump1", &new(vector, kind, members));
    assert_eq!(
        refused("FREQUENCY", VectorKind::Number, one("FREQUENCY", "5")).unwrap_err(),
        "FREQUENCY is read-only"
    );
    assert_eq!(
        refused("SETPOINT", VectorKind::Text, one("SETPOINT", "5")).unwrap_err(),
        "SETPOINT is a Number vector, not Text"
    );
    assert_eq!(
        refused("SETPOINT", VectorKind::Number, one("SETPOINT", "fast")).unwrap_err(),
        "\"fast\" is not a number"
    );
}

#[test]
fn a_simulator_serves_its_faults() {
    let sim = &lab().simulators[0];
    let served = Served::simulator(sim, "test/1-0");
    let faults = served.vector(FAULTS).unwrap();
    assert_eq!(faults.head.rule, Some(Rule::AnyOfMany));
    assert!(
        faults
            .members
            .iter()
            .any(|m| m.name == "no-reply" && m.value == "Off")
    );
    // The fixture has the delay fault on at 250 ms.
    assert!(
        faults
            .members
            .iter()
            .any(|m| m.name == "delay" && m.value == "On")
    );
    let values = served.vector(FAULT_VALUES).unwrap();
    let delay = values.members.iter().find(|m| m.name == "delay").unwrap();
    assert_eq!(delay.value, "250");
    assert!(!values.members.iter().any(|m| m.name == "no-reply"));
    // Only the switch that changed is a request.
    let mut switched = faults.clone();
    for m in &mut switched.members {
        if m.name == "no-reply" {
            m.value = "On".into();
        }
    }
    assert_eq!(
        plan(&served, "pump-sim", &switched),
        Ok(vec![Request::Fault {
            simulator: Some("pump-sim".into()),
            fault: "no-reply".into(),
            setting: FaultSetting::On
        }])
    );
    let mut valued = values.clone();
    valued.members.retain(|m| m.name == "delay");
    valued.members[0].value = "400".into();
    assert_eq!(
        plan(&served, "pump-sim", &valued),
        Ok(vec![Request::Fault {
            simulator: Some("pump-sim".into()),
            fault: "delay".into(),
            setting: FaultSetting::Value(400)
        }])
    );
}

#[test]
fn a_refresh_reports_what_changed() {
    let d = pump();
    let mut served = Served::default();
    let (changed, gone) = served.refresh(Served::device(&d, None, "test/1-0"));
    assert!(changed.iter().all(|c| matches!(c, Changed::Defined(_))) && gone.is_empty());
    let mut d2 = d.clone();
    for p in &mut d2.properties {
        if p.name() == "frequency" {
            p.value = Some(Value::Number(999.0));
        }
    }
    let (changed, _) = served.refresh(Served::device(&d2, None, "test/1-0"));
    let names: Vec<String> = changed
        .iter()
        .map(|c| match c {
            Changed::Values(v) | Changed::Defined(v) => v.head.name.clone(),
        })
        .collect();
    assert_eq!(names, ["FREQUENCY"]);
}

#[test]
fn link_and_answer_states_follow_libindi_conventions() {
    let lab = lab();
    let mut link = lab.connections[0].clone();
    let state = |d: &DeviceSnapshot, link: &ConnectionSnapshot, vector: &str| {
        Served::device(d, Some(link), "test/1-0")
            .vector(vector)
            .and_then(|v| v.head.state)
    };
    let mut pump = pump();
    assert_eq!(state(&pump, &link, STATUS), Some(IndiState::Ok));
    // An open link to a device that does not answer is Alert, not Ok.
    pump.liveness = labdeck_core::device::Liveness::NotResponding;
    assert_eq!(state(&pump, &link, STATUS), Some(IndiState::Alert));
    // A disconnect the operator asked for is Idle.
    link.state = StateKind::Disconnected;
    link.alarm = None;
    pump.liveness = labdeck_core::device::Liveness::LinkDown;
    assert_eq!(state(&pump, &link, CONNECTION), Some(IndiState::Idle));
    assert_eq!(state(&pump, &link, STATUS), Some(IndiState::Idle));
    // Given up on, its alarm still active: Alert.
    link.alarm = lab.connections[1].alarm.clone();
    assert_eq!(state(&pump, &link, CONNECTION), Some(IndiState::Alert));
}
