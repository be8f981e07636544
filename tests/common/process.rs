//! A labdeck subcommand as a child process (`sim`, `sniff`): its first
//! stdout line (the path or address it offers), then every further line
//! collected as it comes; stopped with SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::LIMIT;

pub struct Process {
    child: Child,
    /// The first stdout line, trimmed.
    pub first: String,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
    stderr: Arc<Mutex<String>>,
}

impl Process {
    /// `labdeck ARGS…`, once it has printed its first line.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_labdeck"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start labdeck");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("first line");
        assert!(!first.is_empty(), "labdeck {args:?} printed nothing");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = lines.clone();
        let out = std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().expect("stderr");
        let kept = stderr.clone();
        let errs = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            kept.lock().unwrap().push_str(&text);
        });
        Self {
            child,
            first: first.trim().to_string(),
            lines,
            readers: vec![out, errs],
            stderr,
        }
    }

    /// The stdout lines after the first, so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Wait until a line satisfies `found`; false after [`LIMIT`].
    pub fn wait_for(&self, found: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + LIMIT;
        while Instant::now() < deadline {
            if self.lines().iter().any(|l| found(l)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stop (SIGTERM) and return all stdout lines after the first, and stderr.
    pub fn stop(mut self) -> (Vec<String>, String) {
        self.terminate();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        let stderr = self.stderr.lock().unwrap().clone();
        (self.lines(), stderr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn terminate(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.terminate();
    }
}
