//! The INDI client driver: a remote INDI server (indiserver, another
//! labdeck) under a connection manager. Every remote device shows with
//! its vectors as properties grouped `Device · Group`; edits go out as
//! `new*Vector` with the vector Busy until the server answers or the
//! timeout (clamped 2–10 s) runs out; BLOBs are saved to a folder.

mod blob;
mod relay;
mod request;
mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::actor::drive;
use super::core::{DeviceCore, Driver};
use super::{
    ActionOutcome, ActionSpec, AttrKind, Capabilities, DeviceHandle, DeviceKind, DeviceOutcome,
    DriverParts, Liveness, PropState, Property, PropertyDef, PropertySheet, Value,
};
use crate::alarm::Condition;
use crate::error::HubError;
use crate::link::{Chunk, Direction, Framing};
use crate::protocol::indi::{
    BlobMode, Incoming, IndiState, Limits, Message, MessageReader, Op, Vector, VectorKind,
};
pub use blob::{Blob, BlobError, Saved};
pub use relay::{ROUTE, Relay, Relayed, extend_route, new_labdeck_id, route_of, route_vector};
pub use tree::{RemoteVector, Target, Tree, prop_name, properties, safe};

/// How the client talks to its server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndiClientConfig {
    /// Where received BLOBs are written.
    pub blob_dir: PathBuf,
    /// `enableBLOB` sent for every device that defines a BLOB.
    pub blobs: BlobMode,
}

impl Default for IndiClientConfig {
    fn default() -> Self {
        Self {
            blob_dir: super::default_data_dir().join("blobs"),
            blobs: BlobMode::Never,
        }
    }
}

/// How often deadlines and silence are checked.
const TICK: Duration = Duration::from_millis(250);
/// `getProperties` again while no device is known (indipyclient's rule).
const ASK_AGAIN: Duration = Duration::from_secs(5);
/// Silence both ways for this long: ask for the properties again …
const IDLE: Duration = Duration::from_secs(20);
/// … and if nothing comes back for this long, the link is dead.
const NO_ANSWER: Duration = Duration::from_secs(40);

/// A vector's timeout, clamped as indipyclient does.
fn answer_within(timeout: Option<&str>) -> Duration {
    let secs = timeout
        .and_then(crate::protocol::indi::parse_number)
        .unwrap_or(0.0);
    Duration::from_secs_f64(secs.clamp(2.0, 10.0))
}

pub struct IndiClientDriver {
    core: DeviceCore,
    cfg: IndiClientConfig,
    reader: MessageReader,
    tree: Tree,
    /// Chosen per device; outlives reconnections.
    blob_modes: BTreeMap<String, BlobMode>,
    /// Devices told their BLOB mode on this connection.
    blobs_sent: BTreeSet<String>,
    asked: Instant,
    last_rx: Instant,
    blobs_saved: u64,
    /// What labdeck's own INDI server serves again.
    relay: Relay,
    /// Devices not followed on this connection, with why (a loop).
    refused: BTreeMap<String, String>,
}

impl Driver for IndiClientDriver {
    fn core(&mut self) -> &mut DeviceCore {
        &mut self.core
    }

    fn poll_interval(&self) -> Duration {
        TICK
    }

    fn streaming(&self) -> bool {
        true
    }

    async fn attached(&mut self) {
        self.reader = MessageReader::new(Limits::default());
        self.forget_all();
        self.refused.clear();
        self.blobs_sent.clear();
        self.last_rx = Instant::now();
        self.ask().await;
        self.publish_snapshot();
    }

    fn detached(&mut self) {
        self.relay.down();
        self.core.mark_idle();
        self.publish_snapshot();
    }

    async fn poll(&mut self) {
        if self.check_deadlines() {
            self.publish_snapshot();
        }
        let now = Instant::now();
        let quiet = now.duration_since(self.last_rx);
        if self.tree.devices.is_empty() && now.duration_since(self.asked) >= ASK_AGAIN {
            self.ask().await;
        } else if quiet >= NO_ANSWER && self.asked > self.last_rx && now - self.asked >= IDLE {
            let reason = format!("no data from the INDI server for {} s", quiet.as_secs());
            if let Some(session) = &self.core.session {
                session.raise_alarm(reason);
            }
            if self.core.take_session() {
                self.detached();
            }
        } else if quiet >= IDLE && now.duration_since(self.asked) >= IDLE {
            self.ask().await;
        }
    }

