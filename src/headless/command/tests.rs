use std::time::Duration;

use std::path::PathBuf;

use labdeck_core::connection::{ConnCommand, StateKind};
use labdeck_core::device::{
    AttrKind, DeviceOutcome, PropState, Property, PropertyDef, TaskRef, Value,
};
use labdeck_core::sim::FaultSetting;

use super::*;

fn request(line: &str) -> Request {
    match parse(line) {
        Ok(Some(Line::Request(request))) => request,
        other => panic!("{line:?}: {other:?}"),
    }
}

#[test]
fn lines_become_typed_requests() {
    assert_eq!(
        request("fault pump-sim no-reply on"),
        Request::Fault {
            simulator: Some("pump-sim".into()),
            fault: "no-reply".into(),
            setting: FaultSetting::On
        }
    );
    assert_eq!(
        request("fault delay 1500"),
        Request::Fault {
            simulator: None,
            fault: "delay".into(),
            setting: FaultSetting::Value(1500)
        }
    );
    assert_eq!(
        request("set pump1.setpoint  800"),
        Request::Set {
            device: "pump1".into(),
            attr: "setpoint".into(),
            value: Value::Text("800".into()),
            force: false,
        }
    );
    assert!(matches!(
        request("set --force pump1.setpoint 900"),
        Request::Set { force: true, .. }
    ));
    let Request::Task(spec) =
        request("task pump1 ramp setpoint=800 rate=50 interval=0.5 duration=30")
    else {
        panic!("a task");
    };
    assert_eq!(spec.name, "ramp");
    assert_eq!(spec.params["setpoint"], Value::Text("800".into()));
    assert_eq!(spec.params["rate"], Value::Text("50".into()));
    assert_eq!(spec.sampling_interval, Duration::from_millis(500));
    assert_eq!(spec.max_duration, Duration::from_secs(30));
    assert_eq!(spec.expected_samples(), 60);
    assert_eq!(
        request("cancel pump1 #3"),
        Request::Cancel {
            device: "pump1".into(),
            task: Some(TaskRef::Id(3))
        }
    );
    assert_eq!(
        request("cancel pump1 spin-up"),
        Request::Cancel {
            device: "pump1".into(),
            task: Some(TaskRef::Name("spin-up".into()))
        }
    );
    assert_eq!(
        request("disconnect pump-port"),
        Request::Connection {
            target: "pump-port".into(),
            command: ConnCommand::Disconnect
        }
    );
    assert_eq!(
        request("pump pump1 on"),
        Request::Power {
            device: "pump1".into(),
            on: true,
            force: false
        }
    );
    assert_eq!(
        request("pump --force pump1 off"),
        Request::Power {
            device: "pump1".into(),
            on: false,
            force: true
        }
    );
    let action = |device: &str, action: &str, args: &[&str]| Request::Action {
        device: device.into(),
        action: action.into(),
        args: args.iter().map(ToString::to_string).collect(),
    };
    assert_eq!(
        request("read pump1 171 2"),
        action("pump1", "read", &["171", "2"])
    );
    assert_eq!(
        request("scpi em1 :SENS:FUNC  'VOLT';*IDN?"),
        action("em1", "scpi", &[":SENS:FUNC  'VOLT';*IDN?"])
    );
    assert_eq!(
        request("scan em1 500 0.01"),
        action("em1", "scan", &["500", "0.01"])
    );
    assert_eq!(request("do em1 clear"), action("em1", "clear", &[]));
    assert_eq!(request("pump pump1 reset"), action("pump1", "reset", &[]));
    assert_eq!(
        request("load  my method.toml"),
        Request::Load {
            path: PathBuf::from("my method.toml")
        }
    );
    assert_eq!(parse("  # comment").unwrap(), None);
    assert_eq!(parse("help").unwrap(), Some(Line::Help));
}

#[test]
fn errors_say_how_to_use_it() {
    let error = |line: &str| parse(line).unwrap_err().to_string();
    assert_eq!(
        error("pump p1 sideways"),
        "usage: pump [--force] DEVICE on|off|reset"
    );
    assert_eq!(error("get pump1"), "usage: get DEVICE.ATTR");
    assert_eq!(
        error("frobnicate"),
        "unknown command \"frobnicate\" (try 'help')"
    );
    assert_eq!(
        error("task pump1 ramp setpoint=800"),
        "a task needs duration=SECONDS (how long it runs)"
    );
    assert!(error("task em1 measure interval=fast duration=3").contains("expected a duration"));
    assert_eq!(parse_duration("1.5min"), Some(Duration::from_secs(90)));
    assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
    assert_eq!(parse_duration("-1"), None);
    assert!(error("fault x y maybe").contains("expected on, off"));
}

fn setpoint() -> PropertyDef {
    PropertyDef::new("setpoint", "Setpoint (P24)", "Rotor")
        .unit("Hz")
        .kind(AttrKind::Int)
        .limits(750.0, 1200.0)
        .writable()
}

