//! The Hub's task commands: queue, cancel, list, load a method.

use std::path::Path;

use super::Hub;
use super::method::load_method;
use crate::device::{DeviceCommand, TaskSnapshot, TaskSpec};
use crate::reply::Reply;

impl Hub {
    /// Queue one task on its device.
    pub async fn submit(&self, spec: TaskSpec) -> Reply {
        match self.pick_device(&spec.device) {
            Ok(device) => device.command(DeviceCommand::Submit(spec)).await,
            Err(reply) => reply,
        }
    }

    /// Queue a method's tasks in order. All or nothing: when one is
    /// refused, the ones queued before it are cancelled again.
    pub async fn load(&self, path: &Path) -> Reply {
        let tasks = match load_method(path) {
            Ok(tasks) => tasks,
            Err(e) => return Reply::fail(e),
        };
        let mut queued: Vec<(String, u64)> = Vec::new();
        for spec in tasks {
            let device = spec.device.clone();
            let name = spec.name.clone();
            let reply = self.submit(spec).await;
            let id = reply.data.as_ref().and_then(|d| d["id"].as_u64());
            match (reply.success, id) {
                (true, Some(id)) => queued.push((device, id)),
                _ => {
                    for (device, id) in &queued {
                        if let Ok(d) = self.pick_device(device) {
                            d.command(DeviceCommand::Cancel {
                                task: Some(format!("#{id}")),
                            })
                            .await;
                        }
                    }
                    return Reply::fail(format!(
                        "{}: task '{name}' refused, nothing queued: {}",
                        path.display(),
                        reply.msg
                    ));
                }
            }
        }
        let ids: Vec<serde_json::Value> = queued
            .iter()
            .map(|(device, id)| serde_json::json!({ "device": device, "id": id }))
            .collect();
        Reply::ok(format!(
            "{}: {} task(s) queued",
            path.display(),
            queued.len()
        ))
        .with_data(ids)
    }

    /// One line per task, devices in order.
    pub fn task_list(&self, device: Option<&str>) -> Reply {
        let devices: Vec<_> = match device {
            Some(name) => match self.pick_device(name) {
                Ok(d) => vec![d.clone()],
                Err(reply) => return reply,
            },
            None => self.devices().to_vec(),
        };
        let now = crate::bus::Timestamp::now();
        let mut lines = Vec::new();
        let mut all: Vec<TaskSnapshot> = Vec::new();
        for d in &devices {
            for task in d.snapshot().tasks {
                lines.push(format!("  {}", describe(&task, now)));
                all.push(task);
            }
        }
        if lines.is_empty() {
            return Reply::ok("no tasks").with_data(all);
        }
        Reply::ok(format!("tasks:\n{}", lines.join("\n"))).with_data(all)
    }
}

/// `pump1 #2 spin-up (ramp) running 40% 24/60 samples -> FILE`.
pub fn describe(task: &TaskSnapshot, now: crate::bus::Timestamp) -> String {
    let mut line = format!(
        "{} #{} {} ({}) {} {:.0}% {}/{} samples",
        task.spec.device,
        task.id,
        task.spec.name,
        task.spec.technique,
        task.state.as_str(),
        task.progress(now) * 100.0,
        task.samples,
        task.expected
    );
    if let Some(reason) = &task.reason {
        line.push_str(&format!(" ({reason})"));
    }
    if let Some(file) = &task.file {
        line.push_str(&format!(" -> {}", file.display()));
    }
    line
}
