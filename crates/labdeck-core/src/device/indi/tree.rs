//! A remote INDI server's vectors, and each member as a labdeck property:
//! `Telescope_Simulator.TELESCOPE_INFO.TELESCOPE_APERTURE` in the group
//! `Telescope Simulator · Main Control`, typed by the vector (numbers with
//! their format and range, switches as on/off, lights and BLOBs read-only).

use std::collections::BTreeMap;

use tokio::time::Instant;

use crate::device::{AttrKind, PropState, Property, PropertyDef, Value};
use crate::protocol::indi::{IndiState, Perm, Vector, VectorKind, parse_number};

/// Device names carry spaces; property names do not.
pub fn safe(name: &str) -> String {
    name.replace(' ', "_")
}

pub fn prop_name(device: &str, vector: &str, member: &str) -> String {
    format!("{}.{vector}.{member}", safe(device))
}

fn prop_state(s: Option<IndiState>) -> PropState {
    match s {
        Some(IndiState::Ok) => PropState::Ok,
        Some(IndiState::Busy) => PropState::Busy,
        Some(IndiState::Alert) => PropState::Alert,
        _ => PropState::Idle,
    }
}

/// One remote vector: its definition with the latest values, and the
/// deadline of a `new*` waiting for its answer.
#[derive(Debug, Clone)]
pub struct RemoteVector {
    pub vector: Vector,
    pub waiting: Option<Instant>,
    /// For BLOBs: what was received last.
    pub blob_note: Option<String>,
}

/// Where a property points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub device: String,
    pub vector: String,
    pub member: String,
}

#[derive(Debug, Default)]
pub struct Tree {
    /// By (device, vector), devices in the order they appeared.
    pub vectors: BTreeMap<(String, String), RemoteVector>,
    pub devices: Vec<String>,
    pub targets: BTreeMap<String, Target>,
}

impl Tree {
    pub fn clear(&mut self) {
        self.vectors.clear();
        self.devices.clear();
        self.targets.clear();
    }

    /// A `def*`: new, or a redefinition that replaces the old one.
    pub fn define(&mut self, vector: Vector) -> &RemoteVector {
        let device = vector.head.device.clone();
        if !self.devices.contains(&device) {
            self.devices.push(device.clone());
        }
        for m in &vector.members {
            self.targets.insert(
                prop_name(&device, &vector.head.name, &m.name),
                Target {
                    device: device.clone(),
                    vector: vector.head.name.clone(),
                    member: m.name.clone(),
                },
            );
        }
        let key = (device, vector.head.name.clone());
        self.vectors.insert(
            key.clone(),
            RemoteVector {
                vector,
                waiting: None,
                blob_note: None,
            },
        );
        &self.vectors[&key]
    }

    /// A `set*`: new values, state, timestamp, message; the answer to a
    /// `new*` if one was waiting.
    pub fn update(&mut self, set: &Vector) -> Option<&mut RemoteVector> {
        let entry = self
            .vectors
            .get_mut(&(set.head.device.clone(), set.head.name.clone()))?;
        let head = &mut entry.vector.head;
        if set.head.state.is_some() {
            head.state = set.head.state;
        }
        if set.head.timestamp.is_some() {
            head.timestamp.clone_from(&set.head.timestamp);
        }
        head.message.clone_from(&set.head.message);
        if set.head.timeout.is_some() {
            head.timeout.clone_from(&set.head.timeout);
        }
        for m in &set.members {
            if let Some(known) = entry.vector.members.iter_mut().find(|k| k.name == m.name) {
                known.value.clone_from(&m.value);
                known.size = m.size.or(known.size);
                if m.blob_format.is_some() {
                    known.blob_format.clone_from(&m.blob_format);
                }
            }
        }
        entry.waiting = None;
        Some(entry)
    }

    /// A `delProperty`: one vector, or the whole device.
    pub fn delete(&mut self, device: &str, name: Option<&str>) -> Vec<String> {
        let keys: Vec<(String, String)> = self
            .vectors
            .keys()
            .filter(|(d, n)| d == device && name.is_none_or(|want| want == n))
            .cloned()
            .collect();
        let mut prefixes = Vec::new();
        for key in keys {
            self.vectors.remove(&key);
            prefixes.push(format!("{}.{}.", safe(&key.0), key.1));
        }
        self.targets
            .retain(|_, t| !(t.device == device && name.is_none_or(|want| want == t.vector)));
        if name.is_none() {
            self.devices.retain(|d| d != device);
        }
        prefixes
    }

    pub fn target(&self, prop: &str) -> Option<&Target> {
        self.targets.get(prop)
    }

    pub fn get(&self, device: &str, vector: &str) -> Option<&RemoteVector> {
        self.vectors.get(&(device.to_string(), vector.to_string()))
    }

