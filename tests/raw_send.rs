//! Bytes by hand over real links: `send` to the pump's pty and to the
//! electrometer's socket (the simulator's answer comes back, and the
//! bytes are in the traffic as TX), macros once and periodic, and the
//! continuous traffic log on disk.

mod common;

use std::time::Duration;

use common::{pump_config, request, run, start, wait_responding, wait_until};
use labdeck_core::device::DeviceOutcome;
use labdeck_core::hub::{HubError, MacroOutcome, Outcome};
use labdeck_core::link::{Direction, parse_hex};
use labdeck_protocol::turbovac::{AccessCode, ControlWord, Telegram};

fn config() -> String {
    pump_config(
        "realistic",
        r#"
[[simulator]]
name = "em-sim"
type = "electrometer"

[[link]]
name = "em-tcp"
type = "tcp"
simulator = "em-sim"

[[device]]
name = "em1"
driver = "electrometer"
link = "em-tcp"
poll-interval = 0.2

[[macro]]
name = "idn"
link = "em-tcp"
text = "*IDN?"
eol = "lf"

[[macro]]
name = "poll"
link = "port"
hex = "02 16 00 00 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 10"
every = "100ms"
"#,
    )
}

fn sent(result: labdeck_core::hub::HubResult) -> (Vec<u8>, Option<Vec<u8>>) {
    match result {
        Ok(Outcome::Device {
            outcome: DeviceOutcome::Sent { sent, reply, .. },
            ..
        }) => (
            parse_hex(&sent).unwrap(),
            reply.map(|r| parse_hex(&r).unwrap()),
        ),
        other => panic!("not a send: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_sent_by_hand_is_answered_and_shown_as_tx() {
    let runtime = start(&config()).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "the pump answers").await;
    let query = Telegram::query(ControlWord::POLL.0, AccessCode::Read, 171, 0, 0).encode();
    let hex = labdeck_core::link::hex_string(&query);
    let (bytes, reply) = sent(request(hub, &format!("send port hex {hex}")).await);
    assert_eq!(bytes, query);
    let reply = reply.expect("the simulator answers");
    let telegram = Telegram::decode(&reply[..24]).expect("a valid telegram");
    assert_eq!(telegram.pnu, 171, "the answer to P171");
    // The bytes went out as one TX chunk the traffic tap recorded.
    let history = hub.tap("port").unwrap().history();
    assert!(
        history
            .iter()
            .any(|c| c.dir == Direction::Tx && c.bytes[..] == query[..]),
        "the sent telegram is in the traffic"
    );
    // Text, with an escape and a line ending, to the electrometer.
    wait_responding(hub, "em1", "the electrometer answers").await;
    let (bytes, reply) = sent(request(hub, "send em-tcp text --eol=lf *IDN?").await);
    assert_eq!(bytes, b"*IDN?\n");
    let reply = String::from_utf8(reply.expect("an answer")).unwrap();
    assert!(reply.contains("6517"), "{reply}");
    let shown = run(hub, "send em1 text \"*IDN?\\n\"").await;
    assert!(
        shown.ok && shown.text.contains("as text: KEITHLEY"),
        "{}",
        shown.text
    );
    // Refusals say what and where.
    let bad = run(hub, "send port hex 02 1").await;
    assert!(
        !bad.ok && bad.text.contains("pairs of hex digits"),
        "{}",
        bad.text
    );
    let unknown = request(hub, "send nowhere hex 00").await;
    assert!(
        matches!(unknown, Err(HubError::UnknownConnection { .. })),
        "{unknown:?}"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macros_run_once_or_periodically_until_stopped() {
    let runtime = start(&config()).await;
    let hub = runtime.hub();
    wait_responding(hub, "em1", "the electrometer answers").await;
    let once = request(hub, "macro idn").await;
    let Ok(Outcome::Macro {
        outcome: MacroOutcome::Sent { outcome },
        ..
    }) = once
    else {
        panic!("{once:?}")
    };
    let (bytes, reply) = sent(Ok(*outcome));
    assert_eq!(bytes, b"*IDN?\n");
    assert!(reply.is_some());
    // The periodic one: its telegrams keep coming until it is stopped.
    wait_responding(hub, "pump", "the pump answers").await;
    let poll = parse_hex("02 16 00 00 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 10")
        .unwrap();
    let count = || {
        hub.tap("port")
            .unwrap()
            .history()
            .iter()
            .filter(|c| c.dir == Direction::Tx && c.bytes[..] == poll[..])
            .count()
    };
    let started = run(hub, "macro poll").await;
    assert!(
        started.text.contains("started, every 100 ms"),
        "{}",
        started.text
    );
    let listed = run(hub, "macros").await;
    assert!(listed.text.contains("RUNNING"), "{}", listed.text);
    wait_until("the periodic macro sends", || count() >= 3).await;
    let stopped = run(hub, "macro poll stop").await;
    assert!(stopped.ok, "{}", stopped.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = count();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(count(), after, "no more sends after the stop");
    let not_periodic = request(hub, "macro idn stop").await;
    assert!(
        matches!(not_periodic, Err(HubError::NotPeriodic { .. })),
        "{not_periodic:?}"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_log_holds_every_frame_from_start_to_stop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("traffic.log");
    let runtime = start(&config()).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "the pump answers").await;
    let started = run(hub, &format!("record {}", path.display())).await;
    assert!(started.ok, "{}", started.text);
    assert!(hub.recording().is_some_and(|r| r.on));
    let seq_before = hub.tap("port").unwrap().counters().chunks;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let stopped = request(hub, "record stop").await;
    let seq_after = hub.tap("port").unwrap().counters().chunks;
    let Ok(Outcome::Recording(status)) = stopped else {
        panic!("{stopped:?}")
    };
    assert!(!status.on);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    let pump: Vec<&&str> = lines.iter().filter(|l| l.contains("  port  ")).collect();
    // Every pump chunk between start and stop, give or take the ones in
    // flight at either end; both directions.
    let expected = (seq_after - seq_before) as usize;
    assert!(
        pump.len() + 2 >= expected && pump.len() <= expected + 2,
        "{} pump lines for {expected} chunks",
        pump.len()
    );
    assert!(pump.iter().any(|l| l.contains("  TX  ")) && pump.iter().any(|l| l.contains("  RX  ")));
    assert!(
        text.lines().last().unwrap().starts_with("# stopped"),
        "{text}"
    );
    assert_eq!(status.frames as usize, lines.len());
    // Again: appended to, never rewritten.
    run(hub, &format!("record {}", path.display())).await;
    request(hub, "record stop").await.unwrap();
    let again = std::fs::read_to_string(&path).unwrap();
    assert!(again.starts_with(&text), "the log is appended to");
    runtime.shutdown().await.unwrap();
}
