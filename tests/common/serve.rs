//! `labdeck serve` as a real process: commands on stdin, events and
//! replies read line by line from stdout.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Serve {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Lines before this index came before the last command was sent.
    mark: usize,
    pub dir: tempfile::TempDir,
}

impl Serve {
    /// `labdeck serve --config` with this configuration text.
    pub fn start(config: &str, args: &[&str]) -> Self {
        Self::launch(&[], Some(config), args)
    }

    /// Run through `prefix` (e.g. `ip netns exec NS`); without a config
    /// the embedded demo runs (in an empty directory, no user config).
    pub fn launch(prefix: &[&str], config: Option<&str>, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = env!("CARGO_BIN_EXE_labdeck");
        let mut command = match prefix.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        command.arg("serve");
        if let Some(text) = config {
            let path = dir.path().join("lab.toml");
            std::fs::write(&path, text).unwrap();
            command.arg("--config").arg(&path);
        }
        let (child, stdin, lines) = super::spawn_with_lines(
            command
                .args(args)
                .current_dir(dir.path())
                .env("XDG_CONFIG_HOME", dir.path()),
            "labdeck serve",
        );
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            mark: 0,
            dir,
        }
    }

    /// Where it says its INDI server listens.
    pub fn indi_port(&mut self) -> u16 {
        let line = self.expect("INDI server listening on 127.0.0.1:");
        line.rsplit(':')
            .next()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn send(&mut self, line: &str) {
        self.mark = self.seen.len();
        writeln!(self.stdin, "{line}").unwrap();
    }

    /// Wait for a line containing `needle` printed since the last command
    /// was sent (a reply may follow the events it caused); returns it.
    pub fn expect(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen[self.mark..].iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + super::LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no line with {needle:?} ({e}); output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Send `line` until a line containing `needle` answers it.
    pub fn retry(&mut self, line: &str, needle: &str) -> String {
        let deadline = Instant::now() + super::LIMIT;
        loop {
            self.send(line);
            let end = Instant::now() + Duration::from_millis(500);
            while let Ok(got) = self
                .lines
                .recv_timeout(end.saturating_duration_since(Instant::now()))
            {
                self.seen.push(got.clone());
                if got.contains(needle) {
                    return got;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{line:?} never answered with {needle:?}; output so far:\n{}",
                self.seen[self.seen.len().saturating_sub(40)..].join("\n")
            );
        }
    }

    pub fn wait(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "labdeck did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, signal).unwrap();
    }
}

impl Drop for Serve {
    /// A failed test must not leave the process behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
