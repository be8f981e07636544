//! Who is attached to a daemon, who holds the control lock, and how far
//! behind each client's queue is.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::wire::Peer;

/// How many clients, and how far each may fall behind.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// What may wait for one client before its events are dropped.
    pub queue_bytes: usize,
    /// How long a client may stay behind before it is cut off.
    pub cut_off_after: Duration,
    /// Clients attached at once; the next is told so and closed.
    pub max_clients: usize,
    /// Requests of one client being carried out at once; more wait
    /// (and its socket is not read meanwhile).
    pub requests_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue_bytes: 4 << 20,
            cut_off_after: Duration::from_secs(10),
            max_clients: 32,
            requests_in_flight: 8,
        }
    }
}

/// One client's queue as it stands.
#[derive(Debug, Default)]
pub struct Stats {
    /// Bytes queued for it and not yet written.
    pub queued: AtomicUsize,
    /// The most that was ever queued.
    pub peak: AtomicUsize,
    /// Events dropped because it was behind.
    pub dropped: AtomicU64,
}

/// An attached client, as `clients` and `status` list it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: u64,
    pub peer: Peer,
    pub stats: Arc<Stats>,
}

/// The clients attached now, and who holds control.
#[derive(Debug, Default)]
pub struct Clients {
    pub(super) limits: Limits,
    next: AtomicU64,
    attached: std::sync::Mutex<Vec<ClientInfo>>,
    pub(super) control: watch::Sender<Option<(u64, Peer)>>,
}

impl Clients {
    pub fn with_limits(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Who is attached, by number.
    pub fn list(&self) -> Vec<ClientInfo> {
        self.attached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    pub fn holder(&self) -> Option<(u64, Peer)> {
        self.control.borrow().clone()
    }

    /// A new client's number and statistics; `None` when the daemon has
    /// as many clients as it takes.
    pub(super) fn join(&self, peer: &Peer, control: bool) -> Option<(u64, Arc<Stats>)> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let stats = Arc::new(Stats::default());
        {
            let mut attached = self
                .attached
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if attached.len() >= self.limits.max_clients {
                return None;
            }
            attached.push(ClientInfo {
                id,
                peer: peer.clone(),
                stats: stats.clone(),
            });
        }
        if control {
            self.control.send_if_modified(|holder| {
                if holder.is_none() {
                    *holder = Some((id, peer.clone()));
                    true
                } else {
                    false
                }
            });
        }
        Some((id, stats))
    }

    pub(super) fn take_control(&self, id: u64, peer: &Peer) {
        self.control.send_replace(Some((id, peer.clone())));
    }

    pub(super) fn leave(&self, id: u64) {
        self.attached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|client| client.id != id);
        self.control.send_if_modified(|holder| match holder {
            Some((holder_id, _)) if *holder_id == id => {
                *holder = None;
                true
            }
            _ => false,
        });
    }

    /// Whether client `id` may change the lab: it holds control, or
    /// nobody does.
    pub(super) fn may_write(&self, id: u64) -> Result<(), String> {
        match &*self.control.borrow() {
            Some((holder, _)) if *holder == id => Ok(()),
            None => Ok(()),
            Some((_, peer)) => Err(format!(
                "read-only: {peer} holds control (take it with :control take, or attach --control)"
            )),
        }
    }
}

/// Who is attached, a line each: number, who, and who holds control.
pub(super) fn describe_clients(clients: &Clients, asking: u64) -> String {
    let holder = clients.holder().map(|(id, _)| id);
    let list = clients.list();
    let mut lines = vec![format!("{} client(s) attached", list.len())];
    for ClientInfo { id, peer, stats } in list {
        let mut line = format!(
            "  #{id} {peer}: {} B queued (peak {}), {} event(s) dropped",
            stats.queued.load(Ordering::Relaxed),
            stats.peak.load(Ordering::Relaxed),
            stats.dropped.load(Ordering::Relaxed)
        );
        if Some(id) == holder {
            line.push_str(" [control]");
        }
        if id == asking {
            line.push_str(" (this one)");
        }
        lines.push(line);
    }
    if holder.is_none() {
        lines.push("  nobody holds control".into());
    }
    lines.join("\n")
}
