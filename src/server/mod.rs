//! Servers: the one-client TCP server that line-based simulators sit
//! behind (ts_tcpip's `OneClientServer` semantics, `specs/electrometer.md`
//! §1), and the INDI server that shows labdeck's devices to INDI clients.

pub mod indi;
mod one_client;

pub use one_client::{
    Encoding, Keepalive, OneClientServer, ServerConfig, ServerError, ServerEvent, ServerState,
};
