//! `update` as a pure function: keys in, model changes and effects out.

mod common;

use common::fixture;
use labdeck::tui::keys::{KeyChord, Keymap};
use labdeck::tui::{App, Attachment, Confirm, Data, Effect, Msg, Overlay, Pane};
use labdeck_core::bus::Event;
use labdeck_core::connection::ConnCommand;
use labdeck_core::hub::Request;
use labdeck_core::sim::FaultSetting;
use proptest::prelude::*;
use tokio::time::Instant;

fn model() -> (App, Data) {
    let base = Instant::now();
    let (setup, data) = fixture::sample(base, 3);
    let mut app = App::new(setup, Keymap::default(), "default", fixture::at(base, 5.0));
    app.size = (120, 40);
    app.sync(data.clone());
    for chunk in fixture::traffic(base, 20) {
        app.update(Msg::Event(Box::new(Event::Traffic(chunk))));
    }
    (app, data)
}

fn press(app: &mut App, key: &str) -> Vec<Effect> {
    app.update(Msg::Key(key.parse::<KeyChord>().unwrap()))
}

/// Type text into whatever has the keyboard.
fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let key = if c == ' ' {
            "space".to_string()
        } else {
            c.to_string()
        };
        press(app, &key);
    }
}

#[test]
fn focus_moves_with_tab_and_number_keys() {
    let (mut app, _) = model();
    assert_eq!(app.focus, Pane::Connections);
    press(&mut app, "tab");
    assert_eq!(app.focus, Pane::StateMachine);
    press(&mut app, "shift+tab");
    press(&mut app, "shift+tab");
    assert_eq!(app.focus, Pane::Logs);
    press(&mut app, "4");
    assert_eq!(app.focus, Pane::Traffic);
}

#[test]
fn connect_and_disconnect_target_the_selected_link() {
    let (mut app, _) = model();
    press(&mut app, "j");
    assert_eq!(
        press(&mut app, "d"),
        vec![Effect::Hub(Request::Connection {
            target: "scpi".into(),
            command: ConnCommand::Disconnect
        })]
    );
    press(&mut app, "k");
    assert_eq!(
        press(&mut app, "c"),
        vec![Effect::Hub(Request::Connection {
            target: "pump-port".into(),
            command: ConnCommand::Connect
        })]
    );
}

#[test]
fn the_fault_menu_toggles_the_selected_fault() {
    let (mut app, _) = model();
    press(&mut app, "f");
    assert!(matches!(
        app.overlay,
        Some(Overlay::Faults { selected: 0, .. })
    ));
    press(&mut app, "j");
    assert_eq!(
        press(&mut app, "space"),
        vec![Effect::Hub(Request::Fault {
            simulator: Some("pump-sim".into()),
            fault: "bad-bcc".into(),
            setting: FaultSetting::Toggle
        })]
    );
    press(&mut app, "esc");
    assert!(app.overlay.is_none());
}

#[test]
fn quit_asks_while_busy_and_not_otherwise() {
    let (mut app, mut data) = model();
    assert!(press(&mut app, "q").is_empty());
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    assert!(press(&mut app, "n").is_empty());
    assert!(app.overlay.is_none());
    press(&mut app, "q");
    assert_eq!(press(&mut app, "y"), vec![Effect::Quit]);
    // Nothing connected, no pump running, but a task still queued: asks.
    for c in &mut data.connections {
        c.state = labdeck_core::connection::StateKind::Disconnected;
    }
    for d in &mut data.devices {
        d.properties.retain(|p| p.name() != "on");
    }
    app.sync(data.clone());
    assert!(press(&mut app, "q").is_empty());
    press(&mut app, "n");
    // Only finished tasks: quit at once.
    for d in &mut data.devices {
        d.tasks.retain(|t| t.state.is_terminal());
    }
    app.sync(data);
    assert_eq!(press(&mut app, "q"), vec![Effect::Quit]);
}

#[test]
fn palette_runs_hub_commands_and_handles_its_own() {
    let (mut app, _) = model();
    press(&mut app, ":");
    type_text(&mut app, "pump pump1 on");
    assert_eq!(
        press(&mut app, "enter"),
        vec![
            Effect::HubLine("pump pump1 on".into()),
            Effect::Remember("pump pump1 on".into())
        ]
    );
    press(&mut app, ":");
    type_text(&mut app, "theme mono");
    assert_eq!(
        press(&mut app, "enter"),
        vec![
            Effect::Theme("mono".into()),
            Effect::Remember("theme mono".into())
        ]
    );
    // History brings the last line back.
    press(&mut app, ":");
    press(&mut app, "up");
    match &app.overlay {
        Some(Overlay::Palette(p)) => assert_eq!(p.input, "theme mono"),
        other => panic!("palette expected, got {other:?}"),
    }
}

