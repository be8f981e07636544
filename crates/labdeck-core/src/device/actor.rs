//! The device actor: sessions from the connection manager, requests from
//! the Hub, polls at the driver's period, and the running task's samples
//! while connected. A cancel aborts a sample in flight, so it takes effect
//! at once; a lost link or a driver error fails the task with the reason.

use std::collections::VecDeque;
use std::convert::Infallible;

use chrono::Local;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

use super::book::Step;
use super::core::{DeviceCore, Driver, Verdict};
use super::outcome::{DeviceOutcome, StatusReport};
use super::property::SheetChange;
use super::queue::{QueueControl, QueueMode};
use super::record::Recorder;
use super::task::{TaskEvent, TaskRef, TaskState};
use super::{DeviceCommand, DeviceRequest, DeviceResult};
use crate::connection::Session;
use crate::error::HubError;
use crate::link::Chunk;

enum Wake {
    Stop,
    Session(Option<Session>),
    Closed,
    Request(Option<DeviceRequest>),
    Task,
    Poll,
    Chunk(Chunk),
    /// The first waiting task waited its link timeout.
    LinkTimeout,
}

/// Why an abort ends tasks.
const ABORTED: &str = "aborted by the operator";

/// Run a driver until shutdown or until every handle is gone.
pub(crate) async fn drive<D: Driver>(mut driver: D) -> Result<(), Infallible> {
    let Some(mut requests) = driver.core().requests.take() else {
        return Ok(());
    };
    let mut stash: VecDeque<DeviceRequest> = VecDeque::new();
    let mut poll = tokio::time::interval(driver.poll_interval());
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let core = driver.core();
        if core.session.is_some() && core.tasks.may_start() {
            start_next(&mut driver).await;
            continue;
        }
        if let Some(request) = stash.pop_front() {
            serve(&mut driver, request).await;
            continue;
        }
        let streaming = driver.streaming();
        let core = driver.core();
        let closed = core.session.as_ref().map(|s| s.closed.clone());
        let connected = core.session.is_some();
        let due = core.tasks.due();
        let link_due = core.tasks.link_deadline(!connected, Instant::now());
        let rx = core
            .session
            .as_mut()
            .filter(|_| streaming)
            .map(|s| &mut s.rx);
        let wake = tokio::select! {
            biased;
            () = core.cancel.cancelled() => Wake::Stop,
            session = core.sessions.recv(), if core.sessions_open => Wake::Session(session),
            () = cancelled(closed.as_ref()) => Wake::Closed,
            request = requests.recv() => Wake::Request(request),
            () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => Wake::Task,
            () = sleep_until(link_due.unwrap_or_else(Instant::now)), if link_due.is_some() => {
                Wake::LinkTimeout
            }
            Some(chunk) = next_chunk(rx) => Wake::Chunk(chunk),
            _ = poll.tick(), if connected => Wake::Poll,
        };
        match wake {
            Wake::Stop | Wake::Request(None) => break,
            Wake::Session(Some(session)) => {
                tracing::info!("{}: link up on {}", core.name, session.endpoint);
                core.session = Some(session);
                driver.attached().await;
                poll.reset();
            }
            Wake::Session(None) => core.sessions_open = false,
            Wake::Closed => {
                if core.take_session() {
                    driver.detached();
                }
            }
            Wake::Request(Some(request)) => serve(&mut driver, request).await,
            Wake::Task => step(&mut driver, &mut requests, &mut stash).await,
            Wake::Poll => driver.poll().await,
            Wake::Chunk(chunk) => driver.received(chunk).await,
            Wake::LinkTimeout => {
                let (link, report) = (core.link.clone(), core.report.clone());
                core.tasks.fail_waiting(&link, &report);
                core.publish_tasks();
            }
        }
        // A link lost under a running task fails it, with the reason.
        if driver.core().session.is_none() && driver.core().tasks.running.is_some() {
            end_running(
                &mut driver,
                TaskEvent::Fail,
                Some("the link was lost".into()),
            )
            .await;
        }
    }
    let shutting_down = "labdeck is shutting down";
    if driver.core().tasks.running.is_some() {
        end_running(&mut driver, TaskEvent::Cancel, Some(shutting_down.into())).await;
    }
    let core = driver.core();
    let report = core.report.clone();
    core.tasks.cancel_all_queued(&report, shutting_down);
    driver.core().session = None;
    Ok(())
}

