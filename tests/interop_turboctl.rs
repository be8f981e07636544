//! The real turboctl client (Python, University of Helsinki) against
//! `labdeck sim turbovac`: the byte-level vector check and a scripted CLI
//! session from `../shared/interop`. Needs a Python with turboctl
//! (`LABDECK_PYTHON`, default `.venv/bin/python`); skipped with a message
//! when missing, unless `LABDECK_REQUIRE_INTEROP=1` (set by `.ci/run`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Tools {
    python: PathBuf,
    turboctl: PathBuf,
    interop: PathBuf,
}

fn tools() -> Option<Tools> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("LABDECK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    let interop = std::env::var_os("LABDECK_INTEROP")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/interop"));
    let has_turboctl = Command::new(&python)
        .args(["-c", "import turboctl"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let missing = if !has_turboctl {
        Some(format!(
            "turboctl is missing ({} cannot import it)",
            python.display()
        ))
    } else if !interop.join("turboctl_check.py").is_file() {
        Some(format!(
            "the interop scripts are missing ({})",
            interop.display()
        ))
    } else {
        None
    };
    if let Some(why) = missing {
        if std::env::var_os("LABDECK_REQUIRE_INTEROP").is_some() {
            panic!("interop test required but {why}");
        }
        eprintln!(
            "SKIPPED: turboctl interop test: {why}; install with `python3 -m venv .venv && .venv/bin/pip install turboctl`"
        );
        return None;
    }
    let turboctl = python.with_file_name("turboctl");
    Some(Tools {
        python,
        turboctl,
        interop,
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

fn run(mut command: Command) -> (bool, String) {
    let out = command.output().expect("run check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
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