#[test]
fn filter_narrows_the_focused_list_and_esc_clears_it() {
    let (mut app, _) = model();
    assert_eq!(app.connection_list().len(), 5);
    press(&mut app, "/");
    type_text(&mut app, "scpi");
    assert_eq!(app.connection_list().len(), 1, "filters as you type");
    press(&mut app, "enter");
    assert_eq!(app.connection_list().len(), 1);
    press(&mut app, "esc");
    assert_eq!(app.connection_list().len(), 5);
}

#[test]
fn traffic_keys_pause_decode_and_capture() {
    let (mut app, _) = model();
    press(&mut app, "4");
    press(&mut app, "p");
    assert!(app.traffic.paused());
    press(&mut app, "space");
    assert!(!app.traffic.paused());
    press(&mut app, "h");
    assert!(app.traffic.decoded);
    // Scrolling up pauses, so the lines stay put.
    press(&mut app, "k");
    assert!(app.traffic.paused());
    press(&mut app, "w");
    let effects = press(&mut app, "enter");
    match effects.as_slice() {
        [Effect::Write { path, text }] => {
            assert!(path.to_string_lossy().starts_with("labdeck-capture-"));
            assert!(text.contains(" TX pump-port  COMMAND|ON"), "{text}");
            assert!(text.contains(" RX scpi  KEITHLEY"), "{text}");
        }
        other => panic!("a capture write expected, got {other:?}"),
    }
}

#[test]
fn alarms_are_acknowledged_from_their_pane() {
    let (mut app, _) = model();
    assert_eq!(app.unacked(), 1);
    press(&mut app, "6");
    press(&mut app, "a");
    assert_eq!(app.unacked(), 0);
}

#[test]
fn remapped_keys_are_the_ones_that_work() {
    let (mut app, _) = model();
    let mut keymap = Keymap::default();
    keymap.bind(
        labdeck::tui::keys::Action::Faults,
        vec!["F".parse().unwrap()],
    );
    app.keymap = keymap;
    press(&mut app, "f");
    assert!(app.overlay.is_none());
    press(&mut app, "F");
    assert!(matches!(app.overlay, Some(Overlay::Faults { .. })));
}

fn any_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "j",
        "k",
        "g",
        "G",
        "pgup",
        "pgdn",
        "tab",
        "shift+tab",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "/",
        "esc",
        "enter",
        "f",
        "p",
        "h",
        "x",
        "l",
        "r",
        "a",
        "A",
        "?",
        ":",
        "s",
        "c",
        "d",
        "space",
        "backspace",
        "up",
        "down",
    ])
    .prop_map(String::from)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the keys and however the lists shrink, every cursor stays
    /// inside its list and nothing panics.
    #[test]
    fn cursors_stay_in_bounds(keys in prop::collection::vec(any_key(), 1..60), shrink_at in 0usize..60) {
        let (mut app, data) = model();
        for (i, key) in keys.iter().enumerate() {
            if i == shrink_at {
                let mut smaller = data.clone();
                smaller.connections.truncate(1);
                smaller.devices.truncate(1);
                app.sync(smaller);
            }
            let effects = press(&mut app, key);
            prop_assert!(!effects.contains(&Effect::Quit) || key == "enter" || key == "y");
            for pane in Pane::ALL {
                let rows = app.rows(pane);
                prop_assert!(app.cursor(pane) <= rows.saturating_sub(1), "{pane:?}: cursor {} of {rows}", app.cursor(pane));
            }
        }
    }
}

#[test]
fn every_tab_number_is_the_key_that_opens_it() {
    let (mut app, _) = model();
    for pane in Pane::ALL {
        let key = app.keymap.keys(pane.action())[0].to_string();
        press(&mut app, &key);
        assert_eq!(app.focus, pane, "key {key}");
    }
}

