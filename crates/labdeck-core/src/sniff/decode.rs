//! Frames in a sniffed byte stream: USS telegrams (checksum checked, each
//! reply paired with its request), SCPI lines (queries paired with their
//! replies), text lines, or the chunks as they came. Pure: chunks in,
//! frames out.

use std::collections::VecDeque;
use std::str::FromStr;
use std::time::Duration;

use labdeck_protocol::turbovac::{DiscardReason, FrameEvent, TELEGRAM_LEN, TelegramFramer};
use serde::{Deserialize, Serialize};

use crate::link::{Chunk, Direction};
use crate::time::Timestamp;

/// How a sniffed link's bytes are cut into frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decode {
    /// 24-byte TURBOVAC USS telegrams.
    Uss,
    /// LF-terminated SCPI lines; a query (`?`) is answered by the next line.
    Scpi,
    /// LF-terminated text lines.
    Text,
    /// Every chunk as it came.
    #[default]
    None,
}

impl FromStr for Decode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "uss" => Ok(Self::Uss),
            "scpi" => Ok(Self::Scpi),
            "text" => Ok(Self::Text),
            "none" => Ok(Self::None),
            _ => Err("expected uss, scpi, text or none".into()),
        }
    }
}

/// What a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameKind {
    /// A whole telegram with a good checksum.
    Telegram,
    /// A terminated line (terminator included in the bytes).
    Line,
    /// A chunk, undecoded.
    Chunk,
    /// Bytes that are not a frame: garbage, or a telegram whose BCC is wrong.
    Invalid,
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// 1, 2, 3… over both directions, in the order the frames completed.
    pub seq: u64,
    pub dir: Direction,
    /// When the chunk that completed the frame crossed the sniffer.
    #[serde(serialize_with = "unix_seconds")]
    pub t: Timestamp,
    pub kind: FrameKind,
    #[serde(serialize_with = "crate::link::serde_hex::serialize")]
    pub bytes: Vec<u8>,
    /// For an invalid frame: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// For a reply: the request it answers, and how long it took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<u64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "millis",
        rename = "latency_ms"
    )]
    pub latency: Option<Duration>,
}

fn unix_seconds<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(t.unix())
}

#[allow(clippy::ref_option)] // serde's `serialize_with` passes `&Option`
fn millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64() * 1e3),
        None => s.serialize_none(),
    }
}

/// A request waiting for its reply.
#[derive(Debug, Clone, Copy)]
struct Pending {
    seq: u64,
    t: Timestamp,
}

/// Cuts both directions of one link into frames.
#[derive(Debug)]
pub struct Decoder {
    decode: Decode,
    seq: u64,
    uss: [TelegramFramer; 2],
    held: [Vec<u8>; 2],
    lines: [Vec<u8>; 2],
    /// Requests (program→device) not answered yet, oldest first.
    pending: VecDeque<Pending>,
}

/// Longest line held while waiting for its terminator; longer ones are
/// cut, so a stream without newlines cannot grow the decoder.
const MAX_LINE: usize = 4096;
/// Requests remembered for pairing; older unanswered ones are forgotten.
const MAX_PENDING: usize = 64;

impl Decoder {
    pub fn new(decode: Decode) -> Self {
        Self {
            decode,
            seq: 0,
            uss: [TelegramFramer::new(), TelegramFramer::new()],
            held: [Vec::new(), Vec::new()],
            lines: [Vec::new(), Vec::new()],
            pending: VecDeque::new(),
        }
    }

    pub fn decode(&self) -> Decode {
        self.decode
    }

    /// The frames a chunk completes.
    pub fn push(&mut self, chunk: &Chunk) -> Vec<Frame> {
        let mut out = Vec::new();
        match self.decode {
            Decode::None => {
                let frame = self.frame(chunk, FrameKind::Chunk, chunk.bytes.to_vec(), None);
                out.push(frame);
            }
            Decode::Uss => self.push_uss(chunk, &mut out),
            Decode::Scpi | Decode::Text => self.push_lines(chunk, &mut out),
        }
        out
    }

