//! The connection manager actor with a scripted transport, under paused
//! tokio time: backoff law, cancellation, late opens, link loss, alarms.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use labdeck_core::bus::{Event, EventBus};
use labdeck_core::connection::{
    ConnCommand, ConnectionHandle, ConnectionManager, LinkParts, RetryPolicy, Session, StateKind,
};
use labdeck_core::link::{
    ConnectError, Direction, Opener, PortPath, RingLimits, SerialOpener, SerialSettings,
    TrafficTap, Transport, TransportKind,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Opens according to a script; `Ok` hands out one end of a duplex pipe and
/// keeps the other for the test.
#[derive(Default)]
struct Script {
    results: Mutex<VecDeque<bool>>,
    fail_by_default: bool,
    delay: Duration,
    attempts: Mutex<Vec<Instant>>,
    peers: Mutex<Vec<DuplexStream>>,
}

#[derive(Clone)]
struct ScriptedOpener(Arc<Script>);

impl Opener for ScriptedOpener {
    fn kind(&self) -> TransportKind {
        TransportKind::Tcp
    }

    fn endpoint(&self) -> String {
        "scripted".into()
    }

    fn open(&self) -> BoxFuture<'static, Result<Transport, ConnectError>> {
        let script = self.0.clone();
        Box::pin(async move {
            script.attempts.lock().unwrap().push(Instant::now());
            tokio::time::sleep(script.delay).await;
            let succeed = script
                .results
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or(!script.fail_by_default);
            if !succeed {
                return Err(ConnectError::NotFound {
                    endpoint: "scripted".into(),
                });
            }
            let (ours, theirs) = tokio::io::duplex(4096);
            script.peers.lock().unwrap().push(theirs);
            Ok(Transport {
                stream: Box::new(ours),
                endpoint: "scripted".into(),
            })
        })
    }
}

struct Rig {
    script: Arc<Script>,
    handle: ConnectionHandle,
    sessions: mpsc::Receiver<Session>,
    bus: EventBus,
    tap: TrafficTap,
}

fn rig(script: Script, policy: RetryPolicy) -> Rig {
    let script = Arc::new(script);
    let bus = EventBus::new(1 << 16);
    let tap = TrafficTap::new(
        "link".into(),
        RingLimits::chunks(100),
        Arc::new(bus.clone()),
    );
    let (tx, sessions) = mpsc::channel(4);
    let (manager, handle) = ConnectionManager::new(LinkParts {
        name: "link".into(),
        opener: Arc::new(ScriptedOpener(script.clone())),
        policy,
        tap: tap.clone(),
        out: Arc::new(bus.clone()),
        sessions: Some(tx),
        simulator: None,
        cancel: CancellationToken::new(),
    });
    tokio::spawn(manager.run());
    Rig {
        script,
        handle,
        sessions,
        bus,
        tap,
    }
}

async fn wait_for(handle: &ConnectionHandle, state: StateKind) {
    let mut watch = handle.watch();
    tokio::time::timeout(
        Duration::from_secs(3600),
        watch.wait_for(|s| s.state == state),
    )
    .await
    .unwrap_or_else(|_| panic!("never reached {state}"))
    .expect("manager running");
}

