//! labdeck devices as INDI vectors. Each attribute is a vector of its
//! own (numbers with format, limits and step; booleans and options as
//! switches; words as text), grouped as in the console, `rw` when
//! writable; plus a CONNECTION switch that drives the link, a
//! DEVICE_STATUS light vector and a DEVICE_TASKS text vector. A `new*`
//! becomes a Hub command.

use std::collections::BTreeMap;

use labdeck_core::connection::{ConnCommand, ConnectionSnapshot, StateKind};
use labdeck_core::device::{AttrKind, DeviceSnapshot, PropState, Property, TaskState, Value};
use labdeck_core::runtime::Command;
use labdeck_protocol::indi::{
    IndiState, Member, Perm, Rule, Vector, VectorHead, VectorKind, format_number, parse_number,
};

use super::timestamp_now;

/// `ramp-rate` → `RAMP_RATE`.
pub fn indi_name(attr: &str) -> String {
    attr.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

pub const CONNECTION: &str = "CONNECTION";
const STATUS: &str = "DEVICE_STATUS";
const TASKS: &str = "DEVICE_TASKS";

/// Each attribute with its vector name, unique within the device: a name
/// taken by labdeck's own vectors or an earlier attribute gets `_2`, `_3`.
fn attribute_names(d: &DeviceSnapshot) -> Vec<(String, &Property)> {
    let mut taken: Vec<String> = [CONNECTION, STATUS, TASKS].map(String::from).to_vec();
    d.properties
        .iter()
        .filter(|p| !p.mirror)
        .map(|p| {
            let base = indi_name(&p.name);
            let mut name = base.clone();
            let mut n = 1;
            while taken.contains(&name) {
                n += 1;
                name = format!("{base}_{n}");
            }
            taken.push(name.clone());
            (name, p)
        })
        .collect()
}

fn state(s: PropState) -> IndiState {
    match s {
        PropState::Idle => IndiState::Idle,
        PropState::Ok => IndiState::Ok,
        PropState::Busy => IndiState::Busy,
        PropState::Alert => IndiState::Alert,
    }
}

fn link_state(c: Option<&ConnectionSnapshot>) -> IndiState {
    match c.map(|c| c.state) {
        Some(StateKind::Connected) => IndiState::Ok,
        Some(StateKind::Connecting | StateKind::Recovering) => IndiState::Busy,
        Some(StateKind::Disconnected | StateKind::TornDown) => IndiState::Alert,
        _ => IndiState::Idle,
    }
}

fn timestamp(p: &Property) -> String {
    let wall = p
        .updated
        .map_or_else(std::time::SystemTime::now, |t| t.wall);
    labdeck_protocol::indi::timestamp(wall)
}

fn head(
    device: &str,
    name: &str,
    label: &str,
    group: &str,
    state: IndiState,
    perm: Perm,
) -> VectorHead {
    VectorHead {
        device: device.to_string(),
        name: name.to_string(),
        label: Some(label.to_string()),
        group: Some(group.to_string()),
        state: Some(state),
        perm: Some(perm),
        timeout: Some(if perm == Perm::Ro { "0" } else { "5" }.into()),
        timestamp: Some(timestamp_now()),
        ..VectorHead::default()
    }
}

fn switch(name: &str, label: &str, on: bool) -> Member {
    Member {
        label: Some(label.into()),
        ..Member::new(name, if on { "On" } else { "Off" })
    }
}

/// The format a number vector announces.
fn number_format(p: &Property) -> String {
    match (&p.kind, p.si) {
        (AttrKind::Int, _) => "%.0f".into(),
        (_, true) => "%g".into(),
        _ => format!("%.{}f", p.decimals),
    }
}

/// One attribute as a vector named `name`.
fn attribute(device: &str, name: &str, p: &Property) -> Vector {
    let perm = if p.writable { Perm::Rw } else { Perm::Ro };
    let mut head = head(device, name, &p.label, &p.group, state(p.state), perm);
    head.timestamp = Some(timestamp(p));
    match (&p.kind, &p.value) {
        (AttrKind::Bool, value) => {
            let on = matches!(value, Some(Value::Bool(true)));
            head.rule = Some(Rule::OneOfMany);
            Vector {
                kind: VectorKind::Switch,
                head,
                members: vec![switch("ON", "On", on), switch("OFF", "Off", !on)],
            }
        }
        (AttrKind::Enum(options), value) => {
            head.rule = Some(Rule::OneOfMany);
            let current = match value {
                Some(Value::Text(t)) => t.as_str(),
                _ => "",
            };
            Vector {
                kind: VectorKind::Switch,
                head,
                members: options
                    .iter()
                    .map(|o| switch(&indi_name(o), o, o == current))
                    .collect(),
            }
        }
        (AttrKind::Int | AttrKind::Float, value) => {
            let format = number_format(p);
            let number = value
                .as_ref()
                .and_then(Value::as_f64)
                .map_or_else(|| "nan".to_string(), |v| format_number(v, &format));
            Vector {
                kind: VectorKind::Number,
                head,
                members: vec![Member {
                    label: Some(
                        p.unit
                            .as_ref()
                            .map_or_else(|| p.label.clone(), |u| format!("{} ({u})", p.label)),
                    ),
                    format: Some(format),
                    min: Some(p.min.unwrap_or(0.0).to_string()),
                    max: Some(p.max.unwrap_or(0.0).to_string()),
                    step: Some(if p.kind == AttrKind::Int { "1" } else { "0" }.into()),
                    ..Member::new(name, number)
                }],
            }
        }
        (AttrKind::Text, value) => Vector {
            kind: VectorKind::Text,
            head,
            members: vec![Member {
                label: Some(p.label.clone()),
                ..Member::new(
                    name,
                    value
                        .as_ref()
                        .map(|v| v.render(p.decimals))
                        .unwrap_or_default(),
                )
            }],
        },
    }
}

/// Every vector of a device, in a stable order.
pub fn vectors(d: &DeviceSnapshot, link: Option<&ConnectionSnapshot>) -> Vec<Vector> {
    let device = &*d.name;
    let connected = matches!(
        link.map(|c| c.state),
        Some(StateKind::Connected | StateKind::Connecting | StateKind::Recovering)
    );
    let mut connection = head(
        device,
        CONNECTION,
        "Connection",
        "Connection",
        link_state(link),
        Perm::Rw,
    );
    connection.rule = Some(Rule::OneOfMany);
    let mut out = vec![Vector {
        kind: VectorKind::Switch,
        head: connection,
        members: vec![
            switch("CONNECT", "Connect", connected),
            switch("DISCONNECT", "Disconnect", !connected),
        ],
    }];
    let light = |name: &str, label: &str, s: IndiState| Member {
        label: Some(label.into()),
        ..Member::new(name, s.word())
    };
    let alarms = if d.alarms.is_empty() {
        IndiState::Ok
    } else {
        IndiState::Alert
    };
    let mut status = head(
        device,
        STATUS,
        "Status",
        "Connection",
        if d.online {
            IndiState::Ok
        } else {
            IndiState::Idle
        },
        Perm::Ro,
    );
    // Not in the 1.7 DTD for lights, but harmless, and clients that show
    // a permission for every vector (indi_getprop's _PERM) print "ro".
    status.perm = Some(Perm::Ro);
    status.timeout = None;
    status.message = d.alarms.first().cloned();
    out.push(Vector {
        kind: VectorKind::Light,
        head: status,
        members: vec![
            light("LINK", "Link", link_state(link)),
            light(
                "ONLINE",
                "Answers",
                if d.online {
                    IndiState::Ok
                } else {
                    IndiState::Idle
                },
            ),
            light("ALARMS", "Alarms", alarms),
        ],
    });
    out.extend(
        attribute_names(d)
            .into_iter()
            .map(|(name, p)| attribute(device, &name, p)),
    );
    if !d.techniques.is_empty() {
        let running = d.running_task();
        let queued = d
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Queued)
            .count();
        let last = d.tasks.iter().rev().find(|t| t.state.is_terminal());
        let task_state = match running {
            Some(_) => IndiState::Busy,
            None if last.is_some_and(|t| t.state == TaskState::Failed) => IndiState::Alert,
            None => IndiState::Idle,
        };
        let text = |name: &str, label: &str, value: String| Member {
            label: Some(label.into()),
            ..Member::new(name, value)
        };
        out.push(Vector {
            kind: VectorKind::Text,
            head: head(device, TASKS, "Tasks", "Tasks", task_state, Perm::Ro),
            members: vec![
                text(
                    "RUNNING",
                    "Running",
                    running.map_or_else(
                        || "-".into(),
                        |t| format!("{} ({}/{})", t.spec.name, t.samples, t.expected),
                    ),
                ),
                text("QUEUED", "Queued", queued.to_string()),
                text(
                    "LAST",
                    "Last finished",
                    last.map_or_else(
                        || "-".into(),
                        |t| format!("{} {}", t.spec.name, t.state.as_str()),
                    ),
                ),
            ],
        });
    }
    out
}

