//! Remote INDI servers' devices served again (chaining, like indiserver's
//! `Device@host:port`): their messages relayed to interested clients as
//! received, `getProperties` answered from what the relay keeps, a
//! client's `new*` written to the remote as it came. A device name is
//! served once: labdeck's own devices first, then the first remote that
//! defines it; a clash is said once, in the log and as a notice. A
//! remote that drops takes only its own devices away.

use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::{broadcast, mpsc};

use super::writes::Done;
use super::{IndiServer, timestamp_now};
use labdeck_core::device::indi::{ROUTE, Relay, Relayed, extend_route};
use labdeck_core::hub::Request;
use labdeck_protocol::indi::{BlobMode, Message, Op, Vector};

/// What a relay's forwarder hands the server.
pub(super) enum FromRelay {
    Relayed(Relayed),
    /// The server fell this far behind: start over from what is kept.
    Lagged,
}

/// The relays served and which of their devices are.
#[derive(Default)]
pub(super) struct Relays {
    served: Vec<Relay>,
    /// Device name → the relay serving it.
    claims: BTreeMap<String, usize>,
    /// (relay, device) clashes already reported.
    clashes: BTreeSet<(usize, String)>,
}

impl Relays {
    pub(super) fn serving(&self, device: &str) -> Option<&Relay> {
        self.claims.get(device).map(|&r| &self.served[r])
    }
}

