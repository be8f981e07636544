//! One connection manager state machine per link, with recovery
//! (`specs/connection-manager.md`).

mod backoff;
mod machine;
mod manager;
mod session;

pub use backoff::{Jitter, RetryPolicy};
pub use machine::{Action, Effect, Input, Machine, State, StateKind, Step};
pub use manager::{
    ConnCommand, ConnectionEvent, ConnectionHandle, ConnectionManager, ConnectionSnapshot,
    Counters, HISTORY, LinkParts, TransitionRecord,
};
pub use session::{LinkWriter, Session};
