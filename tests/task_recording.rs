//! Tasks on the real pump simulator over a pty: a hang-up mid-task fails
//! the task with a reason and leaves a valid file; `labdeck serve
//! --method` killed with SIGKILL mid-task leaves a CSV whose every line is
//! complete; `serve --method` exits 0 when all tasks complete.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use labdeck_core::device::TaskState;

/// Every data line has as many fields as the header.
fn assert_complete(csv: &Path) -> usize {
    let text = std::fs::read_to_string(csv).unwrap();
    assert!(text.ends_with('\n'), "last line incomplete: {text:?}");
    let mut lines = text.lines();
    let header = lines.next().expect("a header");
    assert!(header.starts_with("uts,task,"), "{header}");
    let fields = header.split(',').count();
    let mut rows = 0;
    for line in lines {
        assert_eq!(line.split(',').count(), fields, "{line:?}");
        let uts: f64 = line.split(',').next().unwrap().parse().expect("uts");
        assert!(uts > 1.0e9);
        rows += 1;
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_up_mid_task_fails_it_and_the_file_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("\n[tasks]\ndata-dir = \"{}\"\n", dir.path().display());
    let runtime = start(&pump_config("compat", &extra)).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    let reply = run(hub, "task pump monitor interval=0.1 duration=60 name=watch").await;
    assert!(reply.ok, "{reply}");
    wait_device(hub, "pump", "a few samples", |d| {
        d.running_task().is_some_and(|t| t.samples >= 3)
    })
    .await;
    assert!(run(hub, "fault sim hang-up on").await.ok);
    wait_device(hub, "pump", "task failed", |d| {
        d.tasks.iter().any(|t| t.state == TaskState::Failed)
    })
    .await;
    let task = hub.device("pump").unwrap().snapshot().tasks[0].clone();
    assert!(
        task.reason.as_deref().is_some_and(|r| !r.is_empty()),
        "{task:?}"
    );
    let file = task.file.unwrap();
    assert!(assert_complete(&file) >= 3);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(meta["state"], "failed");
    assert!(run(hub, "fault sim hang-up off").await.ok);
    runtime.shutdown().await.unwrap();
}

/// The pump's task `id` once it has ended.
async fn ended(hub: &labdeck_core::hub::Hub, id: u64) -> labdeck_core::device::TaskSnapshot {
    wait_device(hub, "pump", "the task ended", |d| {
        d.tasks.iter().any(|t| t.id == id && t.state.is_terminal())
    })
    .await;
    let snapshot = hub.device("pump").unwrap().snapshot();
    snapshot.tasks.into_iter().find(|t| t.id == id).unwrap()
}

fn task_id(reply: &labdeck::headless::command::Reply) -> u64 {
    match &reply.result {
        Some(Ok(labdeck_core::hub::Outcome::Device {
            outcome: labdeck_core::device::DeviceOutcome::TaskQueued { id, .. },
            ..
        })) => *id,
        _ => panic!("a queued task expected: {reply}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramp_completes_only_at_its_setpoint() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("\n[tasks]\ndata-dir = \"{}\"\n", dir.path().display());
    let runtime = start(&pump_config("realistic", &extra)).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;

    // Reached: completed.
    let reply = run(
        hub,
        "task pump ramp setpoint=900 rate=1000 interval=0.1 duration=1.5",
    )
    .await;
    assert!(reply.ok, "{reply}");
    let task = ended(hub, task_id(&reply)).await;
    assert_eq!(task.state, TaskState::Completed, "{task:?}");

    // Switching the pump off while the ramp controls it is refused...
    let reply = run(
        hub,
        "task pump ramp setpoint=1100 rate=1000 interval=0.1 duration=1.5",
    )
    .await;
    let id = task_id(&reply);
    wait_device(hub, "pump", "the ramp running", |d| {
        d.running_task().is_some_and(|t| t.id == id)
    })
    .await;
    let refused = run(hub, "pump pump off").await;
    assert!(
        !refused.ok && refused.text.contains("controlled by the running task"),
        "{refused}"
    );
    // ...unless forced, and then the ramp does not reach its setpoint.
    assert!(run(hub, "pump --force pump off").await.ok);
    let task = ended(hub, id).await;
    assert_eq!(task.state, TaskState::Failed, "{task:?}");
    assert!(
        task.reason
            .as_deref()
            .is_some_and(|r| r.contains("not within")),
        "{task:?}"
    );

    // A pump in error: the ramp fails with the error, not "completed".
    assert!(run(hub, "fault sim overtemp on").await.ok);
    wait_device(hub, "pump", "the error", |d| {
        d.alarms.iter().any(|a| a.reason.starts_with("error 5"))
    })
    .await;
    let reply = run(
        hub,
        "task pump ramp setpoint=1100 rate=100 interval=0.1 duration=1",
    )
    .await;
    let task = ended(hub, task_id(&reply)).await;
    assert_eq!(task.state, TaskState::Failed, "{task:?}");
    assert!(
        task.reason
            .as_deref()
            .is_some_and(|r| r.contains("in error 5")),
        "{task:?}"
    );
    runtime.shutdown().await.unwrap();
}

fn serve(dir: &Path, method: &str) -> (std::process::Child, PathBuf) {
    let config = dir.join("lab.toml");
    std::fs::write(&config, pump_config("compat", "")).unwrap();
    let method_file = dir.join("method.toml");
    std::fs::write(&method_file, method).unwrap();
    let data = dir.join("data");
    let child = Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--method")
        .arg(&method_file)
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start labdeck serve");
    (child, data)
}

fn csv_in(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
}

#[test]
fn serve_killed_mid_task_leaves_complete_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, data) = serve(
        dir.path(),
        "[[task]]\nname = \"long\"\ndevice = \"pump\"\ntechnique = \"monitor\"\nsampling_interval = 0.02\nmax_duration = 600\n",
    );
    let deadline = Instant::now() + LIMIT;
    let csv = loop {
        if let Some(csv) = csv_in(&data)
            && std::fs::read_to_string(&csv).is_ok_and(|t| t.lines().count() > 20)
        {
            break csv;
        }
        assert!(Instant::now() < deadline, "no samples recorded");
        std::thread::sleep(Duration::from_millis(20));
    };
    // SIGKILL: no clean-up of any kind.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(assert_complete(&csv) >= 20);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(csv.with_extension("json")).unwrap())
            .unwrap();
    // The sidecar says what was running when the process died.
    assert_eq!(meta["state"], "running");
}

#[test]
fn serve_with_a_method_exits_with_the_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let (child, data) = serve(
        dir.path(),
        "[[task]]\nname = \"short\"\ndevice = \"pump\"\ntechnique = \"monitor\"\nsampling_interval = 0.1\nmax_duration = 0.5\n",
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("pump #1 short (monitor) completed 100% 5/5 samples"),
        "{stderr}"
    );
    let csv = csv_in(&data).unwrap();
    assert_eq!(assert_complete(&csv), 5);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.contains(" task ") && l.contains("'short': completed")),
        "{stdout}"
    );

    // A task that cannot complete makes the exit status non-zero, with why.
    let dir = tempfile::tempdir().unwrap();
    let (child, _) = serve(
        dir.path(),
        "[[task]]\ndevice = \"pump\"\ntechnique = \"ramp\"\nmax_duration = 1\nparams = { setpoint = 5000 }\n",
    );
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        // Refused at load when the limits are known by then, else when
        // the task starts: either way, with the reason.
        stderr.contains("parameter 'setpoint': value 5000 Hz is above maximum"),
        "{stderr}"
    );
}