impl IndiServer {
    /// Subscribe to every relay (before looking at what each keeps); a
    /// forwarder per relay.
    pub(super) fn watch_relays(&mut self) -> mpsc::Receiver<(usize, FromRelay)> {
        let (tx, rx) = mpsc::channel(1024);
        self.relays.served = self.hub.relays().to_vec();
        for (r, relay) in self.relays.served.iter().enumerate() {
            let mut feed = relay.subscribe();
            let tx = tx.clone();
            tokio::spawn(async move {
                loop {
                    let next = match feed.recv().await {
                        Ok(relayed) => FromRelay::Relayed(relayed),
                        Err(broadcast::error::RecvError::Lagged(_)) => FromRelay::Lagged,
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    if tx.send((r, next)).await.is_err() {
                        return;
                    }
                }
            });
        }
        for r in 0..self.relays.served.len() {
            for (device, _) in self.relays.served[r].devices() {
                self.claim(r, &device);
            }
        }
        rx
    }

    /// Whether relay `r` serves `device`, claiming it when nobody does.
    fn claim(&mut self, r: usize, device: &str) -> bool {
        let owner = if self.source_of(device).is_some() {
            Err("a device of this labdeck has the name".to_string())
        } else {
            match self.relays.claims.get(device) {
                Some(&o) if o == r => Ok(()),
                Some(&o) => Err(format!(
                    "remote {} serves a device of that name",
                    self.relays.served[o].remote()
                )),
                None => {
                    self.relays.claims.insert(device.to_string(), r);
                    Ok(())
                }
            }
        };
        let Err(why) = owner else {
            return true;
        };
        if self.relays.clashes.insert((r, device.to_string())) {
            let remote = self.relays.served[r].remote().clone();
            let text = format!("INDI server: {device} of remote {remote} not served again: {why}");
            tracing::warn!("{text}");
            self.hub.notice(&remote, text);
        }
        false
    }

    pub(super) fn relayed(&mut self, r: usize, from: FromRelay) {
        match from {
            FromRelay::Relayed(Relayed::Message(message)) => self.relay_message(r, &message),
            FromRelay::Relayed(Relayed::Down) => {
                let remote = self.relays.served[r].remote().clone();
                self.drop_relayed(r, &format!("labdeck: the link to {remote} is down"));
            }
            FromRelay::Lagged => {
                tracing::warn!(
                    "INDI server: behind a remote's messages; defining its devices again"
                );
                let kept = self.relays.served[r].devices();
                let still: BTreeSet<&str> = kept.iter().map(|(d, _)| d.as_str()).collect();
                let gone: Vec<String> = self
                    .relays
                    .claims
                    .iter()
                    .filter(|(d, o)| **o == r && !still.contains(d.as_str()))
                    .map(|(d, _)| d.clone())
                    .collect();
                for device in gone {
                    self.relays.claims.remove(&device);
                    self.tell_gone(&device, None);
                }
                for (device, vectors) in kept {
                    if self.claim(r, &device) {
                        for v in vectors {
                            let name = v.head.name.clone();
                            let again = served_again(Op::Def, v, self.hub.labdeck());
                            self.broadcast(&device, &name, &again);
                        }
                    }
                }
            }
        }
    }

    fn relay_message(&mut self, r: usize, message: &Message) {
        match message {
            Message::Vector(op, v) => {
                if !self.claim(r, &v.head.device) {
                    return;
                }
                let (device, name) = (v.head.device.clone(), v.head.name.clone());
                if name == ROUTE {
                    let again = served_again(*op, v.clone(), self.hub.labdeck());
                    self.broadcast(&device, &name, &again);
                } else {
                    self.broadcast(&device, &name, message);
                }
            }
            Message::DelProperty { device, name, .. } => {
                if self.relays.claims.get(device) != Some(&r) {
                    return;
                }
                if let Some(name) = name {
                    self.broadcast(device, name, message);
                } else {
                    self.relays.claims.remove(device);
                    self.send_to_device(device, message);
                }
            }
            Message::Message {
                device: Some(device),
                ..
            } if self.relays.claims.get(device) == Some(&r) => {
                self.send_to_device(device, message);
            }
            // The remote server's own words, to everyone.
            Message::Message { device: None, .. } => {
                let ids: Vec<u64> = self.clients.keys().copied().collect();
                for id in ids {
                    self.send(id, message);
                }
            }
            _ => {}
        }
    }

    /// Every device relay `r` served is gone, with why.
    fn drop_relayed(&mut self, r: usize, why: &str) {
        let devices: Vec<String> = self
            .relays
            .claims
            .iter()
            .filter(|(_, o)| **o == r)
            .map(|(d, _)| d.clone())
            .collect();
        for device in devices {
            self.relays.claims.remove(&device);
            self.tell_gone(&device, Some(why));
        }
        self.relays.clashes.retain(|(o, _)| *o != r);
    }

    fn tell_gone(&mut self, device: &str, why: Option<&str>) {
        let message = Message::DelProperty {
            device: device.to_string(),
            name: None,
            timestamp: Some(timestamp_now()),
            message: why.map(str::to_string),
        };
        self.send_to_device(device, &message);
    }

    fn send_to_device(&mut self, device: &str, message: &Message) {
        let ids: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.interest.wants_device(device))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.send(id, message);
        }
    }

    /// The `def*`s of relayed devices a `getProperties` asks for.
    pub(super) fn relayed_definitions(
        &mut self,
        id: u64,
        device: Option<&str>,
        name: Option<&str>,
    ) {
        for r in 0..self.relays.served.len() {
            for (d, vectors) in self.relays.served[r].devices() {
                if device.is_some_and(|want| want != d) || !self.claim(r, &d) {
                    continue;
                }
                for v in vectors {
                    if name.is_none_or(|want| want == v.head.name) {
                        let again = served_again(Op::Def, v, self.hub.labdeck());
                        self.send(id, &again);
                    }
                }
            }
        }
    }

    /// A client's `new*` for a relayed device: written to the remote as
    /// it came; the remote's answer comes back as any `set*` does.
    pub(super) fn relay_new(&mut self, id: u64, new: &Vector) -> bool {
        let Some(relay) = self.relays.serving(&new.head.device) else {
            return false;
        };
        let remote = relay.remote().to_string();
        let known = relay
            .devices()
            .into_iter()
            .find(|(d, _)| *d == new.head.device)
            .and_then(|(_, vectors)| vectors.into_iter().find(|v| v.head.name == new.head.name));
        if known.is_none() {
            let why = format!("no vector {}.{}", new.head.device, new.head.name);
            self.refuse_new(id, new, &why);
            return true;
        }
        let origin = self.origin(id);
        let request = Request::Send {
            target: remote,
            bytes: Message::Vector(Op::New, new.clone()).to_xml().into_bytes(),
            wait_ms: None,
        };
        let (hub, tx) = (self.hub.clone(), self.done_tx.clone());
        let (device, vector) = (new.head.device.clone(), new.head.name.clone());
        tokio::spawn(async move {
            if let Err(refusal) = hub.request_as(origin, request).await {
                let _ = tx
                    .send(Done::relay_refused(id, device, vector, refusal.to_string()))
                    .await;
            }
        });
        true
    }

    /// A client wants a relayed device's BLOBs: the remote is asked to
    /// send them too (each client's own mode still decides what it gets).
    pub(super) fn want_relayed_blobs(&mut self, id: u64, device: &str) {
        let Some(relay) = self.relays.serving(device) else {
            return;
        };
        let enable = Message::EnableBlob {
            device: device.to_string(),
            name: None,
            mode: BlobMode::Also,
        };
        let request = Request::Send {
            target: relay.remote().to_string(),
            bytes: enable.to_xml().into_bytes(),
            wait_ms: None,
        };
        let (hub, origin) = (self.hub.clone(), self.origin(id));
        tokio::spawn(async move {
            if let Err(e) = hub.request_as(origin, request).await {
                tracing::warn!("INDI server: cannot ask a remote for BLOBs: {e}");
            }
        });
    }

    /// A relayed vector as a client of this server may see it: the kept
    /// definition, for an answer that refuses a `new*`.
    pub(super) fn relayed_vector(&self, device: &str, name: &str) -> Option<Vector> {
        self.relays
            .serving(device)?
            .devices()
            .into_iter()
            .find(|(d, _)| d == device)?
            .1
            .into_iter()
            .find(|v| v.head.name == name)
    }
}

/// A relayed vector as this labdeck serves it: the route says it passed.
fn served_again(op: Op, mut v: Vector, labdeck: &str) -> Message {
    if v.head.name == ROUTE {
        extend_route(&mut v, labdeck);
    }
    Message::Vector(op, v)
}
