//! Per-link pcapng captures from the command language: `capture LINK
//! FILE.pcapng` mirrors that link's tap into the file until `capture
//! LINK stop` (README: Capture format).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{Hub, HubResult, Outcome};
use crate::capture::{PcapngCapture, capture_taps};
use crate::error::HubError;

/// A link's capture, as a reply says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureStatus {
    pub link: String,
    pub path: PathBuf,
    pub packets: u64,
    /// `false` once stopped.
    pub on: bool,
}

/// The captures running, by link.
#[derive(Debug, Default)]
pub(crate) struct Captures {
    running: Mutex<HashMap<String, Running>>,
}

#[derive(Debug)]
struct Running {
    path: PathBuf,
    packets: Arc<AtomicU64>,
    stop: CancellationToken,
    done: tokio::task::JoinHandle<()>,
}

impl Drop for Captures {
    fn drop(&mut self) {
        for running in self.lock().values() {
            running.stop.cancel();
        }
    }
}

impl Captures {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Hub {
    pub(super) async fn capture(&self, link: &str, path: Option<PathBuf>) -> HubResult {
        let Some(tap) = self.tap(link).cloned() else {
            return Err(HubError::UnknownConnection {
                name: link.to_string(),
                known: self.taps().iter().map(|t| t.link().to_string()).collect(),
            });
        };
        let Some(path) = path else {
            let running = self.inner.captures.lock().remove(link);
            let Some(running) = running else {
                return Err(HubError::NotCapturing {
                    link: link.to_string(),
                });
            };
            running.stop.cancel();
            let _ = running.done.await;
            return Ok(Outcome::Capture(CaptureStatus {
                link: link.to_string(),
                path: running.path,
                packets: running.packets.load(Ordering::Relaxed),
                on: false,
            }));
        };
        if let Some(running) = self.inner.captures.lock().get(link) {
            return Ok(Outcome::Capture(CaptureStatus {
                link: link.to_string(),
                path: running.path.clone(),
                packets: running.packets.load(Ordering::Relaxed),
                on: true,
            }));
        }
        let capture = PcapngCapture::create(&path).map_err(|e| HubError::File {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let packets = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        let writer = capture_taps(
            std::slice::from_ref(&tap),
            capture,
            packets.clone(),
            Duration::ZERO,
            stop.clone(),
        );
        let shown = path.display().to_string();
        let done = tokio::spawn(async move {
            if let Err(e) = writer.await {
                tracing::error!("{e}; capture of {shown} stopped");
            }
        });
        tracing::info!("capturing {link} to {}", path.display());
        self.inner.captures.lock().insert(
            link.to_string(),
            Running {
                path: path.clone(),
                packets,
                stop,
                done,
            },
        );
        Ok(Outcome::Capture(CaptureStatus {
            link: link.to_string(),
            path,
            packets: 0,
            on: true,
        }))
    }
}
