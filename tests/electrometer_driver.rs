//! The electrometer driver and simulator over a real loopback socket,
//! through the runtime: identification, live readings with units, settings
//! the instrument accepts or refuses, a buffered scan fetched to a CSV
//! file, and every fault visible as an alarm and recovered when cleared.

mod common;

use common::*;
use labdeck_core::connection::StateKind;
use labdeck_core::device::{ActionOutcome, DeviceOutcome, DeviceSnapshot, PropState};
use labdeck_core::hub::{Hub, HubError, Outcome};

fn config(extra_sim: &str) -> String {
    format!(
        r#"
[[simulator]]
name = "em-sim"
type = "electrometer"
current = 1.0e-9
write-timeout = 1.0
{extra_sim}

[[link]]
name = "em-tcp"
type = "tcp"
simulator = "em-sim"

[link.retry]
base = 0.05
cap = 0.2
stable-after = 0.5

[[device]]
name = "em1"
driver = "electrometer"
link = "em-tcp"
poll-interval = 0.05
reply-timeout = 0.3
"#
    )
}

fn state(snapshot: &DeviceSnapshot, name: &str) -> Option<PropState> {
    snapshot.property(name).map(|p| p.state)
}

/// A property as the console and `serve` show it.
fn display(snapshot: &DeviceSnapshot, name: &str) -> String {
    snapshot
        .property(name)
        .map(labdeck::format::property)
        .unwrap_or_default()
}

/// What a device action answered.
fn action(result: labdeck_core::hub::HubResult) -> ActionOutcome {
    match result {
        Ok(Outcome::Device {
            outcome: DeviceOutcome::Action(done),
            ..
        }) => done,
        other => panic!("not an action: {other:?}"),
    }
}

async fn online(hub: &Hub) {
    wait_state(hub, "em-tcp", StateKind::Connected).await;
    wait_responding(hub, "em1", "em1 online").await;
}