/// What a `new*` asks labdeck to do, or why it cannot.
pub fn command_for(d: &DeviceSnapshot, new: &Vector, known: &Vector) -> Result<Command, String> {
    let device = d.name.to_string();
    if new.head.name == CONNECTION {
        let on = |name: &str| {
            new.members
                .iter()
                .any(|m| m.name == name && m.value == "On")
        };
        let command = if on("CONNECT") {
            ConnCommand::Connect
        } else if on("DISCONNECT") {
            ConnCommand::Disconnect
        } else {
            return Err("CONNECTION needs CONNECT or DISCONNECT On".into());
        };
        return Ok(Command::Connection {
            target: device,
            command,
        });
    }
    if known.head.perm == Some(Perm::Ro) {
        return Err(format!("{} is read-only", new.head.name));
    }
    if new.kind != known.kind {
        return Err(format!(
            "{} is a {} vector, not {}",
            new.head.name,
            known.kind.word(),
            new.kind.word()
        ));
    }
    let (_, prop) = attribute_names(d)
        .into_iter()
        .find(|(name, _)| *name == new.head.name)
        .ok_or_else(|| format!("{} has no vector {}", d.name, new.head.name))?;
    let value = match (&prop.kind, new.members.as_slice()) {
        (AttrKind::Bool, members) => {
            let on = members
                .iter()
                .find(|m| m.value == "On")
                .map(|m| m.name.as_str());
            match on {
                Some("ON") => "on".to_string(),
                Some("OFF") => "off".to_string(),
                _ => {
                    let off = members
                        .iter()
                        .find(|m| m.value == "Off")
                        .map(|m| m.name.as_str());
                    match off {
                        Some("ON") => "off".to_string(),
                        Some("OFF") => "on".to_string(),
                        _ => return Err("switch ON or OFF expected".into()),
                    }
                }
            }
        }
        (AttrKind::Enum(options), members) => {
            let on = members
                .iter()
                .find(|m| m.value == "On")
                .ok_or("OneOfMany: one switch must be On")?;
            options
                .iter()
                .find(|o| indi_name(o) == on.name)
                .cloned()
                .ok_or_else(|| format!("no option {}", on.name))?
        }
        (AttrKind::Int | AttrKind::Float, [member, ..]) => {
            let number = parse_number(&member.value)
                .ok_or_else(|| format!("{:?} is not a number", member.value))?;
            number.to_string()
        }
        (AttrKind::Text, [member, ..]) => member.value.clone(),
        (_, []) => return Err("no member given".into()),
    };
    Ok(Command::Set {
        device,
        attr: prop.name.clone(),
        value,
        force: false,
    })
}

