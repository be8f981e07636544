//! Helpers shared by the integration tests: start a runtime from a TOML
//! text and wait for observable conditions with a deadline.
#![allow(dead_code)]

use std::time::Duration;

use labdeck::headless::command::{self, Reply};
use labdeck_core::config::{self, ConfigOrigin};
use labdeck_core::connection::StateKind;
use labdeck_core::device::{DeviceSnapshot, Value};
use labdeck_core::hub::{Hub, HubResult};
use labdeck_core::runtime::Runtime;

/// Generous limit for one condition; a noisy 2-core CI machine is slow.
pub const LIMIT: Duration = Duration::from_secs(15);

/// A pump simulator, its virtual link and the driver, tuned for fast tests:
/// short timeouts and retries, quick ramp. `extra` is appended.
pub fn pump_config(profile: &str, extra: &str) -> String {
    format!(
        r#"
[[simulator]]
name = "sim"
type = "turbovac"
profile = "{profile}"
ramp-rate = 1000.0

[[link]]
name = "port"
type = "virtual"
simulator = "sim"

[link.retry]
base = 0.05
cap = 0.2
stable-after = 0.5

[[device]]
name = "pump"
driver = "turbovac"
link = "port"
poll-interval = 0.05
reply-timeout = 0.3
{extra}
"#
    )
}

pub async fn start(text: &str) -> Runtime {
    let config = config::parse(text, ConfigOrigin::Demo)
        .unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
    Runtime::start(&config).await.expect("runtime starts")
}

/// Start a runtime and the INDI server its `[indi.server]` asks for.
pub async fn start_serving(text: &str) -> (Runtime, std::net::SocketAddr) {
    let config = config::parse(text, ConfigOrigin::Demo)
        .unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
    let runtime = Runtime::start(&config).await.expect("runtime starts");
    let address = labdeck::indi::start(&runtime, config.indi_server.as_ref())
        .await
        .expect("the INDI server runs");
    (runtime, address)
}

/// Wait until `check` holds, polling every 10 ms; panics with `what` on timeout.
pub async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() <= deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub async fn wait_state(hub: &Hub, link: &str, state: StateKind) {
    let conn = hub.connection(link).expect("link exists").clone();
    wait_until(&format!("{link} to be {state}"), || {
        conn.snapshot().state == state
    })
    .await;
}

pub async fn wait_device(
    hub: &Hub,
    device: &str,
    what: &str,
    check: impl Fn(&DeviceSnapshot) -> bool,
) {
    let handle = hub.device(device).expect("device exists").clone();
    wait_until(what, || check(&handle.snapshot())).await;
}

/// Until `device` answers its requests.
pub async fn wait_responding(hub: &Hub, device: &str, what: &str) {
    wait_device(hub, device, what, DeviceSnapshot::responding).await;
}

/// A property's value as plain text (`on`, `800`, words), if it has one.
pub fn prop(snapshot: &DeviceSnapshot, name: &str) -> Option<String> {
    snapshot
        .property(name)
        .and_then(|p| p.value.as_ref())
        .map(|v| labdeck::format::plain(v, 0))
}

pub fn prop_f64(snapshot: &DeviceSnapshot, name: &str) -> Option<f64> {
    snapshot
        .property(name)
        .and_then(|p| p.value.as_ref())
        .and_then(Value::as_f64)
}

/// One line of the command language, as `serve` and the palette run it.
pub async fn run(hub: &Hub, line: &str) -> Reply {
    command::execute(hub, labdeck_core::hub::Origin::Serve, line)
        .await
        .expect("a command")
}

/// One line of the command language; what the Hub answered, typed.
pub async fn request(hub: &Hub, line: &str) -> HubResult {
    run(hub, line)
        .await
        .result
        .unwrap_or_else(|| panic!("{line:?} is not a Hub request"))
}

/// Spawn `command` with piped stdin and stdout (stderr dropped): its
/// stdin, and its stdout lines as they come, read on a thread.
pub fn spawn_with_lines(
    command: &mut std::process::Command,
    what: &str,
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, stdin, lines)
}

pub mod console;
pub mod electrometer;
pub mod fixture;
pub mod indi;
pub mod interop;
pub mod process;
pub mod serve;
pub mod task_rig;
pub mod tshark;

/// A port free on 127.0.0.1 a moment ago, for a server the test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
