//! A client's `new*Vector`: planned into typed requests, carried out
//! beside the server's loop, and answered. The answer never claims what
//! the device has not confirmed: Ok with the values asked for once the
//! device reports them, Busy while it has not yet, Alert with the reason
//! when it refused or did not confirm in time.

use std::time::Duration;

use super::{IndiServer, requests, timestamp_now};
use labdeck_core::hub::{Hub, Origin, Request};
use labdeck_protocol::indi::{IndiState, Message, Op, Vector};

/// How long a device has to report a change it accepted (a pump reads
/// its new state on its next status poll).
const CONFIRM_WITHIN: Duration = Duration::from_secs(2);

/// A `new*` carried out (or refused).
pub(super) struct Done {
    client: u64,
    device: String,
    vector: String,
    refusal: Option<String>,
    /// The members the client set, with the values it asked for.
    asked: Vec<(String, String)>,
    /// The second look, once the device has had time to report.
    settling: bool,
    /// Written to a remote server, whose answer is relayed as it comes.
    relayed: bool,
}

impl Done {
    /// A `new*` for a remote's device that could not be written to it.
    pub(super) fn relay_refused(client: u64, device: String, vector: String, why: String) -> Self {
        Self {
            client,
            device,
            vector,
            refusal: Some(why),
            asked: Vec::new(),
            settling: false,
            relayed: true,
        }
    }
}

impl IndiServer {
    pub(super) fn new_vector(&mut self, id: u64, new: &Vector) {
        if self.relay_new(id, new) {
            return;
        }
        let (device, vector) = (new.head.device.clone(), new.head.name.clone());
        let planned = match self.served.get(&device) {
            Some(served) => requests::plan(served, &device, new),
            None => Err(format!("no device {device}")),
        };
        let requests = match planned {
            Ok(requests) => requests,
            Err(why) => return self.refuse_new(id, new, &why),
        };
        // A device may take a while (an exchange with the instrument):
        // the requests run beside the actor.
        let asked = new
            .members
            .iter()
            .map(|m| (m.name.clone(), m.value.clone()))
            .collect();
        let origin = self.origin(id);
        let hub = self.hub.clone();
        let tx = self.done_tx.clone();
        tokio::spawn(async move {
            let refusal = run_all(&hub, &origin, requests).await;
            let _ = tx
                .send(Done {
                    client: id,
                    device,
                    vector,
                    refusal,
                    asked,
                    settling: false,
                    relayed: false,
                })
                .await;
        });
    }

    /// A client's requests in the audit trail: its address.
    pub(super) fn origin(&self, id: u64) -> Origin {
        Origin::Indi {
            peer: self
                .clients
                .get(&id)
                .map_or_else(String::new, |c| c.peer.to_string()),
        }
    }

    /// A `new*` that cannot be carried out: Alert with the reason, or a
    /// message when there is no such vector.
    pub(super) fn refuse_new(&mut self, id: u64, new: &Vector, why: &str) {
        tracing::info!(
            "INDI server: refused {}.{}: {why}",
            new.head.device,
            new.head.name
        );
        let known = self
            .served
            .get(&new.head.device)
            .and_then(|s| s.vector(&new.head.name))
            .cloned()
            .or_else(|| self.relayed_vector(&new.head.device, &new.head.name));
        let message = match known {
            Some(mut v) => {
                v.head.state = Some(IndiState::Alert);
                v.head.message = Some(why.to_string());
                v.head.timestamp = Some(timestamp_now());
                Message::Vector(Op::Set, v)
            }
            None => Message::Message {
                device: Some(new.head.device.clone()),
                timestamp: Some(timestamp_now()),
                message: Some(why.to_string()),
            },
        };
        self.send(id, &message);
    }

    /// Answer a `new*` carried out: Ok when the vector reads as asked (to
    /// every interested client); Busy while the device has not reported
    /// the change yet, and a second look after [`CONFIRM_WITHIN`] (the
    /// change itself comes as the property's own update, Ok); Alert with
    /// the refusal, or when the change was never confirmed.
    pub(super) fn done(&mut self, done: Done) {
        if done.relayed {
            if let (Some(why), Some(mut v)) = (
                done.refusal,
                self.relayed_vector(&done.device, &done.vector),
            ) {
                v.head.state = Some(IndiState::Alert);
                v.head.message = Some(why);
                v.head.timestamp = Some(timestamp_now());
                self.send(done.client, &Message::Vector(Op::Set, v));
            }
            return;
        }
        if let Some(i) = self.source_of(&done.device) {
            self.refresh(i, true);
        }
        let Some(mut v) = self
            .served
            .get(&done.device)
            .and_then(|s| s.vector(&done.vector))
            .cloned()
        else {
            return;
        };
        v.head.timestamp = Some(timestamp_now());
        let confirmed = holds(&v, &done.asked);
        match done.refusal {
            None if confirmed && done.settling => {}
            None if confirmed => {
                v.head.state = Some(IndiState::Ok);
                self.broadcast(&done.device, &done.vector, &Message::Vector(Op::Set, v));
            }
            None if done.settling => {
                v.head.state = Some(IndiState::Alert);
                v.head.message = Some(format!(
                    "accepted, but the device did not report the change within {} s",
                    CONFIRM_WITHIN.as_secs()
                ));
                self.send(done.client, &Message::Vector(Op::Set, v));
            }
            None => {
                v.head.state = Some(IndiState::Busy);
                self.broadcast(&done.device, &done.vector, &Message::Vector(Op::Set, v));
                let tx = self.done_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(CONFIRM_WITHIN).await;
                    let _ = tx
                        .send(Done {
                            settling: true,
                            ..done
                        })
                        .await;
                });
            }
            Some(why) => {
                v.head.state = Some(IndiState::Alert);
                v.head.message = Some(why);
                self.send(done.client, &Message::Vector(Op::Set, v));
            }
        }
    }
}

/// Whether every member a client set reads as it asked.
fn holds(v: &Vector, asked: &[(String, String)]) -> bool {
    asked.iter().all(|(name, want)| {
        v.members
            .iter()
            .find(|m| &m.name == name)
            .is_some_and(|m| same_value(&m.value, want))
    })
}

/// Numbers as numbers (`900` is `900.0`), anything else as words.
fn same_value(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// Carry out requests in order; the first refusal, in words.
async fn run_all(hub: &Hub, origin: &Origin, requests: Vec<Request>) -> Option<String> {
    for request in requests {
        if let Err(refusal) = hub.request_as(origin.clone(), request).await {
            return Some(refusal.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use labdeck_protocol::indi::{Member, VectorHead, VectorKind};

    #[test]
    fn a_change_holds_once_the_members_read_as_asked() {
        let v = Vector {
            kind: VectorKind::Switch,
            head: VectorHead {
                device: "pump1".into(),
                name: "ON".into(),
                ..VectorHead::default()
            },
            members: vec![Member::new("ON", "Off"), Member::new("OFF", "On")],
        };
        let asked = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
                .collect()
        };
        assert!(!holds(&v, &asked(&[("ON", "On")])));
        assert!(holds(&v, &asked(&[("OFF", "On")])));
        assert!(holds(&v, &asked(&[("OFF", "on")])));
        assert!(same_value("900", "900.0"));
        assert!(!same_value("900", "900.4"));
    }
}
