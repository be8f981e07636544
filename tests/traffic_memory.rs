//! What a link's recorded traffic costs in memory: a TCP link on
//! 127.0.0.1 receives thousands of small chunks through the connection
//! manager's session and the traffic tap to a live view that keeps them,
//! and memory grows by about the bytes kept, not by a read buffer per
//! chunk (the test process's RSS).

use std::sync::Arc;
use std::time::Duration;

use labdeck_core::bus::EventBus;
use labdeck_core::connection::{ConnCommand, ConnectionManager, LinkParts, RetryPolicy};
use labdeck_core::link::{RingLimits, TcpOpener, TrafficTap};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Resident memory of this test process, in bytes.
fn rss() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: i64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    kb * 1024
}

const CHUNKS: u64 = 5000;
const TELEGRAM: usize = 24;

#[tokio::test]
async fn recorded_chunks_cost_their_size_not_a_read_buffer_each() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let bus = EventBus::new(4096);
    let tap = TrafficTap::new(
        "tcp".into(),
        RingLimits::chunks(10_000),
        Arc::new(bus.clone()),
    );
    let (tx, mut sessions) = mpsc::channel(4);
    let (manager, handle) = ConnectionManager::new(LinkParts {
        name: "tcp".into(),
        opener: Arc::new(TcpOpener::new(address)),
        policy: RetryPolicy::default(),
        tap: tap.clone(),
        out: Arc::new(bus.clone()),
        sessions: Some(tx),
        simulator: None,
        cancel: CancellationToken::new(),
    });
    tokio::spawn(manager.run());
    handle.command(ConnCommand::Connect).await.unwrap();
    let (mut peer, _) = listener.accept().await.unwrap();
    let mut session = sessions.recv().await.unwrap();
    // The driver's side takes every chunk and lets it go; a live view
    // (the console's traffic pane) keeps every chunk it is shown.
    tokio::spawn(async move { while session.rx.recv().await.is_some() {} });
    let mut events = bus.subscribe();
    let shown = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok(event) = events.recv().await {
            if let labdeck_core::bus::Event::Traffic(chunk) = event {
                kept.push(chunk);
            }
        }
        kept.len()
    });
    let before = rss();
    // One telegram per read: written one at a time, each after the
    // previous one has been recorded.
    for n in 0..CHUNKS {
        peer.write_all(&[0x02; TELEGRAM]).await.unwrap();
        while tap.counters().chunks <= n {
            tokio::time::sleep(Duration::from_micros(50)).await;
        }
    }
    let grown = rss() - before;
    let per_chunk = grown / i64::try_from(CHUNKS).unwrap();
    let (kept, _) = tap.kept();
    assert_eq!(u64::try_from(kept).unwrap(), CHUNKS);
    // The payload, the ring's record and the event on the bus cost about
    // 150 bytes; a 4 KiB read buffer kept per chunk is far above the line.
    assert!(
        per_chunk < 1024,
        "{per_chunk} bytes of memory per {TELEGRAM}-byte chunk kept ({grown} for {CHUNKS})"
    );
    drop(peer);
    drop((bus, tap, handle));
    shown.abort();
}
