//! The real binary in a pseudo-terminal, its screen parsed with vt100.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

pub const LIMIT: Duration = Duration::from_secs(20);

/// Records what the program asked the terminal for besides drawing.
#[derive(Default)]
pub struct Recorder {
    pub titles: Vec<String>,
    pub bells: usize,
}

impl vt100::Callbacks for Recorder {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles
            .push(String::from_utf8_lossy(title).into_owned());
    }

    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }
}

pub struct Console {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    pub screen: Arc<Mutex<vt100::Parser<Recorder>>>,
    pub dir: tempfile::TempDir,
}

impl Console {
    pub fn start(rows: u16, cols: u16) -> Self {
        Self::start_with(rows, cols, "xterm-256color")
    }

    pub fn start_with(rows: u16, cols: u16, term: &str) -> Self {
        Self::start_args(rows, cols, term, &[])
    }

    /// The demo with `args`; its INDI server on a free port, so consoles
    /// started side by side do not compete for 7624 (the loser would
    /// rightly raise an alarm).
    pub fn start_args(rows: u16, cols: u16, term: &str, args: &[&str]) -> Self {
        let mut all = vec!["--indi-port", "0"];
        all.extend_from_slice(args);
        Self::spawn(rows, cols, term, &all)
    }

    pub fn spawn(rows: u16, cols: u16, term: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_labdeck"));
        cmd.args(args);
        cmd.cwd(dir.path());
        cmd.env("TERM", term);
        cmd.env("LANG", "C.UTF-8");
        cmd.env("XDG_CONFIG_HOME", dir.path());
        cmd.env("XDG_DATA_HOME", dir.path());
        cmd.env("XDG_STATE_HOME", dir.path());
        cmd.env("XDG_STATE_HOME", dir.path());
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("spawn labdeck");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new_with_callbacks(
            NonZeroU16::new(rows).unwrap(),
            NonZeroU16::new(cols).unwrap(),
            0,
            Recorder::default(),
        )));
        let sink = screen.clone();
        // Keep draining, or the child blocks on a full pty.
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            screen,
            dir,
        }
    }

    pub fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Wait until the screen shows `needle` (one needle at a time: a frame
    /// can be half drawn when sampled).
    pub fn wait_for(&self, needle: &str) {
        self.wait_for_within(needle, LIMIT);
    }

    pub fn wait_for_within(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self.contents().contains(needle) {
                return;
            }
            assert!(
                Instant::now() <= deadline,
                "screen never showed {needle:?}; it shows:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until a row of one pane has `words` in this order (columns
    /// are as wide as their cells and come and go with the width, so
    /// spacing and the columns between vary).
    pub fn wait_for_row(&self, words: &[&str]) {
        let deadline = Instant::now() + LIMIT;
        while !self.has_row(words) {
            assert!(
                Instant::now() <= deadline,
                "no row with {words:?}; the screen shows:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn has_row(&self, words: &[&str]) -> bool {
        let border = |c: char| ('\u{2500}'..='\u{257f}').contains(&c);
        self.contents()
            .lines()
            .flat_map(|line| line.split(border).map(str::to_string).collect::<Vec<_>>())
            .any(|pane_row| {
                let mut row = pane_row
                    .split(|c: char| c.is_whitespace() || c == '▸')
                    .filter(|w| !w.is_empty());
                words.iter().all(|word| row.any(|w| w == *word))
            })
    }

    pub fn press(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).unwrap();
        self.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }

    /// End the console as a dropped SSH session or `kill -9` would.
    pub fn kill(&mut self, signal: nix::sys::signal::Signal) {
        if let Some(pid) = self.child.process_id() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
        }
        let deadline = Instant::now() + LIMIT;
        while matches!(self.child.try_wait(), Ok(None)) {
            assert!(Instant::now() < deadline, "the console outlived {signal}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader take the last bytes (terminal restore).
                std::thread::sleep(Duration::from_millis(200));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "labdeck did not exit:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
