//! `[link] capture = …`: the pump's link over a real pty, every chunk in a
//! pcapng file that tshark opens, equal to the link's traffic record
//! (bytes, directions, times), and complete once the runtime has stopped.

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

    let out = Command::new("tshark")
        .arg("-r")
        .arg(&file)
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
    let packets: Vec<(f64, String, String, String)> = String::from_utf8_lossy(&out.stdout)
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
        .collect();
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