/// The vectors of every device, by device and name: what clients were
/// last told.
#[derive(Debug, Default)]
pub struct Catalog {
    pub devices: BTreeMap<String, Vec<Vector>>,
}

impl Catalog {
    pub fn vector(&self, device: &str, name: &str) -> Option<&Vector> {
        self.devices
            .get(device)?
            .iter()
            .find(|v| v.head.name == name)
    }

    /// Replace a device's vectors; the ones whose values, state or
    /// definition changed, and the names that disappeared.
    pub fn update(&mut self, device: &str, fresh: Vec<Vector>) -> (Vec<Changed>, Vec<String>) {
        let old = self
            .devices
            .insert(device.to_string(), fresh.clone())
            .unwrap_or_default();
        let mut changed = Vec::new();
        for v in &fresh {
            match old.iter().find(|o| o.head.name == v.head.name) {
                None => changed.push(Changed::Defined(v.clone())),
                Some(o) if definition_changed(o, v) => changed.push(Changed::Defined(v.clone())),
                Some(o)
                    if o.head.state != v.head.state
                        || o.head.message != v.head.message
                        || o.members
                            .iter()
                            .map(|m| &m.value)
                            .ne(v.members.iter().map(|m| &m.value)) =>
                {
                    changed.push(Changed::Values(v.clone()))
                }
                Some(_) => {}
            }
        }
        let gone = old
            .iter()
            .filter(|o| !fresh.iter().any(|v| v.head.name == o.head.name))
            .map(|o| o.head.name.clone())
            .collect();
        (changed, gone)
    }
}

