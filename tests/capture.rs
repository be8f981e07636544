//! pcapng captures, read back by tshark: `[link] capture = …` (every chunk
//! of the pump's link over a real pty, equal to the link's traffic record
//! in bytes, directions and times, complete once the runtime has stopped)
//! and the traffic log command with a `.pcapng` file.

mod common;

use std::time::UNIX_EPOCH;

use labdeck_core::connection::StateKind;
use labdeck_core::link::Direction;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_links_capture_holds_every_chunk_with_its_direction_and_time() {
    if !common::tshark::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pump.pcapng");
    let config = common::pump_config("compat", "").replace(
        "simulator = \"sim\"\n\n[link.retry]",
        &format!(
            "simulator = \"sim\"\ncapture = \"{}\"\n\n[link.retry]",
            file.display()
        ),
    );
    assert!(config.contains("capture ="), "{config}");
    let runtime = common::start(&format!("[traffic]\nring = 100000\n{config}")).await;
    common::wait_state(runtime.hub(), "port", StateKind::Connected).await;
    let tap = runtime.hub().tap("port").unwrap().clone();
    common::wait_until("40 chunks", || tap.counters().chunks >= 40).await;
    runtime.shutdown().await.unwrap();
    let history = tap.history();

    let packets = common::tshark::packets(&file);
    assert_eq!(packets.len(), history.len());
    for (packet, chunk) in packets.iter().zip(&history) {
        let direction = match chunk.dir {
            Direction::Tx => 2,
            Direction::Rx => 1,
        };
        let t = chunk
            .t
            .wall
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((packet.t - t).abs() < 1e-6, "{packet:?} vs {t}");
        assert_eq!(packet.flags, direction);
        assert_eq!(packet.interface, "port");
        assert_eq!(packet.bytes, chunk.bytes);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_log_command_writes_pcapng_for_a_pcapng_file() {
    if !common::tshark::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.pcapng");
    let runtime = common::start(&common::pump_config("compat", "")).await;
    let hub = runtime.hub();
    common::wait_responding(hub, "pump", "the pump to answer").await;
    let started = common::run(hub, &format!("record {}", file.display())).await;
    assert!(started.ok, "{started}");
    let tap = hub.tap("port").unwrap().clone();
    let from = tap.counters().chunks;
    common::wait_until("20 more chunks", || tap.counters().chunks >= from + 20).await;
    let stopped = common::request(hub, "record stop").await;
    let Ok(labdeck_core::hub::Outcome::Recording(status)) = stopped else {
        panic!("{stopped:?}");
    };
    let history = tap.history();
    runtime.shutdown().await.unwrap();

    let packets = common::tshark::packets(&file);
    assert!(packets.len() >= 20, "{} packets", packets.len());
    assert_eq!(packets.len() as u64, status.frames);
    // Each packet is a chunk of the link, with its time and direction.
    for packet in &packets {
        let chunk = history
            .iter()
            .find(|c| {
                let t = c.t.wall.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
                (packet.t - t).abs() < 1e-6
            })
            .unwrap_or_else(|| panic!("no chunk at {}", packet.t));
        let direction = match chunk.dir {
            Direction::Tx => 2,
            Direction::Rx => 1,
        };
        assert_eq!(
            (packet.flags, packet.interface.as_str()),
            (direction, "port")
        );
        assert_eq!(packet.bytes, chunk.bytes);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capture_command_captures_one_link_until_stopped() {
    if !common::tshark::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("port.pcapng");
    let runtime = common::start(&common::pump_config("compat", "")).await;
    let hub = runtime.hub();
    common::wait_responding(hub, "pump", "the pump to answer").await;
    let refused = common::run(hub, "capture nowhere x.pcapng").await;
    assert!(!refused.ok && refused.text.contains("nowhere"), "{refused}");
    let stop_first = common::run(hub, "capture port stop").await;
    assert!(!stop_first.ok, "{stop_first}");
    let started = common::run(hub, &format!("capture port {}", file.display())).await;
    assert!(
        started.ok && started.text.contains("capturing port"),
        "{started}"
    );
    let tap = hub.tap("port").unwrap().clone();
    let from = tap.counters().chunks;
    common::wait_until("10 more chunks", || tap.counters().chunks >= from + 10).await;
    let stopped = common::request(hub, "capture port stop").await;
    let Ok(labdeck_core::hub::Outcome::Capture(status)) = stopped else {
        panic!("{stopped:?}");
    };
    assert!(!status.on);
    runtime.shutdown().await.unwrap();
    let packets = common::tshark::packets(&file);
    assert_eq!(packets.len() as u64, status.packets);
    assert!(packets.len() >= 10);
    assert!(packets.iter().all(|p| p.interface == "port"));
}
