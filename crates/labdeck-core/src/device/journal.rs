//! Where task states are kept beyond the process: a device reports each
//! queued task and each change of state to its journal (the store), so
//! that the next start knows what ran when labdeck stopped.

use super::task::TaskSnapshot;

/// Keeps every task's state, durably.
pub trait TaskJournal: Send + Sync + std::fmt::Debug {
    /// `task` of `device` was queued or changed state.
    fn task(&self, device: &str, task: &TaskSnapshot);
}
