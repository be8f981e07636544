//! Real INDI programs nobody here wrote, over real sockets:
//! - Debian's `indi_getprop`, `indi_setprop` and `indi_eval` (and the
//!   shared `indi_smoke.sh`) against labdeck's INDI server in the demo;
//! - labdeck's INDI client against Debian's `indiserver` running
//!   `indi_simulator_telescope` and `indi_simulator_ccd`, inside a network
//!   namespace that has nothing but loopback (indiserver binds 0.0.0.0);
//! - indipyclient (PyPI) reading and setting a labdeck vector.
//!
//! Needs indi-bin, root for `ip netns`, and a Python with indipyclient;
//! skipped with a message when missing unless `LABDECK_REQUIRE_INTEROP=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::interop::run;
use common::serve::Serve;

/// Skip (or fail, when interop is required) with the reason.
fn missing(what: &str, why: &str) -> bool {
    assert!(
        std::env::var_os("LABDECK_REQUIRE_INTEROP").is_none(),
        "{what} interop test required but {why}"
    );
    eprintln!("SKIPPED: {what} interop test: {why}; install with `apt-get install indi-bin`");
    true
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn indi_tools(what: &str) -> bool {
    for tool in ["indi_getprop", "indi_setprop", "indi_eval", "indiserver"] {
        if !have(tool) {
            return !missing(what, &format!("{tool} is not installed"));
        }
    }
    true
}

/// The demo under `labdeck serve` with its INDI server on a free port.
fn demo(prefix: &[&str]) -> (Serve, u16) {
    let mut serve = Serve::launch(prefix, None, &["--indi-port", "0"]);
    let port = serve.indi_port();
    serve.expect("pump-port: connecting -> connected");
    (serve, port)
}

fn indi(tool: &str, port: u16, args: &[&str]) -> Command {
    let mut c = Command::new(tool);
    c.args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args);
    c
}

#[test]
fn debian_tools_list_and_drive_the_demo_devices() {
    if !indi_tools("Debian INDI tools") {
        return;
    }
    let (mut serve, port) = demo(&[]);

    let (ok, out) = run(indi(
        "indi_getprop",
        port,
        &["-t", "3", "pump1.*.*", "em1.*.*"],
    ));
    assert!(ok, "{out}");
    for line in [
        "pump1.CONNECTION.CONNECT=On",
        "pump1.SETPOINT.SETPOINT=",
        "pump1.FREQUENCY.FREQUENCY=",
        "em1.READING.READING=",
        "em1.FUNCTION.CURR=On",
    ] {
        assert!(out.contains(line), "{line} missing:\n{out}");
    }
    let (ok, out) = run(indi(
        "indi_getprop",
        port,
        &["-t", "3", "pump1.SETPOINT._PERM"],
    ));
    assert!(ok && out.contains("pump1.SETPOINT._PERM=rw"), "{out}");

    // indi_setprop changes the setpoint; the driver follows.
    let (ok, out) = run(indi(
        "indi_setprop",
        port,
        &["-n", "pump1.SETPOINT.SETPOINT=800"],
    ));
    assert!(ok, "{out}");
    serve.retry("get pump1.setpoint", "pump1.setpoint = 800 Hz");

    // indi_eval -w blocks until a labdeck value satisfies it.
    let mut eval = indi(
        "indi_eval",
        port,
        &["-t", "20", "-w", "\"pump1.SETPOINT.SETPOINT\" == 850"],
    )
    .spawn()
    .expect("indi_eval");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        eval.try_wait().unwrap().is_none(),
        "indi_eval returned before the change"
    );
    serve.send("set pump1.setpoint 850");
    serve.expect("ok: ");
    let status = wait_child(&mut eval, Duration::from_secs(20));
    assert!(status.success(), "indi_eval -w: {status}");

    // A simulator is an INDI device too: indi_setprop switches its fault,
    // the pump stops answering and its link goes to recovery.
    let (ok, out) = run(indi(
        "indi_getprop",
        port,
        &["-t", "3", "pump-sim.FAULTS.no-reply"],
    ));
    assert!(ok && out.contains("pump-sim.FAULTS.no-reply=Off"), "{out}");
    let (ok, out) = run(indi("indi_setprop", port, &["pump-sim.FAULTS.no-reply=On"]));
    assert!(ok, "{out}");
    serve.expect("pump-port: connected -> recovering");
    let (ok, out) = run(indi(
        "indi_setprop",
        port,
        &["pump-sim.FAULTS.no-reply=Off"],
    ));
    assert!(ok, "{out}");
    serve.expect("pump-port: connecting -> connected");

    // The shared smoke script: states, perms, a typed write round trip.
    let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/interop/indi_smoke.sh");
    if smoke.is_file() {
        let mut c = Command::new("bash");
        c.arg(smoke)
            .arg(port.to_string())
            .args(["pump1", "-n", "SETPOINT.SETPOINT=900"]);
        let (ok, out) = run(c);
        assert!(ok && out.contains("OVERALL PASS"), "{out}");
    }
    serve.send("quit");
    assert!(serve.wait().success());
}