    async fn received(&mut self, chunk: Chunk) {
        if chunk.dir != Direction::Rx {
            return;
        }
        self.last_rx = Instant::now();
        self.reader.push(&chunk.bytes);
        while let Some(next) = self.reader.next_message() {
            match next {
                Ok(Incoming::Message(message)) => self.handle(message).await,
                Ok(Incoming::Ignored(why)) => {
                    tracing::debug!("{}: skipped an element: {why}", self.core.name);
                }
                Err(e) => {
                    // The stream cannot be followed past this: start over.
                    let reason = format!("unreadable INDI stream: {e}");
                    self.core.report.notice(reason.clone());
                    if let Some(session) = &self.core.session {
                        session.raise_alarm(reason);
                    }
                    if self.core.take_session() {
                        self.detached();
                    }
                    return;
                }
            }
        }
        self.publish_snapshot();
    }

    async fn set_attr(&mut self, attr: &str, value: Value) -> Result<DeviceOutcome, HubError> {
        if let Some(device) = self.blob_mode_device(attr) {
            return self.set_blob_mode(&device, &value).await;
        }
        self.send_new(attr, &value).await
    }

    async fn action(&mut self, name: &str, args: &[String]) -> Result<ActionOutcome, HubError> {
        match (name, args.len()) {
            ("refresh", 0) => {
                self.ask().await;
                Ok(ActionOutcome::AskedForProperties)
            }
            ("devices", 0) => Ok(ActionOutcome::RemoteDevices {
                devices: self.tree.devices.clone(),
            }),
            _ => Err(HubError::UnknownAction {
                device: self.core.name.to_string(),
                action: name.into(),
                args: args.len(),
                known: ACTIONS.iter().map(|(a, _)| (*a).to_string()).collect(),
            }),
        }
    }

    async fn safe_state(&mut self) -> Result<String, String> {
        Ok("nothing sent: the remote devices keep their own safe states".into())
    }

    fn publish(&self) {
        self.publish_snapshot();
    }
}

/// The actions, with what they do.
const ACTIONS: &[(&str, &str)] = &[
    ("refresh", "ask the server for every property again"),
    ("devices", "the devices the server defines"),
];

/// What a remote server's mirror can do: no tasks, no safe state of its
/// own, not served again.
fn capabilities() -> Capabilities {
    Capabilities {
        power: None,
        framing: Framing::IndiXml,
        techniques: Vec::new(),
        safe_state: None,
        remote: true,
        actions: ACTIONS
            .iter()
            .map(|(usage, summary)| ActionSpec::new(usage, summary))
            .collect(),
    }
}

impl IndiClientDriver {
    /// `labdeck` names the labdeck it runs in: a device whose route
    /// names it is a loop.
    pub fn new(
        parts: DriverParts,
        cfg: IndiClientConfig,
        labdeck: Arc<str>,
    ) -> (Self, DeviceHandle) {
        let (core, handle) = DeviceCore::new(
            parts,
            DeviceKind::Indi,
            PropertySheet::default(),
            capabilities(),
        );
        let now = Instant::now();
        let driver = Self {
            core,
            cfg,
            reader: MessageReader::new(Limits::default()),
            tree: Tree::default(),
            blob_modes: BTreeMap::new(),
            blobs_sent: BTreeSet::new(),
            asked: now,
            last_rx: now,
            blobs_saved: 0,
            relay: Relay::new(handle.name().clone(), labdeck),
            refused: BTreeMap::new(),
        };
        (driver, handle)
    }

    /// The remote's devices for labdeck's INDI server to serve again.
    pub fn relay(&self) -> Relay {
        self.relay.clone()
    }

    pub async fn run(self) -> Result<(), Infallible> {
        drive(self).await
    }

    async fn write(&mut self, xml: &str) -> Result<(), HubError> {
        let Some(session) = &self.core.session else {
            return Err(self.core.link_down());
        };
        let sent = session.writer.write(xml.as_bytes()).await;
        sent.map_err(|e| self.core.exchange_failed(format!("cannot send: {e}")))
    }

    async fn ask(&mut self) {
        self.asked = Instant::now();
        let ask = Message::GetProperties {
            version: Some("1.7".into()),
            device: None,
            name: None,
        };
        let _ = self.write(&ask.to_xml()).await;
    }

    /// A new connection starts from an empty tree: the server defines it
    /// again.
    fn forget_all(&mut self) {
        for device in std::mem::take(&mut self.tree.devices) {
            let gone = self
                .core
                .sheet
                .remove_prefix(&format!("{}.", safe(&device)));
            self.core.apply(gone);
        }
        self.tree.clear();
        self.relay.down();
    }

