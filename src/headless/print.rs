//! Events as lines on stdout: readable, or JSON. Property values are
//! shown with their definitions, which come from the Hub's snapshot at
//! start and from definition events after.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use labdeck_core::alarm::Severity;
use labdeck_core::bus::Event;
use labdeck_core::device::{DeviceSnapshot, PropertyDef, TaskState};
use labdeck_core::time::Timestamp;

use super::{OutputOptions, out};
use crate::format::{self, clock};

/// The definitions of every device's properties, as last published.
#[derive(Debug, Default, Clone)]
pub struct Definitions {
    by_device: HashMap<Arc<str>, HashMap<Arc<str>, Arc<PropertyDef>>>,
}

impl Definitions {
    pub fn from_snapshots<'a>(devices: impl IntoIterator<Item = &'a DeviceSnapshot>) -> Self {
        let mut defs = Self::default();
        for d in devices {
            for p in &d.properties {
                defs.define(&d.name, p.def.clone());
            }
        }
        defs
    }

    pub fn define(&mut self, device: &Arc<str>, def: Arc<PropertyDef>) {
        self.by_device
            .entry(device.clone())
            .or_default()
            .insert(def.name.clone(), def);
    }

    pub fn get(&self, device: &str, name: &str) -> Option<&Arc<PropertyDef>> {
        self.by_device.get(device)?.get(name)
    }

    /// Keep up with the event stream.
    pub fn follow(&mut self, event: &Event) {
        match event {
            Event::Definition { device, property } => self.define(device, property.clone()),
            Event::Removed { device, name } => {
                if let Some(defs) = self.by_device.get_mut(device) {
                    defs.remove(name);
                }
            }
            _ => {}
        }
    }
}

/// Print events until `stop`; property updates are throttled per property
/// unless `all_updates` (the latest value is always printed eventually).
pub async fn events(
    mut events: broadcast::Receiver<Event>,
    mut defs: Definitions,
    output: OutputOptions,
    stop: CancellationToken,
) {
    let throttle = !output.all_updates && !output.json;
    let mut last_printed: HashMap<(Arc<str>, Arc<str>), tokio::time::Instant> = HashMap::new();
    let mut held: HashMap<(Arc<str>, Arc<str>), Event> = HashMap::new();
    let mut flush = tokio::time::interval(Duration::from_millis(250));
    let second = Duration::from_secs(1);
    loop {
        tokio::select! {
            // Events first: what happened before the stop is still printed.
            biased;
            event = events.recv() => match event {
                Ok(event) => {
                    defs.follow(&event);
                    if let (true, Event::Property { device, update }) = (throttle, &event) {
                        let key = (device.clone(), update.name.clone());
                        let now = tokio::time::Instant::now();
                        if last_printed.get(&key).is_some_and(|t| now.duration_since(*t) < second) {
                            held.insert(key, event);
                            continue;
                        }
                        last_printed.insert(key.clone(), now);
                        held.remove(&key);
                    }
                    emit(&event, &defs, output);
                }
                Err(RecvError::Lagged(n)) => {
                    if output.json {
                        out::line(serde_json::json!({ "event": "lagged", "dropped": n }).to_string());
                    } else {
                        out::line(format!("{} lagged   {n} events dropped (output too slow)", clock(&Timestamp::now())));
                    }
                }
                Err(RecvError::Closed) => break,
            },
            _ = flush.tick(), if throttle => {
                let now = tokio::time::Instant::now();
                let due: Vec<_> = held
                    .keys()
                    .filter(|k| last_printed.get(*k).is_none_or(|t| now.duration_since(*t) >= second))
                    .cloned()
                    .collect();
                for key in due {
                    if let Some(event) = held.remove(&key) {
                        last_printed.insert(key, now);
                        emit(&event, &defs, output);
                    }
                }
            }
            () = stop.cancelled() => break,
        }
    }
}

fn emit(event: &Event, defs: &Definitions, output: OutputOptions) {
    if matches!(event, Event::Traffic(_)) && !output.traffic {
        return;
    }
    if output.json {
        if let Ok(line) = serde_json::to_string(event) {
            out::line(line);
        }
    } else if let Some(line) = render(event, defs) {
        out::line(line);
    }
}

/// One readable line per event; definitions are not news to a reader.
pub fn render(event: &Event, defs: &Definitions) -> Option<String> {
    Some(match event {
        Event::Transition { connection, record } => format!(
            "{} link     {connection}: {} -> {} ({})",
            clock(&record.t),
            record.from,
            record.to,
            record.reason
        ),
        Event::Definition { .. } => return None,
        Event::Removed { device, name } => {
            format!("{} removed  {device}.{name}", clock(&Timestamp::now()))
        }
        Event::Property { device, update } => {
            let shown = match defs.get(device, &update.name) {
                Some(def) => format::value(def, update.value.as_ref()),
                None => update
                    .value
                    .as_ref()
                    .map_or_else(|| "-".into(), |v| format::plain(v, 3)),
            };
            format!(
                "{} property {device}.{} = {shown} [{}]",
                clock(&update.t),
                update.name,
                update.state.as_str()
            )
        }
        Event::Traffic(chunk) => format!(
            "{} traffic  {} {} {}",
            clock(&chunk.t),
            chunk.link,
            chunk.dir.as_str(),
            chunk.hex()
        ),
        Event::Alarm(alarm) => {
            let word = match (alarm.active, alarm.severity) {
                (true, Severity::Alarm) => "ALARM   ",
                (true, Severity::Warning) => "WARNING ",
                (false, _) => "cleared ",
            };
            format!(
                "{} {word} {} ({}): {}",
                clock(&alarm.t),
                alarm.source,
                alarm.kind.as_str(),
                alarm.reason
            )
        }
        Event::Liveness {
            t,
            device,
            liveness,
        } => format!("{} device   {device}: {liveness}", clock(t)),
        Event::Audit(record) => format!("{} audit    {record}", clock(&record.t)),
        Event::Fault {
            t,
            simulator,
            fault,
        } => format!("{} fault    {simulator}: {fault}", clock(t)),
        Event::Task(task) => {
            let mut line = format!(
                "{} task     {} #{} '{}': {}",
                clock(&task.t),
                task.device,
                task.id,
                task.name,
                task.state.as_str()
            );
            if let Some(reason) = &task.reason {
                let _ = write!(line, " ({reason})");
            }
            if let Some(file) = task
                .file
                .as_ref()
                .filter(|_| task.state == TaskState::Running)
            {
                let _ = write!(line, " -> {}", file.display());
            }
            line
        }
        Event::Notice(notice) => format!(
            "{} notice   {}: {}",
            clock(&notice.t),
            notice.source,
            notice.message
        ),
        Event::Actor {
            t,
            actor,
            faulted,
            reason,
        } => {
            let word = if *faulted { "FAULTED" } else { "stopped" };
            format!("{} actor    {actor}: {word}: {reason}", clock(t))
        }
    })
}
