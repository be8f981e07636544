//! The job queue: jobs wait in order and one runs at a time. Its runner
//! hands a job's tasks to their devices one by one, each when the one
//! before it has ended, follows each on the device's snapshot, and at the
//! end resets the job's devices. Queue control reaches the devices from
//! the Hub; here it decides whether the next task and the next job go.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use tokio::sync::{Notify, watch};

use super::{JobJournal, JobSnapshot, JobSpec, OnFailure, Reset};
use crate::device::{
    DeviceCommand, DeviceHandle, DeviceOutcome, JobTag, QueueControl, TaskSnapshot, TaskState,
};
use crate::time::Timestamp;

/// Ended jobs kept for the console.
const ENDED_KEPT: usize = 20;

/// How long a device may take to reach its safe state at a job's end.
const RESET_ANSWER: std::time::Duration = std::time::Duration::from_secs(30);

/// Cloneable handle to the job queue.
#[derive(Debug, Clone)]
pub struct JobQueue {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    devices: Vec<DeviceHandle>,
    /// Ended (recent), running and waiting jobs, in that order.
    jobs: watch::Sender<Vec<JobSnapshot>>,
    wake: Arc<Notify>,
    next_id: AtomicU64,
    /// Why the running job must not start another task, once said.
    halt: Mutex<Option<&'static str>>,
    runner: OnceLock<()>,
    journal: Option<Arc<dyn JobJournal>>,
}

const STOPPED: &str = "the queue was stopped after the current task";
const ABORTED: &str = "aborted by the operator";

impl JobQueue {
    pub fn new(devices: Vec<DeviceHandle>, journal: Option<Arc<dyn JobJournal>>) -> Self {
        Self {
            shared: Arc::new(Shared {
                devices,
                jobs: watch::channel(Vec::new()).0,
                wake: Arc::new(Notify::new()),
                next_id: AtomicU64::new(1),
                halt: Mutex::new(None),
                runner: OnceLock::new(),
                journal,
            }),
        }
    }

    /// Every job: ended (recent), running, waiting.
    pub fn snapshots(&self) -> Vec<JobSnapshot> {
        self.shared.jobs.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<Vec<JobSnapshot>> {
        self.shared.jobs.subscribe()
    }

    /// Queue a job; its id. The runner starts with the first job.
    pub fn submit(&self, spec: JobSpec) -> u64 {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let job = JobSnapshot::new(id, spec);
        if let Some(journal) = &self.shared.journal {
            journal.job(&job);
        }
        self.shared.jobs.send_modify(|jobs| jobs.push(job));
        self.shared.runner.get_or_init(|| {
            tokio::spawn(run(Arc::downgrade(&self.shared), self.shared.wake.clone()));
        });
        self.shared.wake.notify_one();
        id
    }

    /// The queue-control part that concerns jobs (the devices get theirs
    /// from the Hub): a stop or an abort halts the running job before its
    /// next task and cancels the waiting ones; jobs cancelled.
    pub fn control(&self, control: QueueControl) -> usize {
        let why = match control {
            QueueControl::StopAfterCurrent => STOPPED,
            QueueControl::Abort => ABORTED,
            QueueControl::Resume => {
                *self.shared.halt.lock().expect("halt") = None;
                return 0;
            }
            QueueControl::Pause | QueueControl::PauseAfterCurrent => return 0,
        };
        if self.running().is_some() {
            *self.shared.halt.lock().expect("halt") = Some(why);
        }
        self.cancel_waiting(why)
    }

    fn running(&self) -> Option<u64> {
        let jobs = self.shared.jobs.borrow();
        jobs.iter()
            .find(|j| j.state == TaskState::Running)
            .map(|j| j.id)
    }

    fn cancel_waiting(&self, why: &str) -> usize {
        let mut cancelled = Vec::new();
        self.shared.jobs.send_modify(|jobs| {
            for job in jobs.iter_mut().filter(|j| j.state == TaskState::Queued) {
                job.skip_rest(why);
                job.state = TaskState::Cancelled;
                job.reason = Some(why.to_string());
                job.ended = Some(Timestamp::now());
                cancelled.push(job.id);
            }
        });
        for id in &cancelled {
            self.shared.journal(*id);
        }
        cancelled.len()
    }
}

impl Shared {
    fn update(&self, id: u64, change: impl FnOnce(&mut JobSnapshot)) {
        self.jobs.send_modify(|jobs| {
            if let Some(job) = jobs.iter_mut().find(|j| j.id == id) {
                change(job);
            }
        });
    }

