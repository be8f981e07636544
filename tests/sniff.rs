//! `labdeck sniff` between a program and `labdeck sim turbovac`, all real
//! processes on real ptys: the real turboctl client through the sniffer
//! (its vector check passes unchanged, every telegram is captured,
//! decoded and paired, the pcapng opens in tshark with the right packets),
//! line settings the program makes reach the simulator's port, and a
//! device that goes away and comes back is reopened.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::process::Process;
use labdeck_core::link::{Chunk, Direction};
use labdeck_core::sniff::{Decode, Decoder, FrameKind};
use labdeck_core::time::Timestamp;
use labdeck_protocol::turbovac::{AccessCode, Telegram};
use nix::sys::termios::{self, BaudRate, ControlFlags, SetArg, SpecialCharacterIndices};
use serde_json::Value;

fn json(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn hex(value: &Value) -> Vec<u8> {
    labdeck_core::link::parse_hex(value.as_str().unwrap_or_default()).expect("hex bytes")
}

/// Every byte of one direction, in order.
fn stream(events: &[Value], event: &str, dir: &str) -> Vec<u8> {
    events
        .iter()
        .filter(|e| e["event"] == event && e["dir"] == dir)
        .flat_map(|e| hex(&e["bytes"]))
        .collect()
}

/// The telegrams of one direction as the simulator saw them, decoded
/// from its own traffic record.
fn sim_telegrams(sim: &[Value], dir: Direction) -> Vec<Vec<u8>> {
    let mut decoder = Decoder::new(Decode::Uss);
    let link: Arc<str> = "sim".into();
    sim.iter()
        .filter(|e| e["event"] == "traffic")
        .flat_map(|e| {
            // The simulator's RX is what the program sent (the sniffer's TX).
            let seen = if e["dir"] == "rx" {
                Direction::Tx
            } else {
                Direction::Rx
            };
            decoder.push(&Chunk {
                link: link.clone(),
                epoch: 0,
                dir: seen,
                t: Timestamp::now(),
                bytes: hex(&e["bytes"]).into(),
            })
        })
        .filter(|f| f.kind == FrameKind::Telegram && f.dir == dir)
        .map(|f| f.bytes)
        .collect()
}

#[test]
fn turboctl_through_the_sniffer_passes_and_every_telegram_is_captured_paired_and_in_pcapng() {
    let Some(tools) = common::interop::tools(
        "turboctl",
        &["turboctl"],
        "turboctl_check.py",
        "python3 -m venv .venv && .venv/bin/pip install turboctl",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("pump.pcapng");
    let started = Timestamp::now().unix();
    let sim = Process::start(&[
        "sim",
        "turbovac",
        "--profile",
        "compat",
        "--json",
        "--traffic",
    ]);
    let sniffer = Process::start(&[
        "sniff",
        &sim.first,
        "--decode",
        "uss",
        "--json",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    assert!(sniffer.wait_for(|l| l.contains("device-open")));

    let mut check = Command::new(&tools.python);
    check
        .arg(tools.interop.join("turboctl_check.py"))
        .arg(&sniffer.first)
        .args(["--extended", "--quiet"]);
    let (ok, out) = common::interop::run(check);
    assert!(
        ok && out.contains("OVERALL PASS (47 passed, 0 failed)"),
        "{out}"
    );
    let (sniffed, stderr) = sniffer.stop();
    let (simulated, _) = sim.stop();
    let ended = Timestamp::now().unix();
    let sniffed = json(&sniffed);
    let simulated = json(&simulated);

    // Decoded and paired: the telegrams equal what the simulator received
    // and sent, in order, none lost; each reply answers the request before it.
    let frames: Vec<&Value> = sniffed.iter().filter(|e| e["event"] == "frame").collect();
    let telegrams = |dir: &str| -> Vec<Vec<u8>> {
        frames
            .iter()
            .filter(|f| f["kind"] == "telegram" && f["dir"] == dir)
            .map(|f| hex(&f["bytes"]))
            .collect()
    };
    let requests = telegrams("tx");
    assert!(requests.len() >= 40, "{} requests", requests.len());
    assert_eq!(requests, sim_telegrams(&simulated, Direction::Tx));
    assert_eq!(telegrams("rx"), sim_telegrams(&simulated, Direction::Rx));
    // A program may send several requests before the first reply.
    let mut waiting = std::collections::VecDeque::new();
    for frame in &frames {
        match (frame["dir"].as_str(), frame["kind"].as_str()) {
            (Some("tx"), Some("telegram")) => waiting.push_back(frame["seq"].as_u64()),
            (Some("rx"), Some("telegram")) => {
                assert_eq!(
                    frame["reply_to"].as_u64(),
                    waiting.pop_front().flatten(),
                    "{frame}"
                );
                assert!(
                    frame["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
                    "{frame}"
                );
            }
            _ => {}
        }
    }
    assert!(waiting.is_empty(), "requests without a reply: {waiting:?}");
    // The check's invalid telegrams are named, with their bytes.
    assert!(
        frames
            .iter()
            .any(|f| f["kind"] == "invalid" && f["reason"] == "BCC mismatch"),
        "no invalid telegram among the frames"
    );
    // The rate turboctl set reached the simulator's port.
    assert!(
        sniffed.iter().any(|e| e["event"] == "line"
            && e["settings"]["baud"] == 19200
            && e["applied"] == true)
    );
    assert!(
        simulated
            .iter()
            .any(|e| e["message"] == "client set the port to 19200 baud")
    );

    // pcapng, as tshark reads it: one packet per chunk, both byte streams
    // whole and in order, directions and times right.
    if !common::tshark::available() {
        return;
    }
    let packets = common::tshark::packets(&capture);
    let chunks = sniffed.len() - sniffed.iter().filter(|e| e["event"] != "frame").count();
    assert!(
        stderr.contains(&format!("{} packet(s) in", packets.len())),
        "tshark read {} packets; the sniffer said: {stderr}",
        packets.len()
    );
    assert!(packets.len() <= chunks);
    let outbound: Vec<u8> = packets
        .iter()
        .filter(|p| p.flags == 2)
        .flat_map(|p| p.bytes.clone())
        .collect();
    let inbound: Vec<u8> = packets
        .iter()
        .filter(|p| p.flags == 1)
        .flat_map(|p| p.bytes.clone())
        .collect();
    assert_eq!(
        outbound.len() + inbound.len(),
        packets.iter().map(|p| p.bytes.len()).sum::<usize>()
    );
    assert_eq!(outbound, stream(&simulated, "traffic", "rx"));
    assert_eq!(inbound, stream(&simulated, "traffic", "tx"));
    assert!(
        packets.windows(2).all(|w| w[0].t <= w[1].t),
        "times go back"
    );
    assert!(packets.iter().all(|p| (started..=ended).contains(&p.t)));
    // The USS dissector in examples/ finds every telegram, BCC correct.
    let dissector =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/wireshark/labdeck_uss.lua");
    let out = Command::new("tshark")
        .arg("-X")
        .arg(format!("lua_script:{}", dissector.display()))
        .arg("-r")
        .arg(&capture)
        .args(["-T", "fields", "-E", "occurrence=a", "-e", "uss.bcc_ok"])
        .output()
        .expect("run tshark with the dissector");
    let verdicts = String::from_utf8_lossy(&out.stdout);
    let good = verdicts
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|v| *v == "1" || *v == "True")
        .count();
    // It sees one packet at a time: a telegram the program wrote in two
    // parts (the check's split write) is two packets of undecoded bytes.
    let whole = requests.len() + telegrams("rx").len();
    let partial = packets.iter().filter(|p| p.bytes.len() % 24 != 0).count();
    assert!(
        good <= whole && whole - good <= partial,
        "dissector found {good} of {whole} telegrams; {partial} packets hold part of one"
    );
    let sim_first_rx = simulated
        .iter()
        .find(|e| e["event"] == "traffic" && e["dir"] == "rx")
        .and_then(|e| e["t"].as_f64())
        .unwrap();
    assert!(
        (packets[0].t - sim_first_rx).abs() < 0.1,
        "first packet at {}, the simulator received at {sim_first_rx}",
        packets[0].t
    );
}

/// The program's end of the sniffer's pty, raw at `speed`.
fn open_program_side(path: &str, speed: BaudRate, two_stop_bits: bool) -> File {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .expect("open the sniffer's pty");
    let mut attrs = termios::tcgetattr(&file).unwrap();
    termios::cfmakeraw(&mut attrs);
    termios::cfsetspeed(&mut attrs, speed).unwrap();
    attrs.control_flags.set(ControlFlags::CSTOPB, two_stop_bits);
    // Reads wait at most 2 s.
    attrs.control_chars[SpecialCharacterIndices::VMIN as usize] = 0;
    attrs.control_chars[SpecialCharacterIndices::VTIME as usize] = 20;
    termios::tcsetattr(&file, SetArg::TCSANOW, &attrs).unwrap();
    file
}

/// Send a status query and read the whole reply.
fn query(port: &mut File) -> Vec<u8> {
    let request = Telegram::query(0x0400, AccessCode::Read, 3, 0, 0).encode();
    port.write_all(&request).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 64];
    while reply.len() < 24 {
        let n = port.read(&mut buf).unwrap();
        assert!(n > 0, "no reply through the sniffer (got {reply:02x?})");
        reply.extend_from_slice(&buf[..n]);
    }
    assert!(Telegram::decode(&reply[..24]).is_ok(), "{reply:02x?}");
    reply
}

#[test]
fn line_settings_reach_the_device_and_a_device_that_comes_back_is_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("pump");
    let link = link.to_str().unwrap();
    let sim = Process::start(&["sim", "turbovac", "--link", link, "--json"]);
    let sniffer = Process::start(&[
        "sniff",
        link,
        "--json",
        "--decode",
        "uss",
        "--stop-bits",
        "2",
        "--baud",
        "1200",
    ]);
    assert!(sniffer.wait_for(|l| l.contains("device-open")));

    let mut port = open_program_side(&sniffer.first, BaudRate::B9600, false);
    query(&mut port);
    assert!(sim.wait_for(|l| l.contains("client set the port to 9600 baud")));
    // The sniffer's own stop bits held until the program set its settings:
    // the first change said is the program's. The sniffer prints in
    // batches, so its line event may come after the simulator's.
    assert!(sniffer.wait_for(|l| l.contains("\"event\":\"line\"")));
    let first_line = sniffer
        .lines()
        .into_iter()
        .find(|l| l.contains("\"event\":\"line\""))
        .expect("a line event");
    assert!(first_line.contains("\"baud\":9600"), "{first_line}");
    // The program closes the port and opens it again at other settings.
    drop(port);
    let mut port = open_program_side(&sniffer.first, BaudRate::B4800, true);
    query(&mut port);
    assert!(sim.wait_for(|l| l.contains("client set the port to 4800 baud")));
    assert!(sniffer.wait_for(|l| {
        serde_json::from_str::<Value>(l).is_ok_and(|e| {
            e["event"] == "line"
                && e["settings"]["baud"] == 4800
                && e["settings"]["stop_bits"] == 2
                && e["applied"] == true
        })
    }));

    // The device goes away: the sniffer says so, and reopens it when a
    // new simulator takes the same path; the program's port stays open.
    drop(sim);
    assert!(sniffer.wait_for(|l| l.contains("device-lost")));
    let sim = Process::start(&["sim", "turbovac", "--link", link, "--json"]);
    let opened = || {
        sniffer
            .lines()
            .iter()
            .filter(|l| l.contains("device-open"))
            .count()
    };
    let deadline = std::time::Instant::now() + common::LIMIT;
    while opened() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(opened(), 2, "{:?}", sniffer.lines());
    query(&mut port);
    // Reopened at the rate the program had set.
    assert!(sim.wait_for(|l| l.contains("client set the port to 4800 baud")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sniff_link_in_a_configuration_relays_a_program_and_shows_its_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let pty = dir.path().join("pump-sniffed");
    let text = format!(
        r#"
[[simulator]]
name = "sim"
type = "turbovac"

[[link]]
name = "sniffed"
type = "sniff"
simulator = "sim"
pty-link = "{}"
decode = "uss"
"#,
        pty.display()
    );
    let runtime = common::start(&text).await;
    let tap = runtime
        .hub()
        .tap("sniffed")
        .expect("the sniffer's tap")
        .clone();
    let path = pty.to_str().unwrap().to_string();
    // The program: a blocking client on the sniffer's pty.
    let reply = tokio::task::spawn_blocking(move || {
        let mut port = open_program_side(&path, BaudRate::B19200, false);
        query(&mut port)
    })
    .await
    .unwrap();
    assert!(Telegram::decode(&reply[..24]).is_ok());
    common::wait_until("both directions on the tap", || {
        let c = tap.counters();
        c.tx_bytes >= 24 && c.rx_bytes >= 24
    })
    .await;
    let history = tap.history();
    assert_eq!(history[0].dir, Direction::Tx);
    runtime.shutdown().await.unwrap();
    // Shut down: the pty's symlink is gone with it.
    assert!(std::fs::symlink_metadata(&pty).is_err());
}
