//! labdeck: a terminal console for laboratory instruments.
//!
//! The core (everything outside `tui`) knows no screen: actors for links,
//! connection managers, drivers and simulators publish state on `watch`
//! channels and events on a bounded broadcast bus, and take commands through
//! the [`runtime::Hub`].

pub mod bus;
pub mod config;
pub mod connection;
pub mod device;
pub mod headless;
pub mod link;
pub mod protocol;
pub mod reply;
pub mod runtime;
pub mod server;
pub mod sim;
pub mod tui;
