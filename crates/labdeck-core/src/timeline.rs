//! Timelines: one run recorded in a file (`--record`). After a header
//! line, JSON lines: every event of the bus (traffic chunks of every link
//! and simulator, connection transitions, alarms, fault toggles, notices,
//! property updates, tasks) in its wire form (`docs/wire.md`) with `at`,
//! the Unix time it was recorded, added; and once a second the whole
//! lab's state (`snapshot`, a `LabSnapshot` as `labdeck ctl` gets it).
//! Replays read them back (`labdeck replay`, `sim … --replay`).
//!
//! ```text
//! {"format":"labdeck-recording","version":1,"started":1796290848.45,"source":"lab.toml"}
//! {"at":1796290848.45,"snapshot":{"connections":[…],"devices":[…],…}}
//! {"event":"transition","connection":"pump-port",…,"at":1796290848.46}
//! {"event":"traffic","link":"pump-port","epoch":1,"dir":"tx","t":…,"bytes":"02 16 …","at":…}
//! {"lagged":12}
//! ```
//!
//! `{"lagged":N}` marks N events the recorder missed because it fell
//! behind the bus (it is written where they were missed).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::sync::CancellationToken;

use crate::bus::Event;
use crate::hub::{Hub, LabSnapshot};
use crate::link::Chunk;
use crate::time::Timestamp;

pub const FORMAT: &str = "labdeck-recording";
/// After a stop, events are still written until the bus has been quiet
/// this long, for at most `SETTLE`.
const QUIET: std::time::Duration = std::time::Duration::from_millis(200);
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);
pub const VERSION: u32 = 1;

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    /// Unix seconds.
    pub started: f64,
    /// The configuration recorded.
    pub source: String,
}

#[derive(Debug, Error)]
pub enum TimelineError {
    #[error("recording {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("recording {path}, line {line}: {message}")]
    Format {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("recording {path}: {message}")]
    Content { path: PathBuf, message: String },
}

/// A recorded timeline read back.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub path: PathBuf,
    pub header: Header,
    /// Every event, in recorded order.
    pub events: Vec<Event>,
    /// Events and states with the time they were recorded, in order.
    pub entries: Vec<Entry>,
    /// Events the recorder missed, in all.
    pub lagged: u64,
}

/// One timed line of a timeline.
#[derive(Debug, Clone)]
pub enum Entry {
    /// `events[index]`, recorded at `at`.
    Event {
        at: f64,
        index: usize,
    },
    Snapshot {
        at: f64,
        snapshot: Box<LabSnapshot>,
    },
}

impl Entry {
    pub fn at(&self) -> f64 {
        match self {
            Self::Event { at, .. } | Self::Snapshot { at, .. } => *at,
        }
    }
}

#[derive(Deserialize)]
struct Lagged {
    lagged: u64,
}

#[derive(Serialize, Deserialize)]
struct SnapshotLine {
    at: f64,
    snapshot: Box<LabSnapshot>,
}