fn definition_changed(a: &Vector, b: &Vector) -> bool {
    a.kind != b.kind
        || a.head.perm != b.head.perm
        || a.head.label != b.head.label
        || a.members.len() != b.members.len()
        || a.members.iter().zip(&b.members).any(|(x, y)| {
            x.name != y.name || x.min != y.min || x.max != y.max || x.format != y.format
        })
}

/// What changed in a device's vectors.
#[derive(Debug, Clone)]
pub enum Changed {
    /// New or redefined: send `def*`.
    Defined(Vector),
    /// New values or state: send `set*`.
    Values(Vector),
}

#[cfg(test)]
mod tests {
    use super::*;
    use labdeck_protocol::indi::{Message, Op};

    fn pump() -> DeviceSnapshot {
        let (_, data) = crate::tui::fixture::sample(tokio::time::Instant::now(), 0);
        data.devices[0].clone()
    }

    #[test]
    fn attributes_become_vectors() {
        let d = pump();
        let vs = vectors(&d, None);
        let setpoint = vs.iter().find(|v| v.head.name == "SETPOINT").unwrap();
        assert_eq!(setpoint.kind, VectorKind::Number);
        assert_eq!(setpoint.head.perm, Some(Perm::Rw));
        let m = &setpoint.members[0];
        assert_eq!(
            (
                m.value.as_str(),
                m.min.as_deref(),
                m.max.as_deref(),
                m.step.as_deref()
            ),
            ("1000", Some("750"), Some("1200"), Some("1"))
        );
        let on = vs.iter().find(|v| v.head.name == "ON").unwrap();
        assert_eq!(
            (on.kind, on.head.rule),
            (VectorKind::Switch, Some(Rule::OneOfMany))
        );
        assert_eq!(on.members[0].value, "On");
        let freq = vs.iter().find(|v| v.head.name == "FREQUENCY").unwrap();
        assert_eq!(freq.head.perm, Some(Perm::Ro));
        assert!(vs.iter().any(|v| v.head.name == "CONNECTION"));
        assert!(
            vs.iter()
                .any(|v| v.head.name == "DEVICE_STATUS" && v.kind == VectorKind::Light)
        );
        assert!(vs.iter().any(|v| v.head.name == "DEVICE_TASKS"));
        // Every vector writes as XML that reads back.
        for v in vs {
            let xml = Message::Vector(Op::Def, v.clone()).to_xml();
            let parsed = Message::from_element(
                &labdeck_protocol::indi::Element::parse(xml.as_bytes()).unwrap(),
            )
            .unwrap();
            assert_eq!(parsed, Message::Vector(Op::Def, v));
        }
    }

