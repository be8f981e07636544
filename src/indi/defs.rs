//! Answering `getProperties`: the `def*Vector`s of a device serialized
//! once after each change and shared by every client that asks, so a
//! client that asks again and again costs a queue entry per device, not a
//! catalogue's worth of XML. What is queued counts against the client's
//! outbox like anything else: one that asks without reading is dropped.

use std::sync::Arc;

use bytes::Bytes;

use super::IndiServer;
use labdeck_protocol::indi::{Message, Op};

/// A device's definitions as sent: each vector's (name, XML), and all of
/// them back to back, the answer to a `getProperties` for the device.
#[derive(Debug, Default)]
pub struct DeviceDefs {
    vectors: Vec<(String, Bytes)>,
    all: Bytes,
}

pub type Defs = Arc<DeviceDefs>;

impl IndiServer {
    pub(super) fn get_properties(&mut self, id: u64, device: Option<&str>, name: Option<&str>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        match (device, name) {
            (None, _) => client.interest.all = true,
            (Some(d), None) => {
                client.interest.devices.insert(d.to_string());
            }
            (Some(d), Some(n)) => {
                client
                    .interest
                    .vectors
                    .insert((d.to_string(), n.to_string()));
            }
        }
        let devices: Vec<String> = self
            .served
            .keys()
            .filter(|d| device.is_none_or(|want| want == d.as_str()))
            .cloned()
            .collect();
        for device in devices {
            let defs = self.defs_of(&device);
            match name {
                // One queue entry for a whole catalogue.
                None if !defs.all.is_empty() => self.push(id, defs.all.clone(), false),
                None => {}
                Some(name) => {
                    for (_, xml) in defs.vectors.iter().filter(|(v, _)| v == name) {
                        self.push(id, xml.clone(), false);
                    }
                }
            }
        }
        self.relayed_definitions(id, device, name);
    }

    /// A device's definitions, serialized now if they changed since.
    fn defs_of(&mut self, device: &str) -> Defs {
        if let Some(defs) = self.defs.get(device) {
            return defs.clone();
        }
        let vectors: Vec<(String, Bytes)> = self
            .served
            .get(device)
            .map(|served| {
                served
                    .vectors()
                    .iter()
                    .map(|v| {
                        let xml = Message::Vector(Op::Def, v.clone()).to_xml();
                        (v.head.name.clone(), Bytes::from(xml))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let all = Bytes::from(vectors.iter().fold(Vec::new(), |mut all, (_, xml)| {
            all.extend_from_slice(xml);
            all
        }));
        let defs: Defs = Arc::new(DeviceDefs { vectors, all });
        self.defs.insert(device.to_string(), defs.clone());
        defs
    }
}
