//! Traffic to pcapng, for Wireshark and tshark: one interface per link
//! (link type USER0, 147: the bytes as they crossed, no pseudo-header),
//! one enhanced packet per chunk with its original wall-clock time
//! (nanoseconds) and its direction in the `epb_flags` option: outbound
//! for TX (written by labdeck, or program→device through a sniffer),
//! inbound for RX.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use pcap_file::DataLink;
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use thiserror::Error;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::link::{Chunk, Direction, TrafficTap};
use crate::publish::Publish;

/// `epb_flags` bits 0–1: the packet's direction (pcapng §4.3.1).
const INBOUND: u32 = 0b01;
const OUTBOUND: u32 = 0b10;
/// Timestamps in nanoseconds (`if_tsresol` = 10^-9): what pcap-file writes.
const NANOSECONDS: u8 = 9;

#[derive(Debug, Error)]
pub enum CaptureError {
    #[error("capture {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("capture {path}: {source}")]
    Pcap {
        path: PathBuf,
        source: pcap_file::PcapError,
    },
}

/// A pcapng file being written. Packets are buffered until [`flush`]
/// (`PcapngCapture::flush`), which its writers call whenever no more
/// chunks are waiting, so a capture cut short (a crash, a kill) holds
/// every packet up to the last quiet moment and still opens.
pub struct PcapngCapture {
    path: PathBuf,
    writer: PcapNgWriter<BufWriter<File>>,
    interfaces: HashMap<Arc<str>, u32>,
    packets: u64,
}

impl std::fmt::Debug for PcapngCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcapngCapture")
            .field("path", &self.path)
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

