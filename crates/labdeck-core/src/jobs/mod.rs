//! Jobs: tasks in order across devices, one job at a time. A job stops or
//! goes on after a failed task as it says, resets each of its devices to
//! its safe state at the end whatever the outcome (unless told not to),
//! and ends as the worst of its tasks.

mod runner;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use runner::JobQueue;

use crate::device::{TaskSpec, TaskState};
use crate::time::Timestamp;

/// Keeps every job's state, durably (the store).
pub trait JobJournal: Send + Sync + std::fmt::Debug {
    /// `job` was queued, or one of its tasks or itself changed state.
    fn job(&self, job: &JobSnapshot);
}

/// What a job does after a task that did not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailure {
    /// The tasks after it are not run.
    #[default]
    Stop,
    /// The tasks after it run anyway (the job still ends failed).
    Continue,
}

/// A job as a method file gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub name: String,
    pub tasks: Vec<TaskSpec>,
    pub on_failure: OnFailure,
    /// Each device the job used is put in its safe state at the end.
    pub reset_at_end: bool,
    /// The method file it came from.
    #[serde(default)]
    pub method: Option<PathBuf>,
}

/// One task of a job as the job sees it: the device's task id once it
/// was handed to the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobTask {
    pub spec: TaskSpec,
    /// The device's id for it, once queued there.
    pub id: Option<u64>,
    pub state: TaskState,
    pub reason: Option<String>,
    pub file: Option<PathBuf>,
}

/// A device's reset at the end of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    pub device: String,
    /// Whether it reached its safe state.
    pub ok: bool,
    /// What the safe state did, or why it could not be reached.
    pub what: String,
}

/// What the console and scripts see of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSnapshot {
    pub id: u64,
    pub name: String,
    pub state: TaskState,
    pub reason: Option<String>,
    pub on_failure: OnFailure,
    pub reset_at_end: bool,
    pub tasks: Vec<JobTask>,
    pub resets: Vec<Reset>,
    pub submitted: Timestamp,
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    #[serde(default)]
    pub method: Option<PathBuf>,
    /// The job's NetCDF file (a group per task), once written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
}

impl JobSnapshot {
    pub fn new(id: u64, spec: JobSpec) -> Self {
        Self {
            id,
            name: spec.name,
            state: TaskState::Queued,
            reason: None,
            on_failure: spec.on_failure,
            reset_at_end: spec.reset_at_end,
            tasks: spec
                .tasks
                .into_iter()
                .map(|spec| JobTask {
                    spec,
                    id: None,
                    state: TaskState::Queued,
                    reason: None,
                    file: None,
                })
                .collect(),
            resets: Vec::new(),
            submitted: Timestamp::now(),
            started: None,
            ended: None,
            method: spec.method,
            file: None,
        }
    }

    /// The devices its tasks run on, each once, in first use order.
    pub fn devices(&self) -> Vec<String> {
        let mut devices: Vec<String> = Vec::new();
        for task in &self.tasks {
            if !devices.contains(&task.spec.device) {
                devices.push(task.spec.device.clone());
            }
        }
        devices
    }

    /// Tasks ended so far.
    pub fn done(&self) -> usize {
        self.tasks.iter().filter(|t| t.state.is_terminal()).count()
    }

    /// The worst of its tasks' endings, and the first task that ended so:
    /// completed only when every task completed.
    pub fn outcome(&self) -> (TaskState, Option<String>) {
        let worst = self
            .tasks
            .iter()
            .filter_map(|t| t.state.badness().map(|b| (b, t)))
            .max_by_key(|(badness, _)| *badness);
        match worst {
            None => (TaskState::Completed, None),
            Some((0, _)) => (TaskState::Completed, None),
            Some((_, task)) => (
                task.state,
                Some(format!(
                    "task '{}' on {} {}{}",
                    task.spec.name,
                    task.spec.device,
                    task.state.as_str(),
                    task.reason
                        .as_ref()
                        .map_or_else(String::new, |r| format!(": {r}"))
                )),
            ),
        }
    }

    /// Mark the tasks not yet handed to a device as not run.
    pub fn skip_rest(&mut self, why: &str) {
        for task in self.tasks.iter_mut().filter(|t| t.id.is_none()) {
            if !task.state.is_terminal() {
                task.state = TaskState::Cancelled;
                task.reason = Some(format!("not run: {why}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;

    fn spec(name: &str, device: &str) -> TaskSpec {
        TaskSpec {
            name: name.into(),
            device: device.into(),
            technique: "monitor".into(),
            params: BTreeMap::new(),
            sampling_interval: Duration::from_secs(1),
            max_duration: Duration::from_secs(2),
            link_timeout: crate::device::DEFAULT_LINK_TIMEOUT,
            job: None,
        }
    }

    fn job(states: &[TaskState]) -> JobSnapshot {
        let tasks = states
            .iter()
            .enumerate()
            .map(|(i, _)| spec(&format!("t{i}"), if i % 2 == 0 { "pump" } else { "em" }))
            .collect();
        let mut job = JobSnapshot::new(
            1,
            JobSpec {
                name: "j".into(),
                tasks,
                on_failure: OnFailure::Stop,
                reset_at_end: true,
                method: None,
            },
        );
        for (task, state) in job.tasks.iter_mut().zip(states) {
            task.state = *state;
        }
        job
    }

    #[test]
    fn a_job_ends_as_the_worst_of_its_tasks() {
        use TaskState::*;
        for (states, outcome) in [
            (vec![Completed, Completed], Completed),
            (vec![Completed, Cancelled], Cancelled),
            (vec![Failed, Completed, Cancelled], Failed),
            (vec![Cancelled, Interrupted], Interrupted),
            (vec![Completed, Failed, Interrupted], Failed),
        ] {
            assert_eq!(job(&states).outcome().0, outcome, "{states:?}");
        }
        let (_, reason) = job(&[Completed, Failed]).outcome();
        assert_eq!(reason.as_deref(), Some("task 't1' on em failed"));
    }

    #[test]
    fn devices_once_in_order_and_skipping_the_rest() {
        let mut job = job(&[TaskState::Completed, TaskState::Failed, TaskState::Queued]);
        assert_eq!(job.devices(), ["pump", "em"]);
        job.tasks[0].id = Some(1);
        job.tasks[1].id = Some(1);
        job.skip_rest("task 't1' failed");
        assert_eq!(job.tasks[2].state, TaskState::Cancelled);
        assert_eq!(
            job.tasks[2].reason.as_deref(),
            Some("not run: task 't1' failed")
        );
        assert_eq!(job.tasks[1].state, TaskState::Failed);
        assert_eq!(job.done(), 3);
    }
}