impl Timeline {
    pub fn read(path: &Path) -> Result<Self, TimelineError> {
        let io = |source| TimelineError::Io {
            path: path.to_path_buf(),
            source,
        };
        let format = |line: usize, message: String| TimelineError::Format {
            path: path.to_path_buf(),
            line,
            message,
        };
        let mut lines = BufReader::new(File::open(path).map_err(io)?).lines();
        let first = lines
            .next()
            .ok_or_else(|| format(1, "empty file".into()))?
            .map_err(io)?;
        let header: Header = serde_json::from_str(&first)
            .map_err(|e| format(1, format!("not a labdeck recording header: {e}")))?;
        if header.format != FORMAT || header.version != VERSION {
            return Err(format(
                1,
                format!(
                    "{} version {}, expected {FORMAT} version {VERSION}",
                    header.format, header.version
                ),
            ));
        }
        let mut events = Vec::new();
        let mut entries = Vec::new();
        let mut lagged = 0;
        let mut last = header.started;
        for (number, line) in lines.enumerate() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            let value: serde_json::Value = match serde_json::from_str(&line) {
                Ok(value) => value,
                // A recording cut short by a crash ends in half a line.
                Err(e) if e.is_eof() => break,
                Err(e) => return Err(format(number + 2, e.to_string())),
            };
            if let Ok(gap) = serde_json::from_value::<Lagged>(value.clone()) {
                lagged += gap.lagged;
                continue;
            }
            if value.get("snapshot").is_some() {
                let state: SnapshotLine = serde_json::from_value(value)
                    .map_err(|e| format(number + 2, format!("snapshot: {e}")))?;
                last = state.at;
                entries.push(Entry::Snapshot {
                    at: state.at,
                    snapshot: state.snapshot,
                });
                continue;
            }
            let at = value
                .get("at")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(last);
            last = at;
            let event: Event =
                serde_json::from_value(value).map_err(|e| format(number + 2, e.to_string()))?;
            entries.push(Entry::Event {
                at,
                index: events.len(),
            });
            events.push(event);
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            events,
            entries,
            lagged,
        })
    }

    /// The traffic of one link (or simulator tap), in order. Without a
    /// name, the only one that has traffic.
    pub fn traffic(&self, link: Option<&str>) -> Result<(Arc<str>, Vec<Chunk>), TimelineError> {
        let mut names: Vec<Arc<str>> = Vec::new();
        for event in &self.events {
            if let Event::Traffic(chunk) = event
                && !names.contains(&chunk.link)
            {
                names.push(chunk.link.clone());
            }
        }
        let content = |message: String| TimelineError::Content {
            path: self.path.clone(),
            message,
        };
        let name = match (link, names.as_slice()) {
            (Some(link), _) => names
                .iter()
                .find(|n| &***n == link)
                .cloned()
                .ok_or_else(|| {
                    content(format!(
                        "no traffic of {link:?}; it has traffic of: {}",
                        list(&names)
                    ))
                })?,
            (None, [only]) => only.clone(),
            (None, []) => return Err(content("no traffic in it".into())),
            (None, _) => {
                return Err(content(format!(
                    "traffic of several links ({}); name one",
                    list(&names)
                )));
            }
        };
        let chunks = self
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Traffic(chunk) if chunk.link == name => Some(chunk.clone()),
                _ => None,
            })
            .collect();
        Ok((name, chunks))
    }
}

fn list(names: &[Arc<str>]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names.iter().map(|n| &**n).collect::<Vec<_>>().join(", ")
}

/// How often the whole lab's state is written.
const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Write every event from `events` (subscribed before the lab started)
/// and once a second `hub`'s state to `path` until `cancel`, then what
/// is still coming. Flushed whenever the queue is empty, so a crash loses
/// at most the events of the last moment.
pub async fn record(
    mut events: broadcast::Receiver<Event>,
    hub: Hub,
    path: PathBuf,
    source: String,
    cancel: CancellationToken,
) -> Result<(), TimelineError> {
    let io = |source| TimelineError::Io {
        path: path.clone(),
        source,
    };
    let mut out = BufWriter::new(File::create(&path).map_err(io)?);
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        started: Timestamp::now().unix(),
        source,
    };
    write_line(&mut out, &header).map_err(io)?;
    let mut snapshots = tokio::time::interval(SNAPSHOT_EVERY);
    loop {
        let received = tokio::select! {
            () = cancel.cancelled() => break,
            _ = snapshots.tick() => {
                let state = SnapshotLine {
                    at: Timestamp::now().unix(),
                    snapshot: Box::new(hub.snapshot()),
                };
                write_line(&mut out, &state).map_err(io)?;
                out.flush().map_err(io)?;
                continue;
            }
            received = events.recv() => received,
        };
        match received {
            Ok(event) => write_event(&mut out, &event).map_err(io)?,
            Err(RecvError::Lagged(n)) => {
                tracing::warn!("recording {}: {n} events missed", path.display());
                writeln!(out, "{{\"lagged\":{n}}}").map_err(io)?;
            }
            Err(RecvError::Closed) => break,
        }
        if events.is_empty() {
            out.flush().map_err(io)?;
        }
    }
    // The rest of the lab stops on the same token: what it reports on the
    // way out (links closing) belongs in the timeline too.
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let quiet = deadline.min(tokio::time::Instant::now() + QUIET);
        match tokio::time::timeout_at(quiet, events.recv()).await {
            Ok(Ok(event)) => write_event(&mut out, &event).map_err(io)?,
            Ok(Err(RecvError::Lagged(n))) => writeln!(out, "{{\"lagged\":{n}}}").map_err(io)?,
            Ok(Err(RecvError::Closed)) | Err(_) => break,
        }
    }
    out.flush().map_err(io)
}

/// An event's wire form with `at` added.
fn write_event(out: &mut impl Write, event: &Event) -> std::io::Result<()> {
    let mut value = serde_json::to_value(event)?;
    if let Some(map) = value.as_object_mut() {
        map.insert("at".into(), Timestamp::now().unix().into());
    }
    write_line(out, &value)
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
