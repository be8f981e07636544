//! Queue control under paused tokio time, on the electrometer rig: an
//! immediate pause stops sampling and the task's clock, a deferred pause
//! holds the next task, a stop after the current task cancels what waits,
//! an abort cancels everything, and a task waiting for a link that stays
//! down fails after its link timeout with the reason, and the next goes.

mod common;

use std::time::Duration;

use common::task_rig::*;
use labdeck_core::device::{DeviceCommand, DeviceOutcome, QueueControl, QueueMode, TaskState};

async fn control(rig: &Rig, control: QueueControl) -> DeviceOutcome {
    rig.device
        .command(DeviceCommand::Queue(control))
        .await
        .expect("a queue control is answered")
}

async fn ended(rig: &Rig, id: u64) -> labdeck_core::device::TaskSnapshot {
    wait(&rig.device, "the task ends", |d| {
        d.tasks.iter().any(|t| t.id == id && t.state.is_terminal())
    })
    .await;
    task(&rig.device, id)
}

#[tokio::test(start_paused = true)]
async fn an_immediate_pause_stops_sampling_and_the_clock_until_resumed() {
    let rig = rig().await;
    let id = submit(&rig.device, spec("long", 1.0, 10.0)).await;
    wait(&rig.device, "three samples", |d| {
        d.running_task().is_some_and(|t| t.samples == 3)
    })
    .await;
    let outcome = control(&rig, QueueControl::Pause).await;
    assert!(
        matches!(
            outcome,
            DeviceOutcome::Queue {
                mode: QueueMode::Paused,
                ..
            }
        ),
        "{outcome:?}"
    );
    let paused = task(&rig.device, id);
    assert_eq!(paused.state, TaskState::Paused);
    // Far beyond its duration: no sample, not ended.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let still = task(&rig.device, id);
    assert_eq!(still.state, TaskState::Paused);
    assert_eq!(still.samples, 3);
    assert_eq!(rig.device.snapshot().queue, QueueMode::Paused);

    control(&rig, QueueControl::Resume).await;
    let done = ended(&rig, id).await;
    assert_eq!(done.state, TaskState::Completed, "{:?}", done.reason);
    assert_eq!(done.samples, 10);
    // Ten seconds of running plus the pause.
    let wall = done.ended.unwrap().mono - done.started.unwrap().mono;
    assert!(wall >= Duration::from_secs(40), "{wall:?}");
    assert!((done.paused_s - 30.0).abs() < 1.0, "{}", done.paused_s);
    assert!((done.elapsed(done.ended.unwrap()) - 10.0).abs() < 1.0);
    // The file has every sample once, one interval apart but for the pause.
    let uts: Vec<f64> = rows(done.file.as_ref().unwrap())
        .iter()
        .map(|r| r.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(uts.len(), 10);
    let gaps: Vec<f64> = uts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps.iter().filter(|g| (**g - 1.0).abs() < 0.05).count(),
        8,
        "{gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_deferred_pause_lets_the_task_end_and_holds_the_next() {
    let rig = rig().await;
    let first = submit(&rig.device, spec("first", 0.5, 2.0)).await;
    let second = submit(&rig.device, spec("second", 0.5, 2.0)).await;
    wait(&rig.device, "the first running", |d| {
        d.running_task().is_some_and(|t| t.id == first)
    })
    .await;
    let outcome = control(&rig, QueueControl::PauseAfterCurrent).await;
    assert!(
        matches!(
            outcome,
            DeviceOutcome::Queue {
                mode: QueueMode::PausingAfterCurrent,
                ..
            }
        ),
        "{outcome:?}"
    );
    let done = ended(&rig, first).await;
    assert_eq!(done.state, TaskState::Completed, "{:?}", done.reason);
    assert_eq!(done.samples, 4);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(task(&rig.device, second).state, TaskState::Queued);
    assert_eq!(rig.device.snapshot().queue, QueueMode::Paused);

    control(&rig, QueueControl::Resume).await;
    let done = ended(&rig, second).await;
    assert_eq!(done.state, TaskState::Completed, "{:?}", done.reason);
}

#[tokio::test(start_paused = true)]
async fn stop_after_current_cancels_what_waits_once_the_task_ends() {
    let rig = rig().await;
    let first = submit(&rig.device, spec("first", 0.5, 2.0)).await;
    let second = submit(&rig.device, spec("second", 0.5, 2.0)).await;
    wait(&rig.device, "the first running", |d| {
        d.running_task().is_some_and(|t| t.id == first)
    })
    .await;
    control(&rig, QueueControl::StopAfterCurrent).await;
    // The second waits until the first has ended.
    assert_eq!(task(&rig.device, second).state, TaskState::Queued);
    assert_eq!(ended(&rig, first).await.state, TaskState::Completed);
    let cancelled = ended(&rig, second).await;
    assert_eq!(cancelled.state, TaskState::Cancelled);
    assert_eq!(
        cancelled.reason.as_deref(),
        Some("the queue was stopped after the current task")
    );
    assert_eq!(rig.device.snapshot().queue, QueueMode::Active);
    // New work runs again.
    let third = submit(&rig.device, spec("third", 0.5, 1.0)).await;
    assert_eq!(ended(&rig, third).await.state, TaskState::Completed);
}

#[tokio::test(start_paused = true)]
async fn abort_cancels_the_running_and_the_waiting_and_says_the_safe_state() {
    let rig = rig().await;
    let first = submit(&rig.device, spec("first", 0.5, 30.0)).await;
    let second = submit(&rig.device, spec("second", 0.5, 2.0)).await;
    wait(&rig.device, "two samples", |d| {
        d.running_task().is_some_and(|t| t.samples >= 2)
    })
    .await;
    let outcome = control(&rig, QueueControl::Abort).await;
    let DeviceOutcome::Queue {
        cancelled, safe, ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(cancelled, 2);
    assert!(safe.is_some());
    for id in [first, second] {
        let t = task(&rig.device, id);
        assert_eq!(t.state, TaskState::Cancelled);
        assert_eq!(t.reason.as_deref(), Some("aborted by the operator"));
    }
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            task(&rig.device, first)
                .file
                .unwrap()
                .with_extension("json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["state"], "cancelled");
}

#[tokio::test(start_paused = true)]
async fn a_task_waiting_for_a_link_that_stays_down_fails_and_the_next_goes() {
    let rig = rig().await;
    rig.cut();
    wait(&rig.device, "the link down", |d| !d.responding()).await;
    let mut short = spec("short-wait", 0.5, 1.0);
    short.link_timeout = Duration::from_secs(5);
    let short = submit(&rig.device, short).await;
    let next = submit(&rig.device, spec("next", 0.5, 1.0)).await;
    let waited = tokio::time::Instant::now();
    let failed = ended(&rig, short).await;
    let after = waited.elapsed();
    assert_eq!(failed.state, TaskState::Failed);
    assert!(
        failed
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("em-link was down for 5 s")),
        "{:?}",
        failed.reason
    );
    assert!(
        after >= Duration::from_secs(5) && after < Duration::from_secs(6),
        "{after:?}"
    );
    // The next one waits its own time; the link comes back meanwhile.
    assert_eq!(task(&rig.device, next).state, TaskState::Queued);
    rig.restore();
    let done = ended(&rig, next).await;
    assert_eq!(done.state, TaskState::Completed, "{:?}", done.reason);
}