/// Run what the task book has due: a sample (raced against requests, so a
/// cancel aborts it at once) or the end of the task.
async fn step<D: Driver>(
    driver: &mut D,
    requests: &mut mpsc::Receiver<DeviceRequest>,
    stash: &mut VecDeque<DeviceRequest>,
) {
    match driver.core().tasks.next_step(Instant::now()) {
        Step::Nothing => {}
        Step::End => {
            let verdict = driver
                .core()
                .tasks
                .running
                .as_ref()
                .map(|r| r.snap.spec.clone())
                .map_or(Verdict::Met, |spec| driver.verdict(&spec));
            match verdict {
                Verdict::Met => end_running(driver, TaskEvent::Finish, None).await,
                Verdict::Flagged(note) => end_running(driver, TaskEvent::Finish, Some(note)).await,
                Verdict::NotMet(reason) => {
                    end_running(driver, TaskEvent::Fail, Some(reason)).await;
                }
            }
        }
        Step::Sample(spec, elapsed) => {
            let running_name = spec.name.clone();
            let running_id = driver.core().tasks.running.as_ref().map(|r| r.snap.id);
            let outcome = {
                let sample = driver.do_task(&spec, elapsed);
                tokio::pin!(sample);
                loop {
                    tokio::select! {
                        biased;
                        request = requests.recv() => match request {
                            Some(r) if cancels(&r, &running_name, running_id) => break Err(Some(r)),
                            Some(r) => stash.push_back(r),
                            None => break Err(None),
                        },
                        result = &mut sample => break Ok(result),
                    }
                }
            };
            match outcome {
                Ok(Ok(values)) => {
                    if let Err(reason) = driver.core().tasks.record_sample(elapsed, &values) {
                        end_running(driver, TaskEvent::Fail, Some(reason)).await;
                    } else {
                        driver.core().publish_tasks();
                    }
                }
                Ok(Err(reason)) => end_running(driver, TaskEvent::Fail, Some(reason)).await,
                // A cancel arrived mid-sample: the sample is dropped.
                Err(Some(request)) => serve(driver, request).await,
                Err(None) => {}
            }
        }
    }
}

/// Whether a request that comes during a sample drops the sample: a
/// cancel of this task, an emergency stop, a pause or an abort.
fn cancels(request: &DeviceRequest, name: &str, id: Option<u64>) -> bool {
    match &request.command {
        DeviceCommand::Cancel { task: None }
        | DeviceCommand::EmergencyStop
        | DeviceCommand::Queue(QueueControl::Pause | QueueControl::Abort) => true,
        DeviceCommand::Cancel {
            task: Some(TaskRef::Id(n)),
        } => Some(*n) == id,
        DeviceCommand::Cancel {
            task: Some(TaskRef::Name(n)),
        } => n == name,
        _ => false,
    }
}

async fn serve<D: Driver>(driver: &mut D, request: DeviceRequest) {
    let result = command(driver, request.command).await;
    let _ = request.reply.send(result);
}

