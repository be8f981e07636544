//! `jobs`, `pause [after]`, `resume`, `stop-after`, `abort`; and the words
//! for jobs and what a queue control did.

use std::fmt::Write as _;

use labdeck_core::device::QueueControl;
use labdeck_core::hub::{QueueOutcome, QueuedJob, Request};
use labdeck_core::jobs::{JobSnapshot, OnFailure};

use super::{Line, UsageError, usage};

pub(super) fn parse(words: &[&str]) -> Option<Result<Line, UsageError>> {
    let control = |control| Ok(Request::Queue { control });
    let request = match words {
        ["jobs"] => Ok(Request::Jobs),
        ["pause"] => control(QueueControl::Pause),
        ["pause", "after"] => control(QueueControl::PauseAfterCurrent),
        ["resume"] => control(QueueControl::Resume),
        ["stop-after"] => control(QueueControl::StopAfterCurrent),
        ["abort"] => control(QueueControl::Abort),
        [
            verb @ ("jobs" | "pause" | "resume" | "stop-after" | "abort"),
            ..,
        ] => Err(usage(verb)),
        _ => return None,
    };
    Some(request.map(Line::Request))
}

/// `job #2 'pump-down' running 1/3 tasks (stop on failure, reset at end)`
/// and a line per task.
pub(super) fn jobs(jobs: &[JobSnapshot]) -> String {
    if jobs.is_empty() {
        return "no jobs".into();
    }
    let mut text = String::from("jobs:");
    for job in jobs {
        let _ = write!(text, "\n  {}", describe(job));
        for (i, task) in job.tasks.iter().enumerate() {
            let id = task
                .id
                .map_or_else(|| "-".to_string(), |id| format!("#{id}"));
            let _ = write!(
                text,
                "\n    {}. {} {id} {} ({}) {}",
                i + 1,
                task.spec.device,
                task.spec.name,
                task.spec.technique,
                task.state.as_str()
            );
            if let Some(reason) = &task.reason {
                let _ = write!(text, " ({reason})");
            }
        }
        for reset in &job.resets {
            let failed = if reset.ok { "" } else { "FAILED: " };
            let _ = write!(text, "\n    reset {}: {failed}{}", reset.device, reset.what);
        }
    }
    text
}

/// One line for a job.
pub fn describe(job: &JobSnapshot) -> String {
    let mut line = format!(
        "job #{} '{}' {} {}/{} tasks ({} on failure{})",
        job.id,
        job.name,
        job.state.as_str(),
        job.done(),
        job.tasks.len(),
        match job.on_failure {
            OnFailure::Stop => "stop",
            OnFailure::Continue => "continue",
        },
        if job.reset_at_end {
            ", reset at end"
        } else {
            ""
        }
    );
    if let Some(reason) = &job.reason {
        let _ = write!(line, ": {reason}");
    }
    line
}

/// `pause: pump1 paused, em1 paused`.
pub(super) fn outcome(outcome: &QueueOutcome) -> String {
    let devices: Vec<String> = outcome
        .devices
        .iter()
        .map(|d| {
            let mut text = match (&d.mode, &d.refused) {
                (Some(mode), _) => format!("{} {mode}", d.device),
                (None, why) => format!(
                    "{} refused: {}",
                    d.device,
                    why.as_deref().unwrap_or("no answer")
                ),
            };
            if d.cancelled > 0 {
                let _ = write!(text, ", {} task(s) cancelled", d.cancelled);
            }
            if let Some(safe) = &d.safe {
                let _ = write!(text, ", {safe}");
            }
            text
        })
        .collect();
    let mut text = format!("{}: {}", outcome.control, devices.join("; "));
    if devices.is_empty() {
        text.push_str("no devices");
    }
    if outcome.jobs_cancelled > 0 {
        let _ = write!(
            text,
            "; {} waiting job(s) cancelled",
            outcome.jobs_cancelled
        );
    }
    for job in &outcome.resumed_jobs {
        let _ = write!(
            text,
            "; interrupted job '{}' resumed as #{} with the {} task(s) it had not started",
            job.name, job.id, job.tasks
        );
    }
    if !outcome.resumed_tasks.is_empty() {
        let _ = write!(
            text,
            "; {} waiting task(s) of an interrupted run queued again",
            outcome.resumed_tasks.len()
        );
    }
    text
}

/// `, 2 job(s) queued: #1 'pump-down' (3 tasks)`.
pub(super) fn queued(jobs: &[QueuedJob]) -> String {
    if jobs.is_empty() {
        return String::new();
    }
    let named: Vec<String> = jobs
        .iter()
        .map(|j| format!("#{} '{}' ({} tasks)", j.id, j.name, j.tasks))
        .collect();
    format!(", {} job(s) queued: {}", jobs.len(), named.join(", "))
}
