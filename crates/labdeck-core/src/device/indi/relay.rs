//! What a remote INDI server defines, kept for labdeck's own INDI server
//! to serve again (chaining, like indiserver's `Device@host:port`). The
//! client driver feeds it each message as received, after its own checks;
//! the server relays them as they are and answers `getProperties` from
//! the vectors kept here. A device that comes back to the labdeck it
//! started from (a loop) is refused before anything of it is relayed.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use crate::protocol::indi::{IndiState, Member, Message, Perm, Vector, VectorHead, VectorKind};

/// The vector every device served by a labdeck carries, defined first:
/// the labdecks it passes through, the one it belongs to first.
pub const ROUTE: &str = "LABDECK_ROUTE";
const ROUTE_MEMBER: &str = "PATH";

/// How many messages a slow server may fall behind before it starts over
/// from the kept vectors.
const FEED: usize = 4096;

/// A new labdeck's name among labdecks: host, process and a random part,
/// so a restarted labdeck (or a second runtime in one process) is another.
pub fn new_labdeck_id() -> Arc<str> {
    {
        let host = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let random = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            h.finish() as u32
        };
        format!("{host}/{}-{random:08x}", std::process::id()).into()
    }
}

/// The route vector of a device this labdeck serves, with `path`.
pub fn route_vector(device: &str, path: &str) -> Vector {
    Vector {
        kind: VectorKind::Text,
        head: VectorHead {
            device: device.into(),
            name: ROUTE.into(),
            label: Some("Served through (labdeck)".into()),
            group: Some("General Info".into()),
            state: Some(IndiState::Ok),
            perm: Some(Perm::Ro),
            ..VectorHead::default()
        },
        members: vec![Member {
            label: Some("Labdecks, first the device's own".into()),
            ..Member::new(ROUTE_MEMBER, path)
        }],
    }
}

/// The labdecks a route vector names, its own first.
pub fn route_of(vector: &Vector) -> Option<Vec<&str>> {
    if vector.head.name != ROUTE {
        return None;
    }
    let path = &vector
        .members
        .iter()
        .find(|m| m.name == ROUTE_MEMBER)?
        .value;
    Some(path.split_whitespace().collect())
}

/// A route vector as labdeck `labdeck` serves it again: added last.
pub fn extend_route(vector: &mut Vector, labdeck: &str) {
    if let Some(m) = vector.members.iter_mut().find(|m| m.name == ROUTE_MEMBER) {
        m.value = format!("{} {labdeck}", m.value.trim());
    }
}

/// What the server hears from a relay.
#[derive(Debug, Clone)]
pub enum Relayed {
    /// A message of the remote, as received.
    Message(Arc<Message>),
    /// The link went down: its devices are gone until it is back.
    Down,
}

/// One remote server's devices, to serve again.
#[derive(Debug, Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The console device (and link) that mirrors the remote.
    remote: Arc<str>,
    /// The labdeck it runs in.
    labdeck: Arc<str>,
    feed: broadcast::Sender<Relayed>,
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    /// Devices in the order they appeared, each with its vectors in the
    /// order they were defined.
    devices: Vec<(String, Vec<Vector>)>,
}

impl Kept {
    fn device_mut(&mut self, device: &str) -> Option<&mut Vec<Vector>> {
        self.devices
            .iter_mut()
            .find(|(d, _)| d == device)
            .map(|(_, v)| v)
    }
}

impl Relay {
    pub fn new(remote: Arc<str>, labdeck: Arc<str>) -> Self {
        let (feed, _) = broadcast::channel(FEED);
        Self {
            inner: Arc::new(Inner {
                remote,
                labdeck,
                feed,
                kept: Mutex::new(Kept::default()),
            }),
        }
    }

    /// The device that mirrors the remote: new* go out through it.
    pub fn remote(&self) -> &Arc<str> {
        &self.inner.remote
    }

    pub fn labdeck(&self) -> &str {
        &self.inner.labdeck
    }

    /// Messages from now on; subscribe before looking at [`Self::devices`].
    pub fn subscribe(&self) -> broadcast::Receiver<Relayed> {
        self.inner.feed.subscribe()
    }

