//! What the console costs an operator over SSH: bytes written to the
//! terminal per second and CPU of the whole process, with the demo running,
//! measured through a real pty.
//!
//! `cargo bench --bench console_load [-- SECONDS]` (default 30 s per window).
//! Windows: idle with the pump off, the whole ramp from switching it on
//! until the properties say "at speed", and the steady state at speed
//! (polled at 10 Hz). The baseline in the same run is
//! what repainting the whole screen at the same frame rate would cost.
//! Besides bytes and CPU of the whole process: the bursts of output read
//! from the pty master per second (about the console's writes), and the
//! CPU of each of its threads (the console on the main thread, devices
//! and simulators on `labdeck-devices`, the INDI server and the other
//! front-end actors on the tokio workers). At 120x40 the same windows run
//! a second time with the console attached to a daemon (`serve --listen`)
//! of its own, the CPU counted for both processes.

// Benchmarks set socket buffers, CPU affinity and read clock ticks
// through libc.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
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
    bursts: Arc<AtomicU64>,
    screen: Arc<Mutex<vt100::Parser>>,
    pid: u32,
    /// Attached: the daemon (`serve --listen`) the console talks to.
    daemon: Option<std::process::Child>,
    _dir: tempfile::TempDir,
}

impl Console {
    /// The demo console, embedded or attached to a daemon of its own.
    fn start(rows: u16, cols: u16, attached: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("lab.sock");
        let daemon = attached.then(|| {
            let child = std::process::Command::new(env!("CARGO_BIN_EXE_labdeck"))
                .args(["serve", "--indi-port", "0", "--listen"])
                .arg(&socket)
                .current_dir(dir.path())
                .env("XDG_CONFIG_HOME", dir.path())
                .env("XDG_STATE_HOME", dir.path())
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("spawn the daemon");
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::os::unix::net::UnixStream::connect(&socket).is_err() {
                assert!(Instant::now() < deadline, "the daemon never listened");
                std::thread::sleep(Duration::from_millis(50));
            }
            child
        });
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_labdeck"));
        if attached {
            cmd.arg("attach");
            cmd.arg(&socket);
        } else {
            cmd.args(["--indi-port", "0"]);
        }
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
        let bursts = Arc::new(AtomicU64::new(0));
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            NonZeroU16::new(rows).expect("rows"),
            NonZeroU16::new(cols).expect("cols"),
            0,
        )));
        let (count, reads, sink) = (bytes.clone(), bursts.clone(), screen.clone());
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                count.fetch_add(n as u64, Ordering::Relaxed);
                reads.fetch_add(1, Ordering::Relaxed);
                sink.lock().expect("screen").process(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            bytes,
            bursts,
            screen,
            pid,
            daemon,
            _dir: dir,
        }
    }

    fn wait_for(&self, needle: &str, limit: Duration) {
        self.wait_until(needle, limit, |screen| screen.contains(needle));
    }

    /// Until the row of `link` says `connected` as a word of its own (not
    /// `disconnected`, not `connecting`).
    fn wait_connected(&self, link: &str, limit: Duration) {
        self.wait_until(&format!("{link} connected"), limit, |screen| {
            screen.lines().any(|row| {
                row.contains(link) && row.split_whitespace().any(|word| word == "connected")
            })
        });
    }

    fn wait_until(&self, what: &str, limit: Duration, done: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(&self.screen.lock().expect("screen").screen().contents()) {
            assert!(Instant::now() < deadline, "never saw {what:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn press(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("write");
        self.writer.flush().expect("flush");
    }

    /// The console's process and, attached, the daemon's, with a label.
    fn processes(&self) -> Vec<(u32, &'static str)> {
        let mut all = vec![(self.pid, "")];
        all.extend(self.daemon.as_ref().map(|d| (d.id(), "daemon:")));
        all
    }

    /// utime + stime of the process (and the daemon's), in seconds.
    fn cpu(&self) -> f64 {
        self.processes()
            .iter()
            .filter_map(|(pid, _)| cpu_seconds(&format!("/proc/{pid}/stat")))
            .sum()
    }

    /// utime + stime of each thread, by thread name (threads of the same
    /// name added up; the daemon's prefixed `daemon:`).
    fn thread_cpu(&self) -> BTreeMap<String, f64> {
        let mut by_name = BTreeMap::new();
        for (pid, label) in self.processes() {
            let tasks = format!("/proc/{pid}/task");
            for task in std::fs::read_dir(&tasks).into_iter().flatten().flatten() {
                let dir = task.path();
                let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
                if let Some(secs) = cpu_seconds(&dir.join("stat").display().to_string()) {
                    *by_name
                        .entry(format!("{label}{}", name.trim()))
                        .or_insert(0.0) += secs;
                }
            }
        }
        by_name
    }

    fn window(&self, secs: f64) -> Window {
        self.window_while(|| std::thread::sleep(Duration::from_secs_f64(secs)))
    }

    /// A window that lasts until the screen shows `needle` (at most `limit`).
    fn window_until(&self, needle: &str, limit: Duration) -> Window {
        self.window_while(|| self.wait_for(needle, limit))
    }

    fn window_while(&self, wait: impl FnOnce()) -> Window {
        let (b0, r0, c0, threads0, t0) = (
            self.bytes.load(Ordering::Relaxed),
            self.bursts.load(Ordering::Relaxed),
            self.cpu(),
            self.thread_cpu(),
            Instant::now(),
        );
        wait();
        let elapsed = t0.elapsed().as_secs_f64();
        let share = |seconds: f64| seconds / elapsed * 100.0;
        Window {
            seconds: elapsed,
            bytes: (self.bytes.load(Ordering::Relaxed) - b0) as f64 / elapsed,
            bursts: (self.bursts.load(Ordering::Relaxed) - r0) as f64 / elapsed,
            cpu: share(self.cpu() - c0),
            threads: self
                .thread_cpu()
                .into_iter()
                .map(|(name, secs)| {
                    let before = threads0.get(&name).copied().unwrap_or(0.0);
                    (name, share(secs - before))
                })
                .collect(),
        }
    }
}

/// One measured window: bytes and bursts per second, CPU % of one core.
struct Window {
    seconds: f64,
    bytes: f64,
    bursts: f64,
    cpu: f64,
    threads: Vec<(String, f64)>,
}

impl Window {
    fn print(&self, label: &str, repaint: f64) {
        let threads: Vec<String> = self
            .threads
            .iter()
            .filter(|(_, cpu)| *cpu >= 0.05)
            .map(|(name, cpu)| format!("{name} {cpu:.2}"))
            .collect();
        println!(
            "{label:<40} {:>10.0} {:>8.1} {:>12.0} {:>10.2}   {}",
            self.bytes,
            self.bursts,
            repaint,
            self.cpu,
            threads.join(", ")
        );
    }
}

/// utime + stime from a `/proc/…/stat` file, in seconds.
fn cpu_seconds(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

impl Drop for Console {
    fn drop(&mut self) {
        self.press(b"qy");
        std::thread::sleep(Duration::from_millis(300));
        let _ = self.child.kill();
        if let Some(daemon) = &mut self.daemon {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}

fn main() {
    let secs: f64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30.0);
    println!(
        "windows of {secs} s; demo config (pump polled at 10 Hz); bytes/s and bursts/s read from the pty master"
    );
    println!(
        "{:<40} {:>10} {:>8} {:>12} {:>10}   CPU % of a core by thread",
        "window", "bytes/s", "bursts/s", "full repaint", "CPU %"
    );
    // The console attached to a daemon, beside the embedded one at 120x40:
    // the CPU is the console's and the daemon's together.
    for (rows, cols, attached) in [(40u16, 120u16, false), (40, 120, true), (24, 80, false)] {
        let how = if attached { " attached" } else { "" };
        let mut console = Console::start(rows, cols, attached);
        console.wait_connected("pump-port", Duration::from_secs(20));
        std::thread::sleep(Duration::from_secs(2));
        // A full repaint of every cell at the 10 Hz the data changes at:
        // what a naive redraw would cost (≈ 1 byte per cell plus styling).
        let repaint = f64::from(rows) * f64::from(cols) * 10.0;
        console
            .window(secs)
            .print(&format!("{cols}x{rows}{how} idle, pump off"), repaint);
        // Starting the pump asks first.
        console.press(b"o");
        console.wait_for("Switch pump1 on?", Duration::from_secs(5));
        console.press(b"y");
        if rows < 30 {
            // Tabs: the properties pane shows the motion.
            console.press(b"3");
        }
        // The whole ramp, from the switch to "at speed".
        let ramp = console.window_until("at speed", Duration::from_secs(90));
        ramp.print(
            &format!("{cols}x{rows}{how} ramping up ({:.0} s)", ramp.seconds),
            repaint,
        );
        if rows < 30 {
            console.press(b"1");
        }
        std::thread::sleep(Duration::from_secs(1));
        console.window(secs).print(
            &format!("{cols}x{rows}{how} steady, pump at speed"),
            repaint,
        );
    }
}