    fn push_uss(&mut self, chunk: &Chunk, out: &mut Vec<Frame>) {
        let at = side(chunk.dir);
        self.uss[at].push(&chunk.bytes);
        // The framer keeps counts, not bytes: the held bytes are mirrored
        // here so an invalid frame can show what was dropped.
        self.held[at].extend_from_slice(&chunk.bytes);
        // Consecutive discards are one invalid frame: the framer drops a
        // byte at a time while it looks for the next telegram.
        let mut invalid: Option<(Vec<u8>, DiscardReason)> = None;
        while let Some(event) = self.uss[at].next_event() {
            match event {
                FrameEvent::Discarded { bytes, reason } => {
                    let dropped: Vec<u8> = self.held[at].drain(..bytes).collect();
                    let (kept, first) = invalid.get_or_insert((Vec::new(), reason));
                    kept.extend_from_slice(&dropped);
                    if reason == DiscardReason::BadBcc {
                        *first = reason;
                    }
                }
                FrameEvent::Frame(telegram) => {
                    self.held[at].drain(..TELEGRAM_LEN);
                    if let Some((bytes, reason)) = invalid.take() {
                        let frame = self.frame(chunk, FrameKind::Invalid, bytes, Some(reason));
                        out.push(frame);
                    }
                    let bytes = telegram.encode().to_vec();
                    out.push(self.frame(chunk, FrameKind::Telegram, bytes, None));
                }
            }
        }
        if let Some((bytes, reason)) = invalid {
            out.push(self.frame(chunk, FrameKind::Invalid, bytes, Some(reason)));
        }
    }

    fn push_lines(&mut self, chunk: &Chunk, out: &mut Vec<Frame>) {
        let mut rest: &[u8] = &chunk.bytes;
        while !rest.is_empty() {
            let held = &mut self.lines[side(chunk.dir)];
            let room = MAX_LINE - held.len();
            let take = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1)
                .min(room);
            held.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if held.last() == Some(&b'\n') || held.len() >= MAX_LINE {
                let line = std::mem::take(held);
                let frame = self.frame(chunk, FrameKind::Line, line, None);
                out.push(frame);
            }
        }
    }

    /// Number a frame and pair it: program→device frames that expect a
    /// reply are remembered, device→program frames answer the oldest.
    fn frame(
        &mut self,
        chunk: &Chunk,
        kind: FrameKind,
        bytes: Vec<u8>,
        reason: Option<DiscardReason>,
    ) -> Frame {
        self.seq += 1;
        let mut frame = Frame {
            seq: self.seq,
            dir: chunk.dir,
            t: chunk.t,
            kind,
            bytes,
            reason: reason.map(DiscardReason::describe),
            reply_to: None,
            latency: None,
        };
        if !self.pairs(&frame) {
            return frame;
        }
        match chunk.dir {
            Direction::Tx => {
                if self.pending.len() == MAX_PENDING {
                    self.pending.pop_front();
                }
                self.pending.push_back(Pending {
                    seq: frame.seq,
                    t: frame.t,
                });
            }
            Direction::Rx => {
                // Replies come in the order of the requests (a program may
                // send several before the first reply); a request left
                // unanswered for longer than the protocol allows is
                // forgotten, so it cannot shift the pairs after it.
                let window = self.reply_window();
                while let Some(request) = self.pending.pop_front() {
                    let waited = frame.t.mono.checked_duration_since(request.t.mono);
                    if waited.is_some_and(|w| w > window) {
                        continue;
                    }
                    frame.reply_to = Some(request.seq);
                    frame.latency = Some(waited.unwrap_or_default());
                    break;
                }
            }
        }
        frame
    }

    /// How long a reply may take: a TURBOVAC answers within milliseconds
    /// (P180 at most 0.5 s); an SCPI measurement may integrate for seconds.
    fn reply_window(&self) -> Duration {
        match self.decode {
            Decode::Uss => Duration::from_millis(500),
            _ => Duration::from_secs(10),
        }
    }

    /// Whether a frame takes part in request/reply pairing.
    fn pairs(&self, frame: &Frame) -> bool {
        match (self.decode, frame.kind) {
            (Decode::Uss, FrameKind::Telegram) => true,
            (Decode::Scpi, FrameKind::Line) => {
                frame.dir == Direction::Rx || frame.bytes.contains(&b'?')
            }
            _ => false,
        }
    }
}