#[test]
fn one_alarm_per_condition_from_raise_to_clear() {
    use labdeck_core::alarm::{Alarm, Condition};
    let (mut app, data) = model();
    let (active, unacked) = (app.active_alarms(), app.unacked());
    let pump: std::sync::Arc<str> = "pump1".into();
    let error = Condition::alarm("error-5", "error 5: converter");
    let raised = Alarm::of_condition(&pump, &error, true);
    let alarm =
        |app: &mut App, a: &Alarm| app.update(Msg::Event(Box::new(Event::Alarm(a.clone()))));

    // Raised by an event and seen in a snapshot: one alarm.
    alarm(&mut app, &raised);
    let mut before_clear = data.clone();
    before_clear.devices[0].alarms = vec![raised.clone()];
    app.sync(before_clear.clone());
    assert_eq!(app.active_alarms(), active + 1);
    assert_eq!(app.unacked(), unacked + 1);

    // Acknowledged, still active: counted as active.
    press(&mut app, "6");
    press(&mut app, "A");
    assert_eq!((app.active_alarms(), app.unacked()), (active + 1, 0));

    // Cleared; a snapshot taken before the clear does not raise it again.
    let cleared = Alarm {
        active: false,
        ..raised.clone()
    };
    alarm(&mut app, &cleared);
    app.sync(before_clear);
    assert_eq!((app.active_alarms(), app.unacked()), (active, 0));

    // The condition comes back: a new alarm, and new to the operator.
    let again = Alarm::of_condition(&pump, &error, true);
    alarm(&mut app, &again);
    assert_eq!((app.active_alarms(), app.unacked()), (active + 1, 1));
    // Gone before anyone looked: not active, still unacknowledged.
    alarm(
        &mut app,
        &Alarm {
            active: false,
            ..again
        },
    );
    assert_eq!((app.active_alarms(), app.unacked()), (active, 1));
    let listed: Vec<_> = app
        .alarm_list()
        .into_iter()
        .filter(|a| &*a.condition == "error-5")
        .map(|a| (a.active, a.acked))
        .collect();
    assert_eq!(listed, [(false, false), (false, true)]);
}

#[test]
fn switching_a_pump_is_asked_first_and_read_only_refuses_it() {
    let (mut app, _) = model();
    press(&mut app, "1");
    // Asked first; "n" does nothing, "y" sends it.
    assert!(press(&mut app, "o").is_empty());
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    assert!(press(&mut app, "n").is_empty());
    press(&mut app, "o");
    let effects = press(&mut app, "y");
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Hub(Request::Power { on: false, .. })]
        ),
        "{effects:?}"
    );

    // Read-only: refused with a message, from keys and the palette alike.
    press(&mut app, "ctrl+r");
    assert!(app.safety.read_only);
    assert!(press(&mut app, "o").is_empty());
    assert!(app.overlay.is_none(), "not asked: refused at once");
    let status = app.status.as_ref().unwrap().text.clone();
    assert!(status.starts_with("read-only: 'power' refused"), "{status}");
    press(&mut app, ":");
    type_text(&mut app, "fault pump-sim no-reply on");
    assert_eq!(
        press(&mut app, "enter"),
        vec![Effect::Remember("fault pump-sim no-reply on".into())]
    );
    // An emergency stop still goes out (after its question).
    press(&mut app, ":");
    type_text(&mut app, "estop pump1");
    press(&mut app, "enter");
    let effects = press(&mut app, "y");
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Hub(Request::EmergencyStop { .. })]
        ),
        "{effects:?}"
    );
    // Off again with the key; locked (--read-only), it stays on.
    press(&mut app, "ctrl+r");
    assert!(!app.safety.read_only);
    app.safety.read_only = true;
    app.safety.locked = true;
    press(&mut app, "ctrl+r");
    assert!(app.safety.read_only);
}

#[test]
fn an_attached_console_watches_until_it_takes_control() {
    let (mut app, _) = model();
    press(&mut app, "1");
    let watching = Attachment {
        socket: "/run/user/1000/labdeck/lab.sock".into(),
        holder: Some("console of ops (pid 42, /dev/pts/2)".into()),
        yours: false,
    };
    app.update(Msg::Attachment(watching.clone()));
    assert_eq!(app.watching(), Some("console of ops (pid 42, /dev/pts/2)"));
    // Writes are refused here, not asked about and then refused there.
    assert!(press(&mut app, "o").is_empty());
    assert!(app.overlay.is_none());
    let status = app.status.as_ref().unwrap().text.clone();
    assert!(
        status.contains("console of ops (pid 42, /dev/pts/2) holds control; :control take"),
        "{status}"
    );
    // Taking control asks first.
    press(&mut app, ":");
    type_text(&mut app, "control take");
    press(&mut app, "enter");
    assert!(matches!(
        app.overlay,
        Some(Overlay::Confirm(Confirm::TakeControl))
    ));
    assert_eq!(press(&mut app, "y"), vec![Effect::TakeControl]);
    app.update(Msg::Attachment(Attachment {
        holder: Some("console of root (pid 7)".into()),
        yours: true,
        ..watching
    }));
    assert_eq!(app.watching(), None);
    press(&mut app, "o");
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    // Attached, quitting only detaches: no question about running tasks.
    press(&mut app, "n");
    assert_eq!(press(&mut app, "q"), vec![Effect::Quit]);
    assert_eq!(press(&mut app, "ctrl+d"), vec![Effect::Quit]);
    // A console with its own lab has nothing to detach from.
    let (mut embedded, _) = model();
    assert!(press(&mut embedded, "ctrl+d").is_empty());
    let status = embedded.status.as_ref().unwrap().text.clone();
    assert!(status.starts_with("not attached"), "{status}");
}

