//! labdeck's devices and simulators as INDI vectors. Each attribute is a
//! vector of its own (numbers with format, limits and step; booleans and
//! options as switches; words as text), grouped as in the console, `rw`
//! when writable; every device also has a CONNECTION switch that drives
//! its link, a DEVICE_STATUS light vector and a DEVICE_TASKS text vector.
//! Each device's first vector is LABDECK_ROUTE, the labdecks it is
//! served through, so that chained labdecks find loops.
//! A simulator is a device with a FAULTS switch (any of many), a
//! FAULT_VALUES number vector for the faults that take a value, and a
//! SIM_STATUS text vector.
//!
//! A value event changes the one vector its property is; snapshots build
//! whole devices, to start and to catch up.

use std::collections::HashMap;
use std::sync::Arc;

use labdeck_core::connection::{ConnectionSnapshot, StateKind};
use labdeck_core::device::indi::route_vector;
use labdeck_core::device::{
    AttrKind, DeviceSnapshot, Liveness, PropState, Property, PropertyDef, TaskState, Value,
    ValueUpdate,
};
use labdeck_core::sim::SimSnapshot;
use labdeck_protocol::indi::{
    IndiState, Member, Perm, Rule, Vector, VectorHead, VectorKind, format_number, timestamp,
};

use super::timestamp_now;
use crate::format;

pub const CONNECTION: &str = "CONNECTION";
pub const STATUS: &str = "DEVICE_STATUS";
pub const TASKS: &str = "DEVICE_TASKS";
pub const FAULTS: &str = "FAULTS";
pub const FAULT_VALUES: &str = "FAULT_VALUES";
pub const SIM_STATUS: &str = "SIM_STATUS";

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

/// How an attribute's values sit in its vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One number member.
    Number,
    /// ON and OFF switches.
    OnOff,
    /// One switch per option, the option as the member's label.
    Options,
    /// One text member.
    Text,
}

/// What a served vector stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// The labdecks the device is served through (this one alone).
    Route,
    Connection,
    Status,
    Tasks,
    Attribute {
        attr: Arc<str>,
        shape: Shape,
        decimals: u8,
    },
    Faults,
    FaultValues,
    SimStatus,
}

/// One device (or simulator) as INDI clients see it: its vectors with
/// their current values, in a stable order.
#[derive(Debug, Clone, Default)]
pub struct Served {
    vectors: Vec<Vector>,
    bindings: Vec<Binding>,
    by_attr: HashMap<Arc<str>, usize>,
}

/// What changed between two builds of a device.
#[derive(Debug, Clone)]
pub enum Changed {
    /// New or redefined: send `def*`.
    Defined(Vector),
    /// New values or state: send `set*`.
    Values(Vector),
}

impl Served {
    fn push(&mut self, vector: Vector, binding: Binding) {
        if let Binding::Attribute { attr, .. } = &binding {
            self.by_attr.insert(attr.clone(), self.vectors.len());
        }
        self.vectors.push(vector);
        self.bindings.push(binding);
    }

    pub fn vectors(&self) -> &[Vector] {
        &self.vectors
    }

    pub fn vector(&self, name: &str) -> Option<&Vector> {
        self.vectors.iter().find(|v| v.head.name == name)
    }

    pub fn binding(&self, name: &str) -> Option<&Binding> {
        let i = self.vectors.iter().position(|v| v.head.name == name)?;
        self.bindings.get(i)
    }

    /// A labdeck device: its attributes and the device-level vectors.
    /// `labdeck` names this labdeck, the first of the device's route.
    pub fn device(d: &DeviceSnapshot, link: Option<&ConnectionSnapshot>, labdeck: &str) -> Self {
        let device = &*d.name;
        let mut served = Self::default();
        served.push(route_vector(device, labdeck), Binding::Route);
        served.push(connection(device, link), Binding::Connection);
        served.push(status(d, link), Binding::Status);
        for (name, p) in attribute_names(d) {
            let (vector, binding) = attribute(device, &name, p);
            served.push(vector, binding);
        }
        if !d.capabilities.techniques.is_empty() {
            served.push(tasks(d), Binding::Tasks);
        }
        served
    }