    #[test]
    fn vector_names_are_unique_within_a_device() {
        let mut d = pump();
        let text = |name: &str| Property::new(name, name, "Status");
        d.properties.push(text("status"));
        d.properties.push(text("device-status"));
        d.properties.push(text("device_status"));
        let mut mirrored = text("sky:Weather.WEATHER_STATUS.RAIN");
        mirrored.mirror = true;
        d.properties.push(mirrored);
        let names: Vec<String> = vectors(&d, None).into_iter().map(|v| v.head.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for want in [
            "STATUS",
            "DEVICE_STATUS",
            "DEVICE_STATUS_2",
            "DEVICE_STATUS_3",
        ] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
        assert!(!names.iter().any(|n| n.contains("WEATHER")));
    }

    #[test]
    fn new_vectors_become_commands() {
        let d = pump();
        let vs = vectors(&d, None);
        let known = |n: &str| vs.iter().find(|v| v.head.name == n).unwrap().clone();
        let new = |n: &str, kind, members: Vec<Member>| Vector {
            kind,
            head: VectorHead {
                device: "pump1".into(),
                name: n.into(),
                ..VectorHead::default()
            },
            members,
        };
        let c = command_for(
            &d,
            &new(
                "SETPOINT",
                VectorKind::Number,
                vec![Member::new("SETPOINT", "800")],
            ),
            &known("SETPOINT"),
        );
        assert!(
            matches!(c, Ok(Command::Set { ref attr, ref value, .. }) if attr == "setpoint" && value == "800")
        );
        let c = command_for(
            &d,
            &new("ON", VectorKind::Switch, vec![Member::new("OFF", "On")]),
            &known("ON"),
        );
        assert!(matches!(c, Ok(Command::Set { ref value, .. }) if value == "off"));
        let c = command_for(
            &d,
            &new(
                "CONNECTION",
                VectorKind::Switch,
                vec![Member::new("DISCONNECT", "On")],
            ),
            &known("CONNECTION"),
        );
        assert!(matches!(
            c,
            Ok(Command::Connection {
                command: ConnCommand::Disconnect,
                ..
            })
        ));
        let c = command_for(
            &d,
            &new(
                "FREQUENCY",
                VectorKind::Number,
                vec![Member::new("FREQUENCY", "5")],
            ),
            &known("FREQUENCY"),
        );
        assert_eq!(c.unwrap_err(), "FREQUENCY is read-only");
        let c = command_for(
            &d,
            &new(
                "SETPOINT",
                VectorKind::Text,
                vec![Member::new("SETPOINT", "5")],
            ),
            &known("SETPOINT"),
        );
        assert_eq!(c.unwrap_err(), "SETPOINT is a Number vector, not Text");
        let c = command_for(
            &d,
            &new(
                "SETPOINT",
                VectorKind::Number,
                vec![Member::new("SETPOINT", "fast")],
            ),
            &known("SETPOINT"),
        );
        assert_eq!(c.unwrap_err(), "\"fast\" is not a number");
    }

    #[test]
    fn the_catalog_reports_what_changed() {
        let d = pump();
        let mut catalog = Catalog::default();
        let (changed, gone) = catalog.update("pump1", vectors(&d, None));
        assert!(changed.iter().all(|c| matches!(c, Changed::Defined(_))) && gone.is_empty());
        let mut d2 = d.clone();
        for p in &mut d2.properties {
            if p.name == "frequency" {
                p.value = Some(Value::Int(999));
            }
        }
        let (changed, _) = catalog.update("pump1", vectors(&d2, None));
        let names: Vec<String> = changed
            .iter()
            .map(|c| match c {
                Changed::Values(v) | Changed::Defined(v) => v.head.name.clone(),
            })
            .collect();
        assert!(names.contains(&"FREQUENCY".to_string()), "{names:?}");
        assert!(!names.contains(&"SETPOINT".to_string()));
    }
}
