//! What labdeck in front of a port costs: the round trip of a status
//! telegram through `labdeck sniff` and through `labdeck rfc2217`, each
//! against a simulator reached directly in the same run, and a stream at
//! 115 200 baud's byte rate relayed both ways by the sniffer without loss.
//!
//! `cargo bench --bench relays [-- [ROUNDS]]`
//!
//! Two `labdeck sim turbovac` processes (compat profile): one reached
//! directly, one behind `labdeck sniff --decode uss --capture` (a sniffer
//! holds its device exclusively). Rounds interleave the two paths, and
//! the ratio through/direct is taken per round:
//!
//! 1. raw: a blocking client on the pty writes turboctl's status query
//!    (24 bytes) and reads the 24-byte reply, `PER_ROUND` times per path;
//! 2. turboctl: turboctl's own `api.status()` (benches/turboctl_client.py,
//!    the §14.1 method with its 0–20 ms random gaps), when the venv has it.
//!
//! RFC 2217: a third simulator behind `labdeck rfc2217`; a blocking TCP
//! client sends the same query (no 255 in it, so no escaping) and reads
//! until 24 payload bytes have been decoded, interleaved with the raw
//! direct round trips.
//!
//! The stream: a TCP listener on 127.0.0.1 stands for the device; 11 520
//! bytes/s (115 200 baud, 8N1) of a counting pattern go through the
//! sniffer each way for `STREAM_SECONDS`, and every byte is checked.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use labdeck_protocol::rfc2217::{TelnetDecoder, TelnetEvent};
use nix::fcntl::{OFlag, open};
use nix::sys::stat::Mode;
use nix::sys::termios::{self, BaudRate, SetArg, SpecialCharacterIndices};

const PER_ROUND: usize = 200;
const TELEGRAM: usize = 24;
const STREAM_SECONDS: u64 = 5;
const BAUD_BYTES_PER_S: usize = 11_520;

/// turboctl's `api.status()` query: control word 0x0400, no parameter.
const STATUS: [u8; TELEGRAM] = {
    let mut t = [0u8; TELEGRAM];
    t[0] = 0x02;
    t[1] = 0x16;
    t[11] = 0x04;
    let mut bcc = 0u8;
    let mut i = 0;
    while i < TELEGRAM - 1 {
        bcc ^= t[i];
        i += 1;
    }
    t[TELEGRAM - 1] = bcc;
    t
};

/// A labdeck subcommand whose first stdout line is its port; killed on drop.
struct Labdeck {
    child: Child,
    port: String,
}

impl Labdeck {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_labdeck"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start labdeck");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).expect("read") == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        // Keep reading so the process never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self {
            child,
            port: String::from_utf8(line).expect("utf-8 port"),
        }
    }
}

impl Drop for Labdeck {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

fn open_raw(path: &str) -> OwnedFd {
    let fd = open(
        Path::new(path),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        Mode::empty(),
    )
    .expect("open");
    let mut attrs = termios::tcgetattr(&fd).expect("tcgetattr");
    termios::cfmakeraw(&mut attrs);
    termios::cfsetspeed(&mut attrs, BaudRate::B19200).expect("speed");
    attrs.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    attrs.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    termios::tcsetattr(&fd, SetArg::TCSANOW, &attrs).expect("tcsetattr");
    fd
}

fn write_all(fd: impl AsFd + Copy, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let n = nix::unistd::write(fd, bytes).expect("write");
        bytes = &bytes[n..];
    }
}