    async fn handle(&mut self, message: Message) {
        if let Message::Vector(Op::Def, v) = &message
            && let Some(route) = route_of(v)
            && route.contains(&self.relay.labdeck())
        {
            let why = format!(
                "a loop: {} belongs to this labdeck and comes back through the server (route {})",
                v.head.device,
                route.join(" → ")
            );
            self.refuse(&v.head.device.clone(), why);
            return;
        }
        if device_of(&message).is_some_and(|d| self.refused.contains_key(d)) {
            return;
        }
        match message {
            Message::Vector(Op::Def, vector) => self.define(vector).await,
            Message::Vector(Op::Set, vector) => self.update(vector).await,
            // Another client's request, echoed by indiserver.
            Message::Vector(Op::New, _) => {}
            del @ Message::DelProperty { .. } => {
                let Message::DelProperty {
                    device,
                    name,
                    message,
                    ..
                } = &del
                else {
                    return;
                };
                let (device, name) = (device.clone(), name.clone());
                self.note(Some(&device), message.as_deref());
                self.delete(&device, name.as_deref());
                self.relay.delete(del, &device, name.as_deref());
            }
            said @ Message::Message { .. } => {
                if let Message::Message {
                    device, message, ..
                } = &said
                {
                    self.note(device.as_deref(), message.as_deref());
                }
                self.relay.pass(said);
            }
            Message::PingRequest { uid } => {
                let _ = self.write(&Message::PingReply { uid }.to_xml()).await;
            }
            Message::GetProperties { .. }
            | Message::EnableBlob { .. }
            | Message::PingReply { .. } => {}
        }
    }

    async fn define(&mut self, vector: Vector) {
        let device = vector.head.device.clone();
        let is_blob = vector.kind == VectorKind::Blob;
        let prefix = format!("{}.{}.", safe(&device), vector.head.name);
        let members_changed = self
            .tree
            .get(&device, &vector.head.name)
            .is_some_and(|old| {
                old.vector.members.len() != vector.members.len()
                    || old
                        .vector
                        .members
                        .iter()
                        .zip(&vector.members)
                        .any(|(a, b)| a.name != b.name)
            });
        if members_changed {
            let gone = self.core.sheet.remove_prefix(&prefix);
            self.core.apply(gone);
        }
        self.note(Some(&device), vector.head.message.as_deref());
        let def = Message::Vector(Op::Def, vector.clone());
        let kept = self.tree.define(vector);
        self.relay.define(def, &kept.vector);
        let props = properties(kept);
        self.upsert(props);
        if is_blob {
            self.offer_blobs(&device).await;
        }
    }

    async fn update(&mut self, set: Vector) {
        let (device, name) = (set.head.device.clone(), set.head.name.clone());
        if self.tree.get(&device, &name).is_none() {
            tracing::debug!("{}: set for undefined {device}.{name}", self.core.name);
            return;
        }
        self.note(Some(&device), set.head.message.as_deref());
        // BLOBs asked for only to be served again are not saved here.
        let saving = self
            .blob_modes
            .get(&device)
            .is_some_and(|m| *m != BlobMode::Never);
        if set.kind == VectorKind::Blob && saving {
            self.save_blobs(&set).await;
        }
        if let Some(rv) = self.tree.update(&set) {
            self.relay.update(Message::Vector(Op::Set, set), &rv.vector);
            let props = properties(rv);
            self.upsert(props);
        }
    }

    /// Stop following a device on this connection, and say why.
    fn refuse(&mut self, device: &str, why: String) {
        if self.refused.contains_key(device) {
            return;
        }
        self.delete(device, None);
        tracing::warn!("{}: {device} refused: {why}", self.core.name);
        self.core.report.notice(format!("{device} refused: {why}"));
        self.refused.insert(device.to_string(), why);
    }

    fn delete(&mut self, device: &str, name: Option<&str>) {
        for prefix in self.tree.delete(device, name) {
            let gone = self.core.sheet.remove_prefix(&prefix);
            self.core.apply(gone);
        }
        if name.is_none() {
            let gone = self.core.sheet.remove_prefix(&format!("{}.", safe(device)));
            self.core.apply(gone);
            self.blobs_sent.remove(device);
        }
    }

    fn upsert(&mut self, props: Vec<Property>) {
        for p in props {
            let changes = self.core.sheet.upsert(p);
            self.core.apply(changes);
        }
    }

