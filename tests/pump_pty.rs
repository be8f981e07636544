//! The pump driver and simulator over a real pty, through the runtime: each
//! fault drives the expected transitions and clearing it recovers.

mod common;

use common::*;
use labdeck_core::connection::StateKind;
use labdeck_core::device::PropState;
use labdeck_core::link::Direction;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_reaches_connected_and_the_pump_ramps_when_switched_on() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_state(hub, "port", StateKind::Connected).await;
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    let endpoint = hub.connection("port").unwrap().snapshot().endpoint;
    assert!(endpoint.starts_with("/dev/pts/"), "{endpoint}");

    let reply = run(hub, "pump pump on").await;
    assert!(reply.success, "{reply}");
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
    assert!(run(hub, "pump pump off").await.success);
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
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    let reply = run(hub, "read pump 24").await;
    assert_eq!(reply.msg, "P24[0] = 1000", "{reply}");
    let reply = run(hub, "write pump 24 900").await;
    assert!(reply.success, "{reply}");
    let reply = run(hub, "read pump 31 1").await;
    assert_eq!(reply.msg, "P31[1] = 1000", "{reply}");
    let reply = run(hub, "read pump 31 0").await;
    assert!(
        !reply.success && reply.msg.contains("Index error"),
        "{reply}"
    );
    let reply = run(hub, "read pump 9").await;
    assert!(
        !reply.success && reply.msg.contains("unknown parameter number 9"),
        "{reply}"
    );
    let reply = run(hub, "set pump.setpoint 1100").await;
    assert!(reply.success, "{reply}");
    let reply = run(hub, "set pump.setpoint 2500").await;
    assert_eq!(reply.msg, "pump: value 2500 Hz is above maximum 1200 Hz");
    let reply = run(hub, "set pump.frequency 5").await;
    assert!(!reply.success && reply.msg.contains("read-only"), "{reply}");
    let reply = run(hub, "set pump.nope 5").await;
    assert!(
        !reply.success && reply.msg.contains("unknown attribute"),
        "{reply}"
    );
    let reply = run(hub, "get pump.setpoint").await;
    assert!(reply.msg.contains("= 1100 Hz"), "{reply}");
    runtime.shutdown().await.unwrap();
}

/// Switch a fault on, wait for the link to go to `recovering` with an
/// alarm, switch it off, wait for `connected` and a responsive pump.
async fn link_fault_recovers(fault: &str, reason: &str) {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    assert!(run(hub, &format!("fault sim {fault} on")).await.success);
    wait_state(hub, "port", StateKind::Recovering).await;
    let snapshot = hub.connection("port").unwrap().snapshot();
    let alarm = snapshot.alarm.clone().unwrap_or_default();
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
    assert!(run(hub, &format!("fault sim {fault} off")).await.success);
    wait_state(hub, "port", StateKind::Connected).await;
    wait_device(hub, "pump", "pump online again", |d| d.online).await;
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
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    assert!(run(hub, "fault sim delay 500").await.success);
    wait_state(hub, "port", StateKind::Recovering).await;
    assert!(run(hub, "fault sim delay off").await.success);
    wait_state(hub, "port", StateKind::Connected).await;
    wait_device(hub, "pump", "pump online again", |d| d.online).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_delay_and_garbage_are_tolerated() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    assert!(run(hub, "fault sim delay 100").await.success);
    wait_device(hub, "pump", "round trip above 100 ms", |d| {
        prop_f64(d, "round-trip").is_some_and(|ms| ms >= 100.0)
    })
    .await;
    assert!(run(hub, "fault sim delay off").await.success);
    assert!(run(hub, "fault sim garbage 7").await.success);
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
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    assert!(run(hub, "fault sim hang-up on").await.success);
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
    assert!(run(hub, "fault sim hang-up off").await.success);
    assert!(sim.snapshot().endpoint.is_some());
    wait_state(hub, "port", StateKind::Connected).await;
    wait_device(hub, "pump", "pump online again", |d| d.online).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_temperature_is_a_device_alarm_that_reset_clears() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    assert!(run(hub, "pump pump on").await.success);
    wait_device(hub, "pump", "spinning", |d| {
        prop_f64(d, "frequency").is_some_and(|f| f > 50.0)
    })
    .await;
    assert!(run(hub, "fault sim overtemp on").await.success);
    wait_device(hub, "pump", "error 5 shown", |d| {
        d.alarms.iter().any(|a| a.starts_with("error 5:"))
    })
    .await;
    let snapshot = hub.device("pump").unwrap().snapshot();
    let error = snapshot
        .properties
        .iter()
        .find(|p| p.name == "error")
        .unwrap();
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
    assert!(run(hub, "fault sim overtemp off").await.success);
    assert!(run(hub, "pump pump reset").await.success);
    wait_device(hub, "pump", "error cleared", |d| d.alarms.is_empty()).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_and_warning_bits_show_as_warnings() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    assert!(run(hub, "fault sim warning 3").await.success);
    wait_device(hub, "pump", "warning bit 3", |d| {
        d.alarms.iter().any(|a| a.starts_with("warning bit 3:"))
    })
    .await;
    assert!(run(hub, "fault sim warning off").await.success);
    wait_device(hub, "pump", "warning gone", |d| d.alarms.is_empty()).await;

    assert!(run(hub, "pump pump on").await.success);
    wait_device(hub, "pump", "at speed", |d| {
        prop(d, "motion").as_deref() == Some("at speed")
    })
    .await;
    assert!(run(hub, "fault sim overload on").await.success);
    wait_device(hub, "pump", "overload warning", |d| {
        d.alarms.iter().any(|a| a.starts_with("warning bit 11:"))
    })
    .await;
    assert!(run(hub, "fault sim overload off").await.success);
    wait_device(hub, "pump", "overload over", |d| d.alarms.is_empty()).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_to_unknown_names_fail_with_the_known_ones() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    let reply = run(hub, "fault nosuch no-reply on").await;
    assert_eq!(reply.msg, "unknown simulator \"nosuch\"; simulators: sim");
    let reply = run(hub, "fault sim nosuch on").await;
    assert!(
        !reply.success && reply.msg.contains("known faults: no-reply, bad-bcc"),
        "{reply}"
    );
    let reply = run(hub, "pump nosuch on").await;
    assert_eq!(reply.msg, "unknown device \"nosuch\"; devices: pump");
    let reply = run(hub, "connect nosuch").await;
    assert!(
        !reply.success && reply.msg.contains("connections: port"),
        "{reply}"
    );
    let reply = run(hub, "faults").await;
    assert!(
        reply.success && reply.msg.contains("hang-up off"),
        "{reply}"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_and_reconnect_by_device_name() {
    let runtime = start(&pump_config("compat", "")).await;
    let hub = runtime.hub();
    wait_state(hub, "port", StateKind::Connected).await;
    assert_eq!(run(hub, "disconnect pump").await.msg, "port: disconnected");
    wait_device(hub, "pump", "pump offline", |d| !d.online).await;
    assert!(!run(hub, "pump pump on").await.success);
    assert_eq!(run(hub, "connect port").await.msg, "port: connecting");
    wait_device(hub, "pump", "pump online", |d| d.online).await;
    assert_eq!(run(hub, "teardown port").await.msg, "port: torn-down");
    let reply = run(hub, "connect port").await;
    assert_eq!(reply.msg, "connection port is torn down");
    runtime.shutdown().await.unwrap();
}