    /// Keep job `id` as it is now in the journal.
    fn journal(&self, id: u64) {
        if let (Some(journal), Some(job)) = (&self.journal, self.job(id)) {
            journal.job(&job);
        }
    }

    fn job(&self, id: u64) -> Option<JobSnapshot> {
        self.jobs.borrow().iter().find(|j| j.id == id).cloned()
    }

    fn device(&self, name: &str) -> Option<&DeviceHandle> {
        self.devices.iter().find(|d| &**d.name() == name)
    }

    fn halted(&self) -> Option<&'static str> {
        *self.halt.lock().expect("halt")
    }

    /// Forget ended jobs beyond what the console keeps.
    fn prune(&self) {
        self.jobs.send_if_modified(|jobs| {
            let ended = jobs.iter().filter(|j| j.state.is_terminal()).count();
            let mut extra = ended.saturating_sub(ENDED_KEPT);
            let before = jobs.len();
            jobs.retain(|j| {
                let drop = extra > 0 && j.state.is_terminal();
                extra -= usize::from(drop);
                !drop
            });
            jobs.len() != before
        });
    }
}

/// Run waiting jobs one at a time until the queue is gone.
async fn run(shared: Weak<Shared>, wake: Arc<Notify>) {
    loop {
        let next = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let next = shared
                .jobs
                .borrow()
                .iter()
                .find(|j| j.state == TaskState::Queued)
                .map(|j| j.id);
            if let Some(id) = next {
                run_job(&shared, id).await;
                shared.prune();
            }
            next
        };
        if next.is_none() {
            wake.notified().await;
        }
    }
}

async fn run_job(shared: &Shared, id: u64) {
    *shared.halt.lock().expect("halt") = None;
    let Some(job) = shared.job(id) else {
        return;
    };
    shared.update(id, |j| {
        j.state = TaskState::Running;
        j.started = Some(Timestamp::now());
    });
    shared.journal(id);
    tracing::info!("job '{}' started", job.name);
    let tag = JobTag {
        id,
        name: job.name.clone(),
    };
    for (i, task) in job.tasks.iter().enumerate() {
        if let Some(why) = shared.halted() {
            shared.update(id, |j| j.skip_rest(why));
            break;
        }
        let mut spec = task.spec.clone();
        spec.job = Some(tag.clone());
        let ended = run_task(shared, id, i, spec).await;
        shared.journal(id);
        if ended.state == TaskState::Completed {
            continue;
        }
        let what = format!("task '{}' {}", task.spec.name, ended.state.as_str());
        if ended.state == TaskState::Cancelled {
            shared.update(id, |j| j.skip_rest(&what));
            break;
        }
        if job.on_failure == OnFailure::Stop {
            shared.update(id, |j| j.skip_rest(&what));
            break;
        }
    }
    if job.reset_at_end {
        let mut resets = Vec::new();
        for device in job.devices() {
            resets.push(reset(shared, &device).await);
        }
        shared.update(id, |j| j.resets = resets);
    }
    // The job file is written before the job is seen ended.
    let Some(mut ended) = shared.job(id) else {
        return;
    };
    (ended.state, ended.reason) = ended.outcome();
    ended.ended = Some(Timestamp::now());
    #[cfg(feature = "netcdf")]
    {
        ended.file = job_file(&ended);
    }
    shared.update(id, |j| *j = ended);
    shared.journal(id);
    if let Some(job) = shared.job(id) {
        tracing::info!(
            "job '{}' {}{}",
            job.name,
            job.state.as_str(),
            job.reason.map_or_else(String::new, |r| format!(": {r}"))
        );
    }
}

