//! The measuring clients: the spec's counting client, a client that reads
//! nothing, and a one-request-at-a-time round-trip client.

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{RoundTripPath, Running, stats};

const GET_PROPERTIES: &[u8] = b"<getProperties version=\"1.7\"/>\n";
const SET: &[u8] = b"<setNumberVector";
/// How long to wait for the first update before calling it zero.
const FIRST_WITHIN: Duration = Duration::from_secs(10);

fn receive_buffer(stream: &TcpStream, bytes: i32) {
    // SAFETY: setsockopt on a socket we own with a pointer to a live int.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw const bytes).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        );
    }
}

pub struct Counted {
    pub messages: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl Counted {
    pub fn rate(&self) -> f64 {
        if self.elapsed.is_zero() {
            return 0.0;
        }
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    pub fn bytes_per_message(&self) -> f64 {
        self.bytes as f64 / self.messages.max(1) as f64
    }
}

fn count(haystack: &[u8]) -> u64 {
    haystack.windows(SET.len()).filter(|w| *w == SET).count() as u64
}

/// Count `<setNumberVector` for `window` from the first one (matches split
/// across reads included), with a 4 MB receive buffer.
pub fn count_sets(addr: SocketAddr, window: Duration) -> Counted {
    let mut stream = TcpStream::connect(addr).expect("connect");
    receive_buffer(&stream, 4 << 20);
    stream.write_all(GET_PROPERTIES).expect("getProperties");
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let connected = Instant::now();
    let mut first: Option<Instant> = None;
    let mut counted = Counted {
        messages: 0,
        bytes: 0,
        elapsed: Duration::ZERO,
    };
    let mut buf = vec![0u8; 256 * 1024];
    // The tail of the previous read, for a marker split across reads.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        match first {
            Some(t) if t.elapsed() >= window => break,
            None if connected.elapsed() >= FIRST_WITHIN => break,
            _ => {}
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => continue,
            Err(_) => break,
        };
        carry.extend_from_slice(&buf[..n]);
        let found = count(&carry);
        if found > 0 && first.is_none() {
            first = Some(Instant::now());
        }
        if first.is_some() {
            counted.messages += found;
            counted.bytes += n as u64;
        }
        let keep = carry.len().min(SET.len() - 1);
        carry.drain(..carry.len() - keep);
    }
    counted.elapsed = first.map_or(Duration::ZERO, |t| t.elapsed().min(window));
    counted
}

pub struct TenClients {
    pub healthy: Vec<f64>,
    pub rss_before_mb: f64,
    pub rss_peak_mb: f64,
    /// The server's log says it cut a client off.
    pub stalled_dropped: bool,
}

impl TenClients {
    pub fn healthy_summary(&self) -> String {
        let min = self.healthy.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.healthy.iter().copied().fold(0.0, f64::max);
        format!(
            "{} ({}..{})",
            stats::thousands(stats::percentile(&self.healthy, 0.5)),
            stats::thousands(min),
            stats::thousands(max)
        )
    }

    pub fn stalled_word(&self) -> &'static str {
        if self.stalled_dropped {
            "dropped"
        } else {
            "kept"
        }
    }
}

/// Ten clients: counting ones and, with `stalled`, one that connects,
/// asks for everything and never reads. The server's resident memory is
/// sampled meanwhile.
pub fn ten_clients(server: &Running, window: Duration, stalled: bool) -> TenClients {
    let addr = server.addr();
    let rss_before_mb = server.rss_mb();
    let stalled = stalled.then(|| {
        let mut stream = TcpStream::connect(addr).expect("connect");
        receive_buffer(&stream, 4096);
        stream.write_all(GET_PROPERTIES).expect("getProperties");
        stream
    });
    let healthy: Vec<_> = (0..10 - usize::from(stalled.is_some()))
        .map(|_| std::thread::spawn(move || count_sets(addr, window).rate()))
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let mut rss_peak_mb = rss_before_mb;
    while !done.load(Ordering::Relaxed) {
        rss_peak_mb = rss_peak_mb.max(server.rss_mb());
        std::thread::sleep(Duration::from_millis(50));
        if healthy.iter().all(std::thread::JoinHandle::is_finished) {
            done.store(true, Ordering::Relaxed);
        }
    }
    let healthy = healthy.into_iter().map(|h| h.join().unwrap()).collect();
    drop(stalled);
    TenClients {
        healthy,
        rss_before_mb,
        rss_peak_mb,
        stalled_dropped: server.dropped_a_slow_client(),
    }
}

