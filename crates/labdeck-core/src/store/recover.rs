//! Finding what crashed runs left: a run still marked `running` whose
//! process is gone crashed. Its running (or paused) tasks become
//! `interrupted`, in the store and in their sidecars; its jobs become
//! `interrupted`; what it had not started is resumable until resumed.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, Transaction, params};

use super::StoreError;
use crate::device::{TaskSpec, TaskState, mark_interrupted};
use crate::jobs::{JobSnapshot, JobSpec};

/// What the open found of crashed runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Recovery {
    /// The runs found crashed now.
    pub runs: Vec<i64>,
    /// Tasks that were running when their run crashed, now interrupted.
    pub interrupted: Vec<InterruptedTask>,
    /// Everything crashed runs left unstarted, found now or before.
    pub resumable: Resumable,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InterruptedTask {
    pub run: i64,
    pub device: String,
    pub id: u64,
    pub name: String,
    pub file: Option<PathBuf>,
    /// Complete samples in its file.
    pub samples: Option<u64>,
}

/// Work of crashed runs that can be queued again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resumable {
    pub jobs: Vec<InterruptedJob>,
    /// Tasks outside jobs that were still waiting.
    pub tasks: Vec<ResumableTask>,
}

impl Resumable {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.tasks.is_empty()
    }

    /// In words: `job 'spin' (2 tasks not started), 1 waiting task`.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .jobs
            .iter()
            .map(|j| {
                format!(
                    "job '{}' ({} task(s) not started)",
                    j.was.name,
                    j.rest.tasks.len()
                )
            })
            .collect();
        if !self.tasks.is_empty() {
            parts.push(format!("{} waiting task(s)", self.tasks.len()));
        }
        parts.join(", ")
    }
}

/// A job a crash interrupted, with the tasks it had not started.
#[derive(Debug, Clone, PartialEq)]
pub struct InterruptedJob {
    pub run: i64,
    pub id: u64,
    /// The job as it was, its interrupted task marked so.
    pub was: JobSnapshot,
    /// The same job with only the tasks not started.
    pub rest: JobSpec,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResumableTask {
    pub run: i64,
    pub device: String,
    pub id: u64,
    pub spec: TaskSpec,
}

/// Whether process `pid` runs. This process does: its other runtimes'
/// runs are live. (A crashed run whose pid a live process took since is
/// taken for live: left alone rather than wrongly interrupted.)
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // Signal 0: only whether it could be sent. EPERM means it exists.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

/// Mark the runs that crashed and what they were doing, in one
/// transaction; then what is resumable.
pub(super) fn crashed_runs(db: &mut Connection, current: i64) -> Result<Recovery, StoreError> {
    let tx = db.transaction()?;
    let runs: Vec<(i64, u32)> = {
        let mut query =
            tx.prepare("SELECT id, pid FROM runs WHERE state = 'running' AND id != ?1")?;
        query
            .query_map(params![current], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut recovery = Recovery::default();
    for (run, pid) in runs {
        if alive(pid) {
            continue;
        }
        let reason = format!("labdeck stopped while it ran (run {run}, process {pid})");
        tx.execute(
            "UPDATE runs SET state = 'crashed' WHERE id = ?1",
            params![run],
        )?;
        recovery
            .interrupted
            .extend(interrupt_tasks(&tx, run, &reason)?);
        interrupt_jobs(&tx, run, &reason)?;
        recovery.runs.push(run);
    }
    tx.commit()?;
    recovery.resumable = resumable(db)?;
    Ok(recovery)
}

fn interrupt_tasks(
    tx: &Transaction<'_>,
    run: i64,
    reason: &str,
) -> Result<Vec<InterruptedTask>, StoreError> {
    let rows: Vec<(String, u64, String, Option<String>)> = {
        let mut query = tx.prepare(
            "SELECT device, id, name, file FROM tasks
             WHERE run = ?1 AND state IN ('running', 'paused')",
        )?;
        query
            .query_map(params![run], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })?
            .collect::<Result<_, _>>()?
    };
    let mut interrupted = Vec::new();
    for (device, id, name, file) in rows {
        let file = file.map(PathBuf::from);
        let samples = file.as_deref().and_then(|csv| sidecar(csv, reason));
        tx.execute(
            "UPDATE tasks SET state = 'interrupted', reason = ?1, samples = COALESCE(?2, samples)
             WHERE run = ?3 AND device = ?4 AND id = ?5",
            params![reason, samples, run, device, id],
        )?;
        interrupted.push(InterruptedTask {
            run,
            device,
            id,
            name,
            file,
            samples,
        });
    }
    Ok(interrupted)
}

/// The sidecar says interrupted; the samples the file holds.
fn sidecar(csv: &Path, reason: &str) -> Option<u64> {
    match mark_interrupted(csv, reason) {
        Ok(samples) => Some(samples),
        Err(e) => {
            tracing::warn!("{}: sidecar not updated: {e}", csv.display());
            None
        }
    }
}

fn interrupt_jobs(tx: &Transaction<'_>, run: i64, reason: &str) -> Result<(), StoreError> {
    let rows: Vec<(u64, String)> = {
        let mut query = tx.prepare(
            "SELECT id, snapshot FROM jobs WHERE run = ?1 AND state IN ('queued', 'running')",
        )?;
        query
            .query_map(params![run], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    for (id, snapshot) in rows {
        let mut job: JobSnapshot = serde_json::from_str(&snapshot)?;
        for task in job.tasks.iter_mut().filter(|t| t.state.is_current()) {
            task.state = TaskState::Interrupted;
            task.reason = Some(reason.to_string());
        }
        job.state = TaskState::Interrupted;
        job.reason = Some(reason.to_string());
        tx.execute(
            "UPDATE jobs SET state = 'interrupted', reason = ?1, snapshot = ?2
             WHERE run = ?3 AND id = ?4",
            params![reason, serde_json::to_string(&job)?, run, id],
        )?;
    }
    Ok(())
}

/// Interrupted jobs with tasks not started, and waiting tasks of crashed
/// runs, that nobody resumed yet.
pub(super) fn resumable(db: &Connection) -> Result<Resumable, StoreError> {
    let mut work = Resumable::default();
    let jobs: Vec<(i64, u64, String)> = {
        let mut query = db.prepare(
            "SELECT run, id, snapshot FROM jobs
             WHERE state = 'interrupted' AND resumed = 0 ORDER BY run, id",
        )?;
        query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    for (run, id, snapshot) in jobs {
        let was: JobSnapshot = serde_json::from_str(&snapshot)?;
        let tasks: Vec<TaskSpec> = was
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Queued)
            .map(|t| TaskSpec {
                job: None,
                ..t.spec.clone()
            })
            .collect();
        if tasks.is_empty() {
            continue;
        }
        let rest = JobSpec {
            name: was.name.clone(),
            tasks,
            on_failure: was.on_failure,
            reset_at_end: was.reset_at_end,
            method: was.method.clone(),
        };
        work.jobs.push(InterruptedJob { run, id, was, rest });
    }
    let mut query = db.prepare(
        "SELECT t.run, t.device, t.id, t.spec FROM tasks t JOIN runs r ON t.run = r.id
         WHERE r.state = 'crashed' AND t.state = 'queued' AND t.job IS NULL AND t.resumed = 0
         ORDER BY t.run, t.updated",
    )?;
    let rows: Vec<(i64, String, u64, String)> = query
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    for (run, device, id, spec) in rows {
        work.tasks.push(ResumableTask {
            run,
            device,
            id,
            spec: serde_json::from_str(&spec)?,
        });
    }
    Ok(work)
}
