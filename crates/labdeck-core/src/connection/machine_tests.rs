use super::*;
use crate::link::{ConnectError, LinkError};

fn machine() -> Machine {
    Machine::new(RetryPolicy::default(), Jitter::new(42))
}

fn not_found() -> ConnectError {
    ConnectError::NotFound {
        endpoint: "/dev/ttyUSB9".into(),
    }
}

/// A machine driven into `kind`, and the epoch of its current attempt.
fn machine_in(kind: StateKind, now: Instant) -> (Machine, u64) {
    let mut m = machine();
    let feed = |m: &mut Machine, input| {
        m.handle(input, now);
    };
    match kind {
        StateKind::Ready => {}
        StateKind::Connecting => feed(&mut m, Input::Connect),
        StateKind::Connected => {
            feed(&mut m, Input::Connect);
            feed(
                &mut m,
                Input::Opened {
                    epoch: 1,
                    endpoint: "x".into(),
                },
            );
        }
        StateKind::Recovering => {
            feed(&mut m, Input::Connect);
            feed(
                &mut m,
                Input::OpenFailed {
                    epoch: 1,
                    error: not_found(),
                },
            );
        }
        StateKind::Disconnected => {
            feed(&mut m, Input::Connect);
            feed(&mut m, Input::Disconnect);
        }
        StateKind::TornDown => feed(&mut m, Input::Teardown),
    }
    assert_eq!(m.state().kind(), kind);
    (m, 1)
}

fn inputs(epoch: u64) -> Vec<Input> {
    vec![
        Input::Connect,
        Input::Disconnect,
        Input::Teardown,
        Input::RetryNow,
        Input::Opened {
            epoch,
            endpoint: "x".into(),
        },
        Input::OpenFailed {
            epoch,
            error: not_found(),
        },
        Input::LinkLost {
            epoch,
            error: LinkError::Eof,
        },
        Input::RetryDue { epoch },
        Input::Stable { epoch },
    ]
}

/// Short names for the table below.
#[derive(Debug, PartialEq)]
enum A {
    Open,
    Abort,
    Session,
    Close,
}

fn short(actions: &[Action]) -> Vec<A> {
    actions
        .iter()
        .map(|a| match a {
            Action::StartOpen { .. } => A::Open,
            Action::AbortOpen => A::Abort,
            Action::StartSession { .. } => A::Session,
            Action::CloseSession => A::Close,
        })
        .collect()
}

#[test]
fn full_state_by_input_table() {
    use Effect::*;
    use StateKind::*;
    // Row per state, column per input in the order of `inputs()`:
    // connect, disconnect, teardown, retry, opened, open-failed, link-lost,
    // retry-due, stable.
    type Cell = (StateKind, Effect, Vec<A>);
    let stale = |s| (s, Stale, vec![]);
    let table: Vec<(StateKind, Vec<Cell>)> = vec![
        (
            Ready,
            vec![
                (Connecting, Changed, vec![A::Open]),
                (Ready, NoOp, vec![]),
                (TornDown, Changed, vec![]),
                (Ready, NoOp, vec![]),
                stale(Ready),
                stale(Ready),
                stale(Ready),
                stale(Ready),
                stale(Ready),
            ],
        ),
        (
            Connecting,
            vec![
                (Connecting, NoOp, vec![]),
                (Disconnected, Changed, vec![A::Abort]),
                (TornDown, Changed, vec![A::Abort]),
                (Connecting, NoOp, vec![]),
                (Connected, Changed, vec![A::Session]),
                (Recovering, Changed, vec![]),
                stale(Connecting),
                stale(Connecting),
                stale(Connecting),
            ],
        ),
        (
            Connected,
            vec![
                (Connected, NoOp, vec![]),
                (Disconnected, Changed, vec![A::Close]),
                (TornDown, Changed, vec![A::Close]),
                (Connected, NoOp, vec![]),
                stale(Connected),
                stale(Connected),
                (Recovering, Changed, vec![A::Close]),
                stale(Connected),
                // Stable only matters after failed attempts; from a first
                // success there is nothing to reset, but it is still taken.
                (Connected, Updated, vec![]),
            ],
        ),
        (
            Recovering,
            vec![
                (Connecting, Changed, vec![A::Open]),
                (Disconnected, Changed, vec![]),
                (TornDown, Changed, vec![]),
                (Connecting, Changed, vec![A::Open]),
                stale(Recovering),
                stale(Recovering),
                stale(Recovering),
                (Connecting, Changed, vec![A::Open]),
                stale(Recovering),
            ],
        ),
        (
            Disconnected,
            vec![
                (Connecting, Changed, vec![A::Open]),
                (Disconnected, NoOp, vec![]),
                (TornDown, Changed, vec![]),
                (Disconnected, NoOp, vec![]),
                stale(Disconnected),
                stale(Disconnected),
                stale(Disconnected),
                stale(Disconnected),
                stale(Disconnected),
            ],
        ),
        (
            TornDown,
            (0..9).map(|_| (TornDown, Rejected, vec![])).collect(),
        ),
    ];
    let now = Instant::now();
    for (state, row) in table {
        for (input, (to, effect, actions)) in inputs(1).into_iter().zip(row) {
            let (mut m, _) = machine_in(state, now);
            let name = input.name();
            let step = m.handle(input, now);
            assert_eq!(
                (step.to, step.effect, short(&step.actions)),
                (to, effect, actions),
                "{state} + {name}: {}",
                step.reason
            );
            assert_eq!(step.from, state);
            assert_eq!(m.state().kind(), to);
        }
    }
}

