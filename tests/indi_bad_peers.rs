//! Bad network peers against labdeck's INDI server over real sockets:
//! markup that never ends, connections that never speak, clients that
//! flood requests without reading. Each is answered or dropped; the good
//! client and the pump's link carry on.

mod common;

use std::time::Duration;

use common::indi::{IndiPeer, client, is_vector, serve_pump};
use labdeck_core::connection::StateKind;
use labdeck_protocol::indi::{Message, Op};
use tokio::io::AsyncWriteExt;

fn says(m: &Message, text: &str) -> bool {
    matches!(m, Message::Message { message: Some(t), .. } if t.contains(text))
}

async fn ping(peer: &mut IndiPeer, uid: &str) {
    peer.send(&format!("<pingRequest uid='{uid}'/>")).await;
    peer.wait_for(
        "the ping reply",
        |m| matches!(m, Message::PingReply { uid: u } if u == uid),
    )
    .await;
}

#[tokio::test]
async fn markup_that_never_ends_is_refused_at_its_limit() {
    let (runtime, address) = serve_pump("").await;
    let mut good = client(address).await;
    for (n, opening) in ["<getProperties ", "<getProperties version='", "<!--"]
        .into_iter()
        .enumerate()
    {
        let mut bad = IndiPeer::connect(address).await;
        bad.send(opening).await;
        // Streams well past the 64 KiB a tag may take; the server must
        // have closed before the end (a write may then fail: that is fine).
        let filler = vec![b'a'; 4096];
        for _ in 0..64 {
            if bad.stream.write_all(&filler).await.is_err() {
                break;
            }
        }
        bad.wait_for("the reason", |m| says(m, "never closed"))
            .await;
        bad.wait_closed().await;
        ping(&mut good, &n.to_string()).await;
    }
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn silent_connections_cannot_lock_clients_out() {
    let (runtime, address) = serve_pump("max-clients = 4\nhandshake-timeout = 0.5").await;
    // Every slot taken by sockets that never speak.
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(IndiPeer::connect(address).await);
    }
    // Past the moment a new connection is given to speak.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // A client that speaks is served at once: the oldest silent one
    // makes room and is told why.
    let mut good = client(address).await;
    silent[0]
        .wait_for("the reason", |m| says(m, "silent connection"))
        .await;
    silent[0].wait_closed().await;
    // The others are closed when their time is up.
    for peer in &mut silent[1..] {
        peer.wait_for("the reason", |m| says(m, "nothing received within 0.5 s"))
            .await;
        peer.wait_closed().await;
    }
    ping(&mut good, "after").await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_address_cannot_take_every_slot() {
    let (runtime, address) = serve_pump("max-clients = 6\nmax-per-address = 2").await;
    let _first = client(address).await;
    let _second = client(address).await;
    let mut third = IndiPeer::connect(address).await;
    third
        .wait_for("the refusal", |m| {
            says(m, "2 connections from 127.0.0.1 already")
        })
        .await;
    third.wait_closed().await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test]
async fn clients_flooding_get_properties_are_dropped_and_nobody_else_waits() {
    let (runtime, address) = serve_pump("queue-mb = 1").await;
    let mut good = client(address).await;
    let mut floods = Vec::new();
    for _ in 0..4 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(address).await.unwrap();
        floods.push(tokio::spawn(async move {
            let mut stream = stream;
            let ask = "<getProperties version='1.7'/>".repeat(500);
            // Until the server cuts it off.
            while stream.write_all(ask.as_bytes()).await.is_ok() {}
        }));
    }
    for n in 0..50 {
        ping(&mut good, &n.to_string()).await;
    }
    // Live updates keep coming too.
    for _ in 0..2 {
        good.wait_for("a TELEGRAMS update", |m| {
            is_vector(m, Op::Set, "pump", "TELEGRAMS").is_some()
        })
        .await;
    }
    for flood in floods {
        tokio::time::timeout(common::LIMIT, flood)
            .await
            .expect("a flooding client was never dropped")
            .unwrap();
    }
    let link = runtime.hub().connection("port").unwrap().snapshot();
    assert_eq!(link.state, StateKind::Connected, "{link:?}");
    runtime.shutdown().await.unwrap();
}