    /// Every device as it is now: its definitions with the latest values,
    /// the route first.
    pub fn devices(&self) -> Vec<(String, Vec<Vector>)> {
        let kept = self.kept();
        kept.devices.clone()
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner
            .kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn tell(&self, relayed: Relayed) {
        // Nobody listening (no INDI server) is fine.
        let _ = self.inner.feed.send(relayed);
    }

    /// A `def*` (the vector as the driver keeps it, values included).
    pub(crate) fn define(&self, message: Message, kept: &Vector) {
        {
            let mut state = self.kept();
            let device = kept.head.device.clone();
            if state.device_mut(&device).is_none() {
                state.devices.push((device.clone(), Vec::new()));
            }
            let vectors = state.device_mut(&device).unwrap_or_else(|| unreachable!());
            let vector = without_blob_data(kept);
            match vectors.iter_mut().find(|v| v.head.name == vector.head.name) {
                Some(old) => *old = vector,
                None if vector.head.name == ROUTE => vectors.insert(0, vector),
                None => vectors.push(vector),
            }
        }
        self.tell(Relayed::Message(Arc::new(message)));
    }

    /// A `set*` (and the vector with it applied).
    pub(crate) fn update(&self, message: Message, kept: &Vector) {
        {
            let mut state = self.kept();
            if let Some(vectors) = state.device_mut(&kept.head.device)
                && let Some(old) = vectors.iter_mut().find(|v| v.head.name == kept.head.name)
            {
                *old = without_blob_data(kept);
            }
        }
        self.tell(Relayed::Message(Arc::new(message)));
    }

    /// A `delProperty` of one vector or a whole device.
    pub(crate) fn delete(&self, message: Message, device: &str, name: Option<&str>) {
        {
            let mut state = self.kept();
            match name {
                Some(name) => {
                    if let Some(vectors) = state.device_mut(device) {
                        vectors.retain(|v| v.head.name != name);
                    }
                }
                None => state.devices.retain(|(d, _)| d != device),
            }
        }
        self.tell(Relayed::Message(Arc::new(message)));
    }

    /// Anything else worth relaying (a `message`).
    pub(crate) fn pass(&self, message: Message) {
        self.tell(Relayed::Message(Arc::new(message)));
    }

    /// The link is down (or starts over): nothing of it is defined.
    pub(crate) fn down(&self) {
        let had = !std::mem::take(&mut self.kept().devices).is_empty();
        if had {
            self.tell(Relayed::Down);
        }
    }
}

/// BLOB data is relayed as it comes, never kept.
fn without_blob_data(vector: &Vector) -> Vector {
    let mut v = vector.clone();
    if v.kind == VectorKind::Blob {
        for m in &mut v.members {
            m.value.clear();
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::indi::Op;

    fn number(device: &str, name: &str, value: &str) -> Vector {
        Vector {
            kind: VectorKind::Number,
            head: VectorHead {
                device: device.into(),
                name: name.into(),
                ..VectorHead::default()
            },
            members: vec![Member::new("VALUE", value)],
        }
    }

    #[test]
    fn routes_name_labdecks_in_order() {
        let mut v = route_vector("pump", "a/1-0");
        let b = new_labdeck_id();
        extend_route(&mut v, &b);
        assert_eq!(route_of(&v), Some(vec!["a/1-0", &*b]));
        assert_eq!(route_of(&number("pump", "SPEED", "1")), None);
        assert_ne!(new_labdeck_id(), b);
    }

    #[tokio::test]
    async fn keeps_what_it_relays_and_forgets_on_down() {
        let relay = Relay::new("lab-b".into(), new_labdeck_id());
        let mut feed = relay.subscribe();
        let speed = number("pump", "SPEED", "1");
        relay.define(Message::Vector(Op::Def, speed.clone()), &speed);
        let route = route_vector("pump", "a/1-0");
        relay.define(Message::Vector(Op::Def, route.clone()), &route);
        let newer = number("pump", "SPEED", "2");
        relay.update(Message::Vector(Op::Set, newer.clone()), &newer);
        let devices = relay.devices();
        assert_eq!(devices.len(), 1);
        let names: Vec<&str> = devices[0].1.iter().map(|v| &*v.head.name).collect();
        assert_eq!(names, [ROUTE, "SPEED"]);
        assert_eq!(devices[0].1[1].members[0].value, "2");
        for _ in 0..3 {
            assert!(matches!(feed.recv().await, Ok(Relayed::Message(_))));
        }
        relay.down();
        assert!(matches!(feed.recv().await, Ok(Relayed::Down)));
        assert!(relay.devices().is_empty());
        // Down twice tells once.
        relay.down();
        assert!(feed.try_recv().is_err());
    }
}
