//! The lab's state as changes: what differs from the last state a client
//! was sent. A console following a busy lab gets the snapshots that
//! changed (the polled pump's, the traffic counters), not the whole lab
//! five times a second. The links, devices and simulators of a running
//! lab are fixed, so they are named by their place in the snapshot.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use labdeck_core::connection::ConnectionSnapshot;
use labdeck_core::device::DeviceSnapshot;
use labdeck_core::hub::{ActorStatus, LabSnapshot, MacroInfo, RecordingStatus};
use labdeck_core::jobs::JobSnapshot;
use labdeck_core::link::TapCounters;
use labdeck_core::sim::SimSnapshot;

/// Everything in a [`LabSnapshot`] besides the three lists, sent whole
/// when any of it changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rest {
    pub actors: Vec<ActorStatus>,
    pub recording: Option<RecordingStatus>,
    pub macros: Vec<MacroInfo>,
    #[serde(default)]
    pub jobs: Vec<JobSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Changes {
    pub connections: Vec<(usize, ConnectionSnapshot)>,
    pub devices: Vec<(usize, DeviceSnapshot)>,
    pub simulators: Vec<(usize, SimSnapshot)>,
    pub taps: Option<Vec<(Arc<str>, TapCounters)>>,
    pub rest: Option<Rest>,
}

/// The entries of `now` that differ from `before`, by place; `None` when
/// the lists are not the same length.
fn changed<T: Clone + PartialEq>(before: &[T], now: &[T]) -> Option<Vec<(usize, T)>> {
    (before.len() == now.len()).then(|| {
        now.iter()
            .enumerate()
            .filter(|(i, item)| before[*i] != **item)
            .map(|(i, item)| (i, item.clone()))
            .collect()
    })
}

fn rest(snapshot: &LabSnapshot) -> Rest {
    Rest {
        actors: snapshot.actors.clone(),
        recording: snapshot.recording.clone(),
        macros: snapshot.macros.clone(),
        jobs: snapshot.jobs.clone(),
    }
}

impl Changes {
    /// What differs in `now` from `before`; `None` when they do not have
    /// the same links, devices and simulators (send the whole state).
    pub fn between(before: &LabSnapshot, now: &LabSnapshot) -> Option<Self> {
        let changes = Self {
            connections: changed(&before.connections, &now.connections)?,
            devices: changed(&before.devices, &now.devices)?,
            simulators: changed(&before.simulators, &now.simulators)?,
            taps: (before.taps != now.taps).then(|| now.taps.clone()),
            rest: (rest(before) != rest(now)).then(|| rest(now)),
        };
        Some(changes)
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Bring `state` up to date; false (and `state` as it was) when the
    /// changes name places it does not have.
    pub fn apply(self, state: &mut LabSnapshot) -> bool {
        let fits = self
            .connections
            .iter()
            .all(|(i, _)| *i < state.connections.len())
            && self.devices.iter().all(|(i, _)| *i < state.devices.len())
            && self
                .simulators
                .iter()
                .all(|(i, _)| *i < state.simulators.len());
        if !fits {
            return false;
        }
        for (i, c) in self.connections {
            state.connections[i] = c;
        }
        for (i, d) in self.devices {
            state.devices[i] = d;
        }
        for (i, s) in self.simulators {
            state.simulators[i] = s;
        }
        if let Some(taps) = self.taps {
            state.taps = taps;
        }
        if let Some(rest) = self.rest {
            state.actors = rest.actors;
            state.recording = rest.recording;
            state.macros = rest.macros;
            state.jobs = rest.jobs;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labdeck_core::device::Liveness;

    #[test]
    fn changes_carry_what_differs_and_bring_a_state_up_to_date() {
        let base = tokio::time::Instant::now();
        let before = labdeck_core::testing::lab(base, 2);
        let mut now = before.clone();
        now.devices[1].liveness = Liveness::NotResponding;
        now.taps[0].1.rx_bytes += 24;
        let changes = Changes::between(&before, &now).unwrap();
        assert_eq!(changes.devices.len(), 1);
        assert_eq!(changes.devices[0].0, 1);
        assert!(changes.connections.is_empty() && changes.simulators.is_empty());
        assert!(changes.taps.is_some() && changes.rest.is_none());
        let mut state = before.clone();
        assert!(changes.apply(&mut state));
        assert_eq!(state, now);

        assert!(Changes::between(&now, &now).unwrap().is_empty());
        // Another lab's shape: the whole state is needed.
        let mut other = now.clone();
        other.devices.pop();
        assert!(Changes::between(&now, &other).is_none());
        let stray = Changes {
            devices: vec![(9, now.devices[0].clone())],
            ..Changes::default()
        };
        assert!(!stray.apply(&mut state));
        assert_eq!(state, now);
    }
}
