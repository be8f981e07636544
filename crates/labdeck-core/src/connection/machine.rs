//! The connection state machine (`specs/connection-manager.md` §2.2–§2.4):
//! pure, table-driven and non-recursive. `Machine::handle` maps a state and
//! an input to the next state plus the actions the actor must run; results
//! of those actions come back later as new inputs.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::backoff::{Jitter, RetryPolicy};
use crate::link::{ConnectError, LinkError};

/// The state names, for display and tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StateKind {
    Ready,
    Connecting,
    Connected,
    Recovering,
    Disconnected,
    TornDown,
}

impl StateKind {
    pub const ALL: [Self; 6] = [
        Self::Ready,
        Self::Connecting,
        Self::Connected,
        Self::Recovering,
        Self::Disconnected,
        Self::TornDown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Recovering => "recovering",
            Self::Disconnected => "disconnected",
            Self::TornDown => "torn-down",
        }
    }

    /// The user commands that do something from this state (the others are
    /// accepted as no-ops).
    pub fn meaningful_commands(self) -> &'static [&'static str] {
        match self {
            Self::Ready => &["connect", "teardown"],
            Self::Connecting => &["disconnect", "teardown"],
            Self::Connected => &["disconnect", "teardown"],
            Self::Recovering => &["retry", "disconnect", "teardown"],
            Self::Disconnected => &["connect", "teardown"],
            Self::TornDown => &[],
        }
    }
}

impl std::fmt::Display for StateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state with its data.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    Ready,
    Connecting {
        attempt: u32,
        epoch: u64,
    },
    Connected {
        since: Instant,
        epoch: u64,
        /// Failed attempts before this success; reset once the link is stable.
        attempt: u32,
    },
    Recovering {
        attempt: u32,
        epoch: u64,
        retry_at: Instant,
        last_error: String,
    },
    Disconnected {
        last_error: Option<String>,
    },
    TornDown,
}

impl State {
    pub fn kind(&self) -> StateKind {
        match self {
            Self::Ready => StateKind::Ready,
            Self::Connecting { .. } => StateKind::Connecting,
            Self::Connected { .. } => StateKind::Connected,
            Self::Recovering { .. } => StateKind::Recovering,
            Self::Disconnected { .. } => StateKind::Disconnected,
            Self::TornDown => StateKind::TornDown,
        }
    }

    fn epoch(&self) -> Option<u64> {
        match self {
            Self::Connecting { epoch, .. }
            | Self::Connected { epoch, .. }
            | Self::Recovering { epoch, .. } => Some(*epoch),
            _ => None,
        }
    }
}

/// Everything that can happen to a connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    // User commands.
    Connect,
    Disconnect,
    Teardown,
    RetryNow,
    // Results of actions, tagged with the epoch of the attempt they belong to.
    Opened { epoch: u64, endpoint: String },
    OpenFailed { epoch: u64, error: ConnectError },
    LinkLost { epoch: u64, error: LinkError },
    RetryDue { epoch: u64 },
    Stable { epoch: u64 },
}

impl Input {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::Disconnect => "disconnect",
            Self::Teardown => "teardown",
            Self::RetryNow => "retry",
            Self::Opened { .. } => "opened",
            Self::OpenFailed { .. } => "open-failed",
            Self::LinkLost { .. } => "link-lost",
            Self::RetryDue { .. } => "retry-due",
            Self::Stable { .. } => "stable",
        }
    }

    fn epoch(&self) -> Option<u64> {
        match self {
            Self::Opened { epoch, .. }
            | Self::OpenFailed { epoch, .. }
            | Self::LinkLost { epoch, .. }
            | Self::RetryDue { epoch }
            | Self::Stable { epoch } => Some(*epoch),
            _ => None,
        }
    }
}

/// What the actor must do after a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start an open attempt tagged with this epoch.
    StartOpen { epoch: u64 },
    /// Abandon the attempt in flight (close the transport if it opens anyway).
    AbortOpen,
    /// Install the transport that just opened: reader, writer, session.
    StartSession { epoch: u64 },
    /// Stop the reader and writer and close the transport.
    CloseSession,
}

