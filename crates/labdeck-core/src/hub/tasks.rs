//! The Hub's task requests: queue, list, load a method, control the
//! queues.

use std::path::Path;
use std::time::Duration;

use super::load_method;
use super::{DeviceQueue, Hub, HubError, HubResult, Outcome, QueueOutcome, QueuedJob, QueuedTask};
use crate::device::{DeviceCommand, DeviceOutcome, QueueControl, TaskRef, TaskSnapshot, TaskSpec};

/// How long a device may take to answer a queue control (an abort
/// includes its safe state).
const QUEUE_ANSWER: Duration = Duration::from_secs(10);

impl Hub {
    /// Queue one task on its device.
    pub(super) async fn submit(&self, spec: TaskSpec) -> HubResult {
        let device = self.pick_device(&spec.device)?;
        let outcome = device.command(DeviceCommand::Submit(spec)).await?;
        Ok(Outcome::Device {
            device: device.name().clone(),
            outcome,
        })
    }

    /// Queue a method's tasks in order, then its jobs. All or nothing:
    /// a job task that names what its device does not have refuses the
    /// method before anything is queued, and when a task is refused, the
    /// ones queued before it are cancelled again.
    pub(super) async fn load(&self, path: &Path) -> HubResult {
        let method = load_method(path).map_err(|message| HubError::Method {
            path: path.to_path_buf(),
            message,
        })?;
        for job in &method.jobs {
            for spec in &job.tasks {
                self.precheck(spec)
                    .map_err(|refusal| HubError::MethodRefused {
                        path: path.to_path_buf(),
                        task: format!("{} (job '{}')", spec.name, job.name),
                        refusal: Box::new(refusal),
                    })?;
            }
        }
        let mut queued: Vec<QueuedTask> = Vec::new();
        for spec in method.tasks {
            let name = spec.name.clone();
            let device = spec.device.clone();
            match self.submit(spec).await {
                Ok(Outcome::Device {
                    outcome: DeviceOutcome::TaskQueued { id, .. },
                    ..
                }) => queued.push(QueuedTask { device, id }),
                Ok(_) => {}
                Err(refusal) => {
                    for task in &queued {
                        if let Some(d) = self.device(&task.device) {
                            let _ = d
                                .command(DeviceCommand::Cancel {
                                    task: Some(TaskRef::Id(task.id)),
                                })
                                .await;
                        }
                    }
                    return Err(HubError::MethodRefused {
                        path: path.to_path_buf(),
                        task: name,
                        refusal: Box::new(refusal),
                    });
                }
            }
        }
        let jobs = method
            .jobs
            .into_iter()
            .map(|job| QueuedJob {
                name: job.name.clone(),
                tasks: job.tasks.len(),
                id: self.jobs().submit(job),
            })
            .collect();
        Ok(Outcome::MethodQueued {
            path: path.to_path_buf(),
            tasks: queued,
            jobs,
        })
    }

    /// What can be checked of a job's task before it is its turn: the
    /// device, the technique and the names of its parameters (values are
    /// checked when it is handed to the device).
    fn precheck(&self, spec: &TaskSpec) -> Result<(), HubError> {
        let device = self.pick_device(&spec.device)?;
        let capabilities = device.capabilities();
        let techniques = &capabilities.techniques;
        let Some(technique) = techniques.iter().find(|t| t.name == spec.technique) else {
            return Err(HubError::UnknownTechnique {
                device: spec.device.clone(),
                technique: spec.technique.clone(),
                known: techniques.iter().map(|t| t.name.clone()).collect(),
            });
        };
        if let Some(param) = spec
            .params
            .keys()
            .find(|p| !technique.params.iter().any(|(name, _)| name == *p))
        {
            return Err(HubError::UnknownTaskParameter {
                device: spec.device.clone(),
                technique: technique.name.clone(),
                param: param.clone(),
                known: technique.params.iter().map(|(p, _)| p.clone()).collect(),
            });
        }
        Ok(())
    }

