//! Timelines: one run recorded in a file (`--record`). Every event of the bus —
//! traffic chunks of every link and simulator, connection transitions,
//! alarms, fault toggles, notices, property updates, tasks — as JSON
//! lines in their wire forms (`docs/wire.md`), after a header line. A
//! replay reads them back (`labdeck sim turbovac --replay`).
//!
//! ```text
//! {"format":"labdeck-recording","version":1,"started":1796290848.45,"source":"lab.toml"}
//! {"event":"transition","connection":"pump-port",…}
//! {"event":"traffic","link":"pump-port","epoch":1,"dir":"tx","t":…,"bytes":"02 16 …"}
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
    pub events: Vec<Event>,
    /// Events the recorder missed, in all.
    pub lagged: u64,
}

#[derive(Deserialize)]
struct Lagged {
    lagged: u64,
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
        let mut lagged = 0;
        for (at, line) in lines.enumerate() {
            let line = line.map_err(io)?;
            if line.trim().is_empty() {
                continue;
            }
            if let Ok(gap) = serde_json::from_str::<Lagged>(&line) {
                lagged += gap.lagged;
                continue;
            }
            match serde_json::from_str::<Event>(&line) {
                Ok(event) => events.push(event),
                // A recording cut short by a crash ends in half a line.
                Err(e) if e.is_eof() => break,
                Err(e) => return Err(format(at + 2, e.to_string())),
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            events,
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

/// Write every event from `events` to `path` until `cancel`, then what
/// is still queued. Flushed whenever the queue is empty, so a crash
/// loses at most the events of the last moment.
pub async fn record(
    mut events: broadcast::Receiver<Event>,
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
    out.flush().map_err(io)?;
    loop {
        let received = tokio::select! {
            () = cancel.cancelled() => break,
            received = events.recv() => received,
        };
        match received {
            Ok(event) => write_line(&mut out, &event).map_err(io)?,
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
            Ok(Ok(event)) => write_line(&mut out, &event).map_err(io)?,
            Ok(Err(RecvError::Lagged(n))) => writeln!(out, "{{\"lagged\":{n}}}").map_err(io)?,
            Ok(Err(RecvError::Closed)) | Err(_) => break,
        }
    }
    out.flush().map_err(io)
}

fn write_line(out: &mut impl Write, value: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