/// Each refusal an operator can meet is its own variant, found by the
/// code that refuses (not built by hand), and reads as it always did.
#[test]
fn each_refusal_is_a_variant_with_its_sentence() {
    let function = PropertyDef::new("function", "Function", "Measure")
        .kind(AttrKind::Enum(vec!["CURR".into(), "VOLT".into()]))
        .writable();
    let frequency = PropertyDef::new("frequency", "Rotor frequency", "Rotor").unit("Hz");
    let text = |t: &str| Value::Text(t.into());
    let refusals = [
        setpoint().accept("pump1", &text("2500")).unwrap_err(),
        setpoint().accept("pump1", &text("500 Hz")).unwrap_err(),
        setpoint().accept("pump1", &text("fast")).unwrap_err(),
        setpoint().accept("pump1", &text(" ")).unwrap_err(),
        frequency.accept("pump1", &text("1")).unwrap_err(),
        function.accept("em1", &text("amps")).unwrap_err(),
    ];
    assert!(matches!(
        refusals[0],
        HubError::OutOfRange {
            value: 2500.0,
            max: Some(1200.0),
            ..
        }
    ));
    assert!(matches!(
        refusals[1],
        HubError::OutOfRange {
            min: Some(750.0),
            ..
        }
    ));
    assert!(matches!(refusals[2], HubError::WrongType { .. }));
    assert!(matches!(refusals[3], HubError::NoValue { .. }));
    assert!(matches!(refusals[4], HubError::ReadOnly { .. }));
    assert!(matches!(refusals[5], HubError::NotOption { .. }));
    let known = |names: &[&str]| names.iter().map(ToString::to_string).collect::<Vec<_>>();
    let others = [
        HubError::UnknownDevice {
            name: "nosuch".into(),
            known: known(&["pump1", "em1"]),
        },
        HubError::UnknownAttr {
            device: "pump1".into(),
            attr: "x".into(),
            known: known(&["on", "setpoint"]),
        },
        HubError::Busy {
            device: "pump1".into(),
            attr: "setpoint".into(),
            controlled_by_task: "spin-up".into(),
        },
        HubError::LinkDown {
            device: "pump1".into(),
            link: "pump-port".into(),
        },
        HubError::UnknownSimulator {
            name: "nosuch".into(),
            known: known(&["sim"]),
        },
        HubError::UnknownConnection {
            name: "nosuch".into(),
            known: known(&["port"]),
        },
        HubError::NotSwitchable {
            device: "em1".into(),
        },
        HubError::TornDown {
            link: "port".into(),
        },
        HubError::DeviceError {
            device: "em1".into(),
            message: "instrument refused \":SENS:CURR:NPLC 99\": -222 Data out of range".into(),
        },
        HubError::TaskParameter {
            device: "pump1".into(),
            param: "setpoint".into(),
            refusal: Box::new(refusals[0].clone()),
        },
    ];
    let rendered: Vec<String> = refusals
        .iter()
        .chain(&others)
        .map(|e| Reply::from_result(Err(e.clone())).to_string())
        .collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

#[test]
fn outcomes_in_words() {
    let property = Property::new(setpoint()).with(Value::Number(800.0), PropState::Ok);
    let device = |outcome| Outcome::Device {
        device: "pump1".into(),
        outcome,
    };
    let lines = [
        device(DeviceOutcome::Set {
            property: property.clone(),
        }),
        device(DeviceOutcome::Power { on: true }),
        device(DeviceOutcome::TaskQueued {
            id: 3,
            name: "spin-up".into(),
            position: 1,
            waits_for_link: true,
        }),
        Outcome::Connection {
            link: "pump-port".into(),
            state: StateKind::Disconnected,
        },
        Outcome::Property {
            device: "pump1".into(),
            property,
        },
    ]
    .map(|o| Reply::from_result(Ok(o)).to_string());
    insta::assert_snapshot!(lines.join("\n"));
}

/// What crosses the Hub survives JSON both ways.
#[test]
fn requests_outcomes_and_refusals_round_trip_through_json() {
    fn round<T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug>(
        value: &T,
    ) {
        let json = serde_json::to_string(value).unwrap();
        let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(&back, value, "{json}");
    }
    for line in [
        "status",
        "fault pump-sim delay 300",
        "set --force pump1.setpoint 900",
        "pump pump1 off",
        "task pump1 ramp setpoint=800 interval=0.5 duration=30",
        "cancel pump1 #2",
        "retry pump-port",
        "load m.toml",
    ] {
        round(&request(line));
    }
    round(&HubError::OutOfRange {
        device: "pump1".into(),
        attr: "setpoint".into(),
        value: 2500.0,
        min: Some(750.0),
        max: Some(1200.0),
        unit: Some("Hz".into()),
    });
    round(&Outcome::Device {
        device: "pump1".into(),
        outcome: DeviceOutcome::Set {
            property: Property::new(setpoint()).with(Value::Number(800.0), PropState::Ok),
        },
    });
}
