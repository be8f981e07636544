//! The continuous traffic log: from `record` on, every chunk of every
//! link is appended to a text file, one line each, as it crosses the
//! link: `2026-12-02 07:43:37.123456  TX  pump-port  02 16 00 …`. Lines
//! starting with `#` are comments (the start, chunks the log missed, the
//! stop). Flushed every quarter second, so a crash loses at most that.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use super::{Hub, HubResult, Outcome};
use crate::bus::Event;
use crate::capture::{PcapngCapture, capture_taps};
use crate::error::HubError;
use crate::link::Chunk;
use crate::request::RecordCommand;

const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// The log being written, if any.
#[derive(Debug, Default)]
pub(crate) struct Recording {
    current: Mutex<Option<Active>>,
}

#[derive(Debug)]
struct Active {
    path: PathBuf,
    frames: Arc<AtomicU64>,
    stop: CancellationToken,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Recording {
    fn drop(&mut self) {
        if let Some(active) = self.lock().as_ref() {
            active.stop.cancel();
        }
    }
}

impl Recording {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Active>> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether traffic is being logged, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingStatus {
    pub path: PathBuf,
    pub frames: u64,
    /// `false` once stopped (by the operator, or by a write error).
    pub on: bool,
}

/// `labdeck-traffic-20261202-074337.log`.
pub fn default_log_name(now: chrono::DateTime<chrono::Local>) -> PathBuf {
    PathBuf::from(format!(
        "labdeck-traffic-{}.log",
        now.format("%Y%m%d-%H%M%S")
    ))
}

/// One chunk as a line of the log.
pub fn log_line(chunk: &Chunk) -> String {
    format!(
        "{}  {}  {}  {}\n",
        chrono::DateTime::<chrono::Local>::from(chunk.t.wall).format("%Y-%m-%d %H:%M:%S%.6f"),
        chunk.dir.as_str(),
        chunk.link,
        chunk.hex()
    )
}

impl Hub {
    /// The traffic log now, if one is written.
    pub fn recording(&self) -> Option<RecordingStatus> {
        let current = self.inner.recording.lock();
        current.as_ref().map(|a| RecordingStatus {
            path: a.path.clone(),
            frames: a.frames.load(Ordering::Relaxed),
            on: !a.stop.is_cancelled(),
        })
    }

    pub(super) async fn record(&self, command: RecordCommand) -> HubResult {
        match command {
            RecordCommand::Start { path } => self.start_recording(path).await,
            RecordCommand::Stop => {
                let active = self.inner.recording.lock().take();
                let Some(mut active) = active else {
                    return Err(HubError::NotRecording);
                };
                active.stop.cancel();
                if let Some(done) = active.done.take() {
                    let _ = done.await;
                }
                Ok(Outcome::Recording(RecordingStatus {
                    path: active.path.clone(),
                    frames: active.frames.load(Ordering::Relaxed),
                    on: false,
                }))
            }
        }
    }

    async fn start_recording(&self, path: Option<PathBuf>) -> HubResult {
        if let Some(status) = self.recording().filter(|s| s.on) {
            return Ok(Outcome::Recording(status));
        }
        let path = path.unwrap_or_else(|| default_log_name(chrono::Local::now()));
        if path.extension().is_some_and(|e| e == "pcapng") {
            return self.start_capture(path);
        }
        let file_error = |e: std::io::Error| HubError::File {
            path: path.clone(),
            message: e.to_string(),
        };
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
            .map_err(file_error)?;
        let mut out = BufWriter::new(file);
        let links: Vec<Arc<str>> = self
            .connections()
            .iter()
            .map(|c| c.name().clone())
            .collect();
        let header = format!(
            "# labdeck traffic log started {} · links {} · time, TX|RX, link, bytes in hex\n",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f"),
            links.iter().map(|l| &**l).collect::<Vec<_>>().join(", ")
        );
        out.write_all(header.as_bytes()).await.map_err(file_error)?;
        let frames = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        let events = self.subscribe();
        let done = tokio::spawn(write_log(
            out,
            events,
            links,
            frames.clone(),
            stop.clone(),
            path.clone(),
        ));
        tracing::info!("recording traffic to {}", path.display());
        let status = RecordingStatus {
            path: path.clone(),
            frames: 0,
            on: true,
        };
        *self.inner.recording.lock() = Some(Active {
            path,
            frames,
            stop,
            done: Some(done),
        });
        Ok(Outcome::Recording(status))
    }
}

impl Hub {
    /// The traffic log as pcapng (README: Capture format): every link's
    /// taps mirrored, so unlike the text log it misses nothing.
    fn start_capture(&self, path: PathBuf) -> HubResult {
        let capture = PcapngCapture::create(&path).map_err(|e| HubError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let links: Vec<Arc<str>> = self
            .connections()
            .iter()
            .map(|c| c.name().clone())
            .collect();
        let taps: Vec<_> = self
            .taps()
            .iter()
            .filter(|t| links.contains(t.link()))
            .cloned()
            .collect();
        let frames = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        let writer = capture_taps(&taps, capture, frames.clone(), Duration::ZERO, stop.clone());
        let (ended, shown_path) = (stop.clone(), path.clone());
        let done = tokio::spawn(async move {
            match writer.await {
                Ok(()) => tracing::info!("traffic capture {} closed", shown(&shown_path)),
                Err(e) => tracing::error!("{e}; capture stopped"),
            }
            ended.cancel();
        });
        tracing::info!("capturing traffic to {}", path.display());
        let status = RecordingStatus {
            path: path.clone(),
            frames: 0,
            on: true,
        };
        *self.inner.recording.lock() = Some(Active {
            path,
            frames,
            stop,
            done: Some(done),
        });
        Ok(Outcome::Recording(status))
    }
}

async fn write_log(
    mut out: BufWriter<tokio::fs::File>,
    mut events: tokio::sync::broadcast::Receiver<Event>,
    links: Vec<Arc<str>>,
    frames: Arc<AtomicU64>,
    stop: CancellationToken,
    path: PathBuf,
) {
    let mut flush = tokio::time::interval(FLUSH_EVERY);
    let result: std::io::Result<()> = async {
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = flush.tick() => out.flush().await?,
                event = events.recv() => match event {
                    Ok(Event::Traffic(chunk)) if links.contains(&chunk.link) => {
                        out.write_all(log_line(&chunk).as_bytes()).await?;
                        frames.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(n)) => {
                        let line = format!("# {n} events missed here (the log fell behind)\n");
                        out.write_all(line.as_bytes()).await?;
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
        let end = format!(
            "# stopped {} after {} frames\n",
            chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f"),
            frames.load(Ordering::Relaxed)
        );
        out.write_all(end.as_bytes()).await?;
        out.flush().await
    }
    .await;
    stop.cancel();
    match result {
        Ok(()) => tracing::info!("traffic log {} closed", shown(&path)),
        Err(e) => tracing::error!("traffic log {}: {e}; recording stopped", shown(&path)),
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}