async fn fault(hub: &Hub, line: &str) {
    let reply = run(hub, &format!("fault em-sim {line}")).await;
    assert!(reply.ok, "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identifies_and_reads_the_current_with_units() {
    let runtime = start(&config("")).await;
    let hub = runtime.hub();
    online(hub).await;
    let d = hub.device("em1").unwrap().snapshot();
    assert!(prop(&d, "identity").unwrap().contains("MODEL 6517B"));
    assert_eq!(prop(&d, "function").as_deref(), Some("CURR"));
    let reading = prop_f64(&d, "reading").unwrap();
    assert!((reading - 1e-9).abs() < 5e-11, "{reading}");
    let shown = display(&d, "reading");
    assert!(shown.ends_with(" nA") || shown.ends_with(" pA"), "{shown}");
    assert_eq!(display(&d, "range"), "2 nA");
    assert!(d.summary.starts_with("CURR "), "{}", d.summary);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_applied_or_refused_in_the_instruments_words() {
    let runtime = start(&config("")).await;
    let hub = runtime.hub();
    online(hub).await;
    let reply = run(hub, "set em1.range 20n").await;
    assert!(reply.ok, "{reply}");
    wait_device(hub, "em1", "20 nA range, autorange off", |d| {
        display(d, "range") == "20 nA" && prop(d, "autorange").as_deref() == Some("off")
    })
    .await;
    assert!(run(hub, "set em1.nplc 0.5").await.ok);
    assert!(run(hub, "set em1.zero-check on").await.ok);
    wait_device(hub, "em1", "zero check reading", |d| {
        prop(d, "reading").as_deref() == Some("zero check")
            && state(d, "reading") == Some(PropState::Busy)
    })
    .await;
    assert!(run(hub, "set em1.zero-check off").await.ok);
    assert!(run(hub, "set em1.function volt").await.ok);
    wait_device(hub, "em1", "volts", |d| {
        prop(d, "function").as_deref() == Some("VOLT") && display(d, "reading").ends_with(" V")
    })
    .await;
    // Refusals come back with the instrument's error.
    let refused = request(hub, "scpi em1 :SENS:VOLT:NPLC 100").await;
    assert!(
        matches!(&refused, Err(HubError::DeviceError { message, .. })
            if message.contains("-222 Data out of range")),
        "{refused:?}"
    );
    let refused = request(hub, "set em1.function teapot").await;
    assert!(
        matches!(&refused, Err(HubError::NotOption { options, .. })
            if options == &["CURR", "CHAR", "VOLT", "RES"]),
        "{refused:?}"
    );
    let ActionOutcome::Answer { text } = action(request(hub, "scpi em1 *IDN?").await) else {
        panic!("an answer");
    };
    assert!(text.contains("6517B"), "{text}");
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buffered_scan_is_fetched_into_a_csv_file() {
    let runtime = start(&config("")).await;
    let hub = runtime.hub();
    online(hub).await;
    let reply = run(hub, "scan em1 50 0.002").await;
    assert!(reply.ok, "{reply}");
    wait_device(hub, "em1", "scan complete", |d| {
        prop(d, "scan").is_some_and(|s| s.starts_with("complete"))
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scan.csv");
    let fetched = action(request(hub, &format!("fetch em1 {}", file.display())).await);
    let ActionOutcome::Fetched {
        summary,
        file: Some(written),
    } = fetched
    else {
        panic!("a fetch to a file: {fetched:?}");
    };
    assert_eq!((summary.count, summary.unit.as_str()), (50, "A"));
    assert_eq!(written, file);
    let csv = std::fs::read_to_string(&file).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 51, "{csv}");
    assert_eq!(rows[0], "index,read");
    let value: f64 = rows[1].split(',').nth(1).unwrap().parse().unwrap();
    assert!((value - 1e-9).abs() < 5e-11, "{value}");
    // An empty buffer is reported, not fetched.
    assert!(run(hub, "scpi em1 :TRAC:CLE").await.ok);
    let refused = request(hub, "fetch em1").await;
    assert!(
        matches!(&refused, Err(HubError::DeviceError { message, .. }) if message.contains("empty")),
        "{refused:?}"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_faults_send_the_link_to_recovery_and_back() {
    let runtime = start(&config("")).await;
    let hub = runtime.hub();
    online(hub).await;
    // A delay beyond the reply timeout is as bad as no reply.
    for (on, id) in [
        ("no-reply on", "no-reply"),
        ("garbage on", "garbage"),
        ("drop on", "drop"),
        ("listener-down on", "listener-down"),
        ("delay 1000", "delay"),
    ] {
        fault(hub, on).await;
        wait_state(hub, "em-tcp", StateKind::Recovering).await;
        fault(hub, &format!("{id} off")).await;
        online(hub).await;
    }
    let snapshot = hub.connection("em-tcp").unwrap().snapshot();
    assert!(snapshot.counters.alarms >= 3, "{:?}", snapshot.counters);
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instrument_faults_are_device_alarms_until_cleared() {
    let runtime = start(&config("")).await;
    let hub = runtime.hub();
    online(hub).await;
    fault(hub, "overflow on").await;
    wait_device(hub, "em1", "overflow alarm", |d| {
        d.alarms.iter().any(|a| a.reason == "reading overflow")
            && state(d, "reading") == Some(PropState::Alert)
    })
    .await;
    fault(hub, "overflow off").await;
    wait_device(hub, "em1", "overflow cleared", |d| d.alarms.is_empty()).await;

    fault(hub, "inject-error 113").await;
    wait_device(hub, "em1", "error alarm", |d| {
        d.alarms
            .iter()
            .any(|a| a.reason == "SCPI error -113: Undefined header")
    })
    .await;
    assert!(run(hub, "do em1 clear").await.ok);
    wait_device(hub, "em1", "error cleared", |d| {
        d.alarms.is_empty() && prop(d, "error").as_deref() == Some("none")
    })
    .await;

    fault(hub, "stuck on").await;
    wait_device(hub, "em1", "stuck alarm", |d| {
        d.alarms.iter().any(|a| a.reason.contains("unchanged"))
    })
    .await;
    fault(hub, "stuck off").await;
    wait_device(hub, "em1", "stuck cleared", |d| d.alarms.is_empty()).await;
    runtime.shutdown().await.unwrap();
}