    /// A server message: to the log, and the device's latest message.
    fn note(&mut self, device: Option<&str>, message: Option<&str>) {
        let Some(text) = message.map(str::trim).filter(|m| !m.is_empty()) else {
            return;
        };
        let Some(device) = device else {
            self.core.report.notice(text.to_string());
            return;
        };
        self.core.report.notice(format!("{device}: {text}"));
        let name = format!("{}.MESSAGE", safe(device));
        let def = PropertyDef::new(&name, "Last message", &format!("{device} · Messages"));
        let prop = Property::new(def).with(Value::Text(text.to_string()), PropState::Ok);
        self.upsert(vec![prop]);
    }

    /// A device defined a BLOB: its mode property, and `enableBLOB` once
    /// per connection unless the mode is Never (the server's default).
    async fn offer_blobs(&mut self, device: &str) {
        let mode = *self
            .blob_modes
            .entry(device.to_string())
            .or_insert(self.cfg.blobs);
        let options = [BlobMode::Never, BlobMode::Also, BlobMode::Only];
        let def = PropertyDef::new(
            &format!("{}.BLOB_MODE", safe(device)),
            "Receive BLOBs",
            &format!("{device} · BLOBs"),
        )
        .kind(AttrKind::Enum(
            options.iter().map(|m| m.word().to_string()).collect(),
        ))
        .writable();
        let prop = Property::new(def).with(Value::Text(mode.word().into()), PropState::Ok);
        self.upsert(vec![prop]);
        if mode != BlobMode::Never && self.blobs_sent.insert(device.to_string()) {
            let _ = self.write(&enable_blob(device, mode)).await;
        }
    }

    fn blob_mode_device(&self, attr: &str) -> Option<String> {
        let stem = attr.strip_suffix(".BLOB_MODE")?;
        self.blob_modes.keys().find(|d| safe(d) == stem).cloned()
    }

    async fn set_blob_mode(
        &mut self,
        device: &str,
        value: &Value,
    ) -> Result<DeviceOutcome, HubError> {
        let Some(mode) = value.as_text().and_then(BlobMode::parse) else {
            return Err(self.core.bad_argument(format!(
                "BLOB mode must be Never, Also or Only, not {value:?}"
            )));
        };
        self.write(&enable_blob(device, mode)).await?;
        self.blob_modes.insert(device.to_string(), mode);
        self.blobs_sent.insert(device.to_string());
        let name = format!("{}.BLOB_MODE", safe(device));
        self.core
            .set(&name, Value::Text(mode.word().into()), PropState::Ok);
        self.publish_snapshot();
        let property = self
            .core
            .sheet
            .get(&name)
            .cloned()
            .ok_or_else(|| self.core.bad_argument(format!("no attribute {name}")))?;
        Ok(DeviceOutcome::Set { property })
    }

    async fn save_blobs(&mut self, set: &Vector) {
        let dir = self.cfg.blob_dir.clone();
        for m in set.members.iter().filter(|m| !m.value.is_empty()) {
            let blob = Blob {
                device: set.head.device.clone(),
                vector: set.head.name.clone(),
                member: m.name.clone(),
                data: m.value.clone(),
                format: m.blob_format.clone().unwrap_or_default(),
                size: m.size,
            };
            let dir = dir.clone();
            let outcome = tokio::task::spawn_blocking(move || blob.save(&dir))
                .await
                .unwrap_or_else(|e| {
                    Err(BlobError::Write {
                        what: "?".into(),
                        path: PathBuf::new(),
                        source: std::io::Error::other(e.to_string()),
                    })
                });
            let note = match outcome {
                Ok(saved) => {
                    self.blobs_saved += 1;
                    let mismatch = saved
                        .size_mismatch
                        .map(|s| format!(" (announced {s} B)"))
                        .unwrap_or_default();
                    let note = format!(
                        "{} B {}{mismatch} → {}",
                        saved.bytes,
                        saved.format,
                        saved.path.display()
                    );
                    self.core.report.notice(format!(
                        "{}.{}.{}: saved {note}",
                        set.head.device, set.head.name, m.name
                    ));
                    note
                }
                Err(e) => {
                    self.core.report.notice(e.to_string());
                    format!("not saved: {e}")
                }
            };
            if let Some(rv) = self.tree.get_mut(&set.head.device, &set.head.name) {
                rv.blob_note = Some(note);
            }
        }
    }

