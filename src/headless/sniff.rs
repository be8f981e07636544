//! `labdeck sniff`: a sniffer alone, its frames on stdout (readable or
//! JSON lines) and, when asked, every chunk in a pcapng file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use labdeck_core::capture::{CaptureError, PcapngCapture};
use labdeck_core::link::{Chunk, Direction, RingLimits, TrafficTap};
use labdeck_core::publish::Publish;
use labdeck_core::sniff::{Decode, Decoder, Frame, FrameKind, SniffDevice, SniffEvent, Sniffer};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{HeadlessError, PARTING, StopSignals, out};
use crate::format;

/// How often frames are printed and the capture flushed.
const PRINT_EVERY: Duration = Duration::from_millis(10);

/// Options of `labdeck sniff`.
#[derive(Debug, Clone)]
pub struct SniffOptions {
    pub device: SniffDevice,
    /// A stable symlink to the program's pty.
    pub link: Option<PathBuf>,
    pub decode: Decode,
    pub capture: Option<PathBuf>,
    pub json: bool,
}

/// Run a sniffer until a signal. The first stdout line is the path the
/// other program opens.
pub async fn sniff(options: SniffOptions) -> Result<(), HeadlessError> {
    let mut signals = StopSignals::listen()?;
    let name: Arc<str> = "sniff".into();
    // Chunks and events on one channel: printed in the order they happened.
    let (timeline, mut timeline_rx) = mpsc::unbounded_channel::<Item>();
    let timeline = Arc::new(Timeline(timeline));
    // The printer keeps the record; the tap's own ring only needs the newest.
    let tap = TrafficTap::new(name, RingLimits::chunks(1), timeline.clone());
    let cancel = CancellationToken::new();
    let endpoint = options.device.endpoint();
    let sniffer = Sniffer::create(
        options.device,
        options.link.as_deref(),
        tap,
        timeline,
        cancel.clone(),
    )
    .map_err(HeadlessError::Sniffer)?;
    let mut capture = options
        .capture
        .as_deref()
        .map(PcapngCapture::create)
        .transpose()?;
    let path = sniffer.client_path().to_path_buf();
    out::line(path.display().to_string());
    eprintln!(
        "sniffing {endpoint} for the program that opens {}; Ctrl-C to stop",
        path.display()
    );
    let relay = tokio::spawn(sniffer.run());
    let mut printer = Printer {
        decoder: Decoder::new(options.decode),
        json: options.json,
    };
    // Batches on a tick rather than a wake-up per chunk: the relay's send
    // then wakes nobody, which keeps the printer off the relayed bytes' path.
    let mut tick = tokio::time::interval(PRINT_EVERY);
    loop {
        tokio::select! {
            () = signals.recv() => break,
            _ = tick.tick() => printer.drain(&mut timeline_rx, &mut capture),
        }
    }
    cancel.cancel();
    let _ = relay.await;
    // What the relay recorded before it stopped is printed and captured.
    printer.drain(&mut timeline_rx, &mut capture);
    if let Some(capture) = &capture {
        eprintln!(
            "{} packet(s) in {}",
            capture.packets(),
            capture.path().display()
        );
    }
    out::flush(PARTING);
    Ok(())
}

/// What the sniffer reports, in order.
#[derive(Debug)]
enum Item {
    Chunk(Chunk),
    Event(SniffEvent),
}

#[derive(Debug)]
struct Timeline(mpsc::UnboundedSender<Item>);

impl Publish<Chunk> for Timeline {
    fn publish(&self, chunk: Chunk) {
        let _ = self.0.send(Item::Chunk(chunk));
    }
}

impl Publish<SniffEvent> for Timeline {
    fn publish(&self, event: SniffEvent) {
        let _ = self.0.send(Item::Event(event));
    }
}

struct Printer {
    decoder: Decoder,
    json: bool,
}

impl Printer {
    /// Print and capture everything waiting, then flush the capture.
    fn drain(
        &mut self,
        rx: &mut mpsc::UnboundedReceiver<Item>,
        capture: &mut Option<PcapngCapture>,
    ) {
        while let Ok(item) = rx.try_recv() {
            self.item(item, capture);
        }
        if let Some(file) = capture
            && let Err(e) = file.flush()
        {
            eprintln!("error: {e}; capture stopped");
            *capture = None;
        }
    }

    fn item(&mut self, item: Item, capture: &mut Option<PcapngCapture>) {
        match item {
            Item::Chunk(chunk) => self.chunk(&chunk, capture),
            Item::Event(event) => self.event(&event),
        }
    }

    fn chunk(&mut self, chunk: &Chunk, capture: &mut Option<PcapngCapture>) {
        if let Some(file) = capture
            && let Err(e) = file.write(chunk)
        {
            eprintln!("error: {e}; capture stopped");
            *capture = None;
        }
        for frame in self.decoder.push(chunk) {
            out::line(if self.json {
                frame_json(&frame)
            } else {
                frame_text(&frame)
            });
        }
    }

    fn event(&self, event: &SniffEvent) {
        if self.json {
            out::line(serde_json::to_string(event).unwrap_or_default());
            return;
        }
        out::line(format!("-- {event}"));
    }
}

fn frame_json(frame: &Frame) -> String {
    let mut value = serde_json::to_value(frame).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("event".into(), "frame".into());
    }
    value.to_string()
}

/// `12:00:01.250 #7 program→device  STW … read P3[0]`, a reply with its
/// request and round trip.
fn frame_text(frame: &Frame) -> String {
    let arrow = match frame.dir {
        Direction::Tx => "program→device",
        Direction::Rx => "device→program",
    };
    let what = match frame.kind {
        FrameKind::Telegram => crate::tui::uss_lines(&frame.bytes, frame.dir).join("; "),
        FrameKind::Invalid => format!(
            "invalid ({}): {}",
            frame.reason.unwrap_or("not a frame"),
            labdeck_core::link::hex_string(&frame.bytes)
        ),
        FrameKind::Line => crate::tui::sanitize::named(&frame.bytes),
        FrameKind::Chunk => labdeck_core::link::hex_string(&frame.bytes),
    };
    let reply = match (frame.reply_to, frame.latency) {
        (Some(request), Some(latency)) => format!(
            "  (reply to #{request}, {:.2} ms)",
            latency.as_secs_f64() * 1e3
        ),
        _ => String::new(),
    };
    format!(
        "{} #{} {arrow}  {what}{reply}",
        format::clock(&frame.t),
        frame.seq
    )
}

impl From<CaptureError> for HeadlessError {
    fn from(e: CaptureError) -> Self {
        Self::Capture(e.to_string())
    }
}
