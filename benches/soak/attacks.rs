//! Bad peers and the good client that watches them: blocking sockets on
//! threads of their own, so the lab's runtime does nothing for them; the
//! bad peers in a process of their own, from another address.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Connected to the INDI server, with everything it sent at first read.
fn indi_client(address: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    stream.write_all(b"<getProperties version='1.7'/>")?;
    Ok(stream)
}

/// Read until `needle` has arrived (or the time is up); whether it did.
fn read_until(stream: &mut TcpStream, needle: &[u8], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut seen: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = stream.set_read_timeout(Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) => return false,
            Err(e) => {
                if !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) {
                    eprintln!(
                        "read_until: {e} after {:?}",
                        deadline.saturating_duration_since(Instant::now())
                    );
                }
                return false;
            }
            Ok(n) => {
                // Keep only a tail long enough for a needle split across reads.
                seen.extend_from_slice(&buf[..n]);
                if seen.windows(needle.len()).any(|w| w == needle) {
                    return true;
                }
                let keep = seen.len().saturating_sub(needle.len());
                seen.drain(..keep);
            }
        }
    }
    false
}

/// Ping round trips of a client that asked for everything, one every
/// 10 ms, for `window`; the latencies, and pings never answered.
pub fn ping_latencies(address: SocketAddr, window: Duration) -> (Vec<Duration>, u32) {
    let mut stream = match indi_client(address) {
        Ok(stream) => stream,
        Err(e) => {
            println!("  the good client cannot connect: {e}");
            return (Vec::new(), 1);
        }
    };
    // The definitions first.
    read_until(&mut stream, b"\x00", Duration::from_millis(500));
    let (mut latencies, mut unanswered) = (Vec::new(), 0);
    let end = Instant::now() + window;
    let mut uid = 0u64;
    while Instant::now() < end {
        uid += 1;
        let sent = Instant::now();
        let ping = format!("<pingRequest uid='{uid}'/>");
        if let Err(e) = stream.write_all(ping.as_bytes()) {
            eprintln!("ping write: {e}");
            unanswered += 1;
            break;
        }
        let reply = format!("<pingReply uid=\"{uid}\"");
        if read_until(&mut stream, reply.as_bytes(), Duration::from_secs(5)) {
            latencies.push(sent.elapsed());
        } else {
            eprintln!("ping {uid} from {:?} unanswered", stream.local_addr().ok());
            unanswered += 1;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (latencies, unanswered)
}

/// How long a bad peer waits before it connects again.
const RETRY: Duration = Duration::from_millis(100);

/// Where bad peers connect from: another host, as far as the server can
/// tell, so the per-address limit holds them and not the good clients.
const ATTACKER: [u8; 4] = [127, 0, 0, 2];

/// A connection from [`ATTACKER`].
fn attacker_connect(address: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((ATTACKER, 0)).into())?;
    socket.connect(&address.into())?;
    Ok(socket.into())
}

/// The kinds of bad peer, by the name the child process is given.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `<getProperties ` and then bytes without end.
    Unterminated,
    /// Connect and say nothing until closed.
    Silent,
    /// `getProperties` again and again, never reading.
    Flood,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Unterminated => "unterminated",
            Self::Silent => "silent",
            Self::Flood => "flood",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Unterminated, Self::Silent, Self::Flood]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// One connection's life; whether the server closed it.
    fn peer(self, address: SocketAddr, stop: &AtomicBool) -> bool {
        let Ok(mut stream) = attacker_connect(address) else {
            return false;
        };
        match self {
            Self::Unterminated => {
                let _ = stream.write_all(b"<getProperties ");
                let filler = [b'a'; 4096];
                while !stop.load(Ordering::Relaxed) {
                    if stream.write_all(&filler).is_err() {
                        return true;
                    }
                }
            }
            Self::Silent => {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    match stream.read(&mut buf) {
                        Ok(0) => return true,
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => return true,
                    }
                }
            }
            Self::Flood => {
                let ask = "<getProperties version='1.7'/>".repeat(100);
                while !stop.load(Ordering::Relaxed) {
                    if stream.write_all(ask.as_bytes()).is_err() {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// Bad peers in a child process of their own (this binary again, with
/// `--attacker KIND PEERS ADDRESS`), so that nothing they allocate counts
/// in the lab's memory. Closing the child's stdin stops them.
pub struct Attack {
    child: Child,
}

impl Attack {
    pub fn start(kind: Kind, peers: usize, address: SocketAddr) -> Self {
        let child = Command::new(std::env::current_exe().expect("this binary"))
            .args([
                "--attacker",
                kind.name(),
                &peers.to_string(),
                &address.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the attackers' process");
        Self { child }
    }

    /// Stop; how many times peers were dropped.
    pub fn stop(mut self) -> u64 {
        drop(self.child.stdin.take());
        let mut told = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut told);
        }
        let _ = self.child.wait();
        told.trim().parse().unwrap_or(0)
    }
}

/// The child's side of [`Attack`]: `KIND PEERS ADDRESS` from the command
/// line; runs until stdin closes, then prints how many times peers were
/// dropped.
pub fn attacker_main(mut words: impl Iterator<Item = String>) -> std::process::ExitCode {
    let kind = words.next().as_deref().and_then(Kind::from_name);
    let peers = words.next().and_then(|w| w.parse::<usize>().ok());
    let address = words.next().and_then(|w| w.parse::<SocketAddr>().ok());
    let (Some(kind), Some(peers), Some(address)) = (kind, peers, address) else {
        eprintln!("usage: soak --attacker unterminated|silent|flood PEERS ADDRESS");
        return std::process::ExitCode::FAILURE;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicU64::new(0));
    let threads: Vec<JoinHandle<()>> = (0..peers)
        .map(|_| {
            let (stop, dropped) = (stop.clone(), dropped.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if kind.peer(address, &stop) {
                        dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    // A script that is cut off tries again, not at once.
                    std::thread::sleep(RETRY);
                }
            })
        })
        .collect();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        let _ = thread.join();
    }
    println!("{}", dropped.load(Ordering::Relaxed));
    std::process::ExitCode::SUCCESS
}

/// Fresh clients during an attack: one a second asks for everything and
/// must get a definition within 2 s; (served, tried).
pub fn fresh_clients(address: SocketAddr, window: Duration) -> (u32, u32) {
    let (mut served, mut tried) = (0, 0);
    let end = Instant::now() + window;
    while Instant::now() < end {
        tried += 1;
        if let Ok(mut stream) = indi_client(address)
            && read_until(&mut stream, b"<defSwitchVector", Duration::from_secs(2))
        {
            served += 1;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    (served, tried)
}

/// Clients that connect, ask `*IDN?`, read the answer, close and come
/// back at once; how many were refused (closed unanswered).
pub fn back_to_back(address: SocketAddr, clients: u32) -> u32 {
    let mut refused = 0;
    for _ in 0..clients {
        let answered = TcpStream::connect(address).is_ok_and(|mut stream| {
            stream.write_all(b"*IDN?\n").is_ok()
                && read_until(&mut stream, b"\n", Duration::from_secs(2))
        });
        if !answered {
            refused += 1;
        }
    }
    refused
}
