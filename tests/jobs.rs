//! Jobs on the real simulators (the pump over a pty, the electrometer over
//! TCP): tasks in order across devices, on-failure stop and continue, the
//! reset at the end after success, failure, cancel and abort (the pump is
//! off after a job that ramped it), stop after the current task.

mod common;

use std::path::Path;

use common::*;
use labdeck_core::device::TaskState;
use labdeck_core::hub::Hub;
use labdeck_core::jobs::JobSnapshot;
use labdeck_core::runtime::Runtime;

async fn lab(dir: &Path) -> Runtime {
    let extra = format!(
        r#"
[[simulator]]
name = "em-sim"
type = "electrometer"
current = 1.0e-9

[[link]]
name = "em-tcp"
type = "tcp"
simulator = "em-sim"

[link.retry]
base = 0.05
cap = 0.2

[[device]]
name = "em1"
driver = "electrometer"
link = "em-tcp"
poll-interval = 0.2

[tasks]
data-dir = "{}"
"#,
        dir.display()
    );
    let runtime = start(&pump_config("realistic", &extra)).await;
    wait_responding(runtime.hub(), "pump", "pump online").await;
    wait_responding(runtime.hub(), "em1", "electrometer online").await;
    runtime
}

fn method(dir: &Path, text: &str) -> String {
    let path = dir.join("method.toml");
    std::fs::write(&path, text).unwrap();
    format!("load {}", path.display())
}

fn job(hub: &Hub, name: &str) -> JobSnapshot {
    hub.jobs()
        .snapshots()
        .into_iter()
        .find(|j| j.name == name)
        .unwrap_or_else(|| panic!("no job {name}"))
}

async fn job_ended(hub: &Hub, name: &str) -> JobSnapshot {
    wait_until(&format!("job {name} to end"), || {
        hub.jobs()
            .snapshots()
            .iter()
            .any(|j| j.name == name && j.state.is_terminal())
    })
    .await;
    job(hub, name)
}

async fn pump_off(hub: &Hub) {
    wait_device(hub, "pump", "the pump switched off", |d| {
        d.powered() == Some(false)
    })
    .await;
}

