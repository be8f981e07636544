//! `labdeck serve` as a real process: events on stdout, commands on stdin,
//! clean exit on `quit` and on SIGTERM/SIGINT.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Serve {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    /// Lines before this index came before the last command was sent.
    mark: usize,
    _dir: tempfile::TempDir,
}

impl Serve {
    fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("lab.toml");
        std::fs::write(&config, common::pump_config("compat", "")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_labdeck"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start labdeck serve");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
            mark: 0,
            _dir: dir,
        }
    }

    fn send(&mut self, line: &str) {
        self.mark = self.seen.len();
        writeln!(self.stdin, "{line}").unwrap();
    }

    /// Wait for a line containing `needle` printed since the last command
    /// was sent (a reply may follow the events it caused); returns it.
    fn expect(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen[self.mark..].iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + common::LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn wait(mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "labdeck did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
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

#[test]
fn serve_prints_events_and_answers_commands() {
    // Every update, so the short acceleration phase cannot be throttled away.
    let mut serve = Serve::start(&["--all-updates"]);
    serve.expect("link     port: connecting -> connected (opened /dev/pts/");
    serve.send("pump pump on");
    serve.expect("ok: pump switched on");
    serve.expect("property pump.motion = accelerating [Ok]");
    serve.send("fault sim no-reply on");
    serve.expect("fault    sim: no-reply on");
    serve.expect("link     port: connected -> recovering (link lost: no reply within 0.3 s");
    serve.expect("ALARM    port (link): no reply within 0.3 s");
    serve.send("fault sim no-reply off");
    serve.expect("link     port: connecting -> connected");
    // Once the link stays up, the alarm clears.
    serve.expect("cleared  port (link): no reply within 0.3 s");
    serve.send("frobnicate");
    serve.expect("error: unknown command \"frobnicate\" (try 'help')");
    serve.send("quit");
    serve.expect("ok: quit");
    assert!(serve.wait().success());
}

#[test]
fn serve_speaks_json_lines() {
    let mut serve = Serve::start(&["--json"]);
    let line = serve.expect("\"event\":\"transition\"");
    let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(value["connection"], "port");
    serve.send("get pump.nothing");
    let line = serve.expect("\"event\":\"reply\"");
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["reply"]["success"], false);
    serve.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(serve.wait().success());
}

#[test]
fn ctrl_c_shuts_down_cleanly() {
    let mut serve = Serve::start(&[]);
    serve.expect("-> connected");
    serve.signal(nix::sys::signal::Signal::SIGINT);
    serve.expect("port: connected -> torn-down (teardown requested)");
    assert!(serve.wait().success());
}
