//! Soak: the demo lab in this process (both simulators and drivers, the
//! INDI server and a spare one-client electrometer). Every fault of both
//! simulators is switched on, held, switched off and waited out N times;
//! then bad peers attack the INDI server while a good INDI client measures
//! its ping latency, compared with its latency at rest in the same run,
//! and back-to-back clients try the electrometer. Prints recoveries,
//! panics, open fds and RSS at intervals; exits non-zero if a goal fails.
//!
//! `cargo bench --bench soak -- [--toggles N] [--hold S] [--window S]
//! [--no-faults] [--no-attacks]`

#[path = "soak/attacks.rs"]
mod attacks;
#[path = "soak/lab.rs"]
mod lab;

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use labdeck_core::connection::StateKind;
use labdeck_core::hub::{Hub, Request};
use labdeck_core::sim::FaultSetting;

use attacks::{Attack, Kind};
use lab::Lab;

#[global_allocator]
static ALLOCATOR: lab::CountingAllocator = lab::CountingAllocator;

struct Args {
    toggles: usize,
    hold: Duration,
    window: Duration,
    faults: bool,
    attacks: bool,
}

impl Args {
    fn from_env() -> Self {
        let mut args = Self {
            toggles: 1000,
            hold: Duration::from_millis(600),
            window: Duration::from_secs(10),
            faults: true,
            attacks: true,
        };
        let mut words = std::env::args().skip(1);
        while let Some(word) = words.next() {
            let mut value = || words.next().and_then(|v| v.parse::<f64>().ok());
            match word.as_str() {
                "--toggles" => args.toggles = value().map_or(args.toggles, |v| v as usize),
                "--hold" => args.hold = value().map_or(args.hold, Duration::from_secs_f64),
                "--window" => args.window = value().map_or(args.window, Duration::from_secs_f64),
                "--no-faults" => args.faults = false,
                "--no-attacks" => args.attacks = false,
                // cargo bench passes --bench.
                _ => {}
            }
        }
        args
    }
}

/// A device is recovered once its link is connected, it answers, it has
/// no alarm, and that has held for this long (a reply timeout and two
/// polls: a failure still on its way would show within it).
const SETTLE: Duration = Duration::from_secs(1);
const GIVE_UP: Duration = Duration::from_secs(60);

fn healthy(hub: &Hub, simulator: &str) -> bool {
    let Some(link) = hub
        .connections()
        .iter()
        .map(labdeck_core::connection::ConnectionHandle::snapshot)
        .find(|c| c.simulator.as_deref() == Some(simulator))
    else {
        return false;
    };
    let device = hub
        .devices()
        .iter()
        .map(labdeck_core::device::DeviceHandle::snapshot)
        .find(|d| d.link == link.name);
    link.state == StateKind::Connected
        && device.is_some_and(|d| d.responding() && d.alarms.is_empty())
}

/// The simulator's link and device in words, for a failure.
fn condition(hub: &Hub, simulator: &str) -> String {
    let link = hub
        .connections()
        .iter()
        .map(labdeck_core::connection::ConnectionHandle::snapshot)
        .find(|c| c.simulator.as_deref() == Some(simulator));
    let Some(link) = link else {
        return "no link".into();
    };
    let device = hub
        .devices()
        .iter()
        .map(labdeck_core::device::DeviceHandle::snapshot)
        .find(|d| d.link == link.name);
    format!(
        "link {} {:?}, device {}",
        link.state,
        link.last_error,
        device.map_or_else(
            || "none".into(),
            |d| format!("{}, alarms {:?}", d.liveness, d.alarms)
        )
    )
}

