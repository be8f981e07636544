//! Shared pieces of the INDI benchmark: the servers under test, the load,
//! the counting and round-trip clients, the network namespace.

pub mod client;
pub mod indiserver;
pub mod labdeck;
pub mod netns;
pub mod stats;

use std::net::SocketAddr;

/// What the device offers per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// No updates: round trips only.
    Idle,
    Paced(u32),
    /// As fast as the source can produce.
    Flood,
}

impl Load {
    pub fn word(self) -> String {
        match self {
            Load::Idle => "idle".into(),
            Load::Paced(rate) if rate % 1000 == 0 => format!("{}k", rate / 1000),
            Load::Paced(rate) => rate.to_string(),
            Load::Flood => "unpaced".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// labdeck's INDI server with an embedded device.
    Labdeck,
    /// Debian's indiserver with the raw Python driver.
    Indiserver,
    /// Debian's indiserver with `indi_simulator_telescope`.
    IndiserverTelescope,
}

impl Server {
    pub fn word(self) -> &'static str {
        match self {
            Server::Labdeck => "labdeck",
            Server::Indiserver | Server::IndiserverTelescope => "indiserver",
        }
    }

    pub fn start(self, load: Load) -> Running {
        match self {
            Server::Labdeck => Running::Labdeck(labdeck::Running::start(load)),
            Server::Indiserver => {
                Running::Indiserver(indiserver::Running::start(indiserver::Driver::Flood(load)))
            }
            Server::IndiserverTelescope => {
                Running::Indiserver(indiserver::Running::start(indiserver::Driver::Telescope))
            }
        }
    }
}

/// A server under test; dropping it stops it.
pub enum Running {
    Labdeck(labdeck::Running),
    Indiserver(indiserver::Running),
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Running::Labdeck(r) => r.addr,
            Running::Indiserver(r) => r.addr,
        }
    }

    /// Resident memory of the server's process, MB.
    pub fn rss_mb(&self) -> f64 {
        stats::rss_mb(match self {
            Running::Labdeck(r) => r.pid(),
            Running::Indiserver(r) => r.pid(),
        })
    }

    /// Whether the server's log says it cut a client off for being too far
    /// behind.
    pub fn dropped_a_slow_client(&self) -> bool {
        match self {
            Running::Labdeck(r) => r.log().contains("dropped: too far behind"),
            Running::Indiserver(r) => r.log().contains("behind, shutting down"),
        }
    }
}

/// One `new` → `set` path: which vector member is written, with which
/// other members sent alongside (C drivers refuse partial vectors).
pub struct RoundTripPath {
    pub label: &'static str,
    pub server: Server,
    pub device: &'static str,
    pub vector: &'static str,
    pub member: &'static str,
    pub others: &'static [(&'static str, &'static str)],
    /// Values written are `first`, `first + 1`, … (400 apart at most).
    pub first: f64,
}
