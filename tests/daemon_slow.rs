//! A client of the control socket that never reads, against one that
//! does, while the lab floods its event bus: the slow one's queue stays
//! within its byte limit, its events are dropped and counted, and it is
//! cut off; the other one keeps receiving and stays attached.

mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use labdeck::daemon::wire::FromDaemon;
use labdeck::daemon::{Clients, Limits, Listener};
use labdeck_core::bus::EventBus;
use labdeck_core::config::{self, ConfigOrigin};
use labdeck_core::runtime::Runtime;
use tokio_util::sync::CancellationToken;

const LIMIT: usize = 64 << 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off_and_the_daemon_stays_bounded() {
    let config = config::parse(&common::pump_config("compat", ""), ConfigOrigin::Demo).unwrap();
    let bus = EventBus::new(4096);
    let runtime = Runtime::start_on(&config, bus.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.sock");
    let listener = Listener::bind(&path).unwrap();
    let clients = Arc::new(Clients::with_limits(Limits {
        queue_bytes: LIMIT,
        cut_off_after: Duration::from_millis(500),
        ..Limits::default()
    }));
    let stop = CancellationToken::new();
    tokio::spawn(labdeck::daemon::serve(
        listener,
        runtime.hub().clone(),
        "test lab".into(),
        clients.clone(),
        stop.clone(),
    ));

    // The slow one: says hello with events on, then never reads.
    let mut slow = std::os::unix::net::UnixStream::connect(&path).unwrap();
    let hello = br#"{"frame":"hello","version":1,"peer":{"kind":"console","user":"x","pid":1,"tty":null},"control":false,"events":true}"#;
    slow.write_all(&u32::try_from(hello.len()).unwrap().to_be_bytes())
        .unwrap();
    slow.write_all(hello).unwrap();
    common::wait_until("the slow client attached", || clients.list().len() == 1).await;
    let slow_id = clients.list()[0].id;

    // The good one reads everything.
    let (_good, _, mut frames) =
        labdeck::daemon::connect(&path, labdeck::daemon::this_peer("console"), false, true)
            .await
            .unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let count = received.clone();
    tokio::spawn(async move {
        while let Some(frame) = frames.recv().await {
            if matches!(
                frame,
                FromDaemon::Event { .. } | FromDaemon::State { .. } | FromDaemon::Changes { .. }
            ) {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    common::wait_until("both clients attached", || clients.list().len() == 2).await;

    // A flood: kilobyte notices, far more than a socket buffer holds.
    let source: Arc<str> = "flood".into();
    let text = "x".repeat(1000);
    let mut peak = 0;
    for round in 0..400 {
        for _ in 0..50 {
            bus.notice(&source, text.clone());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let list = clients.list();
        let Some(slow) = list.iter().find(|c| c.id == slow_id) else {
            break;
        };
        peak = slow.stats.peak.load(Ordering::Relaxed);
        // What waits for it is bounded: the limit and a frame or two.
        assert!(
            peak <= LIMIT + (16 << 10),
            "round {round}: {peak} bytes queued"
        );
        assert!(round < 399, "the slow client was never cut off");
    }
    assert!(
        peak > LIMIT / 2,
        "the flood never filled the slow client's queue"
    );
    let before = received.load(Ordering::Relaxed);
    // The good client is still there and still receives.
    common::wait_until("the good client still receives", || {
        bus.notice(&source, "after the cut");
        received.load(Ordering::Relaxed) > before
    })
    .await;
    assert_eq!(clients.list().len(), 1);
    stop.cancel();
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_daemon_takes_so_many_clients_and_says_so_to_the_next() {
    let config = config::parse(&common::pump_config("compat", ""), ConfigOrigin::Demo).unwrap();
    let runtime = Runtime::start(&config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.sock");
    let clients = Arc::new(Clients::with_limits(Limits {
        max_clients: 2,
        ..Limits::default()
    }));
    let stop = CancellationToken::new();
    tokio::spawn(labdeck::daemon::serve(
        Listener::bind(&path).unwrap(),
        runtime.hub().clone(),
        "test lab".into(),
        clients.clone(),
        stop.clone(),
    ));
    let attach =
        || labdeck::daemon::connect(&path, labdeck::daemon::this_peer("ctl"), false, false);
    let first = attach().await.unwrap();
    let _second = attach().await.unwrap();
    let refused = attach().await.unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("the daemon has 2 clients already"),
        "{refused}"
    );
    // One leaves: the next is let in.
    drop(first);
    common::wait_until("the first client gone", || clients.list().len() == 1).await;
    let (third, _, _) = attach().await.unwrap();
    assert!(third.line("status").await.unwrap().0);
    stop.cancel();
    runtime.shutdown().await.unwrap();
}
