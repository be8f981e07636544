//! Who may connect: the client limit, the per-address limit, and the time
//! a connection has to say something. A connection that has not sent one
//! complete element is the first to make room, so sockets that connect
//! and stay silent cannot lock clients out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::clients::{Client, refuse};
use super::{IndiServer, timestamp_now};
use labdeck_protocol::indi::Message;

/// Bytes the kernel may hold for a client beyond its outbox: plenty for
/// a fast link (256 MB/s at 1 ms round trip), little for one that stalls.
const SEND_BUFFER: usize = 256 * 1024;

/// How long a new connection may stay silent before it can be closed to
/// make room (at most half the handshake timeout).
const GRACE: Duration = Duration::from_millis(250);

impl IndiServer {
    pub(super) fn accept(&mut self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        // The outbox is the client's queue; the kernel's need not grow to
        // megabytes for a client that does not read.
        let _ = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER);
        let from_peer = self
            .clients
            .values()
            .filter(|c| c.peer.ip() == peer.ip())
            .count();
        if from_peer >= self.spec.max_per_address
            && !self.make_room(
                Some(peer),
                "a new connection from the same address needs the slot",
            )
        {
            let why = format!(
                "{} connections from {} already",
                self.spec.max_per_address,
                peer.ip()
            );
            return refuse_with(stream, peer, &why);
        }
        if self.clients.len() >= self.spec.max_clients
            && !self.make_room(None, "a new connection needs the slot")
        {
            let why = format!("too many clients ({})", self.spec.max_clients);
            return refuse_with(stream, peer, &why);
        }
        let id = self.next_id;
        self.next_id += 1;
        tracing::info!("INDI server: client {peer} connected");
        let client = Client::start(stream, peer, id, self.spec.outbox, self.inbound_tx.clone());
        self.clients.insert(id, client);
        self.stats.clients = self.clients.len();
    }

    /// Close the oldest connection that has said nothing for a while yet
    /// (from the address of `like`, if given); whether there was one. A
    /// connection just opened is given a moment: a client that connects
    /// in the middle of a burst of silent ones is not taken for one.
    fn make_room(&mut self, like: Option<SocketAddr>, why: &str) -> bool {
        let grace = (self.spec.handshake_timeout / 2).min(GRACE);
        let now = Instant::now();
        let silent = self
            .clients
            .iter()
            .filter(|(_, c)| !c.spoke() && c.connected_at + grace <= now)
            .filter(|(_, c)| like.is_none_or(|p| p.ip() == c.peer.ip()))
            .min_by_key(|(_, c)| c.connected_at)
            .map(|(id, _)| *id);
        let Some(id) = silent else {
            return false;
        };
        self.tell_and_drop(
            id,
            &format!("labdeck: {why}; closing this silent connection"),
        );
        true
    }

    /// When the next silent connection's time is up.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.clients
            .values()
            .filter(|c| !c.spoke())
            .map(|c| c.connected_at + self.spec.handshake_timeout)
            .min()
    }

    /// Close the silent connections whose time is up.
    pub(super) fn close_silent(&mut self) {
        let now = Instant::now();
        let expired: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| !c.spoke() && c.connected_at + self.spec.handshake_timeout <= now)
            .map(|(id, _)| *id)
            .collect();
        let why = format!(
            "labdeck: nothing received within {} s; closing",
            self.spec.handshake_timeout.as_secs_f64()
        );
        for id in expired {
            self.tell_and_drop(id, &why);
        }
    }

    fn tell_and_drop(&mut self, id: u64, text: &str) {
        let message = Message::Message {
            device: None,
            timestamp: Some(timestamp_now()),
            message: Some(text.to_string()),
        };
        self.send(id, &message);
        self.drop_client(id, text.trim_start_matches("labdeck: "));
    }
}

/// Tell a connection it is not taken, and why, then close it.
fn refuse_with(stream: TcpStream, peer: SocketAddr, why: &str) {
    tracing::warn!("INDI server: refusing {peer}: {why}");
    let text = Message::Message {
        device: None,
        timestamp: Some(timestamp_now()),
        message: Some(format!("labdeck: {why}; closing")),
    };
    refuse(stream, text.to_xml());
}

/// Sleep until `at`, or for ever.
pub(super) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
