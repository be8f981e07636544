//! Serial ports over TCP by RFC 2217 (telnet COM-PORT-OPTION): a server
//! that exposes one of labdeck's ports to `rfc2217://` clients (pyserial,
//! ser2net's clients). The wire format is `labdeck_protocol::rfc2217`.

mod client;
mod server;

use serde::Serialize;

use crate::link::{ConnectError, SerialSettings};

pub use client::{ANSWER_WAIT, Rfc2217Opener, Rfc2217Stream};
pub use server::{Rfc2217Server, ServedPort};

/// What happened at an RFC 2217 server, besides the traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Rfc2217Event {
    ClientConnected {
        peer: String,
    },
    /// Another client while one is served.
    ClientRefused {
        peer: String,
        reason: String,
    },
    ClientGone {
        peer: String,
        reason: String,
    },
    /// The port could not be opened for a client (it was closed).
    DeviceFailed {
        error: ConnectError,
    },
    /// A client changed the port's settings; `error` when the port refused.
    Settings {
        settings: SerialSettings,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A COM-PORT-OPTION command that could not be parsed (ignored).
    BadCommand {
        error: String,
    },
}

impl std::fmt::Display for Rfc2217Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ClientConnected { peer } => write!(f, "client {peer} connected"),
            Self::ClientRefused { peer, reason } => write!(f, "client {peer} refused: {reason}"),
            Self::ClientGone { peer, reason } => write!(f, "client {peer} gone: {reason}"),
            Self::DeviceFailed { error } => write!(f, "cannot open the port: {error}"),
            Self::Settings {
                settings,
                error: None,
            } => write!(f, "client set {}", settings.summary()),
            Self::Settings {
                settings,
                error: Some(e),
            } => write!(
                f,
                "client's settings refused by the port ({e}); it has {}",
                settings.summary()
            ),
            Self::BadCommand { error } => write!(f, "ignored: {error}"),
        }
    }
}