    /// A queue control for every device's queue and the job queue.
    pub(super) async fn queue_control(&self, control: QueueControl) -> QueueOutcome {
        // Jobs first: a stopped or aborted job must not hand a device its
        // next task between the devices' answers.
        let jobs_cancelled = self.jobs().control(control);
        // Every device that runs tasks at once, each answer awaited for a
        // bounded time: one that does not answer cannot hold an abort.
        let queues = self
            .devices()
            .iter()
            .filter(|d| !d.capabilities().techniques.is_empty())
            .map(|device| async move {
                let answer = tokio::time::timeout(
                    QUEUE_ANSWER,
                    device.command(DeviceCommand::Queue(control)),
                )
                .await;
                let refused = |why: String| DeviceQueue {
                    device: device.name().clone(),
                    mode: None,
                    refused: Some(why),
                    cancelled: 0,
                    safe: None,
                };
                match answer {
                    Ok(Ok(DeviceOutcome::Queue {
                        mode,
                        cancelled,
                        safe,
                    })) => DeviceQueue {
                        device: device.name().clone(),
                        mode: Some(mode),
                        refused: None,
                        cancelled,
                        safe,
                    },
                    Ok(Ok(other)) => refused(format!("unexpected answer {other:?}")),
                    Ok(Err(refusal)) => refused(refusal.to_string()),
                    Err(_) => refused(format!("no answer within {} s", QUEUE_ANSWER.as_secs())),
                }
            });
        let devices = futures::future::join_all(queues).await;
        let (resumed_jobs, resumed_tasks) = if control == QueueControl::Resume {
            self.resume_interrupted().await
        } else {
            (Vec::new(), Vec::new())
        };
        QueueOutcome {
            control,
            devices,
            jobs_cancelled,
            resumed_jobs,
            resumed_tasks,
        }
    }

    /// Queue again what crashed runs left unstarted: each interrupted job
    /// with the tasks it had not started, each waiting task. Each is
    /// offered once: marked resumed in the store.
    async fn resume_interrupted(&self) -> (Vec<QueuedJob>, Vec<QueuedTask>) {
        let Some(store) = self.store() else {
            return (Vec::new(), Vec::new());
        };
        let work = match store.resumable() {
            Ok(work) => work,
            Err(e) => {
                tracing::warn!("resume: {e}");
                return (Vec::new(), Vec::new());
            }
        };
        if work.is_empty() {
            return (Vec::new(), Vec::new());
        }
        if let Err(e) = store.mark_resumed(&work) {
            tracing::warn!("resume: {e}");
            return (Vec::new(), Vec::new());
        }
        let jobs = work
            .jobs
            .into_iter()
            .map(|job| {
                tracing::info!(
                    "job '{}' of run {} resumed with {} task(s) it had not started",
                    job.rest.name,
                    job.run,
                    job.rest.tasks.len()
                );
                QueuedJob {
                    name: job.rest.name.clone(),
                    tasks: job.rest.tasks.len(),
                    id: self.jobs().submit(job.rest),
                }
            })
            .collect();
        let mut tasks = Vec::new();
        for task in work.tasks {
            let name = task.spec.name.clone();
            match self.submit(task.spec).await {
                Ok(Outcome::Device {
                    outcome: DeviceOutcome::TaskQueued { id, .. },
                    ..
                }) => tasks.push(QueuedTask {
                    device: task.device,
                    id,
                }),
                Ok(_) => {}
                Err(refusal) => tracing::warn!("resume: task '{name}' refused: {refusal}"),
            }
        }
        (jobs, tasks)
    }

    /// Every task of one device or of all, devices in order.
    pub(super) fn task_list(&self, device: Option<&str>) -> HubResult {
        let devices = match device {
            Some(name) => vec![self.pick_device(name)?.clone()],
            None => self.devices().to_vec(),
        };
        let tasks: Vec<TaskSnapshot> = devices.iter().flat_map(|d| d.snapshot().tasks).collect();
        Ok(Outcome::Tasks { tasks })
    }
}
