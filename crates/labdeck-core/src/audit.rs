//! The audit trail: every request that changes the lab, with who asked
//! (which front end) and how it ended, in the log and as an event.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::HubError;
use crate::request::Request;
use crate::time::Timestamp;

/// Which front end asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "front_end", rename_all = "kebab-case")]
pub enum Origin {
    /// The terminal console.
    Console,
    /// `labdeck serve`'s stdin, or a method file it loaded.
    Serve,
    /// A client of the INDI server, by its address.
    Indi { peer: String },
    /// A program that embeds the Hub.
    Embedded,
    /// A client of `labdeck serve --listen`: an attached console or `ctl`,
    /// by who it is (kind, user, pid, terminal).
    Attached { client: String },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Console => f.write_str("console"),
            Self::Serve => f.write_str("serve"),
            Self::Indi { peer } => write!(f, "INDI client {peer}"),
            Self::Embedded => f.write_str("embedded"),
            Self::Attached { client } => write!(f, "attached {client}"),
        }
    }
}

/// One operator action, as the trail keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub t: Timestamp,
    pub origin: Origin,
    pub request: Request,
    /// Why it was refused or failed; `None` when it was carried out.
    pub error: Option<HubError>,
}

impl AuditRecord {
    pub fn new(origin: Origin, request: Request, error: Option<HubError>) -> Self {
        Self {
            t: Timestamp::now(),
            origin,
            request,
            error,
        }
    }
}

impl fmt::Display for AuditRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let request = serde_json::to_string(&self.request).unwrap_or_default();
        match &self.error {
            None => write!(f, "{}: {request}: done", self.origin),
            Some(e) => write!(f, "{}: {request}: refused: {e}", self.origin),
        }
    }
}

impl Request {
    /// Whether it changes the lab (a write, an action, a fault, a task):
    /// what the audit trail keeps and a read-only front end refuses.
    pub fn changes_the_lab(&self) -> bool {
        match self {
            Self::Status
            | Self::Faults { .. }
            | Self::Get { .. }
            | Self::Properties { .. }
            | Self::Tasks { .. }
            | Self::Jobs
            | Self::DeviceStatus { .. }
            | Self::Measure { .. }
            | Self::Macros
            // Writes a file, not to the lab.
            | Self::Record { .. }
            | Self::Capture { .. } => false,
            // Actions that only read.
            Self::Action { action, .. } => !matches!(action.as_str(), "read" | "poll"),
            Self::Fault { .. }
            | Self::Power { .. }
            | Self::Connection { .. }
            | Self::Set { .. }
            | Self::Task(_)
            | Self::Cancel { .. }
            | Self::Load { .. }
            | Self::Safe { .. }
            | Self::EmergencyStop { .. }
            | Self::Queue { .. }
            | Self::Send { .. }
            | Self::Macro { .. } => true,
        }
    }

    /// Whether a read-only front end still may send it: an emergency
    /// stop or an abort is never refused.
    pub fn allowed_read_only(&self) -> bool {
        !self.changes_the_lab()
            || matches!(
                self,
                Self::EmergencyStop { .. }
                    | Self::Queue {
                        control: crate::device::QueueControl::Abort
                    }
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_audited_and_estop_is_never_refused() {
        assert!(!Request::Status.changes_the_lab());
        let power = Request::Power {
            device: "pump1".into(),
            on: false,
            force: false,
        };
        assert!(power.changes_the_lab() && !power.allowed_read_only());
        let estop = Request::EmergencyStop {
            device: "pump1".into(),
        };
        assert!(estop.changes_the_lab() && estop.allowed_read_only());
        let read = Request::Action {
            device: "pump1".into(),
            action: "read".into(),
            args: vec!["24".into()],
        };
        assert!(!read.changes_the_lab());
    }
}
