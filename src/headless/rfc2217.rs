//! `labdeck rfc2217`: one serial port served over RFC 2217, its events
//! (clients, settings) on stdout.

use std::sync::Arc;

use labdeck_core::link::{Chunk, RingLimits, TrafficTap};
use labdeck_core::publish::{Discard, Publish};
use labdeck_core::rfc2217::{Rfc2217Event, Rfc2217Server, ServedPort};
use tokio_util::sync::CancellationToken;

use super::{HeadlessError, PARTING, StopSignals, out};

/// Options of `labdeck rfc2217`.
#[derive(Debug, Clone)]
pub struct Rfc2217Options {
    /// `HOST:PORT` to listen on.
    pub address: String,
    pub port: ServedPort,
    pub json: bool,
}

#[derive(Debug)]
struct Printer {
    json: bool,
}

impl Publish<Rfc2217Event> for Printer {
    fn publish(&self, event: Rfc2217Event) {
        if self.json {
            out::line(serde_json::to_string(&event).unwrap_or_default());
            return;
        }
        out::line(event.to_string());
    }
}

/// Serve until a signal. The first stdout line is the address.
pub async fn rfc2217(options: Rfc2217Options) -> Result<(), HeadlessError> {
    let mut signals = StopSignals::listen()?;
    let cancel = CancellationToken::new();
    let tap = TrafficTap::new(
        "rfc2217".into(),
        RingLimits::chunks(1),
        Arc::new(Discard) as Arc<dyn Publish<Chunk>>,
    );
    let path = options.port.path.describe();
    let server = Rfc2217Server::bind(
        &options.address,
        options.port,
        tap,
        Arc::new(Printer { json: options.json }),
        cancel.clone(),
    )
    .await
    .map_err(|e| HeadlessError::Listen(format!("{}: {e}", options.address)))?;
    let address = server
        .local_addr()
        .map_err(|e| HeadlessError::Listen(e.to_string()))?;
    out::line(address.to_string());
    if !address.ip().is_loopback() {
        eprintln!(
            "warning: RFC 2217 has no authentication; every host that reaches {address} can use the port"
        );
    }
    eprintln!("serving {path} over RFC 2217 on {address} (rfc2217://{address}); Ctrl-C to stop");
    let task = tokio::spawn(server.run());
    signals.recv().await;
    cancel.cancel();
    let _ = task.await;
    out::flush(PARTING);
    Ok(())
}
