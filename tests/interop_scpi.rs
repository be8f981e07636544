//! Real SCPI clients nobody here wrote against `labdeck sim electrometer`:
//! pyvisa with the pyvisa-py backend over `TCPIP0::127.0.0.1::PORT::SOCKET`
//! (`../shared/interop/scpi_smoke.py`), pymeasure's `Keithley6517B` through
//! a whole session (`tests/interop/pymeasure_keithley.py`), and pyvisa
//! against the `lsst` dialect as the LSST documentation uses it. Needs a
//! Python with pyvisa, pyvisa-py and pymeasure; skipped with a message when
//! missing unless `LABDECK_REQUIRE_INTEROP=1`.

mod common;

use std::path::Path;
use std::process::Command;

use common::electrometer::EmProcess;
use common::interop::{Tools, run};

fn tools() -> Option<Tools> {
    common::interop::tools(
        "pyvisa/pymeasure",
        &["pyvisa", "pyvisa_py", "pymeasure"],
        "scpi_smoke.py",
        "python3 -m venv .venv && .venv/bin/pip install pyvisa pyvisa-py pymeasure",
    )
}

fn smoke(tools: &Tools, sim: &EmProcess, extra: &[&str]) -> (bool, String) {
    let mut check = Command::new(&tools.python);
    check
        .arg(tools.interop.join("scpi_smoke.py"))
        .arg("127.0.0.1")
        .arg(sim.address.port().to_string())
        .args(extra);
    run(check)
}

#[test]
fn scpi_smoke_passes_with_meas_and_read() {
    let Some(tools) = tools() else { return };
    let sim = EmProcess::start(&[]);
    for reading in [":MEAS?", ":READ?"] {
        let (ok, out) = smoke(&tools, &sim, &["--reading", reading]);
        assert!(ok && out.contains("OVERALL PASS"), "{reading}:\n{out}");
    }
}

#[test]
fn scpi_smoke_passes_with_a_carriage_return_terminator() {
    let Some(tools) = tools() else { return };
    let sim = EmProcess::start(&["--terminator", "\\r"]);
    let (ok, out) = smoke(&tools, &sim, &["--term", "\\r"]);
    assert!(ok && out.contains("OVERALL PASS"), "{out}");
}

#[test]
fn pymeasure_keithley6517b_session_passes() {
    let Some(tools) = tools() else { return };
    let sim = EmProcess::start(&["--current", "1e-9"]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pymeasure_keithley.py");
    let mut session = Command::new(&tools.python);
    session
        .arg(script)
        .arg("127.0.0.1")
        .arg(sim.address.port().to_string())
        .args(["--current", "1e-9"]);
    let (ok, out) = run(session);
    assert!(ok && out.contains("OVERALL PASS"), "{out}");
}

/// The LSST documentation's pyvisa session against the `lsst` dialect.
const LSST_SESSION: &str = r#"
import sys, pyvisa
rm = pyvisa.ResourceManager("@py")
inst = rm.open_resource(f"TCPIP0::127.0.0.1::{sys.argv[1]}::SOCKET",
                        read_termination="\r", write_termination="\r", timeout=2000)
assert inst.query("*idn?;") == "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,4096271,A13/700X"
assert inst.query(":sens:func?;") == "CURR:1"
inst.write(":syst:zch OFF;")
data = inst.query(":trac:data?;")
assert len(data) == 52000 and data.count("\n") == 4000, len(data)
try:
    inst.query("*IDN?")
    raise SystemExit("an upper-case query without ';' was answered")
except pyvisa.errors.VisaIOError:
    pass
print("OVERALL PASS")
"#;

#[test]
fn pyvisa_drives_the_lsst_dialect_like_the_lsst_documentation() {
    let Some(tools) = tools() else { return };
    let sim = EmProcess::start(&["--dialect", "lsst"]);
    let mut session = Command::new(&tools.python);
    session
        .args(["-c", LSST_SESSION])
        .arg(sim.address.port().to_string());
    let (ok, out) = run(session);
    assert!(ok && out.contains("OVERALL PASS"), "{out}");
}