impl PcapngCapture {
    /// Create (or truncate) `path` and write the section header.
    pub fn create(path: &Path) -> Result<Self, CaptureError> {
        let file = File::create(path).map_err(|source| CaptureError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let writer =
            PcapNgWriter::new(BufWriter::new(file)).map_err(|source| CaptureError::Pcap {
                path: path.to_path_buf(),
                source,
            })?;
        let mut capture = Self {
            path: path.to_path_buf(),
            writer,
            interfaces: HashMap::new(),
            packets: 0,
        };
        capture.flush()?;
        Ok(capture)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Write one chunk as a packet on its link's interface.
    pub fn write(&mut self, chunk: &Chunk) -> Result<(), CaptureError> {
        let interface_id = self.interface(&chunk.link)?;
        let flags = match chunk.dir {
            Direction::Tx => OUTBOUND,
            Direction::Rx => INBOUND,
        };
        let block = EnhancedPacketBlock {
            interface_id,
            timestamp: chunk.t.wall.duration_since(UNIX_EPOCH).unwrap_or_default(),
            original_len: chunk.bytes.len() as u32,
            data: chunk.bytes.as_ref().into(),
            options: vec![EnhancedPacketOption::Flags(flags)],
        };
        self.writer
            .write_pcapng_block(block)
            .map_err(|source| self.pcap_error(source))?;
        self.packets += 1;
        Ok(())
    }

    /// The interface of `link`, described on first use.
    fn interface(&mut self, link: &Arc<str>) -> Result<u32, CaptureError> {
        if let Some(&id) = self.interfaces.get(link) {
            return Ok(id);
        }
        let id = self.interfaces.len() as u32;
        let block = InterfaceDescriptionBlock {
            linktype: DataLink::USER0,
            snaplen: 0,
            options: vec![
                InterfaceDescriptionOption::IfName(link.to_string().into()),
                InterfaceDescriptionOption::IfDescription(
                    format!("labdeck link {link}: bytes as they crossed the link").into(),
                ),
                InterfaceDescriptionOption::IfTsResol(NANOSECONDS),
            ],
        };
        self.writer
            .write_pcapng_block(block)
            .map_err(|source| self.pcap_error(source))?;
        self.interfaces.insert(link.clone(), id);
        Ok(id)
    }

    /// Write what is buffered to the file.
    pub fn flush(&mut self) -> Result<(), CaptureError> {
        self.writer
            .get_mut()
            .flush()
            .map_err(|source| CaptureError::Io {
                path: self.path.clone(),
                source,
            })
    }

    fn pcap_error(&self, source: pcap_file::PcapError) -> CaptureError {
        CaptureError::Pcap {
            path: self.path.clone(),
            source,
        }
    }
}

/// Hands chunks to a capture's writer.
#[derive(Debug)]
struct ToWriter(mpsc::UnboundedSender<Chunk>);

impl Publish<Chunk> for ToWriter {
    fn publish(&self, chunk: Chunk) {
        let _ = self.0.send(chunk);
    }
}

/// With a linger, chunks are still written after a stop until the links
/// have been quiet this long (a runtime's managers and drivers stop on the
/// same token, and what they record on the way out belongs in the file).
const QUIET: Duration = Duration::from_millis(200);
/// How long a runtime's captures linger at most.
pub const SETTLE: Duration = Duration::from_secs(2);

/// Capture every chunk of `taps` from now on into `capture`: the returned
/// actor writes them off the links' path until `cancel` and the links
/// have gone quiet, then stops mirroring and writes what is still queued.
/// `packets` counts what was written; `linger` is how long at most the
/// writer waits for the links to go quiet after `cancel` (zero: not at all).
pub fn capture_taps(
    taps: &[TrafficTap],
    mut capture: PcapngCapture,
    packets: Arc<AtomicU64>,
    linger: Duration,
    cancel: CancellationToken,
) -> impl Future<Output = Result<(), CaptureError>> + Send + 'static {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let to_writer: Arc<ToWriter> = Arc::new(ToWriter(tx));
    let mirrored: Vec<(TrafficTap, u64)> = taps
        .iter()
        .map(|tap| (tap.clone(), tap.mirror(to_writer.clone())))
        .collect();
    drop(to_writer);
    async move {
        let written = write_until(&mut rx, &mut capture, &packets, linger, cancel).await;
        for (tap, id) in &mirrored {
            tap.unmirror(*id);
        }
        written?;
        // Unmirrored: the channel ends with what was already sent.
        while let Some(chunk) = rx.recv().await {
            capture.write(&chunk)?;
            packets.fetch_add(1, Ordering::Relaxed);
        }
        capture.flush()
    }
}

async fn write_until(
    rx: &mut mpsc::UnboundedReceiver<Chunk>,
    capture: &mut PcapngCapture,
    packets: &AtomicU64,
    linger: Duration,
    cancel: CancellationToken,
) -> Result<(), CaptureError> {
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            chunk = rx.recv() => match chunk {
                Some(chunk) => {
                    capture.write(&chunk)?;
                    packets.fetch_add(1, Ordering::Relaxed);
                    if rx.is_empty() {
                        capture.flush()?;
                    }
                }
                None => return Ok(()),
            },
        }
    }
    let deadline = tokio::time::Instant::now() + linger;
    while let Ok(Some(chunk)) =
        tokio::time::timeout_at(deadline.min(tokio::time::Instant::now() + QUIET), rx.recv()).await
    {
        capture.write(&chunk)?;
        packets.fetch_add(1, Ordering::Relaxed);
    }
    capture.flush()
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use pcap_file::pcapng::{Block, PcapNgReader};

    use super::*;
    use crate::time::Timestamp;

    #[test]
    fn packets_keep_link_direction_time_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pcapng");
        let mut capture = PcapngCapture::create(&path).unwrap();
        let t = Timestamp::now();
        for (link, dir, bytes) in [
            ("pump", Direction::Tx, &b"\x02\x16"[..]),
            ("pump", Direction::Rx, b"\x02\x16\x00"),
            ("meter", Direction::Tx, b"*IDN?\n"),
        ] {
            let chunk = Chunk {
                link: link.into(),
                epoch: 1,
                dir,
                t,
                bytes: Bytes::copy_from_slice(bytes),
            };
            capture.write(&chunk).unwrap();
        }
        assert_eq!(capture.packets(), 3);
        capture.flush().unwrap();
        drop(capture);

        let mut reader = PcapNgReader::new(File::open(&path).unwrap()).unwrap();
        let mut packets = Vec::new();
        while let Some(block) = reader.next_block() {
            if let Block::EnhancedPacket(p) = block.unwrap() {
                let flags = p.options.iter().find_map(|o| match o {
                    EnhancedPacketOption::Flags(f) => Some(*f),
                    _ => None,
                });
                packets.push((p.interface_id, flags, p.data.to_vec(), p.timestamp));
            }
        }
        let wall = t.wall.duration_since(UNIX_EPOCH).unwrap();
        assert_eq!(
            packets,
            vec![
                (0, Some(OUTBOUND), b"\x02\x16".to_vec(), wall),
                (0, Some(INBOUND), b"\x02\x16\x00".to_vec(), wall),
                (1, Some(OUTBOUND), b"*IDN?\n".to_vec(), wall),
            ]
        );
        assert_eq!(reader.interfaces().len(), 2);
    }
}
