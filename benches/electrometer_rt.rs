//! Round trips per second of the electrometer simulator for one client,
//! against a bare tokio line-echo server measured in the same run (the
//! floor), and the time to fetch a 50 000-point buffer.
//!
//! `cargo bench --bench electrometer_rt [-- [RUNS]]`
//!
//! Method (`specs/electrometer.md` §6): one client thread holds one TCP
//! connection with TCP_NODELAY, sends a request, blocks until the reply's
//! terminator, repeats; `ROUND_TRIPS` per run. Runs of every server and
//! request are interleaved, so a noisy moment hits them all. Client and
//! servers are pinned to the same CPU (the spec's stable best case), then
//! measured again unpinned. Every server runs on its own current-thread
//! tokio runtime, as the floor does. Reported: the median rt/s over the
//! runs with the interquartile range, the median latency, and the ratio of
//! medians to the floor.

// Benchmarks set socket buffers, CPU affinity and read clock ticks
// through libc.
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use labdeck_core::bus::EventBus;
use labdeck_core::link::TrafficTap;
use labdeck_core::sim::electrometer::{
    Brand, DialectSpec, ElectrometerSimSpec, ElectrometerSimulator,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

const ROUND_TRIPS: usize = 5000;
const IDN: &str = "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,4096797,A13/700X";
/// The Python mock's published figure for `*idn?;` (same-vCPU method).
const PYTHON_MOCK_RT_S: f64 = 31_570.0;
const BUFFER_POINTS: usize = 50_000;

/// Pin the calling thread to one CPU, or let it run anywhere.
fn pin(cpu: Option<usize>) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the calls only read it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        for c in 0..cpus {
            if cpu.is_none_or(|only| only == c) {
                libc::CPU_SET(c, &mut set);
            }
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &raw const set);
    }
}

/// Run a server future on its own thread with a current-thread runtime.
fn serve<F>(cpu: Option<usize>, make: impl FnOnce() -> F + Send + 'static) -> SocketAddr
where
    F: std::future::Future<Output = SocketAddr> + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        pin(cpu);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let address = make().await;
            tx.send(address).expect("report the address");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("server address")
}

/// The floor: `read_until` the terminator, write a fixed reply.
fn floor(cpu: Option<usize>, terminator: u8, reply: Vec<u8>) -> SocketAddr {
    serve(cpu, move || async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::task::spawn_local(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let reply = reply.clone();
                tokio::task::spawn_local(async move {
                    let (read, mut write) = stream.into_split();
                    let mut read = BufReader::new(read);
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        match read.read_until(terminator, &mut line).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {
                                if write.write_all(&reply).await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
            }
        });
        address
    })
}

/// The simulator as `labdeck sim electrometer` runs it, traffic tap included.
fn simulator(cpu: Option<usize>, spec: ElectrometerSimSpec) -> SocketAddr {
    serve(cpu, move || async move {
        let bus = EventBus::default();
        let tap = TrafficTap::new(
            "em".into(),
            labdeck_core::link::RingLimits::chunks(10_000),
            std::sync::Arc::new(bus.clone()),
        );
        let (sim, handle) = ElectrometerSimulator::create(
            "em".into(),
            spec,
            std::sync::Arc::new(bus),
            Some(tap),
            CancellationToken::new(),
        )
        .await
        .expect("bind the simulator");
        let address = sim.local_addr();
        // The actor stops when its last handle is gone.
        tokio::task::spawn_local(async move {
            let _handle = handle;
            sim.run().await
        });
        address
    })
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(address: SocketAddr) -> Self {
        let stream = TcpStream::connect(address).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Self {
            stream,
            buf: vec![0; 1 << 20],
        }
    }

    /// One request; the reply's length.
    fn round_trip(&mut self, request: &[u8], terminator: u8) -> usize {
        self.stream.write_all(request).expect("write");
        let mut got = 0;
        loop {
            if got == self.buf.len() {
                self.buf.resize(got * 2, 0);
            }
            let n = self.stream.read(&mut self.buf[got..]).expect("read");
            assert!(n > 0, "server closed the connection");
            got += n;
            if self.buf[got - 1] == terminator {
                return got;
            }
        }
    }

    /// `ROUND_TRIPS` requests: round trips per second and the median latency.
    fn run(&mut self, request: &[u8], terminator: u8) -> (f64, Duration) {
        let mut latencies = Vec::with_capacity(ROUND_TRIPS);
        let start = Instant::now();
        for _ in 0..ROUND_TRIPS {
            let t = Instant::now();
            self.round_trip(request, terminator);
            latencies.push(t.elapsed());
        }
        let rate = ROUND_TRIPS as f64 / start.elapsed().as_secs_f64();
        latencies.sort();
        (rate, latencies[latencies.len() / 2])
    }
}

struct Case {
    name: &'static str,
    /// Which client (and so which server) carries it.
    client: usize,
    request: &'static [u8],
    terminator: u8,
    /// The case that is this one's floor.
    floor: Option<usize>,
    rates: Vec<f64>,
    p50: Vec<f64>,
}

impl Case {
    fn new(
        name: &'static str,
        client: usize,
        request: &'static [u8],
        terminator: u8,
        floor: Option<usize>,
    ) -> Self {
        Self {
            name,
            client,
            request,
            terminator,
            floor,
            rates: Vec::new(),
            p50: Vec::new(),
        }
    }
}

fn quartiles(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    (at(0.25), at(0.5), at(0.75))
}

