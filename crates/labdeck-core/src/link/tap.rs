//! The traffic tap: every TX and RX chunk of a link, timestamped, in a
//! bounded ring (for scrollback) and on the event bus (for live views).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Framing;
use super::ring::ChunkRing;
use crate::publish::Publisher;
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Written by us.
    Tx,
    /// Received from the peer.
    Rx,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tx => "TX",
            Self::Rx => "RX",
        }
    }
}

/// Bytes that crossed a link in one read or one write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub link: Arc<str>,
    /// Connection epoch the chunk belongs to.
    pub epoch: u64,
    pub dir: Direction,
    pub t: Timestamp,
    /// Space-separated hex on the wire.
    #[serde(serialize_with = "hex_bytes", deserialize_with = "bytes_from_hex")]
    pub bytes: Bytes,
}

impl Chunk {
    /// Space-separated lowercase hex.
    pub fn hex(&self) -> String {
        hex_string(&self.bytes)
    }
}

pub fn hex_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// `02 16 00`, as [`hex_string`] writes it (spaces optional).
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

fn hex_bytes<S: Serializer>(bytes: &Bytes, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex_string(bytes))
}

fn bytes_from_hex<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
    serde_hex::deserialize(d).map(Bytes::from)
}

/// Bytes as space-separated hex on the wire.
pub mod serde_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ptr_arg)] // serde's `serialize_with` passes `&Vec<u8>`
    pub fn serialize<S: Serializer>(bytes: &Vec<u8>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::hex_string(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_hex(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not hex bytes: {text:?}")))
    }
}

/// Byte and chunk counters of a tap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TapCounters {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub chunks: u64,
    /// Chunks pushed out of the ring by newer ones.
    pub evicted: u64,
}

/// How much history a tap keeps: whichever limit is reached first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingLimits {
    pub chunks: usize,
    /// Payload plus a small record per chunk.
    pub bytes: usize,
}

impl RingLimits {
    /// At most `chunks` chunks, with no byte limit to speak of.
    pub fn chunks(chunks: usize) -> Self {
        Self {
            chunks,
            bytes: usize::MAX,
        }
    }
}

/// Records the traffic of one link. Cloning shares the recording.
#[derive(Debug, Clone)]
pub struct TrafficTap {
    inner: Arc<TapInner>,
}

#[derive(Debug)]
struct TapInner {
    link: Arc<str>,
    ring: Mutex<ChunkRing>,
    rx_bytes: AtomicU64,
    tx_bytes: AtomicU64,
    chunks: AtomicU64,
    evicted: AtomicU64,
    out: Publisher<Chunk>,
    /// How the bytes come in frames, when the tap says (a sniffer's);
    /// a link's taps frame as their device does.
    framing: Option<Framing>,
    /// Further takers of every chunk (capture files), lossless, by id.
    mirrors: Mutex<Vec<(u64, Publisher<Chunk>)>>,
    next_mirror: AtomicU64,
}

impl TrafficTap {
    /// A tap keeping at most `limits` of history.
    pub fn new(link: Arc<str>, limits: RingLimits, out: Publisher<Chunk>) -> Self {
        Self::framed(link, limits, out, None)
    }

    /// A tap that says how its bytes come in frames, for views that
    /// decode them.
    pub fn framed(
        link: Arc<str>,
        limits: RingLimits,
        out: Publisher<Chunk>,
        framing: Option<Framing>,
    ) -> Self {
        Self {
            inner: Arc::new(TapInner {
                link,
                ring: Mutex::new(ChunkRing::new(limits.chunks, limits.bytes)),
                rx_bytes: AtomicU64::new(0),
                tx_bytes: AtomicU64::new(0),
                chunks: AtomicU64::new(0),
                evicted: AtomicU64::new(0),
                out,
                framing,
                mirrors: Mutex::new(Vec::new()),
                next_mirror: AtomicU64::new(1),
            }),
        }
    }

    pub fn link(&self) -> &Arc<str> {
        &self.inner.link
    }

    pub fn framing(&self) -> Option<Framing> {
        self.inner.framing
    }

    /// Stamp and record a chunk; returns it for the caller to pass on.
    pub fn record(&self, epoch: u64, dir: Direction, bytes: Bytes) -> Chunk {
        let inner = &self.inner;
        let counter = match dir {
            Direction::Rx => &inner.rx_bytes,
            Direction::Tx => &inner.tx_bytes,
        };
        counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        inner.chunks.fetch_add(1, Ordering::Relaxed);
        let chunk = Chunk {
            link: inner.link.clone(),
            epoch,
            dir,
            t: Timestamp::now(),
            bytes,
        };
        {
            let mut ring = inner
                .ring
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let evicted = ring.push(&chunk);
            inner.evicted.fetch_add(evicted, Ordering::Relaxed);
        }
        inner.out.publish(chunk.clone());
        for (_, mirror) in inner
            .mirrors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            mirror.publish(chunk.clone());
        }
        chunk
    }

    /// Also hand every chunk from now on to `mirror`, until
    /// [`unmirror`](Self::unmirror) with the id returned. Unlike the bus,
    /// which drops for slow readers, a mirror gets every chunk.
    pub fn mirror(&self, mirror: Publisher<Chunk>) -> u64 {
        let id = self.inner.next_mirror.fetch_add(1, Ordering::Relaxed);
        self.mirrors().push((id, mirror));
        id
    }

    pub fn unmirror(&self, id: u64) {
        self.mirrors().retain(|(mine, _)| *mine != id);
    }

    fn mirrors(&self) -> std::sync::MutexGuard<'_, Vec<(u64, Publisher<Chunk>)>> {
        self.inner
            .mirrors
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A copy of the recorded history, oldest first.
    pub fn history(&self) -> Vec<Chunk> {
        let ring = self
            .inner
            .ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ring.chunks(&self.inner.link)
    }

    /// What the ring holds now: chunks, and bytes counted against its limit.
    pub fn kept(&self) -> (usize, usize) {
        let ring = self
            .inner
            .ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (ring.len(), ring.used())
    }

    pub fn counters(&self) -> TapCounters {
        let inner = &self.inner;
        TapCounters {
            rx_bytes: inner.rx_bytes.load(Ordering::Relaxed),
            tx_bytes: inner.tx_bytes.load(Ordering::Relaxed),
            chunks: inner.chunks.load(Ordering::Relaxed),
            evicted: inner.evicted.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::publish::Publish;

    /// Keeps what it is given.
    #[derive(Debug, Default)]
    struct Kept(Mutex<Vec<Chunk>>);

    impl Publish<Chunk> for Kept {
        fn publish(&self, chunk: Chunk) {
            self.0.lock().unwrap().push(chunk);
        }
    }

    #[test]
    fn ring_is_bounded_and_counts() {
        let kept = Arc::new(Kept::default());
        let tap = TrafficTap::new("l".into(), RingLimits::chunks(2), kept.clone());
        for n in 0..3u8 {
            tap.record(1, Direction::Tx, Bytes::from(vec![n; 3]));
        }
        tap.record(1, Direction::Rx, Bytes::from_static(b"\x02\x16"));
        let history = tap.history();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].hex(), "02 16");
        let c = tap.counters();
        assert_eq!((c.tx_bytes, c.rx_bytes, c.chunks, c.evicted), (9, 2, 4, 2));
        assert_eq!(kept.0.lock().unwrap().len(), 4);
        assert_eq!(parse_hex("02 16 ff"), Some(vec![2, 0x16, 0xff]));
        assert_eq!(parse_hex("0"), None);
    }
}