fn side(dir: Direction) -> usize {
    match dir {
        Direction::Tx => 0,
        Direction::Rx => 1,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use labdeck_protocol::turbovac::{AccessCode, Telegram};

    use super::*;

    fn chunk(dir: Direction, bytes: &[u8]) -> Chunk {
        Chunk {
            link: Arc::from("pump"),
            epoch: 0,
            dir,
            t: Timestamp::now(),
            bytes: Bytes::copy_from_slice(bytes),
        }
    }

    fn query(pnu: u16) -> [u8; TELEGRAM_LEN] {
        Telegram::query(0x0401, AccessCode::Read, pnu, 0, 0).encode()
    }

    fn kinds(frames: &[Frame]) -> Vec<(u64, Direction, FrameKind, Option<u64>)> {
        frames
            .iter()
            .map(|f| (f.seq, f.dir, f.kind, f.reply_to))
            .collect()
    }

    #[test]
    fn uss_replies_pair_with_their_requests_across_split_chunks() {
        use Direction::*;
        use FrameKind::*;
        let mut d = Decoder::new(Decode::Uss);
        let request = query(3);
        let reply = query(3); // any good telegram in the other direction
        assert!(d.push(&chunk(Direction::Tx, &request[..10])).is_empty());
        let mut frames = d.push(&chunk(Direction::Tx, &request[10..]));
        frames.extend(d.push(&chunk(Direction::Rx, &reply)));
        assert_eq!(
            kinds(&frames),
            vec![(1, Tx, Telegram, None), (2, Rx, Telegram, Some(1))]
        );
        assert_eq!(frames[0].bytes, request);
        assert!(frames[1].latency.is_some());
    }

    #[test]
    fn a_bad_checksum_is_one_invalid_frame_with_its_bytes_and_no_reply_expected() {
        let mut d = Decoder::new(Decode::Uss);
        let mut bad = query(3);
        bad[23] ^= 0xff;
        let good = query(24);
        let mut both = bad.to_vec();
        both.extend_from_slice(&good);
        let frames = d.push(&chunk(Direction::Tx, &both));
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0].kind, FrameKind::Invalid);
        assert_eq!(frames[0].reason, Some("BCC mismatch"));
        assert_eq!(frames[0].bytes, bad);
        assert_eq!(frames[1].kind, FrameKind::Telegram);
        let reply = d.push(&chunk(Direction::Rx, &good));
        assert_eq!(reply[0].reply_to, Some(2));
    }

    #[test]
    fn pipelined_requests_pair_in_order_and_a_stale_one_is_skipped() {
        let mut d = Decoder::new(Decode::Uss);
        let start = Timestamp::now();
        let at = |ms: u64| start.at(start.mono + Duration::from_millis(ms));
        let mut push = |dir, pnu, t| {
            let mut c = chunk(dir, &query(pnu));
            c.t = t;
            d.push(&c).remove(0)
        };
        let unanswered = push(Direction::Tx, 1, at(0));
        let a = push(Direction::Tx, 2, at(1000));
        let b = push(Direction::Tx, 3, at(1001));
        let reply_a = push(Direction::Rx, 2, at(1002));
        let reply_b = push(Direction::Rx, 3, at(1003));
        assert_eq!(reply_a.reply_to, Some(a.seq));
        assert_eq!(reply_b.reply_to, Some(b.seq));
        assert_eq!(reply_a.latency, Some(Duration::from_millis(2)));
        assert_ne!(reply_a.reply_to, Some(unanswered.seq));
    }

    #[test]
    fn a_reply_nobody_asked_for_pairs_with_nothing() {
        let mut d = Decoder::new(Decode::Uss);
        let frames = d.push(&chunk(Direction::Rx, &query(1)));
        assert_eq!(frames[0].reply_to, None);
    }

    #[test]
    fn scpi_queries_pair_in_order_and_commands_expect_nothing() {
        use Direction::*;
        use FrameKind::*;
        let mut d = Decoder::new(Decode::Scpi);
        let mut frames = d.push(&chunk(Direction::Tx, b"*RST\n*IDN?\nREAD?\n"));
        frames.extend(d.push(&chunk(Direction::Rx, b"KEITHLEY\r\n+1.0E-12")));
        frames.extend(d.push(&chunk(Direction::Rx, b"\n")));
        assert_eq!(
            kinds(&frames),
            vec![
                (1, Tx, Line, None),
                (2, Tx, Line, None),
                (3, Tx, Line, None),
                (4, Rx, Line, Some(2)),
                (5, Rx, Line, Some(3)),
            ]
        );
        assert_eq!(frames[4].bytes, b"+1.0E-12\n");
    }

    #[test]
    fn text_lines_are_bounded_and_none_passes_chunks() {
        let mut d = Decoder::new(Decode::Text);
        let frames = d.push(&chunk(Direction::Rx, &vec![b'x'; MAX_LINE + 10]));
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].bytes.len(), MAX_LINE);
        let mut d = Decoder::new(Decode::None);
        let frames = d.push(&chunk(Direction::Tx, b"ab"));
        assert_eq!(
            (frames[0].kind, frames[0].bytes.as_slice()),
            (FrameKind::Chunk, &b"ab"[..])
        );
        assert_eq!("uss".parse::<Decode>(), Ok(Decode::Uss));
        assert!("xml".parse::<Decode>().is_err());
    }
}
