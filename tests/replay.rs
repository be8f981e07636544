//! Record and replay: a run of the pump driver against the simulator is
//! recorded (`--record`: one timeline of traffic, transitions, notices),
//! then `labdeck sim turbovac --replay` answers a fresh driver from the
//! recorded device side: it connects and shows the recorded values.

mod common;

use common::process::Process;
use common::{prop_f64, run, wait_device, wait_responding, wait_state};
use labdeck_core::config::{self, ConfigOrigin};
use labdeck_core::connection::StateKind;
use labdeck_core::link::Direction;
use labdeck_core::runtime::Runtime;
use labdeck_core::timeline::{Entry, Timeline};
use labdeck_protocol::turbovac::Telegram;

/// Record the pump driver switching the simulated pump on and off; the
/// fastest rotor speed the driver saw, from the recorded replies.
async fn record_a_pump_run(file: &std::path::Path) -> (Timeline, u16) {
    let mut config = config::parse(&common::pump_config("compat", ""), ConfigOrigin::Demo).unwrap();
    config.timeline = Some(file.to_path_buf());
    let runtime = Runtime::start(&config).await.unwrap();
    let hub = runtime.hub();
    wait_responding(hub, "pump", "the pump to answer").await;
    assert!(run(hub, "pump pump on").await.ok);
    wait_device(hub, "pump", "frequency above 300 Hz", |d| {
        prop_f64(d, "frequency").is_some_and(|f| f > 300.0)
    })
    .await;
    // Long enough for a recorded state of the running pump.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(run(hub, "pump pump off").await.ok);
    wait_device(hub, "pump", "frequency below 300 Hz", |d| {
        prop_f64(d, "frequency").is_some_and(|f| f < 300.0)
    })
    .await;
    runtime.shutdown().await.unwrap();
    let timeline = Timeline::read(file).unwrap();
    let (_, chunks) = timeline.traffic(Some("port")).unwrap();
    let top = chunks
        .iter()
        .filter(|c| c.dir == Direction::Rx)
        .filter_map(|c| Telegram::decode(&c.bytes).ok())
        .map(|t| t.frequency())
        .max()
        .unwrap();
    (timeline, top)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_pump_answers_the_driver_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.jsonl");
    let (recording, top) = record_a_pump_run(&file).await;

    // One timeline: the link's traffic, its transitions, the simulator's
    // notices and the lab's states, in the order they happened.
    assert_eq!(recording.lagged, 0);
    let kinds: Vec<String> = recording
        .events
        .iter()
        .map(|e| {
            serde_json::to_value(e).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for kind in ["transition", "traffic", "notice", "property"] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    let states = recording
        .entries
        .iter()
        .filter(|e| matches!(e, Entry::Snapshot { .. }))
        .count();
    assert!(states >= 2, "{states} states recorded");
    assert!(recording.entries.windows(2).all(|w| w[0].at() <= w[1].at()));
    assert!(
        recording.traffic(None).is_err(),
        "both the link and the simulator have traffic"
    );
    assert!(top > 300, "recorded {top} Hz at most");

    // Replay into a simulator; a new driver on a serial link to it.
    let sim = Process::start(&[
        "sim",
        "turbovac",
        "--replay",
        file.to_str().unwrap(),
        "--replay-link",
        "port",
    ]);
    let text = format!(
        r#"
[[link]]
name = "port"
type = "serial"
path = "{}"

[link.retry]
base = 0.05
cap = 0.2

[[device]]
name = "pump"
driver = "turbovac"
link = "port"
poll-interval = 0.05
reply-timeout = 0.3
"#,
        sim.first
    );
    let runtime = common::start(&text).await;
    let hub = runtime.hub();
    wait_state(hub, "port", StateKind::Connected).await;
    wait_responding(hub, "pump", "the replayed pump to answer").await;
    // The recorded ramp comes back: the rotor reaches the recorded top speed.
    wait_device(hub, "pump", "the recorded top frequency", |d| {
        prop_f64(d, "frequency") == Some(f64::from(top))
    })
    .await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_electrometer_answers_the_driver_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meter.jsonl");
    let lab = |link: &str| {
        format!(
            r#"
{link}

[link.retry]
base = 0.05
cap = 0.2

[[device]]
name = "em1"
driver = "electrometer"
link = "em-tcp"
poll-interval = 0.05
reply-timeout = 0.5
"#
        )
    };
    // Record: the simulated instrument measuring 2.5 nA.
    let text = lab(
        "[[simulator]]\nname = \"em-sim\"\ntype = \"electrometer\"\ncurrent = 2.5e-9\n\n[[link]]\nname = \"em-tcp\"\ntype = \"tcp\"\nsimulator = \"em-sim\"",
    );
    let mut config = config::parse(&text, ConfigOrigin::Demo).unwrap();
    config.timeline = Some(file.clone());
    let runtime = Runtime::start(&config).await.unwrap();
    let hub = runtime.hub();
    wait_device(hub, "em1", "a reading near 2.5 nA", |d| {
        prop_f64(d, "reading").is_some_and(|r| (r - 2.5e-9).abs() < 2e-10)
    })
    .await;
    runtime.shutdown().await.unwrap();

    // Replay the link's instrument side on a loopback port.
    let sim = Process::start(&[
        "sim",
        "electrometer",
        "--replay",
        file.to_str().unwrap(),
        "--replay-link",
        "em-tcp",
    ]);
    let text = lab(&format!(
        "[[link]]\nname = \"em-tcp\"\ntype = \"tcp\"\naddress = \"{}\"",
        sim.first
    ));
    let runtime = common::start(&text).await;
    let hub = runtime.hub();
    wait_state(hub, "em-tcp", StateKind::Connected).await;
    wait_device(hub, "em1", "the recorded reading", |d| {
        prop_f64(d, "reading").is_some_and(|r| (r - 2.5e-9).abs() < 2e-10)
    })
    .await;
    runtime.shutdown().await.unwrap();
}

#[test]
fn the_console_plays_a_recording_and_refuses_to_act() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.jsonl");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_, top) = runtime.block_on(record_a_pump_run(&file));
    drop(runtime);
    let mut console = common::console::Console::spawn(
        40,
        140,
        "xterm-256color",
        &["replay", file.to_str().unwrap(), "--speed", "2"],
    );
    console.wait_for("replay");
    console.wait_for("pump");
    // The recorded run comes back: the rotor at its recorded top speed.
    console.wait_for(&top.to_string());
    console.press(b":replay status\r");
    console.wait_for("replay at");
    console.press(b":pump pump on\r");
    console.wait_for("read-only");
    console.press(b"q");
    console.wait_exit();
}
