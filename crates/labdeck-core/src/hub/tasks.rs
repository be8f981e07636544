//! The Hub's task requests: queue, list, load a method.

use std::path::Path;

use super::load_method;
use super::{Hub, HubError, HubResult, Outcome, QueuedTask};
use crate::device::{DeviceCommand, DeviceOutcome, TaskRef, TaskSnapshot, TaskSpec};

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

    /// Queue a method's tasks in order. All or nothing: when one is
    /// refused, the ones queued before it are cancelled again.
    pub(super) async fn load(&self, path: &Path) -> HubResult {
        let tasks = load_method(path).map_err(|message| HubError::Method {
            path: path.to_path_buf(),
            message,
        })?;
        let mut queued: Vec<QueuedTask> = Vec::new();
        for spec in tasks {
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
        Ok(Outcome::MethodQueued {
            path: path.to_path_buf(),
            tasks: queued,
        })
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
