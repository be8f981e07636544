//! stdout of the headless front ends. Lines go through a bounded queue to
//! a thread of their own, so a reader that stops reading never blocks the
//! runtime: lines that do not fit are dropped and counted, and the count
//! is printed once the reader catches up. A stdout that is closed (`| head
//! -1`) ends printing quietly; the process goes on with its work.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Lines waiting for stdout at most.
const QUEUE: usize = 4096;

enum Item {
    Line(String),
    /// Everything before it is written (or cannot be): say so.
    Flush(SyncSender<()>),
}

struct Out {
    tx: SyncSender<Item>,
    dropped: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
}

static OUT: OnceLock<Out> = OnceLock::new();

fn out() -> &'static Out {
    OUT.get_or_init(|| {
        let (tx, rx) = sync_channel(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let (d, c) = (dropped.clone(), closed.clone());
        std::thread::Builder::new()
            .name("labdeck-stdout".into())
            .spawn(move || write_loop(&rx, &d, &c))
            .expect("a thread for stdout");
        Out {
            tx,
            dropped,
            closed,
        }
    })
}

/// Print a line on stdout, never waiting for the reader.
pub fn line(text: impl Into<String>) {
    let out = out();
    if out.closed.load(Ordering::Relaxed) {
        return;
    }
    match out.tx.try_send(Item::Line(text.into())) {
        Ok(()) | Err(TrySendError::Disconnected(_)) => {}
        Err(TrySendError::Full(_)) => {
            out.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Wait (at most `limit`) until what is queued is written.
pub fn flush(limit: Duration) {
    let deadline = Instant::now() + limit;
    let (done, written) = sync_channel(1);
    let mut item = Item::Flush(done);
    // The queue may be full of lines nobody reads: try until the limit.
    loop {
        match out().tx.try_send(item) {
            Ok(()) => break,
            Err(TrySendError::Disconnected(_)) => return,
            Err(TrySendError::Full(back)) if Instant::now() < deadline => {
                item = back;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(TrySendError::Full(_)) => return,
        }
    }
    let _ = written.recv_timeout(deadline.saturating_duration_since(Instant::now()));
}

/// Write what comes, a burst at a time, flushing after each burst.
fn write_loop(rx: &Receiver<Item>, dropped: &AtomicU64, closed: &AtomicBool) {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut written = Ok(());
        let mut flushed = Vec::new();
        while let Some(item) = next.take() {
            match item {
                Item::Line(text) => {
                    written = written.and_then(|()| writeln!(out, "{text}"));
                }
                Item::Flush(done) => flushed.push(done),
            }
            next = rx.try_recv().ok();
        }
        let lost = dropped.swap(0, Ordering::Relaxed);
        if lost > 0 {
            written = written.and_then(|()| {
                writeln!(
                    out,
                    "lagged: {lost} lines dropped (stdout not read fast enough)"
                )
            });
        }
        let ok = written.and_then(|()| out.flush()).is_ok();
        for done in flushed {
            let _ = done.try_send(());
        }
        if !ok {
            // Closed (or broken): nobody is listening any more.
            closed.store(true, Ordering::Relaxed);
            return;
        }
    }
}
