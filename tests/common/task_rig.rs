//! The electrometer driver, its connection manager and session over an
//! in-memory pipe to the 6517B model: a rig for the task runner under
//! paused tokio time. The link can be cut and restored.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use labdeck_core::bus::EventBus;
use labdeck_core::connection::LinkParts;
use labdeck_core::connection::{ConnCommand, ConnectionManager, RetryPolicy, StateKind};
use labdeck_core::device::electrometer::{ElectrometerDriver, ElectrometerDriverConfig};
use labdeck_core::device::{
    DEFAULT_LINK_TIMEOUT, DeviceCommand, DeviceHandle, DeviceOutcome, DeviceSnapshot, DriverParts,
    TaskSettings, TaskSpec,
};
use labdeck_core::link::{ConnectError, Opener, RingLimits, TrafficTap, Transport, TransportKind};
use labdeck_core::sim::electrometer::model::{ReadingModel, Signal};
use labdeck_core::sim::electrometer::scpi::Instrument;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Opens a pipe whose far end is a 6517B model answering line by line,
/// after `delay`.
#[derive(Clone)]
struct InstrumentOpener {
    delay: Arc<Mutex<Duration>>,
    link_cut: Arc<Mutex<CancellationToken>>,
}

impl Opener for InstrumentOpener {
    fn kind(&self) -> TransportKind {
        TransportKind::Tcp
    }

    fn endpoint(&self) -> String {
        "model".into()
    }

    fn open(&self) -> BoxFuture<'static, Result<Transport, ConnectError>> {
        let delay = self.delay.clone();
        let cut = self.link_cut.lock().unwrap().clone();
        Box::pin(async move {
            if cut.is_cancelled() {
                return Err(ConnectError::NotFound {
                    endpoint: "model".into(),
                });
            }
            let (ours, theirs) = tokio::io::duplex(1 << 20);
            tokio::spawn(serve(theirs, delay, cut));
            Ok(Transport {
                stream: Box::new(ours),
                endpoint: "model".into(),
            })
        })
    }
}

async fn serve(
    stream: tokio::io::DuplexStream,
    delay: Arc<Mutex<Duration>>,
    cut: CancellationToken,
) {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read).lines();
    let start = Instant::now();
    let mut instrument = Instrument::new(ReadingModel::new(Signal::default(), 50.0, 3));
    loop {
        let line = tokio::select! {
            () = cut.cancelled() => return,
            line = lines.next_line() => match line {
                Ok(Some(line)) => line,
                _ => return,
            },
        };
        let wait = *delay.lock().unwrap();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let now = (Instant::now() - start).as_secs_f64();
        if let Some(reply) = instrument.handle_line(&line, now)
            && write
                .write_all(format!("{reply}\n").as_bytes())
                .await
                .is_err()
        {
            return;
        }
    }
}

pub struct Rig {
    pub device: DeviceHandle,
    /// The manager stops when its last handle is dropped.
    _connection: labdeck_core::connection::ConnectionHandle,
    pub delay: Arc<Mutex<Duration>>,
    cut: Arc<Mutex<CancellationToken>>,
    _dir: tempfile::TempDir,
    pub dir: std::path::PathBuf,
}

impl Rig {
    /// Cut the link: the session ends and reconnecting fails.
    pub fn cut(&self) {
        self.cut.lock().unwrap().cancel();
    }

    /// The link can be opened again.
    pub fn restore(&self) {
        *self.cut.lock().unwrap() = CancellationToken::new();
    }
}

pub async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let bus = EventBus::new(1 << 16);
    let delay = Arc::new(Mutex::new(Duration::ZERO));
    let cut = Arc::new(Mutex::new(CancellationToken::new()));
    let opener = InstrumentOpener {
        delay: delay.clone(),
        link_cut: cut.clone(),
    };
    let (tx, sessions) = tokio::sync::mpsc::channel(4);
    let tap = TrafficTap::new(
        "em-link".into(),
        RingLimits::chunks(100),
        Arc::new(bus.clone()),
    );
    let policy = RetryPolicy {
        base: Duration::from_millis(100),
        ..RetryPolicy::default()
    };
    let (manager, connection) = ConnectionManager::new(LinkParts {
        name: "em-link".into(),
        opener: Arc::new(opener),
        policy,
        tap,
        out: Arc::new(bus.clone()),
        sessions: Some(tx),
        simulator: None,
        cancel: CancellationToken::new(),
    });
    tokio::spawn(manager.run());
    let (driver, device) = ElectrometerDriver::new(
        DriverParts {
            name: "em1".into(),
            link: "em-link".into(),
            sessions,
            out: Arc::new(bus),
            tasks: TaskSettings {
                data_dir: dir.path().to_path_buf(),
                queue_limit: 8,
                netcdf: false,
            },
            journal: None,
            cancel: CancellationToken::new(),
        },
        ElectrometerDriverConfig {
            reply_timeout: Duration::from_secs(5),
            ..ElectrometerDriverConfig::default()
        },
    );
    tokio::spawn(driver.run());
    connection.command(ConnCommand::Connect).await.unwrap();
    let mut watch = connection.watch();
    watch
        .wait_for(|s| s.state == StateKind::Connected)
        .await
        .unwrap();
    let rig = Rig {
        device,
        _connection: connection,
        delay,
        cut,
        dir: dir.path().to_path_buf(),
        _dir: dir,
    };
    wait(
        &rig.device,
        "online",
        labdeck_core::device::DeviceSnapshot::responding,
    )
    .await;
    rig
}

/// Wait (in paused time) until the device's snapshot satisfies `check`.
pub async fn wait(device: &DeviceHandle, what: &str, check: impl Fn(&DeviceSnapshot) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3600);
    while !check(&device.snapshot()) {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn spec(name: &str, interval: f64, duration: f64) -> TaskSpec {
    TaskSpec {
        name: name.into(),
        device: "em1".into(),
        technique: "measure".into(),
        params: BTreeMap::default(),
        sampling_interval: Duration::from_secs_f64(interval),
        max_duration: Duration::from_secs_f64(duration),
        link_timeout: DEFAULT_LINK_TIMEOUT,
        job: None,
    }
}

pub async fn submit(device: &DeviceHandle, spec: TaskSpec) -> u64 {
    match device.command(DeviceCommand::Submit(spec)).await {
        Ok(DeviceOutcome::TaskQueued { id, .. }) => id,
        other => panic!("not queued: {other:?}"),
    }
}

pub fn task(device: &DeviceHandle, id: u64) -> labdeck_core::device::TaskSnapshot {
    device
        .snapshot()
        .tasks
        .into_iter()
        .find(|t| t.id == id)
        .expect("task listed")
}

pub fn rows(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}
