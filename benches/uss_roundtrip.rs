//! USS round trip between the pump driver and the simulator over a pty,
//! against a raw pty echo floor measured in the same run.
//!
//! `cargo bench --bench uss_roundtrip [-- [ROUNDS] [--current-thread]]`
//!
//! The machine is shared and noisy, so the measurements are interleaved:
//! every round takes `PER_ROUND` round trips of each kind, one kind after the
//! other, and the ratio USS/floor is computed per round. Reported: medians
//! and percentiles over all samples, and the median (min–max) of the
//! per-round ratios. See BENCHMARKS.md for the method and results.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use labdeck_core::config::{self, ConfigOrigin};
use labdeck_core::device::{ActionOutcome, DeviceHandle, DeviceOutcome};
use labdeck_core::runtime::Runtime;
use nix::sys::termios::{self, SetArg, SpecialCharacterIndices};

const WARM_UP: usize = 100;
const PER_ROUND: usize = 200;
const TELEGRAM: usize = 24;

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn micros(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

/// The spec's floor: a blocking echo thread on a pty master and a blocking
/// client on the slave, 24 bytes each way.
struct EchoFloor {
    slave: OwnedFd,
    echo: Option<std::thread::JoinHandle<()>>,
}

impl EchoFloor {
    fn new() -> Self {
        let pair = nix::pty::openpty(None, None).expect("openpty");
        let mut attrs = termios::tcgetattr(&pair.slave).expect("tcgetattr");
        termios::cfmakeraw(&mut attrs);
        attrs.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        attrs.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        termios::tcsetattr(&pair.slave, SetArg::TCSANOW, &attrs).expect("tcsetattr");
        let master = pair.master;
        let echo = std::thread::spawn(move || {
            let mut buf = [0u8; 256];
            while let Ok(k) = nix::unistd::read(&master, &mut buf) {
                if k == 0 || write_all(&master, &buf[..k]).is_err() {
                    break;
                }
            }
        });
        Self {
            slave: pair.slave,
            echo: Some(echo),
        }
    }

    fn round_trip(&self) -> Duration {
        let query = [0x5au8; TELEGRAM];
        let mut reply = [0u8; TELEGRAM];
        let start = Instant::now();
        write_all(&self.slave, &query).expect("write");
        let mut got = 0;
        while got < TELEGRAM {
            got += nix::unistd::read(&self.slave, &mut reply[got..]).expect("read");
        }
        start.elapsed()
    }
}

impl Drop for EchoFloor {
    fn drop(&mut self) {
        // Closing the slave ends the echo thread (EIO on the master).
        let slave = std::mem::replace(
            &mut self.slave,
            nix::pty::openpty(None, None).expect("openpty").slave,
        );
        drop(slave);
        if let Some(echo) = self.echo.take() {
            let _ = echo.join();
        }
    }
}

fn write_all(fd: impl AsFd + Copy, mut bytes: &[u8]) -> nix::Result<()> {
    while !bytes.is_empty() {
        let n = nix::unistd::write(fd, bytes)?;
        bytes = &bytes[n..];
    }
    Ok(())
}

const CONFIG: &str = r#"
[[simulator]]
name = "sim"
type = "turbovac"

[[link]]
name = "port"
type = "virtual"
simulator = "sim"

[[device]]
name = "pump"
driver = "turbovac"
link = "port"
poll-interval = 5.0
"#;

async fn start_pump() -> (Runtime, DeviceHandle) {
    let config = config::parse(CONFIG, ConfigOrigin::Demo).expect("bench config");
    let runtime = Runtime::start(&config).await.expect("runtime");
    let device = runtime.hub().device("pump").expect("pump").clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !device.snapshot().responding() {
        assert!(Instant::now() < deadline, "pump never came online");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (runtime, device)
}

/// One status poll: the driver's own write → decoded-reply time, and the
/// whole Hub command as the caller sees it.
async fn poll(device: &DeviceHandle) -> (Duration, Duration) {
    let start = Instant::now();
    let reply = device.action("poll", &[]).await;
    let outer = start.elapsed();
    let Ok(DeviceOutcome::Action(ActionOutcome::Polled { round_trip_us, .. })) = reply else {
        panic!("a poll: {reply:?}");
    };
    (Duration::from_micros(round_trip_us), outer)
}

#[derive(Default)]
struct Series {
    samples: Vec<Duration>,
    round_medians: Vec<Duration>,
}

impl Series {
    fn add_round(&mut self, round: Vec<Duration>) {
        self.round_medians.push(percentile(&round, 0.5));
        self.samples.extend(round);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10usize);
    let current_thread = args.iter().any(|a| a == "--current-thread");
    let runtime = if current_thread {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    }
    .expect("tokio");

    let floor = EchoFloor::new();
    let (labdeck, device) = runtime.block_on(start_pump());
    for _ in 0..WARM_UP {
        floor.round_trip();
        runtime.block_on(poll(&device));
    }
    let (mut echo, mut uss, mut hub) = (Series::default(), Series::default(), Series::default());
    for round in 0..rounds {
        let measure_floor = || {
            (0..PER_ROUND)
                .map(|_| floor.round_trip())
                .collect::<Vec<_>>()
        };
        let measure_uss = || {
            runtime.block_on(async {
                let mut inner = Vec::with_capacity(PER_ROUND);
                let mut outer = Vec::with_capacity(PER_ROUND);
                for _ in 0..PER_ROUND {
                    let (i, o) = poll(&device).await;
                    inner.push(i);
                    outer.push(o);
                }
                (inner, outer)
            })
        };
        // Alternate the order so drift does not favour one side.
        let (f, (i, o)) = if round % 2 == 0 {
            let f = measure_floor();
            (f, measure_uss())
        } else {
            let u = measure_uss();
            (measure_floor(), u)
        };
        echo.add_round(f);
        uss.add_round(i);
        hub.add_round(o);
    }
    runtime.block_on(labdeck.shutdown()).expect("shutdown");
    drop(floor);

    let flavour = if current_thread {
        "current-thread"
    } else {
        "multi-thread"
    };
    println!(
        "{rounds} rounds × {PER_ROUND} round trips per kind, interleaved, after {WARM_UP} warm-up; \
         tokio {flavour} runtime; times in µs"
    );
    println!(
        "{:<48} {:>7} {:>7} {:>7} {:>7}   per-round median ratio to floor: median (min–max)",
        "measurement", "median", "p10", "p90", "p99"
    );
    for (name, series) in [
        ("pty echo floor (blocking threads, C method)", &echo),
        ("USS round trip (driver: write -> reply decoded)", &uss),
        ("USS poll through the Hub (command -> reply)", &hub),
    ] {
        let mut ratios: Vec<f64> = series
            .round_medians
            .iter()
            .zip(&echo.round_medians)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "{:<48} {:>7} {:>7} {:>7} {:>7}   {:.2} ({:.2}–{:.2})",
            name,
            micros(percentile(&series.samples, 0.5)),
            micros(percentile(&series.samples, 0.1)),
            micros(percentile(&series.samples, 0.9)),
            micros(percentile(&series.samples, 0.99)),
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1],
        );
    }
}