fn new_vector(path: &RoundTripPath, value: f64) -> Vec<u8> {
    let mut xml = format!(
        "<newNumberVector device=\"{}\" name=\"{}\">\n<oneNumber name=\"{}\">{value}</oneNumber>\n",
        path.device, path.vector, path.member
    );
    for (member, v) in path.others {
        let _ = writeln!(xml, "<oneNumber name=\"{member}\">{v}</oneNumber>");
    }
    xml.push_str("</newNumberVector>\n");
    xml.into_bytes()
}

/// The member's value in a complete `setNumberVector` of the path's vector.
fn member_value(element: &str, path: &RoundTripPath) -> Option<f64> {
    let open = &element[..element.find('>')?];
    if !open.contains(&format!("name=\"{}\"", path.vector)) {
        return None;
    }
    let at = element.find(&format!("<oneNumber name=\"{}\"", path.member))?;
    let rest = &element[at..];
    let text = &rest[rest.find('>')? + 1..];
    text[..text.find('<')?].trim().parse().ok()
}

/// One client connection read as text.
struct Conversation {
    stream: TcpStream,
    pending: String,
    buf: Vec<u8>,
    label: &'static str,
}

impl Conversation {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    fn read_more(&mut self) {
        let n = self
            .stream
            .read(&mut self.buf)
            .unwrap_or_else(|e| panic!("{}: no answer: {e}", self.label));
        assert!(n > 0, "{} closed the connection", self.label);
        self.pending
            .push_str(&String::from_utf8_lossy(&self.buf[..n]));
    }

    /// Read until a complete `setNumberVector` of the path's vector carries
    /// `value`; everything before it is dropped.
    fn wait_for_set(&mut self, path: &RoundTripPath, value: f64) {
        const CLOSE: &str = "</setNumberVector>";
        loop {
            while let Some(end) = self.pending.find(CLOSE) {
                let element_end = end + CLOSE.len();
                let start = self.pending[..end].rfind("<setNumberVector").unwrap_or(0);
                let hit = member_value(&self.pending[start..element_end], path)
                    .is_some_and(|v| (v - value).abs() < 1e-6 * value.abs().max(1.0));
                self.pending.drain(..element_end);
                if hit {
                    return;
                }
            }
            self.read_more();
        }
    }
}

/// Round trips in ms: send a `new`, wait for the `set` carrying the value
/// sent (each value differs from the last), one request outstanding.
pub fn round_trips(addr: SocketAddr, path: &RoundTripPath, n: usize) -> Vec<f64> {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut talk = Conversation {
        stream,
        pending: String::new(),
        buf: vec![0u8; 64 * 1024],
        label: path.label,
    };
    talk.send(
        format!(
            "<getProperties version=\"1.7\" device=\"{}\" name=\"{}\"/>\n",
            path.device, path.vector
        )
        .as_bytes(),
    );
    while !talk.pending.contains("</defNumberVector>") {
        talk.read_more();
    }
    talk.pending.clear();
    let warm_up = 50;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + warm_up {
        let value = path.first + (i % 400) as f64;
        let request = new_vector(path, value);
        let started = Instant::now();
        talk.send(&request);
        talk.wait_for_set(path, value);
        if i >= warm_up {
            samples.push(started.elapsed().as_secs_f64() * 1e3);
        }
    }
    samples
}