#[test]
fn indipyclient_reads_and_sets_a_labdeck_vector() {
    let Some(tools) = common::interop::tools(
        "indipyclient",
        &["indipyclient"],
        "indi_raw.py",
        "python3 -m venv .venv && .venv/bin/pip install indipyclient",
    ) else {
        return;
    };
    let (mut serve, port) = demo(&[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/indipyclient_check.py");
    let mut c = Command::new(&tools.python);
    c.arg(script)
        .args(["127.0.0.1", &port.to_string()])
        .args(["pump1", "SETPOINT", "SETPOINT", "900"]);
    let (ok, out) = run(c);
    assert!(ok && out.contains("OVERALL PASS"), "{out}");
    serve.retry("get pump1.setpoint", "pump1.setpoint = 900 Hz");
}

/// A network namespace with only loopback up; removed on drop, after
/// the processes started in it.
struct Namespace {
    name: String,
    children: Vec<Child>,
}

impl Namespace {
    fn create() -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "labdeck-t{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ok(&["netns", "add", &name]) {
            return None;
        }
        let ns = Self {
            name,
            children: Vec::new(),
        };
        ok(&["-n", &ns.name, "link", "set", "lo", "up"]).then_some(ns)
    }

    fn prefix(&self) -> [&str; 4] {
        ["ip", "netns", "exec", &self.name]
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn wait_child(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the process did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `indi_getprop -1` of one element inside the namespace.
fn value(ns: &Namespace, element: &str) -> Option<String> {
    let out = ns
        .command("indi_getprop")
        .args(["-h", "127.0.0.1", "-p", "7624", "-t", "2", "-1", element])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn wait_value(ns: &Namespace, element: &str, want: &str) {
    let deadline = Instant::now() + common::LIMIT;
    loop {
        let got = value(ns, element);
        if got.as_deref() == Some(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{element} is {got:?}, not {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_client_shows_and_controls_indiserver_simulators() {
    if !indi_tools("indiserver") {
        return;
    }
    let Some(mut ns) = Namespace::create() else {
        missing("indiserver", "`ip netns add` failed (needs root)");
        return;
    };
    let run_dir = tempfile::tempdir().unwrap();
    let server = ns
        .command("indiserver")
        .args(["-p", "7624", "-u"])
        .arg(run_dir.path().join("indiserver"))
        .args(["indi_simulator_telescope", "indi_simulator_ccd"])
        // The simulators keep their settings in $HOME/.indi.
        .env("HOME", run_dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start indiserver");
    ns.children.push(server);
    let deadline = Instant::now() + common::LIMIT;
    while value(&ns, "CCD Simulator.CONNECTION.CONNECT").is_none() {
        assert!(Instant::now() < deadline, "indiserver did not come up");
        std::thread::sleep(Duration::from_millis(200));
    }

    let blobs: PathBuf = run_dir.path().join("blobs");
    let config = format!(
        "[[indi.remote]]\nname = \"sky\"\naddress = \"127.0.0.1:7624\"\nblob-dir = \"{}\"\n",
        blobs.display()
    );
    let mut serve = Serve::launch(&ns.prefix(), Some(&config), &["--no-indi"]);
    serve.retry("do sky devices", "CCD Simulator");

    // Every group of both simulators (definitions arrive in bursts).
    for group in [
        "(Telescope Simulator · Main Control)",
        "(Telescope Simulator · Connection)",
        "(Telescope Simulator · Options)",
        "(Telescope Simulator · Simulation)",
        "(CCD Simulator · Main Control)",
        "(CCD Simulator · Simulator Config)",
    ] {
        let filter = group.trim_matches(['(', ')']);
        serve.retry(&format!("props sky {filter}"), group);
    }

    // A number: the server, asked by Debian's own tool, has it.
    serve.send("set sky.Telescope_Simulator.TELESCOPE_INFO.TELESCOPE_APERTURE 150");
    serve.expect("ok: sky: sent");
    wait_value(
        &ns,
        "Telescope Simulator.TELESCOPE_INFO.TELESCOPE_APERTURE",
        "150",
    );
    serve.retry(
        "props sky TELESCOPE_APERTURE",
        "TELESCOPE_APERTURE = 150 [Ok]",
    );

    // CONNECTION: the simulator connects and defines its mount vectors.
    serve.send("set sky.Telescope_Simulator.CONNECTION.CONNECT on");
    serve.expect("ok: sky: sent");
    wait_value(&ns, "Telescope Simulator.CONNECTION.CONNECT", "On");
    serve.retry(
        "props sky EQUATORIAL_EOD_COORD",
        "Telescope_Simulator.EQUATORIAL_EOD_COORD.RA = ",
    );

    // BLOBs: a 64×48 frame, exposed for 0.1 s, saved as FITS.
    serve.send("set sky.CCD_Simulator.CONNECTION.CONNECT on");
    serve.expect("ok: sky: sent");
    // The frame takes sizes once the chip is known.
    serve.retry("props sky CCD_MAX_X", "CCD_INFO.CCD_MAX_X = 1280");
    serve.send("set sky.CCD_Simulator.BLOB_MODE also");
    serve.expect("ok: sky.CCD_Simulator.BLOB_MODE = Also");
    serve.send("set sky.CCD_Simulator.CCD_FRAME.WIDTH 64");
    serve.expect("ok: sky: sent");
    serve.retry("props sky CCD_FRAME.WIDTH", "CCD_FRAME.WIDTH = 64 [Ok]");
    serve.send("set sky.CCD_Simulator.CCD_FRAME.HEIGHT 48");
    serve.expect("ok: sky: sent");
    serve.retry("props sky CCD_FRAME.HEIGHT", "CCD_FRAME.HEIGHT = 48 [Ok]");
    serve.send("set sky.CCD_Simulator.CCD_EXPOSURE.CCD_EXPOSURE_VALUE 0.1");
    serve.expect("ok: sky: sent");
    let saved = serve.expect("CCD Simulator.CCD1.CCD1: saved");
    let files: Vec<PathBuf> = std::fs::read_dir(&blobs)
        .unwrap_or_else(|e| panic!("{}: {e} ({saved})", blobs.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].to_string_lossy().ends_with(".fits"));
    let fits = std::fs::read(&files[0]).unwrap();
    assert!(fits.starts_with(b"SIMPLE  ="), "not a FITS file");
    assert!(fits.len() >= 64 * 48 * 2, "{} bytes", fits.len());
    serve.send("quit");
    assert!(serve.wait().success());
}
