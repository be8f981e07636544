//! What the console costs an operator over SSH: bytes written to the
//! terminal per second and CPU of the whole process, with the demo running,
//! measured through a real pty.
//!
//! `cargo bench --bench console_load [-- SECONDS]` (default 10 s per window).
//! Windows: idle with the pump off, the ramp after switching it on, and the
//! steady state at speed (polled at 10 Hz). The baseline in the same run is
//! what repainting the whole screen at the same frame rate would cost.

// Benchmarks set socket buffers, CPU affinity and read clock ticks
// through libc.
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

struct Console {
    child: Box<dyn portable_pty::Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    bytes: Arc<AtomicU64>,
    screen: Arc<Mutex<vt100::Parser>>,
    pid: u32,
    _dir: tempfile::TempDir,
}

impl Console {
    fn start(rows: u16, cols: u16) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_labdeck"));
        cmd.cwd(dir.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env("LANG", "C.UTF-8");
        cmd.env("XDG_CONFIG_HOME", dir.path());
        cmd.env("XDG_STATE_HOME", dir.path());
        let child = pty.slave.spawn_command(cmd).expect("spawn labdeck");
        drop(pty.slave);
        let pid = child.process_id().expect("pid");
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let bytes = Arc::new(AtomicU64::new(0));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(rows).expect("rows"),
            NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let (count, sink) = (bytes.clone(), screen.clone());
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                count.fetch_add(n as u64, Ordering::Relaxed);
                sink.lock().expect("screen").process(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            bytes,
            screen,
            pid,
            _dir: dir,
        }
    }

    fn wait_for(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self
            .screen
            .lock()
            .expect("screen")
            .screen()
            .contents()
            .contains(needle)
        {
            assert!(Instant::now() < deadline, "never saw {needle:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn press(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("write");
        self.writer.flush().expect("flush");
    }

    /// utime + stime of the process, in seconds.
    fn cpu(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).expect("proc stat");
        // Fields after the command name, which is in parentheses.
        let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 =
            fields[11].parse::<f64>().unwrap_or(0.0) + fields[12].parse::<f64>().unwrap_or(0.0);
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        ticks / hz
    }

    /// Bytes per second and CPU share of one core over `secs`.
    fn window(&self, secs: f64) -> (f64, f64) {
        let (b0, c0, t0) = (
            self.bytes.load(Ordering::Relaxed),
            self.cpu(),
            Instant::now(),
        );
        std::thread::sleep(Duration::from_secs_f64(secs));
        let elapsed = t0.elapsed().as_secs_f64();
        let bytes = (self.bytes.load(Ordering::Relaxed) - b0) as f64 / elapsed;
        let cpu = (self.cpu() - c0) / elapsed * 100.0;
        (bytes, cpu)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.press(b"qy");
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
    }
}

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10.0);
    println!(
        "windows of {secs} s; demo config (pump polled at 10 Hz); bytes/s read from the pty master"
    );
    println!(
        "{:<34} {:>12} {:>12} {:>10}",
        "window", "bytes/s", "full repaint", "CPU % core"
    );
    for (rows, cols) in [(40u16, 120u16), (24, 80)] {
        let mut console = Console::start(rows, cols);
        console.wait_for("connected", Duration::from_secs(20));
        std::thread::sleep(Duration::from_secs(2));
        // A full repaint of every cell at the 10 Hz the data changes at:
        // what a naive redraw would cost (≈ 1 byte per cell plus styling).
        let repaint = f64::from(rows) * f64::from(cols) * 10.0;
        let (bytes, cpu) = console.window(secs);
        println!(
            "{:<34} {:>12.0} {:>12.0} {:>10.2}",
            format!("{cols}x{rows} idle, pump off"),
            bytes,
            repaint,
            cpu
        );
        console.press(b"o");
        let (bytes, cpu) = console.window(secs);
        println!(
            "{:<34} {:>12.0} {:>12.0} {:>10.2}",
            format!("{cols}x{rows} ramping up"),
            bytes,
            repaint,
            cpu
        );
        if rows >= 30 {
            console.wait_for("at speed", Duration::from_secs(60));
        } else {
            // Tabs: the properties pane shows the motion.
            console.press(b"3");
            console.wait_for("at speed", Duration::from_secs(60));
            console.press(b"1");
        }
        std::thread::sleep(Duration::from_secs(1));
        let (bytes, cpu) = console.window(secs);
        println!(
            "{:<34} {:>12.0} {:>12.0} {:>10.2}",
            format!("{cols}x{rows} steady, pump at speed"),
            bytes,
            repaint,
            cpu
        );
    }
}