const RAMP: &str = r#"device = "pump"
technique = "ramp"
sampling_interval = 0.1"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_run_in_order_across_devices_and_the_pump_is_off_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = lab(dir.path()).await;
    let hub = runtime.hub();
    let load = method(
        dir.path(),
        &format!(
            r#"
[[job]]
name = "spin-and-read"
[[job.task]]
name = "spin-up"
{RAMP}
max_duration = 1.5
params = {{ setpoint = 900, rate = 1000 }}
[[job.task]]
name = "read"
device = "em1"
technique = "measure"
sampling_interval = 0.2
max_duration = 0.6
[[job.task]]
name = "hold"
device = "pump"
technique = "monitor"
sampling_interval = 0.1
max_duration = 0.3
"#
        ),
    );
    let reply = run(hub, &load).await;
    assert!(
        reply.ok && reply.text.contains("1 job(s) queued"),
        "{reply}"
    );
    let job = job_ended(hub, "spin-and-read").await;
    assert_eq!(job.state, TaskState::Completed, "{job:?}");
    // Each task started after the one before it ended, on its device.
    let mut last_end = None;
    for task in &job.tasks {
        assert_eq!(task.state, TaskState::Completed, "{task:?}");
        let device = hub.device(&task.spec.device).unwrap().snapshot();
        let ran = device
            .tasks
            .iter()
            .find(|t| Some(t.id) == task.id)
            .expect("the device lists it");
        assert_eq!(
            ran.spec.job.as_ref().map(|j| j.name.as_str()),
            Some("spin-and-read")
        );
        if let Some(end) = last_end {
            assert!(
                ran.started.unwrap().mono >= end,
                "{} started early",
                task.spec.name
            );
        }
        last_end = ran.ended.map(|t| t.mono);
    }
    let devices: Vec<&str> = job.resets.iter().map(|r| r.device.as_str()).collect();
    assert_eq!(devices, ["pump", "em1"]);
    assert!(job.resets.iter().all(|r| r.ok), "{:?}", job.resets);
    pump_off(hub).await;
    let listed = run(hub, "jobs").await;
    assert!(
        listed
            .text
            .contains("job #1 'spin-and-read' completed 3/3 tasks"),
        "{listed}"
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_failure_stop_skips_the_rest_and_continue_runs_it_both_end_failed() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = lab(dir.path()).await;
    let hub = runtime.hub();
    // A ramp too slow to reach its setpoint fails.
    let failing = format!(
        r#"[[job.task]]
name = "too-slow"
{RAMP}
max_duration = 0.5
params = {{ setpoint = 1100, rate = 100 }}
[[job.task]]
name = "read"
device = "em1"
technique = "measure"
sampling_interval = 0.2
max_duration = 0.4
"#
    );
    let load = method(
        dir.path(),
        &format!(
            "[[job]]\nname = \"stops\"\n{failing}\n[[job]]\nname = \"goes-on\"\non-failure = \"continue\"\n{failing}"
        ),
    );
    assert!(run(hub, &load).await.ok);
    let stops = job_ended(hub, "stops").await;
    assert_eq!(stops.state, TaskState::Failed);
    assert!(
        stops
            .reason
            .as_deref()
            .is_some_and(|r| r.starts_with("task 'too-slow' on pump failed")),
        "{stops:?}"
    );
    assert_eq!(stops.tasks[1].state, TaskState::Cancelled);
    assert_eq!(stops.tasks[1].id, None, "never handed to the device");
    assert_eq!(
        stops.tasks[1].reason.as_deref(),
        Some("not run: task 'too-slow' failed")
    );
    assert!(stops.resets.iter().any(|r| r.device == "pump" && r.ok));

    let goes_on = job_ended(hub, "goes-on").await;
    assert_eq!(goes_on.state, TaskState::Failed, "the worst of its tasks");
    assert_eq!(goes_on.tasks[0].state, TaskState::Failed);
    assert_eq!(goes_on.tasks[1].state, TaskState::Completed);
    pump_off(hub).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_ends_its_job_and_the_ramped_pump_is_switched_off() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = lab(dir.path()).await;
    let hub = runtime.hub();
    let load = method(
        dir.path(),
        &format!(
            r#"
[[job]]
name = "long"
[[job.task]]
name = "spin-up"
{RAMP}
max_duration = 30
params = {{ setpoint = 900, rate = 1000 }}
[[job.task]]
name = "read"
device = "em1"
technique = "measure"
max_duration = 1
"#
        ),
    );
    assert!(run(hub, &load).await.ok);
    wait_device(hub, "pump", "the rotor turning", |d| {
        prop_f64(d, "frequency").is_some_and(|f| f > 100.0)
    })
    .await;
    assert!(run(hub, "cancel pump").await.ok);
    let job = job_ended(hub, "long").await;
    assert_eq!(job.state, TaskState::Cancelled, "{job:?}");
    assert_eq!(job.tasks[1].state, TaskState::Cancelled);
    assert!(job.tasks[1].id.is_none());
    pump_off(hub).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_cancels_the_running_job_and_the_waiting_ones() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = lab(dir.path()).await;
    let hub = runtime.hub();
    let load = method(
        dir.path(),
        &format!(
            r#"
[[job]]
name = "first"
[[job.task]]
name = "spin-up"
{RAMP}
max_duration = 30
params = {{ setpoint = 900, rate = 1000 }}

[[job]]
name = "second"
[[job.task]]
device = "em1"
technique = "measure"
max_duration = 1
"#
        ),
    );
    assert!(run(hub, &load).await.ok);
    wait_device(hub, "pump", "the ramp running", |d| {
        d.running_task().is_some()
    })
    .await;
    let reply = run(hub, "abort").await;
    assert!(reply.ok, "{reply}");
    assert!(reply.text.contains("1 waiting job(s) cancelled"), "{reply}");
    let first = job_ended(hub, "first").await;
    assert_eq!(first.state, TaskState::Cancelled);
    assert!(
        first.tasks[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("aborted by the operator")),
        "{first:?}"
    );
    let second = job(hub, "second");
    assert_eq!(second.state, TaskState::Cancelled);
    assert_eq!(second.tasks[0].id, None);
    pump_off(hub).await;
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_after_the_current_task_ends_the_job_there() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = lab(dir.path()).await;
    let hub = runtime.hub();
    let load = method(
        dir.path(),
        r#"
[[job]]
name = "two"
[[job.task]]
name = "watch"
device = "pump"
technique = "monitor"
sampling_interval = 0.1
max_duration = 1
[[job.task]]
name = "read"
device = "em1"
technique = "measure"
max_duration = 1
"#,
    );
    assert!(run(hub, &load).await.ok);
    wait_device(hub, "pump", "the monitor running", |d| {
        d.running_task().is_some()
    })
    .await;
    assert!(run(hub, "stop-after").await.ok);
    let job = job_ended(hub, "two").await;
    assert_eq!(job.tasks[0].state, TaskState::Completed);
    assert_eq!(job.tasks[1].state, TaskState::Cancelled);
    assert_eq!(
        job.tasks[1].reason.as_deref(),
        Some("not run: the queue was stopped after the current task")
    );
    assert_eq!(job.state, TaskState::Cancelled);
    runtime.shutdown().await.unwrap();
}
