//! labdeck's INDI server in its own process, serving one embedded device
//! that changes its number vector at the offered rate and applies every
//! `set` it is sent.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use labdeck::indi::{IndiServer, IndiServerSpec};
use labdeck_core::bus::EventBus;
use labdeck_core::device::{
    AttrKind, Capabilities, DeviceCommand, DeviceKind, DeviceOutcome, DeviceSnapshot,
    EmbeddedDevice, PropState, Property, PropertyDef, Value,
};
use labdeck_core::hub::{Hub, HubError};
use tokio_util::sync::CancellationToken;

use super::{Load, RoundTripPath, Server};

pub const ROUND_TRIP: RoundTripPath = RoundTripPath {
    label: "labdeck + embedded device (VALUE)",
    server: Server::Labdeck,
    device: "flood",
    vector: "VALUE",
    member: "VALUE",
    others: &[],
    first: 100.0,
};

/// The flag that makes the benchmark binary a labdeck server process.
pub const SERVE_FLAG: &str = "--labdeck-server";

/// labdeck's server in a process of its own (so its memory is its own):
/// this binary run with [`SERVE_FLAG`], stopped by closing its stdin.
pub struct Running {
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl Running {
    pub fn start(load: Load) -> Self {
        let log = std::env::temp_dir().join(format!(
            "labdeck-indi-bench-{}-{}.log",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args([SERVE_FLAG, &load_arg(load)])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("labdeck server process");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the server's address");
        let addr = line.trim().parse().expect("an address");
        Self { addr, child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn load_arg(load: Load) -> String {
    match load {
        Load::Idle => "0".into(),
        Load::Paced(rate) => rate.to_string(),
        Load::Flood => "-1".into(),
    }
}

/// The server process: bind 127.0.0.1:0, print the address, run the
/// server and the device until stdin closes. Logs go to stderr.
pub fn serve(rate: &str) {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let load = match rate.parse::<i64>() {
        Ok(0) => Load::Idle,
        Ok(r) if r > 0 => Load::Paced(r as u32),
        _ => Load::Flood,
    };
    // The same runtime the binary uses: multi-threaded, one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The bus as the demo sizes it (`[traffic] events`).
    let bus = EventBus::new(4096);
    let (device, handle) = EmbeddedDevice::new(snapshot(), std::sync::Arc::new(bus.clone()));
    let hub = Hub::with_devices(vec![handle], bus);
    let cancel = CancellationToken::new();
    // Every client comes from loopback: the address limit is the client limit.
    let defaults = IndiServerSpec::default();
    let spec = IndiServerSpec {
        port: 0,
        max_per_address: defaults.max_clients,
        ..defaults
    };
    let server = runtime
        .block_on(IndiServer::bind(hub, spec, cancel.clone()))
        .expect("bind 127.0.0.1:0");
    println!("{}", server.local_addr().expect("local address"));
    runtime.spawn(server.run());
    runtime.spawn(drive(device, load, cancel.clone()));
    // Until the benchmark closes our stdin.
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    cancel.cancel();
    // A moment for the tasks to see it and report.
    runtime.block_on(tokio::time::sleep(Duration::from_millis(50)));
    runtime.shutdown_timeout(Duration::from_secs(1));
}

fn snapshot() -> DeviceSnapshot {
    let mut def = PropertyDef::new("value", "Value", "Bench")
        .kind(AttrKind::Float)
        .limits(-1e9, 1e9)
        .writable();
    def.format = Some("%.3f".into());
    DeviceSnapshot {
        name: "flood".into(),
        kind: DeviceKind::Embedded,
        link: "flood".into(),
        capabilities: std::sync::Arc::new(Capabilities::default()),
        liveness: labdeck_core::device::Liveness::Responding,
        summary: "benchmark load".into(),
        properties: vec![Property::new(def).with(Value::Number(0.0), PropState::Ok)],
        alarms: vec![],
        tasks: vec![],
        queue: labdeck_core::device::QueueMode::Active,
    }
}

/// Publish at the offered rate (one change per scheduler turn, so the
/// server sees each one it can keep up with) and apply writes.
async fn drive(mut device: EmbeddedDevice, load: Load, cancel: CancellationToken) {
    let start = Instant::now();
    let mut sent: u64 = 0;
    loop {
        let due = match load {
            Load::Idle => 0,
            Load::Paced(rate) => (f64::from(rate) * start.elapsed().as_secs_f64()) as u64,
            Load::Flood => u64::MAX,
        };
        if sent < due {
            if cancel.is_cancelled() {
                return;
            }
            sent += 1;
            let value = 12_345.0 + (sent % 1000) as f64;
            device.set("value", Value::Number(value), PropState::Ok);
            tokio::task::yield_now().await;
            continue;
        }
        let tick = async {
            match load {
                Load::Idle => std::future::pending().await,
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            request = device.next_request() => {
                let Some(request) = request else { return };
                let answer = match request.command() {
                    DeviceCommand::Set { value: Value::Number(v), .. } => {
                        device.set("value", Value::Number(*v), PropState::Ok);
                        let property = Property::new(snapshot().properties[0].def.as_ref().clone())
                            .with(Value::Number(*v), PropState::Ok);
                        Ok(DeviceOutcome::Set { property })
                    }
                    other => Err(HubError::BadArgument {
                        device: "flood".into(),
                        message: format!("the benchmark device only takes numbers, not {other:?}"),
                    }),
                };
                request.answer(answer);
            }
            () = tick => {}
        }
    }
}
