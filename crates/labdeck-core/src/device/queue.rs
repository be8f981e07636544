//! Queue control: what the operator can do to the task queues as a whole,
//! and the mode a device's queue is in as a result.

use serde::{Deserialize, Serialize};

/// An operator's word to the queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueControl {
    /// Now: the running task stops sampling (its clock stops too) and the
    /// device stays as it is; nothing new starts.
    Pause,
    /// Once the running task has ended: nothing new starts.
    PauseAfterCurrent,
    /// Carry on: a paused task samples again, the queue starts tasks.
    Resume,
    /// Let the running task end, then cancel what waits.
    StopAfterCurrent,
    /// Cancel everything now and put the devices in their safe state.
    Abort,
}

impl QueueControl {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::PauseAfterCurrent => "pause-after-current",
            Self::Resume => "resume",
            Self::StopAfterCurrent => "stop-after-current",
            Self::Abort => "abort",
        }
    }
}

impl std::fmt::Display for QueueControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a queue starts tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueMode {
    /// Tasks start as soon as their device can run them.
    #[default]
    Active,
    /// Nothing starts; a running task, if any, is paused.
    Paused,
    /// The running task goes on; then the queue is paused.
    PausingAfterCurrent,
    /// The running task goes on; then what waits is cancelled.
    StoppingAfterCurrent,
}

impl QueueMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::PausingAfterCurrent => "pausing after the current task",
            Self::StoppingAfterCurrent => "stopping after the current task",
        }
    }

    /// Whether a waiting task may start now.
    pub fn starts_tasks(self) -> bool {
        self == Self::Active
    }

    /// The mode after `control`, with or without a task running.
    #[must_use]
    pub fn after(self, control: QueueControl, running: bool) -> Self {
        match control {
            QueueControl::Pause => Self::Paused,
            QueueControl::PauseAfterCurrent if running => Self::PausingAfterCurrent,
            QueueControl::PauseAfterCurrent => Self::Paused,
            QueueControl::StopAfterCurrent if running => Self::StoppingAfterCurrent,
            QueueControl::Resume | QueueControl::StopAfterCurrent | QueueControl::Abort => {
                Self::Active
            }
        }
    }

    /// The mode once the running task has ended.
    #[must_use]
    pub fn task_ended(self) -> Self {
        match self {
            Self::PausingAfterCurrent => Self::Paused,
            Self::StoppingAfterCurrent => Self::Active,
            other => other,
        }
    }
}

impl std::fmt::Display for QueueMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_table() {
        use QueueControl::*;
        use QueueMode::*;
        for (control, running, mode) in [
            (Pause, true, Paused),
            (Pause, false, Paused),
            (PauseAfterCurrent, true, PausingAfterCurrent),
            (PauseAfterCurrent, false, Paused),
            (StopAfterCurrent, true, StoppingAfterCurrent),
            (StopAfterCurrent, false, Active),
            (Resume, true, Active),
            (Abort, true, Active),
        ] {
            assert_eq!(Active.after(control, running), mode, "{control} {running}");
            assert_eq!(Paused.after(control, running), mode, "{control} {running}");
        }
        assert_eq!(PausingAfterCurrent.task_ended(), Paused);
        assert_eq!(StoppingAfterCurrent.task_ended(), Active);
        assert_eq!(Paused.task_ended(), Paused);
        assert!(Active.starts_tasks());
        for mode in [Paused, PausingAfterCurrent, StoppingAfterCurrent] {
            assert!(!mode.starts_tasks(), "{mode}");
        }
    }
}
