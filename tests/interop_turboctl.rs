//! The real turboctl client (Python, University of Helsinki) against
//! `labdeck sim turbovac`: the byte-level vector check and a scripted CLI
//! session from `../shared/interop`. Needs a Python with turboctl
//! (`LABDECK_PYTHON`, default `.venv/bin/python`); skipped with a message
//! when missing, unless `LABDECK_REQUIRE_INTEROP=1` (set by `.ci/run`).

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::interop::run;

struct Tools {
    python: PathBuf,
    turboctl: PathBuf,
    interop: PathBuf,
}

fn tools() -> Option<Tools> {
    let tools = common::interop::tools(
        "turboctl",
        &["turboctl"],
        "turboctl_check.py",
        "python3 -m venv .venv && .venv/bin/pip install turboctl",
    )?;
    Some(Tools {
        turboctl: tools.python.with_file_name("turboctl"),
        python: tools.python,
        interop: tools.interop,
    })
}

/// A fresh `labdeck sim turbovac`; stopped (SIGTERM) on drop.
struct Sim {
    child: Child,
    port: String,
}

impl Sim {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_labdeck"))
            .args(["sim", "turbovac", "--profile", "compat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start labdeck sim");
        let stdout = child.stdout.take().expect("stdout");
        let mut port = String::new();
        BufReader::new(stdout)
            .read_line(&mut port)
            .expect("port line");
        let port = port.trim().to_string();
        assert!(
            port.starts_with("/dev/pts/"),
            "first line should be the port, got {port:?}"
        );
        Self { child, port }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

#[test]
fn turboctl_vector_check_passes_including_the_differs_group() {
    let Some(tools) = tools() else { return };
    let sim = Sim::start();
    let mut check = Command::new(&tools.python);
    check
        .arg(tools.interop.join("turboctl_check.py"))
        .arg(&sim.port)
        .args(["--extended", "--quiet"]);
    let (ok, out) = run(check);
    assert!(
        ok && out.contains("OVERALL PASS (47 passed, 0 failed)"),
        "{out}"
    );
}

#[test]
fn turboctl_command_line_session_passes_twice_on_one_port() {
    let Some(tools) = tools() else { return };
    let sim = Sim::start();
    for round in 1..=2 {
        // The second round opens the port again: the pty must not be left
        // at 19200 8E1 (EINVAL on reopen, specs/turbovac.md §11).
        let mut check = Command::new("bash");
        check
            .arg(tools.interop.join("turboctl_cli_check.sh"))
            .arg(&sim.port)
            .env("TURBOCTL", &tools.turboctl);
        let (ok, out) = run(check);
        assert!(ok && out.contains("OVERALL PASS"), "round {round}:\n{out}");
        // Let the rotor of the first round come to rest.
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}
