//! What attaching costs in latency: an event published on the lab's bus,
//! until (a) a subscriber in the same process has it (what the embedded
//! console gets) and (b) a client of the control socket has it (what an
//! attached console gets: the daemon's session serialises it, the socket
//! carries it, the client decodes it). Both in the same run, interleaved,
//! on the demo lab with its live traffic going on.
//!
//! `cargo bench --bench attach_latency [-- EVENTS]` (default 2000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use labdeck::daemon::wire::FromDaemon;
use labdeck::daemon::{Clients, Listener};
use labdeck_core::bus::{Event, EventBus};
use labdeck_core::config::{self, ConfigOrigin};
use labdeck_core::runtime::Runtime;
use tokio_util::sync::CancellationToken;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(label: &str, mut micros: Vec<f64>) -> f64 {
    micros.sort_by(f64::total_cmp);
    let median = percentile(&micros, 0.5);
    println!(
        "{label:<28} n={:>5}  median {median:>8.1} µs  p90 {:>8.1} µs  p99 {:>8.1} µs  max {:>8.1} µs",
        micros.len(),
        percentile(&micros, 0.9),
        percentile(&micros, 0.99),
        micros[micros.len() - 1]
    );
    median
}

fn json_len<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value).map_or(0, |v| v.len())
}

/// The number in a notice `bench N`.
fn number(event: &Event) -> Option<usize> {
    match event {
        Event::Notice(notice) => notice.message.strip_prefix("bench ")?.parse().ok(),
        _ => None,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let events: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config =
        config::parse(config::DEMO, ConfigOrigin::Demo).expect("the demo configuration");
    config.indi_server = None;
    config.tasks.data_dir = dir.path().to_path_buf();
    let bus = EventBus::new(4096);
    let runtime = Runtime::start_on(&config, bus.clone())
        .await
        .expect("the demo lab starts");
    let path = dir.path().join("lab.sock");
    let listener = Listener::bind(&path).expect("bind the control socket");
    let stop = CancellationToken::new();
    tokio::spawn(labdeck::daemon::serve(
        listener,
        runtime.hub().clone(),
        "demo".into(),
        Arc::new(Clients::default()),
        stop.clone(),
    ));
    let (_client, _, mut frames) =
        labdeck::daemon::connect(&path, labdeck::daemon::this_peer("console"), false, true)
            .await
            .expect("attach");
    // Arrival times are taken where the events arrive, each on its own task.
    let (local_tx, mut local_at) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let mut local = bus.subscribe();
    tokio::spawn(async move {
        while let Ok(event) = local.recv().await {
            if let Some(n) = number(&event) {
                let _ = local_tx.send((n, Instant::now()));
            }
        }
    });
    let (remote_tx, mut remote_at) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if let FromDaemon::Event { event } = frame
                && let Some(n) = number(&event)
            {
                let _ = remote_tx.send((n, Instant::now()));
            }
        }
    });
    // Let the lab settle (links up, first polls).
    tokio::time::sleep(Duration::from_secs(2)).await;

    let source: Arc<str> = "bench".into();
    let (mut embedded, mut attached) = (Vec::new(), Vec::new());
    for n in 0..events {
        let sent = Instant::now();
        bus.notice(&source, format!("bench {n}"));
        for (arrivals, times) in [
            (&mut local_at, &mut embedded),
            (&mut remote_at, &mut attached),
        ] {
            loop {
                let (m, at) = arrivals.recv().await.expect("still open");
                if m == n {
                    times.push(at.duration_since(sent).as_secs_f64() * 1e6);
                    break;
                }
            }
        }
        // One event at a time, as a property change is, with the lab's
        // own traffic in between.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    println!("{events} events on the demo lab's bus, one at a time (2 ms apart)");
    let snapshot = runtime.hub().snapshot();
    println!(
        "a state frame is {} bytes of JSON (connections {}, devices {}, simulators {}, the rest {})",
        json_len(&snapshot),
        json_len(&snapshot.connections),
        json_len(&snapshot.devices),
        json_len(&snapshot.simulators),
        json_len(&snapshot.taps) + json_len(&snapshot.actors) + json_len(&snapshot.macros)
    );
    let a = summary("embedded (bus subscriber)", embedded);
    let b = summary("attached (control socket)", attached);
    println!("attached adds {:.1} µs at the median", b - a);
    stop.cancel();
    let _ = runtime.shutdown().await;
}