#[test]
fn status_messages_expire_and_stay_in_the_history() {
    let (mut app, _) = model();
    app.update(Msg::Key("ctrl+r".parse().unwrap()));
    let said = app.current_status().map(|s| s.text.clone()).unwrap();
    assert!(said.starts_with("read-only"), "{said}");
    // Six seconds on, the line is clear; the history keeps it.
    app.now = labdeck_core::time::Timestamp {
        mono: app.now.mono + std::time::Duration::from_secs(7),
        ..app.now
    };
    assert!(app.current_status().is_none());
    press(&mut app, ":");
    type_text(&mut app, "messages");
    press(&mut app, "enter");
    assert!(
        app.message
            .as_deref()
            .is_some_and(|m| m.contains("read-only")),
        "{:?}",
        app.message
    );
}

#[test]
fn more_log_levels_stop_at_what_is_recorded() {
    let (mut app, _) = model();
    press(&mut app, "7");
    assert!(press(&mut app, "+").is_empty());
    assert_eq!(app.log_level, app.log_recorded);
    let said = app.current_status().unwrap().text.clone();
    assert!(said.starts_with("nothing below info is recorded"), "{said}");
    assert!(!press(&mut app, "-").is_empty());
    assert!(app.log_level < app.log_recorded);
}

#[test]
fn an_actor_that_faulted_before_the_console_started_is_an_alarm() {
    let (mut app, mut data) = model();
    let before = app.active_alarms();
    data.actors.push(labdeck_core::hub::ActorStatus {
        name: "indi-server".into(),
        kind: "server".into(),
        state: labdeck_core::hub::ActorState::Faulted,
        reason: Some("cannot listen on 127.0.0.1:7624: address in use".into()),
    });
    app.sync(data.clone());
    app.sync(data);
    assert_eq!(app.active_alarms(), before + 1);
    assert!(app.alarm_list()[0].reason.contains("address in use"));
}

#[test]
fn a_scrolled_back_log_says_so_until_live_again() {
    let (mut app, _) = model();
    press(&mut app, "7");
    press(&mut app, "up");
    assert!(app.log_scrolled);
    press(&mut app, "down");
    assert!(app.log_scrolled, "still paged");
    press(&mut app, "end");
    assert!(!app.log_scrolled);
}

#[test]
fn queue_keys_pause_resume_stop_and_abort_after_asking() {
    use labdeck_core::device::{QueueControl, QueueMode};
    let queue = |control| vec![Effect::Hub(Request::Queue { control })];
    let (mut app, mut data) = model();
    press(&mut app, "5");
    assert_eq!(press(&mut app, "p"), queue(QueueControl::Pause));
    // Once a device says its queue is paused, the same key resumes.
    data.devices[0].queue = QueueMode::Paused;
    app.sync(data.clone());
    assert_eq!(press(&mut app, "p"), queue(QueueControl::Resume));
    assert_eq!(press(&mut app, "P"), queue(QueueControl::PauseAfterCurrent));
    assert_eq!(press(&mut app, "S"), queue(QueueControl::StopAfterCurrent));
    assert!(press(&mut app, "A").is_empty(), "abort asks first");
    assert!(matches!(
        app.overlay,
        Some(Overlay::Confirm(Confirm::Request { .. }))
    ));
    assert_eq!(press(&mut app, "y"), queue(QueueControl::Abort));
    // From the palette too, also asked.
    press(&mut app, ":");
    type_text(&mut app, "abort");
    press(&mut app, "enter");
    assert!(matches!(
        app.overlay,
        Some(Overlay::Confirm(Confirm::Request { .. }))
    ));
    assert_eq!(press(&mut app, "y"), queue(QueueControl::Abort));
}
