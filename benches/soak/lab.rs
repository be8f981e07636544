//! The lab under soak: the demo's simulators and drivers in this process
//! with the INDI server and a spare one-client electrometer, a panic
//! counter, a count of links lost, and a sampler of RSS and open fds.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use labdeck_core::bus::Event;
use labdeck_core::config::{self, ConfigOrigin};
use labdeck_core::connection::StateKind;
use labdeck_core::runtime::Runtime;

/// One reading of the process's resources.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Duration,
    pub rss_kb: u64,
    pub fds: usize,
    /// Every link's traffic ring has reached its limit.
    pub rings_full: bool,
}

pub struct Lab {
    pub rt: tokio::runtime::Runtime,
    pub runtime: Runtime,
    pub indi: SocketAddr,
    /// A one-client electrometer no link uses, for back-to-back clients.
    pub probe: SocketAddr,
    pub panics: Arc<AtomicU64>,
    /// Transitions of any link away from `connected`.
    pub lost: Arc<AtomicU64>,
    pub samples: Arc<Mutex<Vec<Sample>>>,
    /// When the samples' clock started.
    pub started: Instant,
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("local address").port()
}

fn config_text(data_dir: &str, indi: u16, probe: u16) -> String {
    format!(
        r#"
[tasks]
data-dir = "{data_dir}"

# 2 000 chunks fill within two minutes of this traffic (the default 10 000
# take about ten): the steady state comes early enough to watch.
[traffic]
ring = 2000

[[simulator]]
name = "pump-sim"
type = "turbovac"
profile = "realistic"
ramp-rate = 50.0
decel-rate = 25.0

[[simulator]]
name = "em-sim"
type = "electrometer"
dialect = "scpi"
current = 1.5e-9

[[simulator]]
name = "em-probe"
type = "electrometer"
dialect = "scpi"
port = {probe}

[[link]]
name = "pump-port"
type = "virtual"
simulator = "pump-sim"
[link.retry]
cap = 2.0

[[link]]
name = "em-tcp"
type = "tcp"
simulator = "em-sim"
[link.retry]
cap = 2.0

[[device]]
name = "pump1"
driver = "turbovac"
link = "pump-port"
poll-interval = 0.1
reply-timeout = 0.5

[[device]]
name = "em1"
driver = "electrometer"
link = "em-tcp"
poll-interval = 0.25
reply-timeout = 0.5

[indi.server]
port = {indi}
"#
    )
}

impl Lab {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let text = config_text(&dir.path().display().to_string(), free_port(), free_port());
        let config = config::parse(&text, ConfigOrigin::Demo).expect("the soak config is valid");
        let panics = Arc::new(AtomicU64::new(0));
        let counted = panics.clone();
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            counted.fetch_add(1, Ordering::Relaxed);
            default_hook(info);
        }));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let runtime = rt
            .block_on(Runtime::start(&config))
            .expect("the lab starts");
        let indi = rt
            .block_on(labdeck::indi::start(&runtime, config.indi_server.as_ref()))
            .expect("the INDI server listens");
        let probe = rt.block_on(async {
            loop {
                let endpoint = runtime
                    .hub()
                    .simulator("em-probe")
                    .and_then(|s| s.snapshot().endpoint);
                if let Some(address) = endpoint.and_then(|e| e.parse().ok()) {
                    break address;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let lost = Arc::new(AtomicU64::new(0));
        let mut events = runtime.hub().subscribe();
        let counter = lost.clone();
        rt.spawn(async move {
            while let Ok(event) = events.recv().await {
                if let Event::Transition { record, .. } = event
                    && record.from == StateKind::Connected
                {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let samples = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let (samples, stop) = (samples.clone(), stop.clone());
            let taps = runtime.hub().taps().to_vec();
            std::thread::spawn(move || sample_every(&samples, &stop, &taps, started))
        };
        Self {
            rt,
            runtime,
            indi,
            probe,
            panics,
            lost,
            samples,
            started,
            stop,
            sampler: Some(sampler),
            _dir: dir,
        }
    }

    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        let _ = self.rt.block_on(self.runtime.shutdown());
    }
}

const SAMPLE_EVERY: Duration = Duration::from_secs(10);

fn sample_every(
    samples: &Mutex<Vec<Sample>>,
    stop: &AtomicBool,
    taps: &[labdeck_core::link::TrafficTap],
    started: Instant,
) {
    let mut next = started;
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() >= next {
            let sample = Sample {
                at: started.elapsed(),
                rss_kb: rss_kb(),
                fds: std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count),
                rings_full: {
                    let busy: Vec<_> = taps
                        .iter()
                        .map(labdeck_core::link::TrafficTap::counters)
                        .filter(|c| c.chunks > 0)
                        .collect();
                    !busy.is_empty() && busy.iter().all(|c| c.evicted > 0)
                },
            };
            println!(
                "  [{:>5.0} s] RSS {:.1} MB, heap in use {:.1} MB, {} fds{}",
                sample.at.as_secs_f64(),
                sample.rss_kb as f64 / 1024.0,
                heap_in_use() as f64 / 1_048_576.0,
                sample.fds,
                if sample.rings_full {
                    ", traffic rings full"
                } else {
                    ""
                }
            );
            samples.lock().expect("samples").push(sample);
            next += SAMPLE_EVERY;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// The system allocator, counting the bytes in use: what the process
/// holds, as against what the allocator keeps from the system (RSS).
pub struct CountingAllocator;

static HEAP_IN_USE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

static HEAP_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Bytes allocated and not yet freed.
pub fn heap_in_use() -> usize {
    HEAP_IN_USE.load(Ordering::Relaxed)
}

/// The most bytes in use since the last call.
pub fn take_heap_peak() -> usize {
    HEAP_PEAK.swap(heap_in_use(), Ordering::Relaxed)
}

fn allocated(bytes: usize) {
    let now = HEAP_IN_USE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    HEAP_PEAK.fetch_max(now, Ordering::Relaxed);
}

#[allow(unsafe_code)] // delegates to the system allocator unchanged
// SAFETY: every call is passed through to `System` with the caller's
// layout; the counter is only arithmetic beside it.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let p = unsafe { std::alloc::System.alloc(layout) };
        if !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `p` came from this allocator with this layout.
        unsafe { std::alloc::System.dealloc(p, layout) };
        HEAP_IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { std::alloc::System.alloc_zeroed(layout) };
        if !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    unsafe fn realloc(&self, p: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        // SAFETY: as for `dealloc` and `alloc`.
        let q = unsafe { std::alloc::System.realloc(p, layout, new) };
        if !q.is_null() {
            allocated(new);
            HEAP_IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        q
    }
}
