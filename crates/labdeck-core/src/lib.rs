//! labdeck's core: links, connection managers, drivers, simulators,
//! tasks and the runtime, behind one door — the [`hub::Hub`]. It knows no
//! screen: front ends (the console, `serve`, the INDI server) are clients
//! of the Hub, and everything that crosses it is typed and `serde`.
//!
//! Layers, bottom up; an import never points up (`tests/layering.rs`
//! checks it): `time`, `publish`, `error` → `alarm` → `link` →
//! `connection`, `server`, `sniff`, `capture`, `rfc2217` → `sim`, `device` → `config` → `bus` → `hub` → `timeline` →
//! `runtime`. Each layer reports through a
//! [`publish::Publisher`] of its own event type; the bus at the top turns
//! them all into [`bus::Event`]s.

use labdeck_protocol as protocol;

pub mod alarm;
mod audit;
pub mod bus;
pub mod capture;
pub mod config;
pub mod connection;
pub mod device;
pub mod error;
pub mod hub;
pub mod jobs;
pub mod link;
pub mod publish;
mod request;
pub mod rfc2217;
pub mod runtime;
pub mod server;
pub mod sim;
pub mod sniff;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod timeline;
