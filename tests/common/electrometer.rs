//! `labdeck sim electrometer` as a real process: the address from its
//! first stdout line, commands on its stdin.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct EmProcess {
    child: Child,
    stdin: ChildStdin,
    pub address: SocketAddr,
    pub lines: mpsc::Receiver<String>,
}

impl EmProcess {
    pub fn start(args: &[&str]) -> Self {
        let (child, stdin, lines) = super::spawn_with_lines(
            Command::new(env!("CARGO_BIN_EXE_labdeck"))
                .args(["sim", "electrometer"])
                .args(args),
            "labdeck sim electrometer",
        );
        let first = lines
            .recv_timeout(super::LIMIT)
            .expect("the simulator prints its address");
        let address = first
            .parse()
            .unwrap_or_else(|_| panic!("not an address: {first:?}"));
        Self {
            child,
            stdin,
            address,
            lines,
        }
    }

    /// A stdin command (`fault drop on`, …).
    pub fn command(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
    }

    /// Wait for a stdout line containing `needle`.
    pub fn expect_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + super::LIMIT;
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!("no stdout line with {needle:?}; saw:\n{}", seen.join("\n"));
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.address).expect("connect");
        stream.set_nodelay(true).unwrap();
        stream
    }
}

impl Drop for EmProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What came back: the bytes, and whether the server closed.
#[derive(Debug)]
pub struct Received {
    pub bytes: Vec<u8>,
    pub closed: bool,
}

/// Read until `enough` bytes arrived and then `quiet` passed without more,
/// or until EOF, or until `limit`.
pub fn receive(
    stream: &mut TcpStream,
    enough: usize,
    quiet: Duration,
    limit: Duration,
) -> Received {
    let start = Instant::now();
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 65_536];
    let mut last = Instant::now();
    loop {
        let wait = if bytes.len() >= enough {
            quiet.saturating_sub(last.elapsed())
        } else {
            limit.saturating_sub(start.elapsed())
        };
        if wait.is_zero() {
            return Received {
                bytes,
                closed: false,
            };
        }
        stream.set_read_timeout(Some(wait)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => {
                return Received {
                    bytes,
                    closed: true,
                };
            }
            Ok(n) => {
                bytes.extend_from_slice(&buf[..n]);
                last = Instant::now();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if bytes.len() >= enough || start.elapsed() >= limit {
                    return Received {
                        bytes,
                        closed: false,
                    };
                }
            }
            Err(_) => {
                return Received {
                    bytes,
                    closed: true,
                };
            }
        }
    }
}