fn round_trip(fd: &OwnedFd) -> Duration {
    let mut reply = [0u8; TELEGRAM];
    let start = Instant::now();
    write_all(fd, &STATUS);
    let mut got = 0;
    while got < TELEGRAM {
        got += nix::unistd::read(fd, &mut reply[got..]).expect("read");
    }
    start.elapsed()
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn summary(ratios: &mut [f64]) -> String {
    ratios.sort_by(f64::total_cmp);
    format!(
        "{:.3} (min {:.3}, max {:.3})",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    )
}

/// Interleaved rounds of `direct` and `through`; prints both and their
/// per-round ratio under `label`.
fn compare(
    label: &str,
    rounds: usize,
    mut direct: impl FnMut() -> Duration,
    mut through: impl FnMut() -> Duration,
) {
    for _ in 0..50 {
        direct();
        through();
    }
    let (mut all_direct, mut all_through, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut d: Vec<Duration> = (0..PER_ROUND).map(|_| direct()).collect();
        let mut t: Vec<Duration> = (0..PER_ROUND).map(|_| through()).collect();
        ratios.push(median(&mut t).as_secs_f64() / median(&mut d).as_secs_f64());
        all_direct.extend(d);
        all_through.extend(t);
    }
    for (name, samples) in [("direct", &mut all_direct), ("through", &mut all_through)] {
        println!(
            "{label} {name:<7}: median {}  p10 {}  p90 {}  p99 {}  (n={})",
            micros(median(samples)),
            micros(percentile(samples, 0.1)),
            micros(percentile(samples, 0.9)),
            micros(percentile(samples, 0.99)),
            samples.len()
        );
    }
    let added = median(&mut all_through).saturating_sub(median(&mut all_direct));
    println!(
        "{label} through/direct per round: {}; added (medians): {}",
        summary(&mut ratios),
        micros(added)
    );
}

/// A client of `labdeck rfc2217`: the query out, 24 payload bytes back.
struct Rfc2217Client {
    socket: TcpStream,
    decoder: TelnetDecoder,
}

impl Rfc2217Client {
    fn connect(address: &str) -> Self {
        let socket = TcpStream::connect(address).expect("connect");
        socket.set_nodelay(true).expect("nodelay");
        Self {
            socket,
            decoder: TelnetDecoder::new(),
        }
    }

    fn round_trip(&mut self) -> Duration {
        let start = Instant::now();
        self.socket.write_all(&STATUS).expect("write");
        let mut got = 0;
        let mut buf = [0u8; 256];
        while got < TELEGRAM {
            let n = self.socket.read(&mut buf).expect("read");
            assert!(n > 0, "the server closed");
            for event in self.decoder.push(&buf[..n]) {
                if let TelnetEvent::Data(data) = event {
                    got += data.len();
                }
            }
        }
        start.elapsed()
    }
}

/// turboctl's own client, `n` queries, as `median` in ms.
fn turboctl(python: &Path, port: &str, n: usize) -> Option<f64> {
    let out = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/turboctl_client.py"))
        .arg(port)
        .arg(n.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1)?.parse().ok()
}

fn turboctl_round_trips(direct: &str, sniffed: &str, rounds: usize) {
    let python = std::env::var_os("LABDECK_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"),
        Into::into,
    );
    if turboctl(&python, direct, 5).is_none() {
        println!("turboctl: skipped ({} has no turboctl)", python.display());
        return;
    }
    let (mut d_all, mut s_all, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (Some(d), Some(s)) = (
            turboctl(&python, direct, 50),
            turboctl(&python, sniffed, 50),
        ) else {
            println!("turboctl: a run failed");
            return;
        };
        ratios.push(s / d);
        d_all.push(d);
        s_all.push(s);
    }
    d_all.sort_by(f64::total_cmp);
    s_all.sort_by(f64::total_cmp);
    println!(
        "turboctl api.status(): direct median of medians {:.3} ms, sniffed {:.3} ms; through/direct per round: {}",
        d_all[d_all.len() / 2],
        s_all[s_all.len() / 2],
        summary(&mut ratios)
    );
}

/// The counting pattern's byte at position `i`.
fn pattern(i: usize, salt: u8) -> u8 {
    (i % 251) as u8 ^ salt
}

