//! The one-client TCP server that line-based simulators sit behind
//! (ts_tcpip's `OneClientServer` semantics, `specs/electrometer.md` §1).

mod one_client;

pub use one_client::{
    Encoding, Keepalive, OneClientServer, ServerConfig, ServerError, ServerEvent, ServerState,
};
