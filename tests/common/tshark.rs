//! Debian's tshark reading back the pcapng files labdeck writes.

use std::path::Path;
use std::process::Command;

/// Whether tshark is here; when it is not, the test part is skipped with
/// a message, unless `LABDECK_REQUIRE_INTEROP` is set (`.ci/run`).
pub fn available() -> bool {
    if Command::new("tshark").arg("-v").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("LABDECK_REQUIRE_INTEROP").is_none(),
        "tshark required but not found"
    );
    eprintln!("SKIPPED: the tshark part: install tshark (Debian package tshark)");
    false
}

/// One packet as tshark reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Unix seconds.
    pub t: f64,
    /// `epb_flags` direction bits: 2 outbound, 1 inbound.
    pub flags: u32,
    pub interface: String,
    pub bytes: Vec<u8>,
}

/// Every packet of `file`, by `tshark -r`.
pub fn packets(file: &Path) -> Vec<Packet> {
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
        "tshark -r failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Packet {
                t: f[0].parse().expect("a time"),
                flags: u32::from_str_radix(f[1].trim_start_matches("0x"), 16)
                    .expect("direction flags"),
                interface: f[2].to_string(),
                bytes: labdeck_core::link::parse_hex(f.get(3).copied().unwrap_or(""))
                    .expect("data"),
            }
        })
        .collect()
}
