//! INDI: `setNumberVector` updates per second from one device to one
//! client and to ten clients of which one reads nothing, and the `new` →
//! `set` round trip (and, for reference, ten clients that all read) —
//! labdeck's server against Debian's `indiserver`
//! measured in the same run (`specs/indi.md` §11).
//!
//! `cargo bench --bench indi_throughput [-- quick] [one|ten|all-reading|round-trip …]`
//! (`quick`: one run of each; section names: only those sections).
//!
//! `indiserver` always binds 0.0.0.0, so the whole benchmark re-runs itself
//! inside a network namespace that has only loopback (needs root and
//! `ip`); without one, only labdeck is measured and the reason is printed.
//!
//! Load: for labdeck an embedded device (a program-fed device, as a driver
//! would be) that changes one number vector at the offered rate; for
//! indiserver a raw stdin/stdout driver (`benches/indi_flood_driver.py`)
//! that writes the same message at the same rate. The counting client is
//! the spec's: a raw socket with a 4 MB receive buffer that sends
//! `getProperties` and counts `<setNumberVector` for 5 s from the first
//! one, without parsing XML. Every throughput run gets a fresh server.

// Benchmarks set socket buffers, CPU affinity and read clock ticks
// through libc.
#![allow(unsafe_code)]

mod indi_bench;

use std::process::ExitCode;
use std::time::Duration;

use indi_bench::netns::{self, Namespace};
use indi_bench::{Load, Server, client, labdeck, stats};

const WINDOW: Duration = Duration::from_secs(5);
/// Long enough for labdeck's 16 MB per-client limit to be reached by the
/// client that reads nothing.
const TEN_CLIENT_WINDOW: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args
        .iter()
        .position(|a| a == indi_bench::labdeck::SERVE_FLAG)
    {
        indi_bench::labdeck::serve(args.get(at + 1).map_or("0", String::as_str));
        return ExitCode::SUCCESS;
    }
    let quick = args.iter().any(|a| a == "quick");
    let named: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| SECTIONS.contains(a))
        .collect();
    let section = |name: &str| named.is_empty() || named.contains(&name);
    let netns = match netns::enter() {
        Namespace::Inside => Ok(()),
        Namespace::Unavailable(why) => Err(why),
        // The run inside has reported; its failure is ours.
        Namespace::Finished(status) if status.success() => return ExitCode::SUCCESS,
        Namespace::Finished(_) => return ExitCode::FAILURE,
    };
    let runs = if quick { 1 } else { 3 };
    let rt_count = if quick { 500 } else { 2000 };
    let indiserver = netns.and_then(|()| indi_bench::indiserver::available());
    if let Err(why) = &indiserver {
        println!("indiserver: SKIPPED ({why}); measuring labdeck alone\n");
    }
    let servers: Vec<Server> = if indiserver.is_ok() {
        vec![Server::Labdeck, Server::Indiserver]
    } else {
        vec![Server::Labdeck]
    };

    if section("one") {
        one_client(&servers, runs);
    }
    if section("ten") {
        ten_clients(&servers, runs);
    }
    if section("all-reading") {
        all_reading(&servers, runs);
    }
    if section("round-trip") {
        round_trip(indiserver.is_ok(), runs, rt_count);
    }
    ExitCode::SUCCESS
}

const SECTIONS: [&str; 4] = ["one", "ten", "all-reading", "round-trip"];

fn one_client(servers: &[Server], runs: usize) {
    println!(
        "# setNumberVector to one client ({} s windows, {runs} runs)",
        WINDOW.as_secs()
    );
    println!(
        "{:<12} {:>12} {:>28} {:>8}",
        "server", "offered/s", "delivered/s (runs)", "B/msg"
    );
    for load in [Load::Paced(20_000), Load::Paced(80_000), Load::Flood] {
        for server in servers {
            let mut rates = Vec::new();
            let mut size = 0.0;
            for _ in 0..runs {
                let running = server.start(load);
                let counted = client::count_sets(running.addr(), WINDOW);
                drop(running);
                size = counted.bytes_per_message();
                rates.push(counted.rate());
            }
            println!(
                "{:<12} {:>12} {:>28} {:>8.0}",
                server.word(),
                load.word(),
                stats::runs(&rates),
                size
            );
        }
    }
}

fn ten_clients(servers: &[Server], runs: usize) {
    println!(
        "\n# ten clients, one of them reading nothing ({} s windows, {runs} runs)",
        TEN_CLIENT_WINDOW.as_secs()
    );
    println!(
        "{:<12} {:>12} {:>30} {:>16} {:>10}",
        "server", "offered/s", "per healthy client/s (min..max)", "peak RSS (MB)", "stalled"
    );
    for load in [
        Load::Paced(2_000),
        Load::Paced(20_000),
        Load::Paced(80_000),
        Load::Flood,
    ] {
        for server in servers {
            for _ in 0..runs {
                let running = server.start(load);
                let outcome = client::ten_clients(&running, TEN_CLIENT_WINDOW, true);
                drop(running);
                println!(
                    "{:<12} {:>12} {:>30} {:>16} {:>10}",
                    server.word(),
                    load.word(),
                    outcome.healthy_summary(),
                    format!("{:.1} → {:.1}", outcome.rss_before_mb, outcome.rss_peak_mb),
                    outcome.stalled_word(),
                );
            }
        }
    }
}

fn all_reading(servers: &[Server], runs: usize) {
    println!(
        "\n# for reference: ten clients, all reading ({} s windows, {runs} runs)",
        WINDOW.as_secs()
    );
    println!(
        "{:<12} {:>12} {:>30} {:>16}",
        "server", "offered/s", "per client/s (min..max)", "peak RSS (MB)"
    );
    for load in [Load::Paced(2_000), Load::Paced(20_000)] {
        for server in servers {
            for _ in 0..runs {
                let running = server.start(load);
                let outcome = client::ten_clients(&running, WINDOW, false);
                drop(running);
                println!(
                    "{:<12} {:>12} {:>30} {:>16}",
                    server.word(),
                    load.word(),
                    outcome.healthy_summary(),
                    format!("{:.1} → {:.1}", outcome.rss_before_mb, outcome.rss_peak_mb),
                );
            }
        }
    }
}

fn round_trip(with_indiserver: bool, runs: usize, rt_count: usize) {
    println!("\n# new → set round trip, N = {rt_count} × {runs} runs (ms)");
    println!(
        "{:<40} {:>22} {:>8} {:>8} {:>8}",
        "path", "run medians", "median", "p99", "max"
    );
    let mut paths = vec![labdeck::ROUND_TRIP];
    if with_indiserver {
        paths.extend(indi_bench::indiserver::ROUND_TRIPS);
    }
    let mut samples = vec![Vec::new(); paths.len()];
    let mut medians = vec![Vec::new(); paths.len()];
    for _ in 0..runs {
        // Interleaved: a noisy moment hits every path.
        for (i, path) in paths.iter().enumerate() {
            let running = path.server.start(Load::Idle);
            let run = client::round_trips(running.addr(), path, rt_count);
            drop(running);
            medians[i].push(stats::percentile(&run, 0.5));
            samples[i].extend(run);
        }
    }
    for (i, path) in paths.iter().enumerate() {
        let all = &samples[i];
        println!(
            "{:<40} {:>22} {:>8.3} {:>8.3} {:>8.3}",
            path.label,
            medians[i]
                .iter()
                .map(|m| format!("{m:.3}"))
                .collect::<Vec<_>>()
                .join(" / "),
            stats::percentile(all, 0.5),
            stats::percentile(all, 0.99),
            stats::percentile(all, 1.0),
        );
    }
}