/// The job's NetCDF file beside its tasks' files, when they wrote NetCDF:
/// a group per task.
#[cfg(feature = "netcdf")]
fn job_file(job: &JobSnapshot) -> Option<std::path::PathBuf> {
    use crate::device::netcdf::{JobPart, write_job_file};
    let files: Vec<(String, std::path::PathBuf)> = job
        .tasks
        .iter()
        .filter_map(|t| Some((t.spec.name.clone(), t.file.as_ref()?.with_extension("nc"))))
        .filter(|(_, nc)| nc.is_file())
        .collect();
    let dir = files.first()?.1.parent()?.to_path_buf();
    let mut parts: Vec<JobPart<'_>> = Vec::new();
    for (name, file) in &files {
        let mut group = crate::device::file_safe(name);
        let base = group.clone();
        let mut n = 1;
        while parts.iter().any(|p| p.group == group) {
            n += 1;
            group = format!("{base}-{n}");
        }
        parts.push(JobPart { group, file });
    }
    let time = |t: Option<Timestamp>| {
        t.map(|t| chrono::DateTime::<chrono::Local>::from(t.wall).to_rfc3339())
            .unwrap_or_default()
    };
    let attrs = [
        ("job", job.name.clone()),
        ("job_id", job.id.to_string()),
        ("state", job.state.as_str().to_string()),
        ("reason", job.reason.clone().unwrap_or_default()),
        ("started", time(job.started)),
        ("ended", time(job.ended)),
        (
            "tasks",
            parts
                .iter()
                .map(|p| p.group.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (
            "source",
            concat!("labdeck ", env!("CARGO_PKG_VERSION")).to_string(),
        ),
    ];
    let stamp = chrono::Local::now().format("%Y%m%dT%H%M%S");
    let safe = crate::device::file_safe(&job.name);
    let path = dir.join(format!("{stamp}-job{}-{safe}.nc", job.id));
    match write_job_file(&path, &attrs, &parts) {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!("job '{}': no NetCDF file: {e}", job.name);
            None
        }
    }
}

/// What a task of a job came to.
struct Ended {
    state: TaskState,
}

/// Hand task `i` of job `id` to its device and follow it to its end.
async fn run_task(shared: &Shared, id: u64, i: usize, spec: crate::device::TaskSpec) -> Ended {
    let fail = |reason: String| {
        shared.update(id, |j| {
            j.tasks[i].state = TaskState::Failed;
            j.tasks[i].reason = Some(reason);
        });
        Ended {
            state: TaskState::Failed,
        }
    };
    let Some(device) = shared.device(&spec.device) else {
        return fail(format!("no device named '{}'", spec.device));
    };
    let mut watch = device.watch();
    let task_id = match device.command(DeviceCommand::Submit(spec)).await {
        Ok(DeviceOutcome::TaskQueued { id, .. }) => id,
        Ok(other) => return fail(format!("unexpected answer {other:?}")),
        Err(refusal) => return fail(format!("refused: {refusal}")),
    };
    shared.update(id, |j| j.tasks[i].id = Some(task_id));
    shared.journal(id);
    let mut last = TaskState::Queued;
    loop {
        let seen: Option<TaskSnapshot> = watch
            .borrow_and_update()
            .tasks
            .iter()
            .find(|t| t.id == task_id)
            .cloned();
        if let Some(task) = seen {
            let state = task.state;
            shared.update(id, |j| {
                let mine = &mut j.tasks[i];
                mine.state = task.state;
                mine.reason = task.reason;
                mine.file = task.file;
            });
            // A start or a pause is kept; samples are the file's business.
            if state != last && !state.is_terminal() {
                last = state;
                shared.journal(id);
            }
            if state.is_terminal() {
                return Ended { state };
            }
        }
        // Gone without ending the task: labdeck is stopping (a driver
        // that crashes fails its tasks before it goes).
        if watch.changed().await.is_err() {
            shared.update(id, |j| {
                j.tasks[i].state = TaskState::Cancelled;
                j.tasks[i].reason = Some("labdeck is shutting down".into());
            });
            return Ended {
                state: TaskState::Cancelled,
            };
        }
    }
}

/// A device's safe state at the end of a job.
async fn reset(shared: &Shared, device: &str) -> Reset {
    let result = match shared.device(device) {
        None => Err(format!("no device named '{device}'")),
        Some(handle) => {
            let answer =
                tokio::time::timeout(RESET_ANSWER, handle.command(DeviceCommand::SafeState));
            match answer.await {
                Ok(Ok(DeviceOutcome::SafeState { what })) => Ok(what),
                Ok(Ok(other)) => Ok(format!("{other:?}")),
                Ok(Err(refusal)) => Err(refusal.to_string()),
                Err(_) => Err(format!("no answer within {} s", RESET_ANSWER.as_secs())),
            }
        }
    };
    if let Err(why) = &result {
        tracing::warn!("{device}: not reset at the end of the job: {why}");
    }
    Reset {
        device: device.to_string(),
        ok: result.is_ok(),
        what: result.unwrap_or_else(|why| why),
    }
}