fn measure(cpu: Option<usize>, runs: usize) {
    let label = match cpu {
        Some(c) => format!("client and servers pinned to CPU {c}"),
        None => "unpinned".to_string(),
    };
    let mut idn_reply = IDN.as_bytes().to_vec();
    idn_reply.push(b'\n');
    let mut lsst_reply = b"KEITHLEY INSTRUMENTS INC.,MODEL 6517B,4096271,A13/700X".to_vec();
    lsst_reply.push(b'\r');
    let floor_lf = floor(cpu, b'\n', idn_reply);
    let floor_cr = floor(cpu, b'\r', lsst_reply);
    let scpi = simulator(cpu, ElectrometerSimSpec::default());
    let lsst = simulator(
        cpu,
        ElectrometerSimSpec {
            dialect: DialectSpec::Lsst {
                brand: Brand::Keithley,
                strict: true,
            },
            ..ElectrometerSimSpec::default()
        },
    );
    pin(cpu);
    // One client per server: the simulator serves one at a time.
    let mut clients: Vec<Client> = [floor_lf, scpi, floor_cr, lsst]
        .into_iter()
        .map(Client::connect)
        .collect();
    let mut cases = vec![
        Case::new(
            "floor: tokio read_until + fixed reply, LF",
            0,
            b"*IDN?\n",
            b'\n',
            None,
        ),
        Case::new("labdeck scpi *IDN?", 1, b"*IDN?\n", b'\n', Some(0)),
        Case::new("labdeck scpi :READ?", 1, b":READ?\n", b'\n', Some(0)),
        Case::new(
            "floor: tokio read_until + fixed reply, CR",
            2,
            b"*idn?;\r",
            b'\r',
            None,
        ),
        Case::new("labdeck lsst *idn?;", 3, b"*idn?;\r", b'\r', Some(3)),
    ];
    for c in &cases {
        clients[c.client].run(c.request, c.terminator);
    }
    for _ in 0..runs {
        for c in &mut cases {
            let (rate, p50) = clients[c.client].run(c.request, c.terminator);
            c.rates.push(rate);
            c.p50.push(p50.as_secs_f64() * 1e6);
        }
    }
    println!("\n{label}: {runs} runs of {ROUND_TRIPS} round trips each, interleaved");
    println!(
        "{:<44} {:>9} {:>17} {:>8} {:>9}",
        "server / request", "rt/s", "IQR", "p50 µs", "vs floor"
    );
    for c in &cases {
        let (q1, median, q3) = quartiles(&c.rates);
        let vs = c.floor.map_or_else(
            || "—".to_string(),
            |f| format!("{:.2}×", median / quartiles(&cases[f].rates).1),
        );
        println!(
            "{:<44} {median:>9.0} {:>17} {:>8.1} {vs:>9}",
            c.name,
            format!("[{q1:.0}–{q3:.0}]"),
            quartiles(&c.p50).1
        );
    }
    let idn = quartiles(&cases[1].rates).1;
    println!(
        "labdeck scpi *IDN? against the Python mock's published {PYTHON_MOCK_RT_S:.0} rt/s: {:.2}×",
        idn / PYTHON_MOCK_RT_S
    );
}

/// A 50 000-point buffer: filled at simulated speed, then fetched with
/// `:TRAC:DATA?`, against the floor sending a blob of the same size.
fn fetch(runs: usize) {
    let spec = ElectrometerSimSpec {
        speed: 10_000.0,
        ..ElectrometerSimSpec::default()
    };
    let sim = simulator(None, spec);
    let mut client = Client::connect(sim);
    let setup = format!(
        ":TRAC:CLE;:TRAC:POIN {BUFFER_POINTS};:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;\
         :TRIG:SOUR IMM;:TRIG:COUN {BUFFER_POINTS};:SENS:CURR:NPLC 0.01;:INIT;*OPC?\n"
    );
    client.round_trip(setup.as_bytes(), b'\n');
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n = client.round_trip(b":TRAC:POIN:ACT?\n", b'\n');
        let count: usize = String::from_utf8_lossy(&client.buf[..n])
            .trim()
            .parse()
            .unwrap_or(0);
        if count >= BUFFER_POINTS {
            break;
        }
        assert!(Instant::now() < deadline, "buffer did not fill ({count})");
        std::thread::sleep(Duration::from_millis(20));
    }
    let bytes = client.round_trip(b":TRAC:DATA?\n", b'\n');
    let mut blob = vec![b'0'; bytes - 1];
    blob.push(b'\n');
    let floor_address = floor(None, b'\n', blob);
    let mut floor_client = Client::connect(floor_address);
    let mut labdeck = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        client.round_trip(b":TRAC:DATA?\n", b'\n');
        labdeck.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        floor_client.round_trip(b"DATA?\n", b'\n');
        bare.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (lq1, lm, lq3) = quartiles(&labdeck);
    let (fq1, fm, fq3) = quartiles(&bare);
    println!("\n:TRAC:DATA? of {BUFFER_POINTS} readings ({bytes} bytes), {runs} fetches, unpinned");
    println!(
        "labdeck scpi: median {lm:.2} ms [{lq1:.2}–{lq3:.2}], {:.0} MB/s",
        bytes as f64 / lm / 1e3
    );
    println!("floor (same bytes, fixed): median {fm:.2} ms [{fq1:.2}–{fq3:.2}]");
    println!("ratio labdeck/floor time: {:.2}×", lm / fm);
}

fn main() {
    let runs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(15);
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!("electrometer round trips; {cpus} CPUs");
    measure(Some(cpus - 1), runs);
    measure(None, runs);
    fetch(runs);
}
