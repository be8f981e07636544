//! An open link as its consumer (a driver) sees it: received chunks, a
//! writer, a way to raise alarms, and a token that says when the manager
//! closed it.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::link::{ByteStream, Chunk, Direction, LinkError, TrafficTap};

/// Largest single read; chunks are never split into bytes.
const READ_SIZE: usize = 4096;

/// Received chunks a consumer may leave unread before the reader waits.
pub(super) const RX_QUEUE: usize = 256;

/// The link broke under its session (a read or write failed, or the
/// consumer raised an alarm); the manager decides what follows.
#[derive(Debug)]
pub(super) struct LinkLost {
    pub epoch: u64,
    pub error: LinkError,
}

/// A connected link, handed to the consumer by the connection manager.
#[derive(Debug)]
pub struct Session {
    pub epoch: u64,
    pub endpoint: String,
    /// Chunks as they arrive (also recorded by the traffic tap).
    pub rx: mpsc::Receiver<Chunk>,
    pub writer: LinkWriter,
    /// Cancelled when the manager closes the link.
    pub closed: CancellationToken,
}

impl Session {
    /// Report trouble on this link (timeout, bad frame); the manager moves
    /// to `recovering`. Alarms of a closed session are ignored.
    pub fn raise_alarm(&self, reason: impl Into<String>) {
        self.writer.report(LinkError::Alarm(reason.into()));
    }
}

/// Writes to the link; cloneable. Every write is recorded as one TX chunk
/// at the moment it is handed to the OS, and goes out in one write call.
#[derive(Debug, Clone)]
pub struct LinkWriter {
    inner: Arc<WriterInner>,
}

#[derive(Debug)]
struct WriterInner {
    half: Mutex<Option<WriteHalf<Box<dyn ByteStream>>>>,
    tap: TrafficTap,
    epoch: u64,
    losses: mpsc::Sender<LinkLost>,
}

impl LinkWriter {
    pub async fn write(&self, bytes: &[u8]) -> Result<(), LinkError> {
        let mut guard = self.inner.half.lock().await;
        let Some(half) = guard.as_mut() else {
            return Err(LinkError::Io("link is closed".into()));
        };
        self.inner.tap.record(
            self.inner.epoch,
            Direction::Tx,
            Bytes::copy_from_slice(bytes),
        );
        // No flush: on a serial port it is tcdrain(), which would block the
        // runtime until the bytes left the UART.
        if let Err(e) = half.write_all(bytes).await {
            let error = LinkError::from_io(&e);
            self.report(error.clone());
            return Err(error);
        }
        Ok(())
    }

    fn report(&self, error: LinkError) {
        let _ = self.inner.losses.try_send(LinkLost {
            epoch: self.inner.epoch,
            error,
        });
    }

    /// Close the write half (the read half closes with the reader task).
    pub(super) async fn close(&self) {
        if let Some(mut half) = self.inner.half.lock().await.take() {
            let _ = half.shutdown().await;
        }
    }
}

/// Split a transport into a reader task and a writer; returns the session
/// for the consumer and the reader task. Must run inside the runtime.
pub(super) fn start(
    stream: Box<dyn ByteStream>,
    endpoint: String,
    epoch: u64,
    tap: TrafficTap,
    losses: mpsc::Sender<LinkLost>,
    closed: CancellationToken,
) -> (Session, JoinHandle<()>) {
    let (read_half, write_half) = tokio::io::split(stream);
    let (rx_tx, rx) = mpsc::channel(RX_QUEUE);
    let writer = LinkWriter {
        inner: Arc::new(WriterInner {
            half: Mutex::new(Some(write_half)),
            tap: tap.clone(),
            epoch,
            losses: losses.clone(),
        }),
    };
    let reader = tokio::spawn(read_loop(
        read_half,
        tap,
        epoch,
        rx_tx,
        losses,
        closed.clone(),
    ));
    let session = Session {
        epoch,
        endpoint,
        rx,
        writer,
        closed,
    };
    (session, reader)
}

async fn read_loop(
    mut reader: ReadHalf<Box<dyn ByteStream>>,
    tap: TrafficTap,
    epoch: u64,
    consumer: mpsc::Sender<Chunk>,
    losses: mpsc::Sender<LinkLost>,
    closed: CancellationToken,
) {
    let mut buf = BytesMut::with_capacity(READ_SIZE);
    let error = loop {
        let read = tokio::select! {
            () = closed.cancelled() => return,
            read = reader.read_buf(&mut buf) => read,
        };
        match read {
            Ok(0) => break LinkError::Eof,
            Ok(_) => {
                // A chunk of its own size: a split of the read buffer would
                // keep the whole buffer alive wherever the chunk is kept.
                let chunk = tap.record(epoch, Direction::Rx, Bytes::copy_from_slice(&buf));
                buf.clear();
                tokio::select! {
                    () = closed.cancelled() => return,
                    // A consumer that went away leaves the tap as the only reader.
                    _ = consumer.send(chunk) => {}
                }
                // The consumer takes the chunk before this task reads again:
                // the next read (usually EAGAIN, a system call) is then off
                // the round trip instead of in front of it.
                tokio::task::yield_now().await;
            }
            Err(e) => break LinkError::from_io(&e),
        }
    };
    let _ = losses.send(LinkLost { epoch, error }).await;
}
