//! The task runner under paused tokio time: the electrometer driver, its
//! connection manager and session over an in-memory pipe to the 6517B
//! model. Sample counts, the queue, cancel latency (also with a sample in
//! flight), validation messages.

mod common;

use std::time::Duration;

use common::task_rig::*;
use labdeck_core::device::{DeviceCommand, DeviceOutcome, TaskRef, TaskState, Value};
use labdeck_core::hub::HubError;
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn samples_follow_the_floor_rule_on_a_fixed_grid() {
    let rig = rig().await;
    for (interval, duration, expected) in
        [(0.2, 1.0, 5), (0.5, 3.0, 6), (0.5, 2.0, 4), (0.3, 1.0, 3)]
    {
        let id = submit(&rig.device, spec("count", interval, duration)).await;
        wait(&rig.device, "the task ends", |d| {
            d.tasks.iter().any(|t| t.id == id && t.state.is_terminal())
        })
        .await;
        let t = task(&rig.device, id);
        assert_eq!(t.state, TaskState::Completed, "{:?}", t.reason);
        assert_eq!(t.samples, expected, "{duration} s @ {interval} s");
        let file = t.file.unwrap();
        let rows = rows(&file);
        assert_eq!(rows.len() as u64, expected);
        // One interval apart, the first one interval after the start.
        let uts: Vec<f64> = rows
            .iter()
            .map(|r| r.split(',').next().unwrap().parse().unwrap())
            .collect();
        for pair in uts.windows(2) {
            assert!(((pair[1] - pair[0]) - interval).abs() < 1e-3, "{uts:?}");
        }
        // The run lasted max_duration.
        let elapsed = t.ended.unwrap().mono - t.started.unwrap().mono;
        assert!(
            (elapsed.as_secs_f64() - duration).abs() < 0.05,
            "{elapsed:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_queue_runs_in_order_and_cancels_start_the_next_or_remove() {
    let rig = rig().await;
    let a = submit(&rig.device, spec("a", 0.5, 2.0)).await;
    let b = submit(&rig.device, spec("b", 0.5, 2.0)).await;
    let c = submit(&rig.device, spec("c", 0.5, 2.0)).await;
    let d = submit(&rig.device, spec("d", 0.5, 2.0)).await;
    wait(&rig.device, "a running", |s| {
        s.running_task().is_some_and(|t| t.id == a)
    })
    .await;
    // A queued task is removed; the running one goes on.
    let reply = rig
        .device
        .command(DeviceCommand::Cancel {
            task: Some(TaskRef::Name("c".into())),
        })
        .await;
    assert!(
        matches!(
            reply,
            Ok(DeviceOutcome::TaskCancelled {
                was_running: false,
                ..
            })
        ),
        "{reply:?}"
    );
    assert_eq!(task(&rig.device, c).state, TaskState::Cancelled);
    assert_eq!(task(&rig.device, a).state, TaskState::Running);
    wait(&rig.device, "b running", |s| {
        s.running_task().is_some_and(|t| t.id == b)
    })
    .await;
    assert_eq!(task(&rig.device, a).state, TaskState::Completed);
    // Cancelling the running one starts the next.
    let reply = rig
        .device
        .command(DeviceCommand::Cancel { task: None })
        .await;
    assert!(
        matches!(
            reply,
            Ok(DeviceOutcome::TaskCancelled {
                was_running: true,
                ..
            })
        ),
        "{reply:?}"
    );
    assert_eq!(task(&rig.device, b).state, TaskState::Cancelled);
    wait(&rig.device, "d running", |s| {
        s.running_task().is_some_and(|t| t.id == d)
    })
    .await;
    wait(&rig.device, "d done", |s| {
        s.tasks.iter().any(|t| t.id == d && t.state.is_terminal())
    })
    .await;
    // The order of starts: a, b, d; c never ran.
    let started: Vec<(u64, Instant)> = [a, b, d]
        .iter()
        .map(|id| (*id, task(&rig.device, *id).started.unwrap().mono))
        .collect();
    assert!(started.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(task(&rig.device, c).started.is_none());
    // A cancelled file is valid and says why in its sidecar.
    let file = task(&rig.device, b).file.unwrap();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(meta["state"], "cancelled");
    assert_eq!(meta["reason"], "cancelled by the operator");
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_running_task_within_the_bound() {
    let rig = rig().await;
    // A long interval: the bound is 200 ms.
    let id = submit(&rig.device, spec("slow", 10.0, 100.0)).await;
    wait(&rig.device, "running", |s| s.running_task().is_some()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let asked = Instant::now();
    let reply = rig
        .device
        .command(DeviceCommand::Cancel { task: None })
        .await;
    assert!(reply.is_ok(), "{reply:?}");
    let t = task(&rig.device, id);
    assert_eq!(t.state, TaskState::Cancelled);
    assert!(t.ended.unwrap().mono - asked <= Duration::from_millis(200));

    // A sample in flight (the instrument answers after 2 s) is abandoned:
    // the task stops at once, the safe state follows.
    *rig.delay.lock().unwrap() = Duration::from_secs(2);
    let id = submit(&rig.device, spec("in-flight", 0.1, 60.0)).await;
    wait(&rig.device, "sampling", |s| {
        s.running_task().is_some_and(|t| t.id == id)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let asked = Instant::now();
    let device = rig.device.clone();
    let cancel =
        tokio::spawn(async move { device.command(DeviceCommand::Cancel { task: None }).await });
    wait(&rig.device, "cancelled", |s| {
        s.tasks
            .iter()
            .any(|t| t.id == id && t.state == TaskState::Cancelled)
    })
    .await;
    let stopped = task(&rig.device, id).ended.unwrap().mono;
    assert!(
        stopped - asked <= Duration::from_millis(100),
        "{:?}",
        stopped - asked
    );
    assert!(cancel.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_lost_link_fails_the_task_and_the_file_stays_valid() {
    let rig = rig().await;
    let id = submit(&rig.device, spec("cut", 0.5, 60.0)).await;
    wait(&rig.device, "three samples", |s| {
        s.running_task().is_some_and(|t| t.samples >= 3)
    })
    .await;
    rig.cut();
    wait(&rig.device, "failed", |s| {
        s.tasks
            .iter()
            .any(|t| t.id == id && t.state == TaskState::Failed)
    })
    .await;
    let t = task(&rig.device, id);
    assert!(t.reason.as_deref().is_some_and(|r| !r.is_empty()), "{t:?}");
    let rows = rows(t.file.as_ref().unwrap());
    assert!(rows.len() >= 3);
    for row in &rows {
        assert_eq!(row.split(',').count(), 4, "{row}");
    }
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(t.file.unwrap().with_extension("json")).unwrap(),
    )
    .unwrap();
    assert_eq!(meta["state"], "failed");
    assert!(rig.dir.exists());
}

#[tokio::test(start_paused = true)]
async fn each_refusal_is_its_own_variant() {
    let rig = rig().await;
    let set = |attr: &str, value: &str| DeviceCommand::Set {
        attr: attr.into(),
        value: Value::Text(value.into()),
        force: false,
    };
    let d = &rig.device;
    let refused = d.command(set("x", "1")).await;
    assert!(
        matches!(&refused, Err(HubError::UnknownAttr { attr, known, .. })
            if attr == "x" && known.len() == 17 && known[0] == "function"),
        "{refused:?}"
    );
    assert!(matches!(
        d.command(set("reading", "1")).await,
        Err(HubError::ReadOnly { .. })
    ));
    let refused = d.command(set("nplc", "50")).await;
    assert!(
        matches!(
            refused,
            Err(HubError::OutOfRange {
                value: 50.0,
                max: Some(10.0),
                ..
            })
        ),
        "{refused:?}"
    );
    assert_eq!(
        refused.unwrap_err().to_string(),
        "em1: value 50 is above maximum 10"
    );
    assert!(matches!(
        d.command(set("nplc", "fast")).await,
        Err(HubError::WrongType { .. })
    ));
    let refused = d.command(set("function", "amps")).await;
    assert!(
        matches!(&refused, Err(HubError::NotOption { options, .. }) if options.len() == 4),
        "{refused:?}"
    );
    let mut bad = spec("x", 1.0, 5.0);
    bad.technique = "dance".into();
    let refused = d.command(DeviceCommand::Submit(bad)).await;
    assert!(
        matches!(&refused, Err(HubError::UnknownTechnique { known, .. })
            if known == &["measure", "buffered_scan"]),
        "{refused:?}"
    );
    let mut bad = spec("x", 1.0, 5.0);
    bad.params.insert("nplc".into(), Value::Number(20.0));
    let refused = d.command(DeviceCommand::Submit(bad)).await;
    assert!(
        matches!(&refused, Err(HubError::TaskParameter { param, refusal, .. })
            if param == "nplc" && matches!(**refusal, HubError::OutOfRange { .. })),
        "{refused:?}"
    );
    assert_eq!(
        refused.unwrap_err().to_string(),
        "em1: parameter 'nplc': value 20 is above maximum 10"
    );
    let mut bad = spec("x", 1.0, 5.0);
    bad.params.insert("speed".into(), Value::Number(1.0));
    assert!(matches!(
        d.command(DeviceCommand::Submit(bad)).await,
        Err(HubError::UnknownTaskParameter { .. })
    ));
    // A running task guards the attributes it controls, unless forced.
    submit(d, spec("guard", 1.0, 30.0)).await;
    wait(d, "running", |s| s.running_task().is_some()).await;
    let refused = d.command(set("nplc", "2")).await;
    assert!(
        matches!(&refused, Err(HubError::Busy { controlled_by_task, .. }) if controlled_by_task == "guard"),
        "{refused:?}"
    );
    let forced = d
        .command(DeviceCommand::Set {
            attr: "nplc".into(),
            value: Value::Number(2.0),
            force: true,
        })
        .await;
    assert!(forced.is_ok(), "{forced:?}");
    assert!(matches!(
        d.command(DeviceCommand::Cancel {
            task: Some(TaskRef::Name("nope".into()))
        })
        .await,
        Err(HubError::NoSuchTask { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn a_buffered_scan_saves_the_buffer_beside_the_samples() {
    let rig = rig().await;
    let mut scan = spec("scan", 0.1, 2.0);
    scan.technique = "buffered_scan".into();
    scan.params.insert("nplc".into(), Value::Number(0.1));
    let id = submit(&rig.device, scan).await;
    wait(&rig.device, "done", |s| {
        s.tasks.iter().any(|t| t.id == id && t.state.is_terminal())
    })
    .await;
    let t = task(&rig.device, id);
    assert_eq!(t.state, TaskState::Completed, "{:?}", t.reason);
    let file = t.file.unwrap();
    let buffer = file.with_file_name(format!(
        "{}-buffer.csv",
        file.file_stem().unwrap().to_string_lossy()
    ));
    let lines = std::fs::read_to_string(&buffer).unwrap();
    assert_eq!(lines.lines().next(), Some("index,read"));
    assert_eq!(lines.lines().count(), 21, "{lines}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap())
            .unwrap();
    assert_eq!(meta["extra_files"].as_array().unwrap().len(), 1);
}
