//! One frame, whole: time, delta to its request, every byte as hex and
//! ASCII (16 a line, so 76 columns), the decoded rendering and, for USS
//! telegrams, every field and the checksum check. Shown in the reply box,
//! which wraps and scrolls.

use std::fmt::Write as _;

use labdeck_core::link::{Direction, Framing};
use labdeck_core::time::Timestamp;
use labdeck_protocol::turbovac::{TELEGRAM_LEN, Telegram, bcc};

use super::{Entry, Traffic};
use crate::tui::sanitize;

/// Bytes a hex dump line holds.
const PER_LINE: usize = 16;

impl Traffic {
    /// Every detail of a row, as text; `clock` writes a timestamp.
    pub fn frame_text(&self, e: &Entry, clock: impl Fn(&Timestamp) -> String) -> String {
        let mut s = format!(
            "frame {} · {} · {} · {} byte(s)\n",
            e.seq,
            e.link,
            match e.dir {
                Direction::Tx => "TX (sent)",
                Direction::Rx => "RX (received)",
            },
            e.bytes.len()
        );
        if e.repeats > 1 {
            let _ = writeln!(
                s,
                "  repeats   ×{}, first {}, last {}",
                e.repeats,
                clock(&e.t),
                clock(&e.last)
            );
        } else {
            let _ = writeln!(s, "  time      {}", clock(&e.t));
        }
        if e.dir == Direction::Rx
            && let Some(request) = self.request_of(e)
        {
            let delta = e.t.mono.saturating_duration_since(request.t.mono);
            let _ = writeln!(
                s,
                "  reply to  frame {} sent at {}, {:.1} ms before",
                request.seq,
                clock(&request.t),
                delta.as_secs_f64() * 1e3
            );
        }
        s.push_str("  bytes\n");
        s.push_str(&hex_dump(&e.bytes));
        let framing = self.framing(&e.link);
        if framing == Framing::UssTelegrams {
            s.push_str(&uss_fields(&e.bytes, e.dir));
        } else {
            let _ = writeln!(s, "  as text   {}", sanitize::named(&e.bytes));
        }
        s
    }
}

/// `0000  02 16 00 … 00  |......|`, 16 bytes a line, split in eights.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (n, line) in bytes.chunks(PER_LINE).enumerate() {
        let _ = write!(s, "  {:04x} ", n * PER_LINE);
        for i in 0..PER_LINE {
            if i == PER_LINE / 2 {
                s.push(' ');
            }
            match line.get(i) {
                Some(b) => {
                    let _ = write!(s, " {b:02x}");
                }
                None => s.push_str("   "),
            }
        }
        let _ = writeln!(s, "  |{}|", sanitize::dots(line));
    }
    s
}

/// Each telegram's fields and checksum; what is not a telegram, named.
fn uss_fields(bytes: &[u8], dir: Direction) -> String {
    let mut s = String::new();
    for line in super::uss_lines(bytes, dir) {
        let _ = writeln!(s, "  decoded   {}", sanitize::text(&line));
    }
    for (n, frame) in bytes.chunks(TELEGRAM_LEN).enumerate() {
        if frame.len() < TELEGRAM_LEN || frame[0] != labdeck_protocol::turbovac::STX {
            continue;
        }
        let computed = bcc(&frame[..TELEGRAM_LEN - 1]);
        let found = frame[TELEGRAM_LEN - 1];
        let check = if computed == found {
            format!("BCC {found:02x}: correct")
        } else {
            format!("BCC {found:02x}, computed {computed:02x}: CHECKSUM ERROR")
        };
        let _ = writeln!(
            s,
            "  telegram {} at byte {}: {check}",
            n + 1,
            n * TELEGRAM_LEN
        );
        if let Ok(t) = Telegram::decode(frame) {
            let word = match dir {
                Direction::Tx => format!("STW {:#06x} {}", t.pzd[0], t.control_word()),
                Direction::Rx => format!("ZSW {:#06x} {}", t.pzd[0], t.status_word()),
            };
            let _ = writeln!(
                s,
                "    ADR {}  AK {}  PNU {}  IND {}  PWE {}\n    {word}\n    PZD2 {}  PZD3 {}  PZD4 {}  PZD5 {}  PZD6 {}",
                t.address,
                t.ak,
                t.pnu,
                t.index,
                t.pwe,
                t.pzd[1],
                t.pzd[2],
                t.pzd[3],
                t.pzd[4],
                t.pzd[5]
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use labdeck_core::link::Chunk;
    use labdeck_protocol::turbovac::{AccessCode, ControlWord};

    /// A chunk `ms` after one moment shared by every call: the delays
    /// between chunks are exactly what the test says.
    fn chunk(dir: Direction, bytes: &[u8], ms: u64) -> Chunk {
        static BASE: std::sync::OnceLock<Timestamp> = std::sync::OnceLock::new();
        let base = *BASE.get_or_init(Timestamp::now);
        Chunk {
            link: "pump".into(),
            epoch: 1,
            dir,
            t: Timestamp {
                mono: base.mono + std::time::Duration::from_millis(ms),
                ..base
            },
            bytes: Bytes::copy_from_slice(bytes),
        }
    }

    #[test]
    fn a_whole_telegram_fits_eighty_columns() {
        let poll = Telegram::query(ControlWord::RUN.0, AccessCode::Read, 24, 0, 0).encode();
        let dump = hex_dump(&poll);
        assert_eq!(dump.lines().count(), 2);
        assert!(dump.lines().all(|l| l.chars().count() <= 80), "{dump}");
        // Every byte is there, in order.
        let bytes: Vec<String> = dump
            .lines()
            .flat_map(|l| {
                l.split('|')
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .skip(1)
            })
            .map(String::from)
            .collect();
        let expected: Vec<String> = poll.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(bytes, expected, "{dump}");
    }

    #[test]
    fn a_reply_shows_its_request_and_checksum() {
        let mut t = Traffic::new(100);
        t.set_framing("pump".into(), Framing::UssTelegrams);
        let poll = Telegram::query(ControlWord::RUN.0, AccessCode::Read, 24, 0, 0).encode();
        let mut reply = poll;
        reply[23] ^= 0x5a;
        t.push(&chunk(Direction::Tx, &poll, 0));
        t.push(&chunk(Direction::Rx, &reply, 7));
        let rows = t.visible();
        let text = t.frame_text(&rows[1], |_| "t".into());
        assert!(text.contains("reply to  frame 0"), "{text}");
        assert!(text.contains("7.0 ms before"), "{text}");
        assert!(text.contains("CHECKSUM ERROR"), "{text}");
        let text = t.frame_text(&rows[0], |_| "t".into());
        assert!(text.contains("BCC") && text.contains("correct"), "{text}");
        assert!(text.contains("PNU 24"), "{text}");
    }
}