    /// A simulator: its faults, switchable, and where it listens.
    pub fn simulator(s: &SimSnapshot, labdeck: &str) -> Self {
        let device = &*s.name;
        let mut served = Self::default();
        served.push(route_vector(device, labdeck), Binding::Route);
        let mut faults = head(device, FAULTS, "Faults", "Faults", IndiState::Ok, Perm::Rw);
        faults.rule = Some(Rule::AnyOfMany);
        served.push(
            Vector {
                kind: VectorKind::Switch,
                head: faults,
                members: s
                    .faults
                    .iter()
                    .map(|f| switch(&f.id, &f.label, f.active))
                    .collect(),
            },
            Binding::Faults,
        );
        let valued: Vec<Member> = s
            .faults
            .iter()
            .filter_map(|f| {
                let (min, max) = f.range?;
                let unit = f.unit.as_deref().unwrap_or("");
                let value = f.value.map_or(0.0, |v| v as f64);
                Some(Member {
                    label: Some(format!("{} ({unit})", f.label)),
                    format: Some("%.0f".into()),
                    min: Some(min.to_string()),
                    max: Some(max.to_string()),
                    step: Some("1".into()),
                    ..Member::new(&f.id, format_number(value, "%.0f"))
                })
            })
            .collect();
        if !valued.is_empty() {
            served.push(
                Vector {
                    kind: VectorKind::Number,
                    head: head(
                        device,
                        FAULT_VALUES,
                        "Fault values (set switches the fault on)",
                        "Faults",
                        IndiState::Ok,
                        Perm::Rw,
                    ),
                    members: valued,
                },
                Binding::FaultValues,
            );
        }
        let text = |name: &str, label: &str, value: String| Member {
            label: Some(label.into()),
            ..Member::new(name, value)
        };
        served.push(
            Vector {
                kind: VectorKind::Text,
                head: head(
                    device,
                    SIM_STATUS,
                    "Simulator",
                    "Simulator",
                    if s.endpoint.is_some() {
                        IndiState::Ok
                    } else {
                        IndiState::Alert
                    },
                    Perm::Ro,
                ),
                members: vec![
                    text("KIND", "Simulates", s.kind.to_string()),
                    text(
                        "ENDPOINT",
                        "Reached at",
                        s.endpoint.clone().unwrap_or_else(|| "closed".into()),
                    ),
                ],
            },
            Binding::SimStatus,
        );
        served
    }

    /// A property's new value: its vector, updated, to send as `set*`.
    pub fn value(&mut self, update: &ValueUpdate) -> Option<&Vector> {
        let i = *self.by_attr.get(&update.name)?;
        let Binding::Attribute {
            shape, decimals, ..
        } = self.bindings[i]
        else {
            return None;
        };
        let vector = &mut self.vectors[i];
        set_members(&mut vector.members, shape, decimals, update.value.as_ref());
        vector.head.state = Some(state(update.state));
        vector.head.timestamp = Some(timestamp(update.t.wall));
        Some(&self.vectors[i])
    }

    /// Take a fresh build; what changed, and the vectors that went away.
    pub fn refresh(&mut self, fresh: Self) -> (Vec<Changed>, Vec<String>) {
        let mut changed = Vec::new();
        for v in &fresh.vectors {
            match self.vector(&v.head.name) {
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
                    changed.push(Changed::Values(v.clone()));
                }
                Some(_) => {}
            }
        }
        let gone = self
            .vectors
            .iter()
            .filter(|o| fresh.vector(&o.head.name).is_none())
            .map(|o| o.head.name.clone())
            .collect();
        *self = fresh;
        (changed, gone)
    }
}