/// How an input was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The state changed.
    Changed,
    /// Data inside the state changed (e.g. the link became stable).
    Updated,
    /// A valid command that has nothing to do here.
    NoOp,
    /// An internal event from an older epoch or for another state; dropped.
    Stale,
    /// The connection is torn down; nothing is possible any more.
    Rejected,
}

/// The outcome of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub from: StateKind,
    pub to: StateKind,
    pub effect: Effect,
    pub actions: Vec<Action>,
    pub reason: String,
}

/// The state machine with its counters, policy and jitter source.
#[derive(Debug, Clone)]
pub struct Machine {
    state: State,
    epoch: u64,
    policy: RetryPolicy,
    jitter: Jitter,
}

impl Machine {
    pub fn new(policy: RetryPolicy, jitter: Jitter) -> Self {
        Self {
            state: State::Ready,
            epoch: 0,
            policy,
            jitter,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// When the retry timer fires, if it is armed.
    pub fn retry_due(&self) -> Option<(u64, Instant)> {
        match self.state {
            State::Recovering {
                epoch, retry_at, ..
            } => Some((epoch, retry_at)),
            _ => None,
        }
    }

    /// When the link counts as stable, if that is still pending.
    pub fn stable_due(&self) -> Option<(u64, Instant)> {
        match self.state {
            State::Connected {
                since,
                epoch,
                attempt,
            } if attempt > 0 => Some((epoch, since + self.policy.stable_after)),
            _ => None,
        }
    }

    /// Feed one input.
    pub fn handle(&mut self, input: Input, now: Instant) -> Step {
        use Input as I;
        use State as S;
        let from = self.state.kind();
        let name = input.name();
        if from == StateKind::TornDown {
            return self.step(from, Effect::Rejected, vec![], "connection is torn down");
        }
        if let Some(epoch) = input.epoch()
            && self.state.epoch() != Some(epoch)
        {
            return self.step(
                from,
                Effect::Stale,
                vec![],
                format!("stale {name} (epoch {epoch})"),
            );
        }
        match (self.state.clone(), input) {
            (_, I::Teardown) => {
                let actions = match from {
                    StateKind::Connecting => vec![Action::AbortOpen],
                    StateKind::Connected => vec![Action::CloseSession],
                    _ => vec![],
                };
                self.goto(S::TornDown, from, actions, "teardown requested")
            }
            (S::Ready | S::Disconnected { .. }, I::Connect) => {
                let reason = "connect requested";
                self.start_attempt(1, from, vec![], reason.into())
            }
            (S::Ready, I::Disconnect | I::RetryNow) => self.noop(from, name),
            (S::Disconnected { .. }, I::Disconnect | I::RetryNow) => self.noop(from, name),

            (S::Connecting { .. }, I::Connect | I::RetryNow) => self.noop(from, name),
            (S::Connecting { .. }, I::Disconnect) => self.goto(
                S::Disconnected { last_error: None },
                from,
                vec![Action::AbortOpen],
                "disconnect requested",
            ),
            (S::Connecting { attempt, epoch }, I::Opened { endpoint, .. }) => {
                // Without a stability window the counter resets at once.
                let attempt = if self.policy.stable_after.is_zero() {
                    0
                } else {
                    attempt - 1
                };
                self.goto(
                    S::Connected {
                        since: now,
                        epoch,
                        attempt,
                    },
                    from,
                    vec![Action::StartSession { epoch }],
                    format!("opened {endpoint}"),
                )
            }
            (S::Connecting { attempt, epoch }, I::OpenFailed { error, .. }) => {
                self.fail(attempt, epoch, from, format!("open failed: {error}"), now)
            }

            (S::Connected { .. }, I::Connect | I::RetryNow) => self.noop(from, name),
            (S::Connected { .. }, I::Disconnect) => self.goto(
                S::Disconnected { last_error: None },
                from,
                vec![Action::CloseSession],
                "disconnect requested",
            ),
            (S::Connected { attempt, epoch, .. }, I::LinkLost { error, .. }) => {
                let mut step =
                    self.fail(attempt + 1, epoch, from, format!("link lost: {error}"), now);
                step.actions.insert(0, Action::CloseSession);
                step
            }
            (
                S::Connected {
                    since,
                    epoch,
                    attempt: _,
                },
                I::Stable { .. },
            ) => {
                self.state = S::Connected {
                    since,
                    epoch,
                    attempt: 0,
                };
                let secs = self.policy.stable_after.as_secs_f64();
                self.step(
                    from,
                    Effect::Updated,
                    vec![],
                    format!("link stable for {secs} s"),
                )
            }

            (S::Recovering { attempt, .. }, I::RetryDue { .. }) => {
                self.start_attempt(attempt + 1, from, vec![], "retry due".into())
            }
            (S::Recovering { attempt, .. }, I::Connect | I::RetryNow) => {
                self.start_attempt(attempt + 1, from, vec![], "retry requested".into())
            }
            (S::Recovering { last_error, .. }, I::Disconnect) => self.goto(
                S::Disconnected {
                    last_error: Some(last_error),
                },
                from,
                vec![],
                "disconnect requested",
            ),

            // Internal events that do not belong to the current state.
            (_, input) => {
                let name = input.name();
                self.step(
                    from,
                    Effect::Stale,
                    vec![],
                    format!("{name} ignored in {from}"),
                )
            }
        }
    }

    fn start_attempt(
        &mut self,
        attempt: u32,
        from: StateKind,
        mut actions: Vec<Action>,
        reason: String,
    ) -> Step {
        self.epoch += 1;
        let epoch = self.epoch;
        actions.push(Action::StartOpen { epoch });
        let reason = if attempt > 1 {
            format!("{reason} (attempt {attempt})")
        } else {
            reason
        };
        self.goto(S::Connecting { attempt, epoch }, from, actions, reason)
    }

    /// A failed attempt or a lost link: back off, or give up.
    fn fail(
        &mut self,
        attempt: u32,
        epoch: u64,
        from: StateKind,
        reason: String,
        now: Instant,
    ) -> Step {
        if self.policy.gives_up_after(attempt) {
            let why = if self.policy.auto_reconnect {
                format!("{reason}; giving up after {attempt} attempts")
            } else {
                reason.clone()
            };
            return self.goto(
                S::Disconnected {
                    last_error: Some(reason),
                },
                from,
                vec![],
                why,
            );
        }
        let delay = self.jitter.apply(self.policy.delay(attempt));
        let why = format!("{reason}; retry in {:.1} s", delay.as_secs_f64());
        self.goto(
            S::Recovering {
                attempt,
                epoch,
                retry_at: now + delay,
                last_error: reason,
            },
            from,
            vec![],
            why,
        )
    }

    fn goto(
        &mut self,
        next: State,
        from: StateKind,
        actions: Vec<Action>,
        reason: impl Into<String>,
    ) -> Step {
        self.state = next;
        self.step(from, Effect::Changed, actions, reason)
    }

    fn noop(&self, from: StateKind, name: &str) -> Step {
        self.step(
            from,
            Effect::NoOp,
            vec![],
            format!("{name}: already {from}"),
        )
    }

    fn step(
        &self,
        from: StateKind,
        effect: Effect,
        actions: Vec<Action>,
        reason: impl Into<String>,
    ) -> Step {
        Step {
            from,
            to: self.state.kind(),
            effect,
            actions,
            reason: reason.into(),
        }
    }

    /// Time left until the retry timer fires.
    pub fn retry_in(&self, now: Instant) -> Option<Duration> {
        self.retry_due()
            .map(|(_, at)| at.saturating_duration_since(now))
    }
}

use State as S;

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