    /// An edit of one member: the whole vector goes out, Busy until the
    /// server answers.
    async fn send_new(&mut self, attr: &str, value: &Value) -> Result<DeviceOutcome, HubError> {
        let gone = || {
            self.core
                .refused(format!("{attr} is no longer defined by the server"))
        };
        let Some(target) = self.tree.target(attr).cloned() else {
            return Err(gone());
        };
        let Some(rv) = self.tree.get(&target.device, &target.vector) else {
            return Err(gone());
        };
        let new = request::new_vector(&rv.vector, &target.member, value)
            .map_err(|e| self.core.bad_argument(e))?;
        let within = answer_within(rv.vector.head.timeout.as_deref());
        let off_step = value
            .as_f64()
            .filter(|_| rv.vector.kind == VectorKind::Number)
            .and_then(|v| request::off_step(&rv.vector, &target.member, v));
        let sent = new
            .members
            .iter()
            .find(|m| m.name == target.member)
            .map(|m| m.value.clone())
            .unwrap_or_default();
        self.write(&Message::Vector(Op::New, new).to_xml()).await?;
        if let Some(rv) = self.tree.get_mut(&target.device, &target.vector) {
            rv.waiting = Some(Instant::now() + within);
            let props = properties(rv);
            self.upsert(props);
        }
        self.publish_snapshot();
        Ok(DeviceOutcome::Pending {
            attr: format!("{}.{}.{}", target.device, target.vector, target.member),
            sent,
            within_s: within.as_secs(),
            off_step,
        })
    }

    /// Vectors whose answer is overdue turn Alert; whether there were any.
    fn check_deadlines(&mut self) -> bool {
        let now = Instant::now();
        let overdue: Vec<(String, String)> = self
            .tree
            .vectors
            .iter()
            .filter(|(_, rv)| rv.waiting.is_some_and(|deadline| deadline <= now))
            .map(|(key, _)| key.clone())
            .collect();
        let any = !overdue.is_empty();
        for (device, vector) in overdue {
            let Some(rv) = self.tree.get_mut(&device, &vector) else {
                continue;
            };
            rv.waiting = None;
            rv.vector.head.state = Some(IndiState::Alert);
            let within = answer_within(rv.vector.head.timeout.as_deref());
            let props = properties(rv);
            self.upsert(props);
            self.core.report.notice(format!(
                "{device}.{vector}: no answer within {} s",
                within.as_secs()
            ));
        }
        any
    }

    fn publish_snapshot(&self) {
        let connected = self.core.session.is_some();
        // A server answers with its definitions.
        let liveness = Liveness::of(connected, !self.tree.devices.is_empty());
        let summary = if !connected {
            liveness.to_string()
        } else if self.tree.devices.is_empty() {
            "connected, waiting for definitions".to_string()
        } else {
            let mut s = format!(
                "{} device(s), {} vectors",
                self.tree.devices.len(),
                self.tree.vectors.len()
            );
            if self.blobs_saved > 0 {
                let _ = write!(s, ", {} BLOB(s) saved", self.blobs_saved);
            }
            s
        };
        let loops = self.refused.iter().map(|(device, why)| {
            Condition::alarm(format!("loop-{device}"), format!("{device} refused: {why}"))
        });
        let conditions: Vec<Condition> = self
            .tree
            .vectors
            .values()
            .filter(|rv| rv.vector.head.state == Some(IndiState::Alert))
            .map(|rv| {
                let head = &rv.vector.head;
                let label = head.label.as_deref().unwrap_or(&head.name);
                Condition::alarm(
                    format!("{}.{}", head.device, head.name),
                    format!("{}: {label} is Alert", head.device),
                )
            })
            .chain(loops)
            .collect();
        self.core.publish(liveness, summary, &conditions);
    }
}

/// The device a message is about.
fn device_of(message: &Message) -> Option<&str> {
    match message {
        Message::Vector(_, v) => Some(&v.head.device),
        Message::DelProperty { device, .. } => Some(device),
        Message::Message { device, .. } => device.as_deref(),
        _ => None,
    }
}

fn enable_blob(device: &str, mode: BlobMode) -> String {
    Message::EnableBlob {
        device: device.to_string(),
        name: None,
        mode,
    }
    .to_xml()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_clamped() {
        assert_eq!(answer_within(None), Duration::from_secs(2));
        assert_eq!(answer_within(Some("60")), Duration::from_secs(10));
        assert_eq!(answer_within(Some("5")), Duration::from_secs(5));
        assert_eq!(answer_within(Some("junk")), Duration::from_secs(2));
    }
}