/// How long after `since` the simulator's device became healthy for good.
fn recovery(hub: &Hub, simulator: &str, since: Instant) -> Option<Duration> {
    let mut healthy_since: Option<Instant> = None;
    loop {
        let now = Instant::now();
        if healthy(hub, simulator) {
            let at = *healthy_since.get_or_insert(now);
            if now - at >= SETTLE {
                return Some(at - since);
            }
        } else {
            healthy_since = None;
        }
        if now - since > GIVE_UP {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every fault of both simulators, on, held, off, waited out.
fn faults(lab: &Lab, args: &Args) -> bool {
    let hub = lab.runtime.hub();
    let all: Vec<(String, String)> = ["pump-sim", "em-sim"]
        .iter()
        .filter_map(|name| hub.simulator(name))
        .flat_map(|sim| {
            let snapshot = sim.snapshot();
            let name = snapshot.name.to_string();
            snapshot
                .faults
                .into_iter()
                .map(move |f| (name.clone(), f.id.to_string()))
        })
        .collect();
    println!(
        "faults: {} toggles over {} faults, each held {:.1} s; recovered = link connected, device answering, no alarm, for {:.1} s",
        args.toggles,
        all.len(),
        args.hold.as_secs_f64(),
        SETTLE.as_secs_f64()
    );
    for sim in ["pump-sim", "em-sim"] {
        if recovery(hub, sim, Instant::now()).is_none() {
            println!("  {sim}'s device never became healthy: cannot soak");
            return false;
        }
    }
    let switch = |sim: &str, fault: &str, setting| {
        let request = Request::Fault {
            simulator: Some(sim.to_string()),
            fault: fault.to_string(),
            setting,
        };
        lab.rt.block_on(hub.request(request))
    };
    let mut recoveries = Vec::new();
    let mut failed = Vec::new();
    for i in 0..args.toggles {
        let (sim, fault) = &all[i % all.len()];
        if let Err(e) = switch(sim, fault, FaultSetting::On) {
            println!("  {sim} {fault} on refused: {e}");
            failed.push(format!("{sim} {fault}"));
            continue;
        }
        std::thread::sleep(args.hold);
        let _ = switch(sim, fault, FaultSetting::Off);
        if fault == "inject-error" {
            // An instrument's error is kept until the operator clears it.
            let clear = Request::Action {
                device: "em1".into(),
                action: "clear".into(),
                args: Vec::new(),
            };
            let _ = lab.rt.block_on(hub.request(clear));
        }
        if let Some(took) = recovery(hub, sim, Instant::now()) {
            recoveries.push(took);
        } else {
            println!(
                "  {sim} {fault}: not recovered within {GIVE_UP:?}: {}",
                condition(hub, sim)
            );
            failed.push(format!("{sim} {fault}"));
        }
        if (i + 1) % 100 == 0 {
            println!("  {} toggles done", i + 1);
        }
    }
    recoveries.sort();
    println!(
        "faults: {}/{} recovered; recovery median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        recoveries.len(),
        args.toggles,
        ms(percentile(&recoveries, 0.5)),
        ms(percentile(&recoveries, 0.95)),
        ms(recoveries.last().copied().unwrap_or_default()),
    );
    failed.is_empty()
}

struct Window {
    name: String,
    latencies: Vec<Duration>,
    unanswered: u32,
    lost: u64,
    note: String,
}

impl Window {
    fn median(&self) -> Duration {
        percentile(&self.latencies, 0.5)
    }
}

/// A good client's pings during `window`, with an attack running.
fn watch(lab: &Lab, name: &str, window: Duration, attack: Option<Attack>) -> Window {
    let lost = lab.lost.load(Ordering::Relaxed);
    lab::take_heap_peak();
    let (mut latencies, unanswered) = attacks::ping_latencies(lab.indi, window);
    latencies.sort();
    let peak = lab::take_heap_peak() as f64 / 1_048_576.0;
    let note = match attack {
        Some(a) => format!("heap peak {peak:.1} MB; peers dropped {}", a.stop()),
        None => format!("heap peak {peak:.1} MB"),
    };
    Window {
        name: name.to_string(),
        latencies,
        unanswered,
        lost: lab.lost.load(Ordering::Relaxed) - lost,
        note,
    }
}

fn attacks(lab: &Lab, args: &Args) -> bool {
    let window = args.window;
    let address = lab.indi;
    println!(
        "attacks: a good INDI client pings every 10 ms for {:.0} s per window",
        window.as_secs_f64()
    );
    let rest = watch(lab, "at rest", window, None);
    let mut windows = vec![
        watch(
            lab,
            "3 peers streaming an unterminated tag",
            window,
            Some(Attack::start(Kind::Unterminated, 3, address)),
        ),
        {
            let silent = Attack::start(Kind::Silent, 10, address);
            let fresh = std::thread::spawn(move || attacks::fresh_clients(address, window));
            let mut w = watch(lab, "10 silent connections", window, Some(silent));
            let (served, tried) = fresh.join().unwrap_or((0, 0));
            w.note = format!("{}; fresh clients served {served}/{tried}", w.note);
            w
        },
        watch(
            lab,
            "7 clients flooding getProperties",
            window,
            Some(Attack::start(Kind::Flood, 7, address)),
        ),
    ];
    windows.push(watch(lab, "at rest, after", window, None));
    println!(
        "{:<40} {:>6} {:>8} {:>8} {:>8} {:>7} {:>6}  notes",
        "window", "pings", "p50 ms", "p95 ms", "max ms", "× rest", "lost"
    );
    let mut ok = true;
    for w in std::iter::once(&rest).chain(&windows) {
        let ratio = w.median().as_secs_f64() / rest.median().as_secs_f64().max(1e-9);
        println!(
            "{:<40} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>7.2} {:>6}  {}{}",
            w.name,
            w.latencies.len(),
            ms(w.median()),
            ms(percentile(&w.latencies, 0.95)),
            ms(w.latencies.last().copied().unwrap_or_default()),
            ratio,
            w.lost,
            w.note,
            if w.unanswered > 0 {
                format!("; {} pings unanswered", w.unanswered)
            } else {
                String::new()
            }
        );
        ok &= ratio <= 2.0 && w.lost == 0 && w.unanswered == 0 && !w.note.contains(" served 0/");
    }
    let refused = attacks::back_to_back(lab.probe, 500);
    println!("electrometer: 500 back-to-back clients, {refused} refused");
    ok && refused == 0
}

/// RSS and fds once every busy traffic ring is full, through the fault
/// phase (until `steady_until`), and the RSS after the attacks against
/// that steady state: both within ±10 %.
fn resources(lab: &Lab, steady_until: Duration, after_attacks: Option<u64>) -> bool {
    let samples = lab.samples.lock().expect("samples").clone();
    let Some(base) = samples
        .iter()
        .find(|s| s.rings_full && s.at <= steady_until)
    else {
        println!(
            "resources: the traffic rings did not fill during the fault phase; no steady state to compare"
        );
        return true;
    };
    let steady: Vec<_> = samples
        .iter()
        .filter(|s| s.at >= base.at && s.at <= steady_until)
        .collect();
    let (low, high) = steady.iter().fold((u64::MAX, 0), |(lo, hi), s| {
        (lo.min(s.rss_kb), hi.max(s.rss_kb))
    });
    let spread = |v: u64| (v as f64 / base.rss_kb as f64 - 1.0) * 100.0;
    let mb = |kb: u64| kb as f64 / 1024.0;
    let fds: Vec<usize> = steady.iter().map(|s| s.fds).collect();
    println!(
        "resources: steady state from {:.0} s (rings full) to {:.0} s: RSS {:.1} MB, then {:.1}..{:.1} MB ({:+.1} % .. {:+.1} %); fds {}..{}",
        base.at.as_secs_f64(),
        steady_until.as_secs_f64(),
        mb(base.rss_kb),
        mb(low),
        mb(high),
        spread(low),
        spread(high),
        fds.iter().min().unwrap_or(&0),
        fds.iter().max().unwrap_or(&0),
    );
    let mut ok = spread(low) >= -10.0 && spread(high) <= 10.0;
    if let Some(after) = after_attacks {
        println!(
            "resources: RSS after the attacks {:.1} MB, {:+.1} % of the steady state",
            mb(after),
            spread(after)
        );
        ok &= spread(after).abs() <= 10.0;
    }
    let peak = samples.iter().map(|s| s.rss_kb).max().unwrap_or(0);
    if let Some(last) = samples.last().filter(|s| s.at > steady_until) {
        println!(
            "resources: peak RSS {:.1} MB; at the end ({:.0} s, after the attacks) {:.1} MB ({:+.1} %), {} fds",
            mb(peak),
            last.at.as_secs_f64(),
            mb(last.rss_kb),
            spread(last.rss_kb),
            last.fds
        );
    }
    println!("panics: {}", lab.panics.load(Ordering::Relaxed));
    ok
}

fn main() -> ExitCode {
    // As the product does.
    labdeck::memory::limit_arenas();
    labdeck::memory::give_back_freed_memory();
    // The lab's own log on stderr, at RUST_LOG's level (warnings by default).
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .try_init();
    let mut words = std::env::args().skip(1);
    if words.next().as_deref() == Some("--attacker") {
        return attacks::attacker_main(words);
    }
    let args = Args::from_env();
    let lab = Lab::start();
    let mut ok = true;
    if args.faults {
        ok &= faults(&lab, &args);
    }
    let steady_until = lab.started.elapsed();
    let mut after_attacks = None;
    if args.attacks {
        let before = lab::rss_kb();
        let heap_before = lab::heap_in_use();
        ok &= attacks(&lab, &args);
        // Time for what the attacks left behind to be let go (the lab
        // hands freed memory back every 30 s).
        std::thread::sleep(Duration::from_secs(35));
        let after = lab::rss_kb();
        let heap_after = lab::heap_in_use();
        println!(
            "heap: {:.2} MB in use before the attacks, {:.2} MB after",
            heap_before as f64 / 1_048_576.0,
            heap_after as f64 / 1_048_576.0
        );
        println!(
            "memory: RSS {:.1} MB before the attacks, {:.1} MB 35 s after ({:+.1} %)",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            (after as f64 / before as f64 - 1.0) * 100.0,
        );
        after_attacks = Some(after);
    }
    ok &= resources(&lab, steady_until, after_attacks);
    ok &= lab.panics.load(Ordering::Relaxed) == 0;
    lab.stop();
    println!(
        "soak: {}",
        if ok {
            "every goal met"
        } else {
            "a goal failed"
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