async fn command<D: Driver>(driver: &mut D, command: DeviceCommand) -> DeviceResult {
    let core = driver.core();
    let name = core.name.to_string();
    match command {
        DeviceCommand::Status => Ok(DeviceOutcome::Status(status(core))),
        DeviceCommand::Submit(spec) => {
            let columns = driver.columns(&spec);
            let core = driver.core();
            let task = spec.name.clone();
            let (id, position) = core.tasks.submit(spec, &core.sheet, &name, columns)?;
            if let Some(queued) = core.tasks.queued(id) {
                core.report.queued(queued);
            }
            let waits_for_link = core.session.is_none();
            core.publish_tasks();
            Ok(DeviceOutcome::TaskQueued {
                id,
                name: task,
                position,
                waits_for_link,
            })
        }
        DeviceCommand::Cancel { task } => {
            if core.tasks.names_running(task.as_ref()) {
                let (id, what) = core
                    .tasks
                    .running
                    .as_ref()
                    .map(|r| (r.snap.id, r.snap.spec.name.clone()))
                    .unwrap_or_default();
                end_running(
                    driver,
                    TaskEvent::Cancel,
                    Some("cancelled by the operator".into()),
                )
                .await;
                return Ok(DeviceOutcome::TaskCancelled {
                    id,
                    name: what,
                    was_running: true,
                });
            }
            let Some(task) = task else {
                return Err(HubError::NoRunningTask { device: name });
            };
            let report = core.report.clone();
            let Some(snap) = core.tasks.cancel_queued(&task, &report) else {
                return Err(HubError::NoSuchTask {
                    device: name,
                    task: task.to_string(),
                });
            };
            core.publish_tasks();
            Ok(DeviceOutcome::TaskCancelled {
                id: snap.id,
                name: snap.spec.name,
                was_running: false,
            })
        }
        DeviceCommand::Mirror { prefix, properties } => {
            let mut changes = core.sheet.remove_prefix(&prefix);
            for mut p in properties {
                let mut def = (*p.def).clone();
                def.writable = false;
                def.mirror = true;
                p.def = def.into();
                changes.extend(core.sheet.upsert(p));
            }
            // Gone and back again is no removal.
            let kept: Vec<&str> = core.sheet.names().collect();
            changes.retain(|c| !matches!(c, SheetChange::Removed(n) if kept.contains(&&**n)));
            core.apply(changes);
            Ok(DeviceOutcome::Mirrored)
        }
        DeviceCommand::Queue(QueueControl::Abort) => {
            let report = core.report.clone();
            let mut cancelled = core.tasks.cancel_all_queued(&report, ABORTED);
            core.tasks.mode = QueueMode::Active;
            if core.tasks.running.is_some() {
                end_running(driver, TaskEvent::Cancel, Some(ABORTED.into())).await;
                cancelled += 1;
            }
            let safe = if driver.core().session.is_some() {
                driver
                    .safe_state()
                    .await
                    .unwrap_or_else(|e| format!("safe state failed: {e}"))
            } else {
                "not put in its safe state: the link is down".into()
            };
            driver.core().publish_tasks();
            driver.publish();
            Ok(DeviceOutcome::Queue {
                mode: QueueMode::Active,
                cancelled,
                safe: Some(safe),
            })
        }
        DeviceCommand::Queue(control) => {
            let report = core.report.clone();
            let cancelled = core.tasks.control(control, Instant::now(), &report);
            core.publish_tasks();
            Ok(DeviceOutcome::Queue {
                mode: core.tasks.mode,
                cancelled,
                safe: None,
            })
        }
        DeviceCommand::SafeState | DeviceCommand::EmergencyStop if core.session.is_none() => {
            Err(core.link_down())
        }
        DeviceCommand::SafeState => {
            if core.tasks.running.is_some() {
                end_running(driver, TaskEvent::Cancel, Some("device reset".into())).await;
            }
            driver
                .safe_state()
                .await
                .map(|what| DeviceOutcome::SafeState { what })
                .map_err(|reason| HubError::SafeStateFailed {
                    device: name,
                    reason,
                })
        }
        DeviceCommand::EmergencyStop => {
            let report = core.report.clone();
            let cancelled = core.tasks.cancel_all_queued(&report, "emergency stop");
            if driver.core().tasks.running.is_some() {
                end_running(driver, TaskEvent::Cancel, Some("emergency stop".into())).await;
            }
            let outcome = driver.safe_state().await;
            driver.publish();
            outcome
                .map(|safe| DeviceOutcome::Stopped { cancelled, safe })
                .map_err(|reason| HubError::SafeStateFailed {
                    device: name,
                    reason,
                })
        }
        _ if core.session.is_none() => Err(core.link_down()),
        DeviceCommand::Set { attr, value, force } => {
            let value = check_write(core, &attr, &value, force)?;
            driver.set_attr(&attr, value).await
        }
        DeviceCommand::Power { on, force } => {
            if !force
                && let Some(attr) = core.power_attr()
                && let Some(busy) = core.tasks.busy(&core.name, &attr)
            {
                return Err(busy);
            }
            driver.power(on).await
        }
        DeviceCommand::Measure => {
            driver.poll().await;
            let properties = driver
                .core()
                .sheet
                .all()
                .iter()
                .filter(|p| p.value.is_some())
                .cloned()
                .collect();
            Ok(DeviceOutcome::Measured { properties })
        }
        DeviceCommand::Send { bytes, wait } => {
            let following = driver.streaming();
            let core = driver.core();
            let Some(session) = core.session.as_mut() else {
                return Err(core.link_down());
            };
            super::raw::send(&name, session, &bytes, wait, following).await
        }
        DeviceCommand::Action { name: action, args } => driver
            .action(&action, &args)
            .await
            .map(DeviceOutcome::Action),
    }
}

/// Check a write before the driver sees it.
fn check_write(
    core: &DeviceCore,
    attr: &str,
    value: &super::Value,
    force: bool,
) -> Result<super::Value, HubError> {
    let Some(prop) = core.sheet.get(attr) else {
        return Err(HubError::UnknownAttr {
            device: core.name.to_string(),
            attr: attr.to_string(),
            known: core.sheet.names().map(String::from).collect(),
        });
    };
    let value = prop.def.accept(&core.name, value)?;
    if !force && let Some(busy) = core.tasks.busy(&core.name, attr) {
        return Err(busy);
    }
    Ok(value)
}

