//! Replays `tests/data/turbovac.json` (turboctl's captured vectors, see
//! `vectors/README.md`) against the model and framer, with a virtual clock,
//! comparing exactly as `interop/turboctl_check.py` does.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use super::{Profile, PumpConfig, PumpModel};
use crate::protocol::turbovac::{FrameEvent, TelegramFramer, bcc};

#[derive(Debug, Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(Debug, Deserialize)]
struct Vector {
    name: String,
    group: String,
    query_hex: String,
    reply_hex: Option<String>,
    expect: String,
    #[serde(default)]
    variable_bytes: Vec<usize>,
    #[serde(default)]
    zsw_set: Vec<u32>,
    #[serde(default)]
    zsw_clear: Vec<u32>,
    frequency_range: Option<[u16; 2]>,
    #[serde(default)]
    pwe_equals_pzd2: bool,
    delay_before_s: Option<f64>,
    split_at: Option<usize>,
    split_gap_s: Option<f64>,
    labdeck: Option<Differs>,
}

#[derive(Debug, Deserialize)]
struct Differs {
    replies: usize,
    param_hex_any_of: Vec<String>,
}

fn vectors() -> Vec<Vector> {
    let file: VectorFile = serde_json::from_str(include_str!("../../../tests/data/turbovac.json"))
        .expect("vector file parses");
    file.vectors
}

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

/// The simulator's wire path without I/O: framer plus model.
struct Bench {
    model: PumpModel,
    framer: TelegramFramer,
    now: Instant,
}

impl Bench {
    fn new(profile: Profile) -> Self {
        let now = Instant::now();
        Self {
            model: PumpModel::new(PumpConfig::for_profile(profile), now),
            framer: TelegramFramer::new(),
            now,
        }
    }

    fn wait(&mut self, secs: f64) {
        self.now += Duration::from_secs_f64(secs);
    }

    fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        self.framer.push(bytes);
        let mut out = Vec::new();
        while let Some(event) = self.framer.next_event() {
            if let FrameEvent::Frame(query) = event {
                out.extend_from_slice(&self.model.handle(&query, self.now).encode());
            }
        }
        out
    }

    fn send(&mut self, v: &Vector) -> Vec<u8> {
        let query = hex(&v.query_hex);
        // Each exchange takes about a millisecond on a pty.
        self.wait(0.001);
        let reply = match v.split_at {
            Some(at) => {
                let mut reply = self.feed(&query[..at]);
                self.wait(v.split_gap_s.unwrap_or(0.05));
                reply.extend(self.feed(&query[at..]));
                reply
            }
            None => self.feed(&query),
        };
        self.wait(0.001);
        reply
    }

    fn status(&mut self, stw: &str) -> Vec<u8> {
        let mut q = hex(&format!(
            "02 16 00 00 00 00 00 00 00 00 00 {stw} 00 00 00 00 00 00 00 00 00 00"
        ));
        q.push(bcc(&q));
        self.feed(&q)
    }

    /// The checker's set-up before `sequence`: pump off, wait for rest.
    fn wait_for_rest(&mut self) {
        self.status("04 00");
        for _ in 0..100 {
            let r = self.status("00 00");
            let zsw = u16::from_be_bytes([r[11], r[12]]);
            if r[13] == 0 && r[14] == 0 && zsw & (1 << 5) == 0 {
                return;
            }
            self.wait(0.2);
        }
        panic!("rotor did not come to rest");
    }
}

