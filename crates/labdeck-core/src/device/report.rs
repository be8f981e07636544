//! What a device reports, and the reporter a driver holds to report it.

use std::path::PathBuf;
use std::sync::Arc;

use super::journal::TaskJournal;
use super::property::{PropertyDef, SheetChange, ValueUpdate};
use super::task::{TaskSnapshot, TaskState};
use crate::alarm::{Alarm, AlarmKind, Notice};
use crate::publish::Publisher;
use crate::time::Timestamp;

/// What a device reports.
#[derive(Debug, Clone)]
pub enum DeviceEvent {
    /// A property appeared or its definition changed.
    Defined {
        device: Arc<str>,
        property: Arc<PropertyDef>,
    },
    /// A property went away.
    Removed {
        device: Arc<str>,
        name: Arc<str>,
    },
    /// A property's value or state changed.
    Value {
        device: Arc<str>,
        update: ValueUpdate,
    },
    /// A task changed state.
    Task(TaskChange),
    Alarm(Alarm),
    Notice(Notice),
    /// The device started or stopped answering.
    Liveness {
        t: Timestamp,
        device: Arc<str>,
        liveness: super::Liveness,
    },
}

/// A task's new state, as published.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskChange {
    pub t: Timestamp,
    pub device: Arc<str>,
    pub id: u64,
    pub name: String,
    pub state: TaskState,
    pub reason: Option<String>,
    pub file: Option<PathBuf>,
}

/// A device's way out: its events, with its name, and its tasks' journal.
#[derive(Debug, Clone)]
pub struct DeviceReporter {
    pub name: Arc<str>,
    out: Publisher<DeviceEvent>,
    journal: Option<Arc<dyn TaskJournal>>,
}

impl DeviceReporter {
    pub fn new(name: Arc<str>, out: Publisher<DeviceEvent>) -> Self {
        Self {
            name,
            out,
            journal: None,
        }
    }

    /// Every task state also goes to `journal`.
    #[must_use]
    pub fn with_journal(mut self, journal: Option<Arc<dyn TaskJournal>>) -> Self {
        self.journal = journal;
        self
    }

    /// A task was queued: only the journal hears of it.
    pub fn queued(&self, task: &TaskSnapshot) {
        if let Some(journal) = &self.journal {
            journal.task(&self.name, task);
        }
    }

    pub fn notice(&self, message: impl Into<String>) {
        self.out
            .publish(DeviceEvent::Notice(Notice::new(&self.name, message)));
    }

    pub fn alarm(&self, kind: AlarmKind, active: bool, reason: impl Into<String>) {
        self.raised(Alarm::new(&self.name, kind, active, reason));
    }

    /// An alarm raised or cleared, as it is.
    pub fn raised(&self, alarm: Alarm) {
        self.out.publish(DeviceEvent::Alarm(alarm));
    }

    pub fn liveness(&self, liveness: super::Liveness) {
        self.out.publish(DeviceEvent::Liveness {
            t: Timestamp::now(),
            device: self.name.clone(),
            liveness,
        });
    }

    pub fn task(&self, task: &TaskSnapshot) {
        self.queued(task);
        self.out.publish(DeviceEvent::Task(TaskChange {
            t: Timestamp::now(),
            device: self.name.clone(),
            id: task.id,
            name: task.spec.name.clone(),
            state: task.state,
            reason: task.reason.clone(),
            file: task.file.clone(),
        }));
    }

    /// What a property sheet change means for listeners.
    pub fn change(&self, change: &SheetChange) {
        let device = self.name.clone();
        let event = match change {
            SheetChange::Defined(p) => DeviceEvent::Defined {
                device,
                property: p.def.clone(),
            },
            SheetChange::Value(_, update) => DeviceEvent::Value {
                device,
                update: update.clone(),
            },
            SheetChange::Removed(name) => DeviceEvent::Removed {
                device,
                name: name.clone(),
            },
        };
        self.out.publish(event);
        // A new definition carries a value listeners have not seen.
        if let SheetChange::Defined(p) = change
            && p.value.is_some()
        {
            self.out.publish(DeviceEvent::Value {
                device: self.name.clone(),
                update: ValueUpdate {
                    name: p.def.name.clone(),
                    t: p.updated.unwrap_or_else(Timestamp::now),
                    value: p.value.clone(),
                    state: p.state,
                },
            });
        }
    }
}
