//! Bytes sent by hand on a device's link: written as they are, between
//! the driver's own exchanges (the device actor serialises them), and
//! whatever answers gathered until the line goes quiet. A driver that
//! follows its link's stream (INDI) reads the answer itself.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use super::DeviceOutcome;
use crate::connection::Session;
use crate::error::HubError;
use crate::link::hex_string;

/// After the first answering bytes, this much silence ends the answer.
const QUIET: Duration = Duration::from_millis(60);

/// Write `bytes` and gather the answer for up to `wait`.
pub(super) async fn send(
    device: &str,
    session: &mut Session,
    bytes: &[u8],
    wait: Duration,
    following: bool,
) -> Result<DeviceOutcome, HubError> {
    // What is buffered belongs to an earlier, settled exchange.
    if !following {
        while session.rx.try_recv().is_ok() {}
    }
    let started = Instant::now();
    session
        .writer
        .write(bytes)
        .await
        .map_err(|e| HubError::Exchange {
            device: device.to_string(),
            reason: format!("sending: {e}"),
        })?;
    let sent = hex_string(bytes);
    if following {
        return Ok(DeviceOutcome::Sent {
            sent,
            reply: None,
            round_trip_ms: None,
            following: true,
        });
    }
    let deadline = started + wait;
    let mut reply = Vec::new();
    let mut first = None;
    loop {
        let until = if reply.is_empty() {
            deadline
        } else {
            (Instant::now() + QUIET).min(deadline)
        };
        tokio::select! {
            chunk = session.rx.recv() => match chunk {
                Some(chunk) => {
                    first.get_or_insert_with(|| started.elapsed());
                    reply.extend_from_slice(&chunk.bytes);
                }
                None => break,
            },
            () = sleep_until(until) => break,
        }
    }
    Ok(DeviceOutcome::Sent {
        sent,
        reply: (!reply.is_empty()).then(|| hex_string(&reply)),
        round_trip_ms: first.map(|d| d.as_secs_f64() * 1e3),
        following: false,
    })
}