fn failing() -> Script {
    Script {
        fail_by_default: true,
        ..Script::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_missing_device_backs_off_exponentially_with_jitter_and_a_cap() {
    let policy = RetryPolicy::default();
    let rig = rig(failing(), policy);
    rig.handle.command(ConnCommand::Connect).await.unwrap();
    let mut watch = rig.handle.watch();
    watch.wait_for(|s| s.counters.attempts >= 12).await.unwrap();
    let snapshot = rig.handle.snapshot();
    assert_eq!(
        snapshot.last_error.as_deref(),
        Some("open failed: scripted: not found")
    );
    let times = rig.script.attempts.lock().unwrap().clone();
    for (n, pair) in times.windows(2).enumerate() {
        let delay = pair[1] - pair[0];
        let nominal = policy.delay(n as u32 + 1);
        assert!(
            delay >= nominal / 2 && delay <= nominal + Duration::from_millis(1),
            "retry {}: waited {delay:?}, nominal {nominal:?}",
            n + 1
        );
    }
    // Grows, then stays at the cap.
    assert!(times[11] - times[10] <= Duration::from_secs(30));
    assert!(times[11] - times[10] >= Duration::from_secs(15));
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_failed_attempts_neither_recurse_nor_stall() {
    let policy = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(20),
        ..RetryPolicy::default()
    };
    let rig = rig(failing(), policy);
    rig.handle.command(ConnCommand::Connect).await.unwrap();
    let mut watch = rig.handle.watch();
    watch
        .wait_for(|s| s.counters.attempts >= 10_000)
        .await
        .unwrap();
    // Still answering commands.
    assert_eq!(
        rig.handle.command(ConnCommand::Disconnect).await.unwrap(),
        StateKind::Disconnected
    );
}

#[tokio::test(start_paused = true)]
async fn disconnect_during_recovery_stops_every_further_attempt() {
    let rig = rig(failing(), RetryPolicy::default());
    rig.handle.command(ConnCommand::Connect).await.unwrap();
    wait_for(&rig.handle, StateKind::Recovering).await;
    assert_eq!(
        rig.handle.command(ConnCommand::Disconnect).await.unwrap(),
        StateKind::Disconnected
    );
    let attempts = rig.script.attempts.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(rig.script.attempts.lock().unwrap().len(), attempts);
    assert_eq!(rig.handle.snapshot().state, StateKind::Disconnected);
    // The last error survives the disconnect.
    assert!(rig.handle.snapshot().last_error.is_some());
}

#[tokio::test(start_paused = true)]
async fn an_open_abandoned_by_disconnect_leaves_no_transport_open() {
    let script = Script {
        delay: Duration::from_secs(2),
        ..Script::default()
    };
    let rig = rig(script, RetryPolicy::default());
    rig.handle.command(ConnCommand::Connect).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rig.handle.command(ConnCommand::Disconnect).await.unwrap(),
        StateKind::Disconnected
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(rig.handle.snapshot().state, StateKind::Disconnected);
    // The abandoned attempt never produced a transport (aborted), or if it
    // did, its peer sees the other end closed.
    let peers: Vec<DuplexStream> = rig.script.peers.lock().unwrap().drain(..).collect();
    for mut peer in peers {
        let mut buf = [0u8; 1];
        assert_eq!(peer.read(&mut buf).await.unwrap(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn disconnect_and_teardown_work_from_every_state() {
    for target in [ConnCommand::Disconnect, ConnCommand::Teardown] {
        let expected = match target {
            ConnCommand::Teardown => StateKind::TornDown,
            _ => StateKind::Disconnected,
        };
        // Ready (disconnect is a no-op there).
        let r = rig(Script::default(), RetryPolicy::default());
        let from_ready = r.handle.command(target).await.unwrap();
        assert!(from_ready == expected || from_ready == StateKind::Ready);
        // Connecting (slow open).
        let r = rig(
            Script {
                delay: Duration::from_secs(3),
                ..Script::default()
            },
            RetryPolicy::default(),
        );
        r.handle.command(ConnCommand::Connect).await.unwrap();
        assert_eq!(r.handle.command(target).await.unwrap(), expected);
        // Connected.
        let r = rig(Script::default(), RetryPolicy::default());
        r.handle.command(ConnCommand::Connect).await.unwrap();
        wait_for(&r.handle, StateKind::Connected).await;
        assert_eq!(r.handle.command(target).await.unwrap(), expected);
        // Recovering.
        let r = rig(failing(), RetryPolicy::default());
        r.handle.command(ConnCommand::Connect).await.unwrap();
        wait_for(&r.handle, StateKind::Recovering).await;
        assert_eq!(r.handle.command(target).await.unwrap(), expected);
        // Disconnected, and connect works again from there.
        let r = rig(Script::default(), RetryPolicy::default());
        r.handle.command(ConnCommand::Connect).await.unwrap();
        r.handle.command(ConnCommand::Disconnect).await.unwrap();
        assert_eq!(r.handle.command(target).await.unwrap(), expected);
        if target == ConnCommand::Disconnect {
            assert_eq!(
                r.handle.command(ConnCommand::Connect).await.unwrap(),
                StateKind::Connecting
            );
            wait_for(&r.handle, StateKind::Connected).await;
        } else {
            assert!(r.handle.command(ConnCommand::Connect).await.is_err());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn link_loss_recovers_by_itself_and_every_subscriber_hears_of_it() {
    let mut rig = rig(Script::default(), RetryPolicy::default());
    let mut first = rig.bus.subscribe();
    let mut second = rig.bus.subscribe();
    rig.handle.command(ConnCommand::Connect).await.unwrap();
    wait_for(&rig.handle, StateKind::Connected).await;
    let session = rig.sessions.recv().await.expect("a session");
    // The peer goes away (cable pulled).
    rig.script.peers.lock().unwrap().clear();
    wait_for(&rig.handle, StateKind::Recovering).await;
    assert!(
        session.closed.is_cancelled() || {
            tokio::time::sleep(Duration::from_millis(10)).await;
            session.closed.is_cancelled()
        }
    );
    wait_for(&rig.handle, StateKind::Connected).await;
    for events in [&mut first, &mut second] {
        let mut saw_loss = false;
        while let Ok(event) = events.try_recv() {
            if let Event::Transition { record, .. } = event {
                saw_loss |=
                    record.from == StateKind::Connected && record.to == StateKind::Recovering;
            }
        }
        assert!(saw_loss, "a subscriber missed the loss");
    }
    assert_eq!(rig.handle.snapshot().counters.losses, 1);
}

#[tokio::test(start_paused = true)]
async fn chunks_flow_both_ways_through_the_tap_and_alarms_drive_recovery() {
    let mut rig = rig(Script::default(), RetryPolicy::default());
    rig.handle.command(ConnCommand::Connect).await.unwrap();
    let mut session = rig.sessions.recv().await.expect("a session");
    let mut peer = rig.script.peers.lock().unwrap().pop().unwrap();
    session.writer.write(b"\x02query").await.unwrap();
    let mut buf = [0u8; 16];
    let n = peer.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"\x02query");
    peer.write_all(b"reply").await.unwrap();
    let chunk = session.rx.recv().await.unwrap();
    assert_eq!(&chunk.bytes[..], b"reply");
    let history = rig.tap.history();
    assert_eq!(history.len(), 2);
    assert_eq!(
        (history[0].dir, history[1].dir),
        (Direction::Tx, Direction::Rx)
    );

    session.raise_alarm("no reply within 1.0 s");
    wait_for(&rig.handle, StateKind::Recovering).await;
    let snapshot = rig.handle.snapshot();
    assert_eq!(
        snapshot.alarm.as_ref().map(|a| a.reason.as_str()),
        Some("no reply within 1.0 s")
    );
    assert_eq!(snapshot.counters.alarms, 1);
    // A second alarm on the dead session changes nothing.
    session.raise_alarm("again");
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(rig.handle.snapshot().counters.alarms, 1);
}

#[tokio::test]
async fn opening_a_missing_serial_port_says_not_found() {
    let opener = SerialOpener::new(
        PortPath::Fixed("/dev/labdeck-missing-port".into()),
        SerialSettings::DEFAULT,
    );
    let error = opener.open().await.unwrap_err();
    assert!(matches!(error, ConnectError::NotFound { .. }), "{error:?}");
    assert_eq!(error.to_string(), "/dev/labdeck-missing-port: not found");
}

#[tokio::test]
async fn opening_a_busy_serial_port_says_busy() {
    // A pty slave held exclusively by one opener is busy for the next.
    let pair = nix_pty();
    let settings = SerialSettings::DEFAULT;
    let first = SerialOpener::new(PortPath::Fixed(pair.clone()), settings);
    let _held = first.open().await.expect("first open");
    let second = SerialOpener::new(PortPath::Fixed(pair), settings);
    match second.open().await {
        Err(ConnectError::Busy { .. }) => {}
        // root ignores TIOCEXCL, but the advisory lock still refuses.
        other => panic!("expected busy, got {other:?}"),
    }
}

/// A pty whose slave path a test can open (kept alive for the process).
fn nix_pty() -> std::path::PathBuf {
    let port = labdeck_core::link::pty::VirtualPort::open(None).expect("pty");
    let path = port.path().to_path_buf();
    std::mem::forget(port);
    path
}

#[tokio::test]
async fn a_tcp_link_connects_carries_bytes_and_recovers_when_refused() {
    use labdeck_core::link::TcpOpener;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let bus = EventBus::new(1024);
    let tap = TrafficTap::new("tcp".into(), RingLimits::chunks(100), Arc::new(bus.clone()));
    let (tx, mut sessions) = mpsc::channel(4);
    let policy = RetryPolicy {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let (manager, handle) = ConnectionManager::new(LinkParts {
        name: "tcp".into(),
        opener: Arc::new(TcpOpener::new(address.clone())),
        policy,
        tap: tap.clone(),
        out: Arc::new(bus),
        sessions: Some(tx),
        simulator: None,
        cancel: CancellationToken::new(),
    });
    tokio::spawn(manager.run());
    handle.command(ConnCommand::Connect).await.unwrap();
    let (mut peer, _) = listener.accept().await.unwrap();
    let mut session = sessions.recv().await.unwrap();
    assert_eq!(session.endpoint, address);
    session.writer.write(b"*IDN?\n").await.unwrap();
    let mut buf = [0u8; 16];
    let n = peer.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"*IDN?\n");
    peer.write_all(b"LABDECK\n").await.unwrap();
    assert_eq!(&session.rx.recv().await.unwrap().bytes[..], b"LABDECK\n");
    // The server goes away entirely: EOF, then refused reconnects.
    drop(peer);
    drop(listener);
    let mut watch = handle.watch();
    tokio::time::timeout(
        Duration::from_secs(10),
        watch.wait_for(|s| {
            s.last_error
                .as_deref()
                .is_some_and(|e| e.contains("connection refused"))
        }),
    )
    .await
    .expect("a refused reconnect")
    .unwrap();
    assert_eq!(handle.snapshot().state, StateKind::Recovering);
    assert_eq!(handle.snapshot().transport, TransportKind::Tcp);
}
