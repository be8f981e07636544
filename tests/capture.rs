//! pcapng captures, read back by tshark: `[link] capture = …` (every chunk
//! of the pump's link over a real pty, equal to the link's traffic record
//! in bytes, directions and times, complete once the runtime has stopped)
//! and the traffic log command with a `.pcapng` file.

mod common;

use std::process::Command;
use std::time::UNIX_EPOCH;

use labdeck_core::connection::StateKind;
use labdeck_core::link::Direction;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_links_capture_holds_every_chunk_with_its_direction_and_time() {
    if Command::new("tshark").arg("-v").output().is_err() {
        assert!(
            std::env::var_os("LABDECK_REQUIRE_INTEROP").is_none(),
            "tshark required but not found"
        );
        eprintln!("SKIPPED: install tshark (Debian package tshark)");
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

    let packets = packets(&file);
    assert_eq!(packets.len(), history.len());
    for (packet, chunk) in packets.iter().zip(&history) {
        let direction = match chunk.dir {
            Direction::Tx => "0x00000002",
            Direction::Rx => "0x00000001",
        };
        let t = chunk
            .t
            .wall
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!((packet.0 - t).abs() < 1e-6, "{packet:?} vs {t}");
        assert_eq!(packet.1, direction);
        assert_eq!(packet.2, "port");
        assert_eq!(packet.3, chunk.hex().replace(' ', ""));
    }
}

/// tshark's fields of every packet: (time, direction flags, interface, hex).
fn packets(file: &std::path::Path) -> Vec<(f64, String, String, String)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=,"])
        .args([
            "-e",
            "frame.time_epoch",
            "-e",
            "frame.packet_flags_direction",
        ])
        .args(["-e", "frame.interface_name", "-e", "data"])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].to_string(),
                f[2].to_string(),
                f[3].to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_traffic_log_command_writes_pcapng_for_a_pcapng_file() {
    if Command::new("tshark").arg("-v").output().is_err() {
        assert!(std::env::var_os("LABDECK_REQUIRE_INTEROP").is_none());
        eprintln!("SKIPPED: install tshark (Debian package tshark)");
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

    let packets = packets(&file);
    assert!(packets.len() >= 20, "{} packets", packets.len());
    assert_eq!(packets.len() as u64, status.frames);
    // Each packet is a chunk of the link, with its time and direction.
    for packet in &packets {
        let chunk = history
            .iter()
            .find(|c| {
                let t = c.t.wall.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
                (packet.0 - t).abs() < 1e-6
            })
            .unwrap_or_else(|| panic!("no chunk at {}", packet.0));
        let direction = match chunk.dir {
            Direction::Tx => "0x00000002",
            Direction::Rx => "0x00000001",
        };
        assert_eq!((packet.1.as_str(), packet.2.as_str()), (direction, "port"));
        assert_eq!(packet.3, chunk.hex().replace(' ', ""));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capture_command_captures_one_link_until_stopped() {
    if Command::new("tshark").arg("-v").output().is_err() {
        assert!(std::env::var_os("LABDECK_REQUIRE_INTEROP").is_none());
        eprintln!("SKIPPED: install tshark (Debian package tshark)");
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
    let packets = packets(&file);
    assert_eq!(packets.len() as u64, status.packets);
    assert!(packets.len() >= 10);
    assert!(packets.iter().all(|p| p.2 == "port"));
}
