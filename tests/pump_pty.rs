//! The pump driver and simulator over a real pty, through the runtime: each
//! fault drives the expected transitions and clearing it recovers.

mod common;

use common::*;
use labdeck_core::connection::StateKind;
use labdeck_core::device::{ActionOutcome, DeviceOutcome, PropState, Value};
use labdeck_core::hub::{HubError, Outcome};
use labdeck_core::link::Direction;
use labdeck_protocol::turbovac::ParamValue;

/// The parameter a `read`/`write` answered with.
fn parameter(result: labdeck_core::hub::HubResult) -> (u16, u8, ParamValue) {
    match result {
        Ok(Outcome::Device {
            outcome: DeviceOutcome::Action(ActionOutcome::Parameter { pnu, index, value }),
            ..
        }) => (pnu, index, value),
        other => panic!("not a parameter: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_reaches_connected_and_the_pump_ramps_when_switched_on() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_state(hub, "port", StateKind::Connected).await;
    wait_responding(hub, "pump", "pump online").await;
    let endpoint = hub.connection("port").unwrap().snapshot().endpoint;
    assert!(endpoint.starts_with("/dev/pts/"), "{endpoint}");

    let reply = run(hub, "pump pump on").await;
    assert!(reply.ok, "{reply}");
    wait_device(hub, "pump", "frequency above 200 Hz", |d| {
        prop_f64(d, "frequency").is_some_and(|f| f > 200.0)
    })
    .await;
    let snapshot = hub.device("pump").unwrap().snapshot();
    assert_eq!(prop(&snapshot, "on").as_deref(), Some("on"));
    assert_eq!(prop(&snapshot, "keep-alive").as_deref(), Some("on"));

    // Every telegram went out in one write, and the traffic tap saw both
    // directions.
    let history = hub.tap("port").expect("tap").history();
    let tx: Vec<_> = history.iter().filter(|c| c.dir == Direction::Tx).collect();
    assert!(tx.len() > 5);
    assert!(
        tx.iter().all(|c| c.bytes.len() == 24),
        "a TX chunk that is not one telegram"
    );
    assert!(history.iter().any(|c| c.dir == Direction::Rx));
    assert!(run(hub, "pump pump off").await.ok);
    wait_device(hub, "pump", "decelerating", |d| {
        prop(d, "motion").as_deref() == Some("decelerating")
    })
    .await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parameters_read_and_write_by_number_and_index() {
    let runtime = start(&pump_config("realistic", "")).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    assert_eq!(
        parameter(request(hub, "read pump 24").await),
        (24, 0, ParamValue::Int(1000))
    );
    assert_eq!(run(hub, "read pump 24").await.text, "P24[0] = 1000");
    assert!(run(hub, "write pump 24 900").await.ok);
    assert_eq!(
        parameter(request(hub, "read pump 31 1").await),
        (31, 1, ParamValue::Int(1000))
    );
    // The pump's own refusal, in its words.
    let refused = request(hub, "read pump 31 0").await;
    assert!(
        matches!(&refused, Err(HubError::DeviceError { message, .. }) if message.contains("Index error")),
        "{refused:?}"
    );
    assert!(matches!(
        request(hub, "read pump 9").await,
        Err(HubError::BadArgument { .. })
    ));
    assert!(run(hub, "set pump.setpoint 1100").await.ok);
    let refused = request(hub, "set pump.setpoint 2500").await;
    assert!(
        matches!(
            refused,
            Err(HubError::OutOfRange {
                value: 2500.0,
                max: Some(1200.0),
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        run(hub, "set pump.setpoint 2500").await.text,
        "pump: value 2500 Hz is above maximum 1200 Hz"
    );
    assert!(matches!(
        request(hub, "set pump.frequency 5").await,
        Err(HubError::ReadOnly { .. })
    ));
    assert!(matches!(
        request(hub, "set pump.nope 5").await,
        Err(HubError::UnknownAttr { .. })
    ));
    let Ok(Outcome::Property { property, .. }) = request(hub, "get pump.setpoint").await else {
        panic!("a property");
    };
    assert_eq!(property.value, Some(Value::Number(1100.0)));
    runtime.shutdown().await.unwrap();
}

/// Switch a fault on, wait for the link to go to `recovering` with an
/// alarm, switch it off, wait for `connected` and a responsive pump.
async fn link_fault_recovers(fault: &str, reason: &str) {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    assert!(run(hub, &format!("fault sim {fault} on")).await.ok);
    wait_state(hub, "port", StateKind::Recovering).await;
    let snapshot = hub.connection("port").unwrap().snapshot();
    let alarm = snapshot.alarm.clone().map(|a| a.reason).unwrap_or_default();
    assert!(
        alarm.contains(reason),
        "alarm {alarm:?} should mention {reason:?}"
    );
    assert!(
        snapshot
            .transitions
            .iter()
            .any(|t| t.from == StateKind::Connected && t.to == StateKind::Recovering),
        "transition recorded"
    );
    assert!(run(hub, &format!("fault sim {fault} off")).await.ok);
    wait_state(hub, "port", StateKind::Connected).await;
    wait_responding(hub, "pump", "pump online again").await;
    // And the alarm clears once the link stayed up.
    let conn = hub.connection("port").unwrap().clone();
    wait_until("alarm cleared", || conn.snapshot().alarm.is_none()).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reply_raises_an_alarm_and_recovers() {
    link_fault_recovers("no-reply", "no reply within 0.3 s").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_bcc_raises_an_alarm_and_recovers() {
    link_fault_recovers("bad-bcc", "BCC mismatch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_replies_raise_an_alarm_and_recover() {
    link_fault_recovers("truncated", "truncated reply (12 of 24 bytes)").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delay_beyond_the_timeout_recovers() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    assert!(run(hub, "fault sim delay 500").await.ok);
    wait_state(hub, "port", StateKind::Recovering).await;
    assert!(run(hub, "fault sim delay off").await.ok);
    wait_state(hub, "port", StateKind::Connected).await;
    wait_responding(hub, "pump", "pump online again").await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_delay_and_garbage_are_tolerated() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    assert!(run(hub, "fault sim delay 100").await.ok);
    wait_device(hub, "pump", "round trip above 100 ms", |d| {
        prop_f64(d, "round-trip").is_some_and(|ms| ms >= 100.0)
    })
    .await;
    assert!(run(hub, "fault sim delay off").await.ok);
    assert!(run(hub, "fault sim garbage 7").await.ok);
    wait_device(hub, "pump", "garbage discarded", |d| {
        prop_f64(d, "discarded").is_some_and(|n| n >= 21.0)
    })
    .await;
    let conn = hub.connection("port").unwrap().snapshot();
    assert_eq!(conn.state, StateKind::Connected);
    assert_eq!(conn.counters.alarms, 0, "{:?}", conn.transitions);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hang_up_closes_the_port_and_it_comes_back() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    assert!(run(hub, "fault sim hang-up on").await.ok);
    wait_state(hub, "port", StateKind::Recovering).await;
    let sim = hub.simulator("sim").unwrap().clone();
    assert_eq!(sim.snapshot().endpoint, None);
    let conn = hub.connection("port").unwrap().clone();
    wait_until("a failed reopen while hung up", || {
        conn.snapshot()
            .last_error
            .is_some_and(|e| e.contains("not found"))
    })
    .await;
    assert!(run(hub, "fault sim hang-up off").await.ok);
    assert!(sim.snapshot().endpoint.is_some());
    wait_state(hub, "port", StateKind::Connected).await;
    wait_responding(hub, "pump", "pump online again").await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_temperature_is_a_device_alarm_that_reset_clears() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    assert!(run(hub, "pump pump on").await.ok);
    wait_device(hub, "pump", "spinning", |d| {
        prop_f64(d, "frequency").is_some_and(|f| f > 50.0)
    })
    .await;
    let mut events = hub.subscribe();
    assert!(run(hub, "fault sim overtemp on").await.ok);
    wait_device(hub, "pump", "error 5 shown", |d| {
        d.alarms.iter().any(|a| a.reason.starts_with("error 5:"))
    })
    .await;
    let snapshot = hub.device("pump").unwrap().snapshot();
    let error = snapshot.property("error").unwrap();
    assert_eq!(error.state, PropState::Alert);
    assert!(
        snapshot.summary.starts_with("ERROR 5"),
        "{}",
        snapshot.summary
    );
    wait_device(hub, "pump", "decelerating after the error", |d| {
        prop(d, "motion").as_deref() == Some("decelerating")
    })
    .await;
    // The link is fine throughout.
    assert_eq!(
        hub.connection("port").unwrap().snapshot().state,
        StateKind::Connected
    );
    // The error is latched until reset, once the cause is gone.
    assert!(run(hub, "fault sim overtemp off").await.ok);
    assert!(run(hub, "pump pump reset").await.ok);
    wait_device(hub, "pump", "error cleared", |d| d.alarms.is_empty()).await;
    // Each condition was raised once and cleared once, whatever the
    // number of polls that saw it.
    let mut seen: std::collections::BTreeMap<String, (u32, u32)> =
        std::collections::BTreeMap::default();
    while let Ok(event) = events.try_recv() {
        if let labdeck_core::bus::Event::Alarm(a) = event
            && &*a.source == "pump"
        {
            let count = seen.entry(a.condition.to_string()).or_default();
            if a.active {
                count.0 += 1;
            } else {
                count.1 += 1;
            }
        }
    }
    assert_eq!(seen.get("error-5"), Some(&(1, 1)), "{seen:?}");
    assert!(seen.values().all(|&c| c == (1, 1)), "{seen:?}");
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_and_warning_bits_show_as_warnings() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    assert!(run(hub, "fault sim warning 3").await.ok);
    wait_device(hub, "pump", "warning bit 3", |d| {
        d.alarms
            .iter()
            .any(|a| a.reason.starts_with("warning bit 3:"))
    })
    .await;
    assert!(run(hub, "fault sim warning off").await.ok);
    wait_device(hub, "pump", "warning gone", |d| d.alarms.is_empty()).await;

    assert!(run(hub, "pump pump on").await.ok);
    wait_device(hub, "pump", "at speed", |d| {
        prop(d, "motion").as_deref() == Some("at speed")
    })
    .await;
    assert!(run(hub, "fault sim overload on").await.ok);
    wait_device(hub, "pump", "overload warning", |d| {
        d.alarms
            .iter()
            .any(|a| a.reason.starts_with("warning bit 11:"))
    })
    .await;
    assert!(run(hub, "fault sim overload off").await.ok);
    wait_device(hub, "pump", "overload over", |d| d.alarms.is_empty()).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_to_unknown_names_fail_with_the_known_ones() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    let known = |names: &[&str]| names.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(
        request(hub, "fault nosuch no-reply on").await,
        Err(HubError::UnknownSimulator {
            name: "nosuch".into(),
            known: known(&["sim"])
        })
    );
    let refused = request(hub, "fault sim nosuch on").await;
    assert!(
        matches!(&refused, Err(HubError::UnknownFault { known, .. }) if known.starts_with(&[
            "no-reply".to_string(),
            "bad-bcc".to_string()
        ])),
        "{refused:?}"
    );
    assert_eq!(
        request(hub, "pump nosuch on").await,
        Err(HubError::UnknownDevice {
            name: "nosuch".into(),
            known: known(&["pump"])
        })
    );
    assert_eq!(
        request(hub, "connect nosuch").await,
        Err(HubError::UnknownConnection {
            name: "nosuch".into(),
            known: known(&["port"])
        })
    );
    let Ok(Outcome::Faults { faults, .. }) = request(hub, "faults").await else {
        panic!("the faults");
    };
    assert!(faults.iter().any(|f| f.id == "hang-up" && !f.active));
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_and_reconnect_by_device_name() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    let state = |result| match result {
        Ok(Outcome::Connection { link, state }) => {
            assert_eq!(&*link, "port");
            state
        }
        other => panic!("not a connection state: {other:?}"),
    };
    wait_state(hub, "port", StateKind::Connected).await;
    assert_eq!(
        state(request(hub, "disconnect pump").await),
        StateKind::Disconnected
    );
    wait_device(hub, "pump", "pump offline", |d| !d.responding()).await;
    assert!(matches!(
        request(hub, "pump pump on").await,
        Err(HubError::LinkDown { .. })
    ));
    assert_eq!(
        state(request(hub, "connect port").await),
        StateKind::Connecting
    );
    wait_responding(hub, "pump", "pump online").await;
    assert_eq!(
        state(request(hub, "teardown port").await),
        StateKind::TornDown
    );
    assert_eq!(
        request(hub, "connect port").await,
        Err(HubError::TornDown {
            link: "port".into()
        })
    );
    runtime.shutdown().await.unwrap();
}