/// Each attribute with its vector name, unique within the device: a name
/// taken by labdeck's own vectors or an earlier attribute gets `_2`, `_3`.
fn attribute_names(d: &DeviceSnapshot) -> Vec<(String, &Property)> {
    let mut taken: Vec<String> = [CONNECTION, STATUS, TASKS].map(String::from).to_vec();
    d.properties
        .iter()
        .filter(|p| !p.def.mirror)
        .map(|p| {
            let base = indi_name(p.name());
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

/// A link closed on request is Idle (libindi's convention); one given up
/// on, its alarm still active, is Alert.
fn link_state(c: Option<&ConnectionSnapshot>) -> IndiState {
    let Some(c) = c else {
        return IndiState::Idle;
    };
    match c.state {
        StateKind::Connected => IndiState::Ok,
        StateKind::Connecting | StateKind::Recovering => IndiState::Busy,
        StateKind::Disconnected if c.alarm.is_some() => IndiState::Alert,
        StateKind::Disconnected | StateKind::TornDown | StateKind::Ready => IndiState::Idle,
    }
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
fn number_format(def: &PropertyDef) -> String {
    match (&def.kind, def.si) {
        (AttrKind::Int, _) => "%.0f".into(),
        (_, true) => "%g".into(),
        _ => format!("%.{}f", def.decimals),
    }
}

/// Members set to a value, as its shape says.
fn set_members(members: &mut [Member], shape: Shape, decimals: u8, value: Option<&Value>) {
    match shape {
        Shape::Number => {
            if let Some(m) = members.first_mut() {
                let format = m.format.as_deref().unwrap_or("%g");
                m.value = value
                    .and_then(Value::as_f64)
                    .map_or_else(|| "nan".to_string(), |v| format_number(v, format));
            }
        }
        Shape::OnOff => {
            let on = matches!(value, Some(Value::Bool(true)));
            for m in members {
                let lit = (m.name == "ON") == on;
                m.value = if lit { "On" } else { "Off" }.into();
            }
        }
        Shape::Options => {
            let current = value.and_then(Value::as_text).unwrap_or("");
            for m in members {
                let lit = m.label.as_deref() == Some(current);
                m.value = if lit { "On" } else { "Off" }.into();
            }
        }
        Shape::Text => {
            if let Some(m) = members.first_mut() {
                m.value = value
                    .map(|v| format::plain(v, decimals))
                    .unwrap_or_default();
            }
        }
    }
}

/// One attribute as a vector named `name`.
fn attribute(device: &str, name: &str, p: &Property) -> (Vector, Binding) {
    let def = &p.def;
    let perm = if def.writable { Perm::Rw } else { Perm::Ro };
    let mut head = head(device, name, &def.label, &def.group, state(p.state), perm);
    head.timestamp = Some(p.updated.map_or_else(timestamp_now, |t| timestamp(t.wall)));
    let (kind, shape, mut members) = match &def.kind {
        AttrKind::Bool => {
            head.rule = Some(Rule::OneOfMany);
            let members = vec![switch("ON", "On", false), switch("OFF", "Off", true)];
            (VectorKind::Switch, Shape::OnOff, members)
        }
        AttrKind::Enum(options) => {
            head.rule = Some(Rule::OneOfMany);
            let members = options
                .iter()
                .map(|o| switch(&indi_name(o), o, false))
                .collect();
            (VectorKind::Switch, Shape::Options, members)
        }
        AttrKind::Int | AttrKind::Float => {
            let format = number_format(def);
            let label = def
                .unit
                .as_ref()
                .map_or_else(|| def.label.clone(), |u| format!("{} ({u})", def.label));
            let member = Member {
                label: Some(label),
                format: Some(format),
                min: Some(def.min.unwrap_or(0.0).to_string()),
                max: Some(def.max.unwrap_or(0.0).to_string()),
                step: Some(if def.kind == AttrKind::Int { "1" } else { "0" }.into()),
                ..Member::new(name, "nan")
            };
            (VectorKind::Number, Shape::Number, vec![member])
        }
        AttrKind::Text => {
            let member = Member {
                label: Some(def.label.clone()),
                ..Member::new(name, "")
            };
            (VectorKind::Text, Shape::Text, vec![member])
        }
    };
    set_members(&mut members, shape, def.decimals, p.value.as_ref());
    let binding = Binding::Attribute {
        attr: def.name.clone(),
        shape,
        decimals: def.decimals,
    };
    (
        Vector {
            kind,
            head,
            members,
        },
        binding,
    )
}

/// CONNECTION: On while the link is connected or trying to be.
fn connection(device: &str, link: Option<&ConnectionSnapshot>) -> Vector {
    let connected = matches!(
        link.map(|c| c.state),
        Some(StateKind::Connected | StateKind::Connecting | StateKind::Recovering)
    );
    let mut head = head(
        device,
        CONNECTION,
        "Connection",
        "Connection",
        link_state(link),
        Perm::Rw,
    );
    head.rule = Some(Rule::OneOfMany);
    Vector {
        kind: VectorKind::Switch,
        head,
        members: vec![
            switch("CONNECT", "Connect", connected),
            switch("DISCONNECT", "Disconnect", !connected),
        ],
    }
}

/// DEVICE_STATUS: the link, whether the device answers, its alarms.
fn status(d: &DeviceSnapshot, link: Option<&ConnectionSnapshot>) -> Vector {
    let light = |name: &str, label: &str, s: IndiState| Member {
        label: Some(label.into()),
        ..Member::new(name, s.word())
    };
    let alarms = if d.alarms.is_empty() {
        IndiState::Ok
    } else {
        IndiState::Alert
    };
    // A device that does not answer on an open link is Alert, never Ok.
    let online = match d.liveness {
        Liveness::Responding => IndiState::Ok,
        Liveness::NotResponding => IndiState::Alert,
        Liveness::LinkDown => IndiState::Idle,
    };
    let mut head = head(&d.name, STATUS, "Status", "Connection", online, Perm::Ro);
    // Not in the 1.7 DTD for lights, but harmless, and clients that show
    // a permission for every vector (indi_getprop's _PERM) print "ro".
    head.timeout = None;
    head.message = d.alarms.first().map(|a| a.reason.clone());
    Vector {
        kind: VectorKind::Light,
        head,
        members: vec![
            light("LINK", "Link", link_state(link)),
            light("ONLINE", "Answers", online),
            light("ALARMS", "Alarms", alarms),
        ],
    }
}

/// DEVICE_TASKS: the running task, how many wait, the last finished.
fn tasks(d: &DeviceSnapshot) -> Vector {
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
    Vector {
        kind: VectorKind::Text,
        head: head(&d.name, TASKS, "Tasks", "Tasks", task_state, Perm::Ro),
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

#[cfg(test)]
mod tests;