fn stream() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let sniffer = Labdeck::start(&["sniff", &address]);
    let (mut device, _) = listener.accept().expect("the sniffer connects");
    let program = open_raw(&sniffer.port);
    let total = BAUD_BYTES_PER_S * STREAM_SECONDS as usize;
    let tick = Duration::from_millis(10);
    let per_tick = BAUD_BYTES_PER_S / 100;

    // device → program, paced, from its own thread.
    let mut device_out = device.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sent = 0;
        while sent < total {
            let n = per_tick.min(total - sent);
            let chunk: Vec<u8> = (sent..sent + n).map(|i| pattern(i, 0x55)).collect();
            device_out.write_all(&chunk).expect("device write");
            sent += n;
            let due = tick * (sent / per_tick) as u32;
            std::thread::sleep(due.saturating_sub(start.elapsed()));
        }
    });
    // program → device, paced; both directions read on their own.
    let program_writer = program.try_clone().expect("dup");
    let writer = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sent = 0;
        while sent < total {
            let n = per_tick.min(total - sent);
            let chunk: Vec<u8> = (sent..sent + n).map(|i| pattern(i, 0)).collect();
            write_all(&program_writer, &chunk);
            sent += n;
            let due = tick * (sent / per_tick) as u32;
            std::thread::sleep(due.saturating_sub(start.elapsed()));
        }
    });
    let reader = std::thread::spawn(move || {
        let mut got = 0;
        let mut wrong = 0;
        let mut buf = [0u8; 4096];
        while got < total {
            let n = device.read(&mut buf).expect("device read");
            if n == 0 {
                break;
            }
            wrong += buf[..n]
                .iter()
                .enumerate()
                .filter(|&(k, &b)| b != pattern(got + k, 0))
                .count();
            got += n;
        }
        (got, wrong)
    });
    let started = Instant::now();
    let (mut got, mut wrong) = (0, 0);
    let mut buf = [0u8; 4096];
    while got < total {
        let n = nix::unistd::read(&program, &mut buf).expect("program read");
        wrong += buf[..n]
            .iter()
            .enumerate()
            .filter(|&(k, &b)| b != pattern(got + k, 0x55))
            .count();
        got += n;
    }
    let to_program = (got, wrong, started.elapsed());
    sender.join().expect("sender");
    writer.join().expect("writer");
    let to_device = reader.join().expect("reader");
    println!(
        "stream at 115200 baud's byte rate, {STREAM_SECONDS} s each way at once: device→program {} of {total} bytes, {} wrong, in {:.2} s; program→device {} of {total} bytes, {} wrong",
        to_program.0,
        to_program.1,
        to_program.2.as_secs_f64(),
        to_device.0,
        to_device.1
    );
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let capture = tempfile::NamedTempFile::new().expect("temp file");
    let direct = Labdeck::start(&["sim", "turbovac", "--profile", "compat"]);
    let behind = Labdeck::start(&["sim", "turbovac", "--profile", "compat"]);
    let sniffer = Labdeck::start(&[
        "sniff",
        &behind.port,
        "--decode",
        "uss",
        "--capture",
        capture.path().to_str().expect("utf-8 path"),
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let served = Labdeck::start(&["sim", "turbovac", "--profile", "compat"]);
    let server = Labdeck::start(&["rfc2217", &served.port]);
    std::thread::sleep(Duration::from_millis(300));
    println!("relays: {rounds} rounds of {PER_ROUND} raw round trips per path");
    {
        let (plain, sniffed) = (open_raw(&direct.port), open_raw(&sniffer.port));
        compare(
            "sniff",
            rounds,
            || round_trip(&plain),
            || round_trip(&sniffed),
        );
    }
    turboctl_round_trips(&direct.port, &sniffer.port, rounds);
    drop(sniffer);
    {
        let plain = open_raw(&direct.port);
        let mut client = Rfc2217Client::connect(&server.port);
        compare(
            "rfc2217",
            rounds,
            || round_trip(&plain),
            || client.round_trip(),
        );
    }
    stream();
}