/// The status report: every property marked for it, and the running task.
fn status(core: &DeviceCore) -> StatusReport {
    StatusReport {
        running: core
            .tasks
            .running
            .as_ref()
            .map(|r| r.snap.spec.name.clone()),
        properties: core
            .sheet
            .all()
            .iter()
            .filter(|p| p.def.status)
            .cloned()
            .collect(),
    }
}

/// Start the next queued task: open its recording, prepare the device.
async fn start_next<D: Driver>(driver: &mut D) {
    let core = driver.core();
    let kind = core.kind;
    let data_dir = core.tasks.settings.data_dir.clone();
    let netcdf = core.tasks.settings.netcdf;
    let Some(running) = core.tasks.start_next() else {
        return;
    };
    let spec = running.snap.spec.clone();
    let recorder = Recorder::create(
        &data_dir,
        kind.as_str(),
        running.snap.id,
        &spec,
        &running.snap.columns,
        Local::now(),
        netcdf,
    );
    match recorder {
        Ok(recorder) => {
            running.snap.file = Some(recorder.path().to_path_buf());
            running.recorder = Some(recorder);
            let snap = running.snap.clone();
            core.report.task(&snap);
            tracing::info!("{}: task '{}' started", core.name, spec.name);
        }
        Err(e) => {
            let why = format!("cannot record in {}: {e}", data_dir.display());
            end_running(driver, TaskEvent::Fail, Some(why)).await;
            return;
        }
    }
    // Limits can have been learned since the task was queued (a device
    // reports them when it connects): check the parameters again.
    let core = driver.core();
    let params = match core.tasks.check(&spec, &core.sheet, &core.name) {
        Ok(params) => params,
        Err(refusal) => {
            end_running(driver, TaskEvent::Fail, Some(refusal.detail())).await;
            return;
        }
    };
    if let Err(reason) = driver.prepare_task(&spec, &params).await {
        end_running(driver, TaskEvent::Fail, Some(format!("prepare: {reason}"))).await;
        return;
    }
    driver.core().publish_tasks();
}

/// End the running task. The task stops at once (state, event, snapshot);
/// then the technique's own end and, for a cancel or a failure with the
/// link still up, the safe state; then the recording is closed.
async fn end_running<D: Driver>(driver: &mut D, event: TaskEvent, reason: Option<String>) {
    let Some(mut running) = driver.core().tasks.running.take() else {
        return;
    };
    let state = running.snap.state.on(event).unwrap_or(running.snap.state);
    running.snap.state = state;
    running.snap.reason.clone_from(&reason);
    running.snap.ended = Some(crate::time::Timestamp::now());
    let core = driver.core();
    if state == TaskState::Completed {
        tracing::info!("{}: task '{}' completed", core.name, running.snap.spec.name);
    } else {
        tracing::warn!(
            "{}: task '{}' {}: {}",
            core.name,
            running.snap.spec.name,
            state.as_str(),
            reason.as_deref().unwrap_or("")
        );
    }
    core.report.task(&running.snap);
    core.tasks.retire(running.snap.clone());
    let report = core.report.clone();
    core.tasks.running_ended(&report);
    core.publish_tasks();

    let mut reason = reason;
    if driver.core().session.is_some() {
        if let Err(e) = driver
            .end_task(&running.snap.spec, state, running.recorder.as_mut())
            .await
        {
            tracing::warn!(
                "{}: ending task '{}': {e}",
                driver.core().name,
                running.snap.spec.name
            );
            reason = Some(match reason {
                Some(r) => format!("{r}; ending the technique: {e}"),
                None => format!("ending the technique: {e}"),
            });
        }
        if state != TaskState::Completed
            && let Err(e) = driver.safe_state().await
        {
            tracing::warn!("{}: safe state after a task: {e}", driver.core().name);
        }
    }
    if let Some(recorder) = running.recorder.take()
        && let Err(e) = recorder.finish(state, reason.as_deref())
    {
        tracing::error!(
            "{}: cannot finish the task's sidecar: {e}",
            driver.core().name
        );
    }
}

/// The next chunk of a followed stream; pending when not following.
async fn next_chunk(rx: Option<&mut mpsc::Receiver<Chunk>>) -> Option<Chunk> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}