#[test]
fn events_of_an_older_epoch_are_dropped() {
    let now = Instant::now();
    for state in [
        StateKind::Connecting,
        StateKind::Connected,
        StateKind::Recovering,
    ] {
        for input in inputs(0).into_iter().skip(4) {
            let (mut m, _) = machine_in(state, now);
            let name = input.name();
            let step = m.handle(input, now);
            assert_eq!(
                (step.to, step.effect),
                (state, Effect::Stale),
                "{state} + stale {name}"
            );
        }
    }
}

#[test]
fn an_open_completing_after_disconnect_changes_nothing() {
    let now = Instant::now();
    let mut m = machine();
    m.handle(Input::Connect, now);
    m.handle(Input::Disconnect, now);
    let step = m.handle(
        Input::Opened {
            epoch: 1,
            endpoint: "late".into(),
        },
        now,
    );
    assert_eq!(
        (step.to, step.effect),
        (StateKind::Disconnected, Effect::Stale)
    );
}

#[test]
fn recovery_backs_off_within_the_jitter_band_and_never_recurses() {
    let policy = RetryPolicy::default();
    let mut m = Machine::new(policy, Jitter::new(1));
    let mut now = Instant::now();
    m.handle(Input::Connect, now);
    for attempt in 1..=10_000u32 {
        let epoch = m.state().epoch().unwrap();
        let step = m.handle(
            Input::OpenFailed {
                epoch,
                error: not_found(),
            },
            now,
        );
        assert_eq!(step.to, StateKind::Recovering);
        let (due_epoch, at) = m.retry_due().unwrap();
        let delay = at - now;
        let nominal = policy.delay(attempt);
        assert!(
            delay >= nominal / 2 && delay <= nominal,
            "attempt {attempt}: {delay:?} vs {nominal:?}"
        );
        now = at;
        let step = m.handle(Input::RetryDue { epoch: due_epoch }, now);
        assert_eq!(step.to, StateKind::Connecting);
    }
    match m.state() {
        State::Connecting { attempt, .. } => assert_eq!(*attempt, 10_001),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_flapping_link_keeps_backing_off_until_it_is_stable() {
    let mut m = machine();
    let now = Instant::now();
    m.handle(Input::Connect, now);
    // Three cycles of "opens, then is lost at once".
    for expected_attempt in 1..=3u32 {
        let epoch = m.state().epoch().unwrap();
        m.handle(
            Input::Opened {
                epoch,
                endpoint: "x".into(),
            },
            now,
        );
        m.handle(
            Input::LinkLost {
                epoch,
                error: LinkError::Alarm("no reply".into()),
            },
            now,
        );
        match m.state() {
            State::Recovering { attempt, .. } => assert_eq!(*attempt, expected_attempt),
            other => panic!("unexpected {other:?}"),
        }
        let (epoch, at) = m.retry_due().unwrap();
        m.handle(Input::RetryDue { epoch }, at);
    }
    // Now it stays up long enough: the counter resets.
    let epoch = m.state().epoch().unwrap();
    m.handle(
        Input::Opened {
            epoch,
            endpoint: "x".into(),
        },
        now,
    );
    let (stable_epoch, _) = m.stable_due().expect("stability timer armed");
    assert_eq!(
        m.handle(
            Input::Stable {
                epoch: stable_epoch
            },
            now
        )
        .effect,
        Effect::Updated
    );
    assert!(m.stable_due().is_none());
    m.handle(
        Input::LinkLost {
            epoch,
            error: LinkError::Eof,
        },
        now,
    );
    assert!(matches!(m.state(), State::Recovering { attempt: 1, .. }));
}

#[test]
fn giving_up_after_max_attempts_keeps_the_error() {
    let policy = RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    };
    let mut m = Machine::new(policy, Jitter::new(3));
    let now = Instant::now();
    m.handle(Input::Connect, now);
    m.handle(
        Input::OpenFailed {
            epoch: 1,
            error: not_found(),
        },
        now,
    );
    let (epoch, at) = m.retry_due().unwrap();
    m.handle(Input::RetryDue { epoch }, at);
    let step = m.handle(
        Input::OpenFailed {
            epoch: 2,
            error: not_found(),
        },
        at,
    );
    assert_eq!(step.to, StateKind::Disconnected);
    assert!(
        step.reason.contains("giving up after 2 attempts"),
        "{}",
        step.reason
    );
    match m.state() {
        State::Disconnected {
            last_error: Some(e),
        } => assert!(e.contains("not found")),
        other => panic!("unexpected {other:?}"),
    }
    // And it may connect again.
    assert_eq!(m.handle(Input::Connect, at).to, StateKind::Connecting);
}

#[test]
fn without_auto_reconnect_a_lost_link_disconnects() {
    let policy = RetryPolicy {
        auto_reconnect: false,
        ..RetryPolicy::default()
    };
    let mut m = Machine::new(policy, Jitter::new(3));
    let now = Instant::now();
    m.handle(Input::Connect, now);
    m.handle(
        Input::Opened {
            epoch: 1,
            endpoint: "x".into(),
        },
        now,
    );
    let step = m.handle(
        Input::LinkLost {
            epoch: 1,
            error: LinkError::DeviceRemoved,
        },
        now,
    );
    assert_eq!(
        (step.to, short(&step.actions)),
        (StateKind::Disconnected, vec![A::Close])
    );
}