/// `turboctl_check.py`'s comparison; `Err` says why.
fn compare(v: &Vector, reply: &[u8]) -> Result<(), String> {
    let valid = |f: &[u8]| f.len() == 24 && f[0] == 2 && f[1] == 0x16 && bcc(&f[..23]) == f[23];
    match v.expect.as_str() {
        "none" => {
            return if reply.is_empty() {
                Ok(())
            } else {
                Err(format!("expected no reply, got {} bytes", reply.len()))
            };
        }
        "differs" => {
            let spec = v
                .labdeck
                .as_ref()
                .ok_or("differs vector without labdeck field")?;
            if reply.len() != 24 * spec.replies {
                return Err(format!(
                    "expected {} replies, got {} bytes",
                    spec.replies,
                    reply.len()
                ));
            }
            let allowed: Vec<Vec<u8>> = spec.param_hex_any_of.iter().map(|h| hex(h)).collect();
            for frame in reply.chunks(24) {
                if !valid(frame) {
                    return Err("invalid frame".into());
                }
                if !allowed.iter().any(|a| a[..] == frame[..11]) {
                    return Err(format!("bytes 0-10 {:02x?} not allowed", &frame[..11]));
                }
            }
            return Ok(());
        }
        _ => {}
    }
    let want = hex(v.reply_hex.as_deref().ok_or("no reply_hex")?);
    if reply.len() != 24 {
        return Err(format!("expected 24 bytes, got {}", reply.len()));
    }
    if v.expect == "exact" {
        return if reply == want.as_slice() {
            Ok(())
        } else {
            Err(format!("want {want:02x?}\n got {reply:02x?}"))
        };
    }
    if !valid(reply) {
        return Err("not a valid telegram".into());
    }
    let diff: Vec<usize> = (0..24)
        .filter(|i| !v.variable_bytes.contains(i) && reply[*i] != want[*i])
        .collect();
    if !diff.is_empty() {
        return Err(format!(
            "bytes {diff:?} differ: want {want:02x?}\n got {reply:02x?}"
        ));
    }
    let zsw = u32::from(u16::from_be_bytes([reply[11], reply[12]]));
    let missing: Vec<_> = v.zsw_set.iter().filter(|b| zsw >> **b & 1 == 0).collect();
    let extra: Vec<_> = v.zsw_clear.iter().filter(|b| zsw >> **b & 1 == 1).collect();
    if !missing.is_empty() || !extra.is_empty() {
        return Err(format!(
            "ZSW {zsw:#06x}: {missing:?} must be set, {extra:?} clear"
        ));
    }
    let pzd2 = u16::from_be_bytes([reply[13], reply[14]]);
    if let Some([lo, hi]) = v.frequency_range
        && !(lo..=hi).contains(&pzd2)
    {
        return Err(format!("frequency {pzd2} outside [{lo}, {hi}]"));
    }
    if v.pwe_equals_pzd2
        && u32::from_be_bytes([reply[7], reply[8], reply[9], reply[10]]) != u32::from(pzd2)
    {
        return Err("PWE != PZD2".into());
    }
    Ok(())
}

fn run_groups(profile: Profile, groups: &[&str]) -> Vec<String> {
    let all = vectors();
    let mut bench = Bench::new(profile);
    let mut failures = Vec::new();
    for group in groups {
        if *group == "sequence" {
            bench.wait_for_rest();
        }
        for v in all.iter().filter(|v| v.group == *group) {
            if let Some(delay) = v.delay_before_s {
                bench.wait(delay);
            }
            let reply = bench.send(v);
            if let Err(why) = compare(v, &reply) {
                failures.push(format!("{} ({group}): {why}", v.name));
            }
        }
        if matches!(*group, "sequence" | "edge") {
            bench.status("04 00");
        }
    }
    failures
}

#[test]
fn the_file_has_all_47_vectors() {
    let all = vectors();
    assert_eq!(all.len(), 47);
    for (group, count) in [
        ("conformance", 17),
        ("sequence", 15),
        ("edge", 9),
        ("differs", 6),
    ] {
        assert_eq!(
            all.iter().filter(|v| v.group == group).count(),
            count,
            "{group}"
        );
    }
}

#[test]
fn compat_profile_passes_every_group() {
    let failures = run_groups(
        Profile::Compat,
        &["conformance", "sequence", "edge", "differs"],
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn realistic_profile_includes_the_fixes() {
    let failures = run_groups(Profile::Realistic, &["differs"]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn compat_mismatches_are_detected() {
    // The comparison itself must be able to fail.
    let v = vectors()
        .into_iter()
        .find(|v| v.name == "status_fresh")
        .unwrap();
    let mut wrong = hex(v.reply_hex.as_deref().unwrap());
    wrong[12] ^= 1;
    assert!(compare(&v, &wrong).is_err());
    assert!(compare(&v, &[]).is_err());
}