    pub fn get_mut(&mut self, device: &str, vector: &str) -> Option<&mut RemoteVector> {
        self.vectors
            .get_mut(&(device.to_string(), vector.to_string()))
    }
}

/// The properties of one remote vector.
pub fn properties(rv: &RemoteVector) -> Vec<Property> {
    let v = &rv.vector;
    let device = &v.head.device;
    let group = format!(
        "{device} · {}",
        v.head
            .group
            .as_deref()
            .filter(|g| !g.is_empty())
            .unwrap_or("Unknown")
    );
    let writable =
        v.kind != VectorKind::Light && v.kind != VectorKind::Blob && v.head.perm != Some(Perm::Ro);
    let state = match rv.waiting {
        Some(_) => PropState::Busy,
        None => prop_state(v.head.state),
    };
    v.members
        .iter()
        .map(|m| {
            let name = prop_name(device, &v.head.name, &m.name);
            let member = m.label.as_deref().unwrap_or(&m.name);
            // "Connection: Connect": members alone repeat across vectors.
            let label = match (&v.head.label, v.members.len()) {
                (Some(vector), 2..) if vector != member => format!("{vector}: {member}"),
                _ => member.to_string(),
            };
            let mut def = PropertyDef::new(&name, &label, &group);
            def.writable = writable;
            let mut state = state;
            let value = match v.kind {
                VectorKind::Number => {
                    def.kind = AttrKind::Float;
                    def.format.clone_from(&m.format);
                    let min = m.min.as_deref().and_then(parse_number);
                    let max = m.max.as_deref().and_then(parse_number);
                    if let (Some(lo), Some(hi)) = (min, max)
                        && lo < hi
                    {
                        def.min = Some(lo);
                        def.max = Some(hi);
                    }
                    parse_number(&m.value).map(Value::Number)
                }
                VectorKind::Switch => {
                    def.kind = AttrKind::Bool;
                    Some(Value::Bool(m.value == "On"))
                }
                VectorKind::Text => Some(Value::Text(m.value.clone())),
                VectorKind::Light => {
                    state = prop_state(IndiState::parse(&m.value));
                    Some(Value::Text(m.value.clone()))
                }
                VectorKind::Blob => Some(Value::Text(
                    rv.blob_note.clone().unwrap_or_else(|| "no data yet".into()),
                )),
            };
            Property {
                value,
                state,
                ..Property::new(def)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::indi::{Element, Message};

    fn vector(xml: &str) -> Vector {
        match Message::from_element(&Element::parse(xml.as_bytes()).unwrap()).unwrap() {
            Message::Vector(_, v) => v,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn definitions_updates_and_deletions() {
        let mut tree = Tree::default();
        tree.define(vector("<defNumberVector device=\"Telescope Simulator\" name=\"EQUATORIAL_EOD_COORD\" label=\"Eq. Coordinates\" group=\"Main Control\" state=\"Idle\" perm=\"rw\" timeout=\"60\"><defNumber name=\"RA\" label=\"RA (hh:mm:ss)\" format=\"%010.6m\" min=\"0\" max=\"24\" step=\"0\">\n2.6183857088177981964\n</defNumber></defNumberVector>"));
        let props = properties(
            tree.get("Telescope Simulator", "EQUATORIAL_EOD_COORD")
                .unwrap(),
        );
        let def = &props[0].def;
        assert_eq!(&*def.name, "Telescope_Simulator.EQUATORIAL_EOD_COORD.RA");
        assert_eq!(def.group, "Telescope Simulator · Main Control");
        assert_eq!(def.format.as_deref(), Some("%010.6m"));
        assert_eq!((def.min, def.max), (Some(0.0), Some(24.0)));
        // Sexagesimal input is accepted for it.
        assert_eq!(
            def.accept("sky", &Value::Text("12:30:00".into())),
            Ok(Value::Number(12.5))
        );
        tree.update(&vector("<setNumberVector device=\"Telescope Simulator\" name=\"EQUATORIAL_EOD_COORD\" state=\"Ok\"><oneNumber name=\"RA\">3.5</oneNumber></setNumberVector>"));
        let props = properties(
            tree.get("Telescope Simulator", "EQUATORIAL_EOD_COORD")
                .unwrap(),
        );
        assert_eq!(
            (props[0].value.clone(), props[0].state),
            (Some(Value::Number(3.5)), PropState::Ok)
        );
        assert_eq!(
            tree.target("Telescope_Simulator.EQUATORIAL_EOD_COORD.RA"),
            Some(&Target {
                device: "Telescope Simulator".into(),
                vector: "EQUATORIAL_EOD_COORD".into(),
                member: "RA".into()
            })
        );
        assert_eq!(tree.delete("Telescope Simulator", None).len(), 1);
        assert!(tree.devices.is_empty() && tree.targets.is_empty());
    }
}
