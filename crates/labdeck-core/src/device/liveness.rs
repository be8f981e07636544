//! Whether a device answers, apart from its link: a port can be open
//! while nothing at the other end replies, and a console must not show
//! such a device as up.

use serde::{Deserialize, Serialize};

/// A device's answer state. Its link's state is the connection
/// manager's; this is what the device itself did with the requests sent
/// to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Liveness {
    /// Its link is not open: nothing can be asked.
    #[default]
    LinkDown,
    /// The link is open, but the device has not answered since it
    /// opened, or its last request went unanswered or was garbled.
    NotResponding,
    /// Its last request was answered.
    Responding,
}

impl Liveness {
    /// From what a driver knows: whether it holds an open session, and
    /// whether the device answered its last request in that session.
    pub fn of(link_open: bool, answered: bool) -> Self {
        match (link_open, answered) {
            (false, _) => Self::LinkDown,
            (true, false) => Self::NotResponding,
            (true, true) => Self::Responding,
        }
    }

    pub fn is_responding(self) -> bool {
        self == Self::Responding
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinkDown => "link down",
            Self::NotResponding => "not responding",
            Self::Responding => "responding",
        }
    }
}

impl std::fmt::Display for Liveness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_port_is_not_an_answer() {
        assert_eq!(Liveness::of(false, false), Liveness::LinkDown);
        // A stale "answered" from a session that is gone does not count.
        assert_eq!(Liveness::of(false, true), Liveness::LinkDown);
        assert_eq!(Liveness::of(true, false), Liveness::NotResponding);
        assert_eq!(Liveness::of(true, true), Liveness::Responding);
        assert!(!Liveness::NotResponding.is_responding());
    }
}
