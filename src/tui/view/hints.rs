//! The bottom line: the keys of the focused pane and the global ones
//! (from the keymap, so it can never disagree with them), greyed out where
//! they would do nothing right now, and the last reply.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use super::{ViewContext, fit, spans};
use crate::tui::app::{App, Confirm, InputPurpose, Overlay, Pane};
use crate::tui::keys::Action;
use crate::tui::sanitize;
use crate::tui::theme::Role;

/// Actions worth a hint in each pane, besides the global ones.
fn pane_actions(pane: Pane) -> &'static [Action] {
    match pane {
        Pane::Traffic => &[
            Action::Pause,
            Action::Details,
            Action::Search,
            Action::Decode,
            Action::TimeMode,
            Action::Direction,
            Action::LinkFilter,
            Action::Collapse,
            Action::Wrap,
            Action::Capture,
            Action::Record,
            Action::Send,
        ],
        Pane::Alarms => &[Action::Acknowledge, Action::AcknowledgeAll, Action::Details],
        Pane::Logs => &[Action::LogMore, Action::LogLess],
        Pane::Connections | Pane::StateMachine => &[
            Action::Connect,
            Action::Disconnect,
            Action::RetryNow,
            Action::Details,
        ],
        Pane::Properties => &[Action::Edit, Action::NewTask, Action::PumpToggle],
        Pane::Tasks => &[
            Action::NewTask,
            Action::CancelTask,
            Action::QueuePause,
            Action::QueueStopAfter,
            Action::QueueAbort,
            Action::Details,
        ],
    }
}

const GLOBAL: &[Action] = &[
    Action::Help,
    Action::Palette,
    Action::Faults,
    Action::Filter,
    Action::NextPane,
    Action::Quit,
];

/// One hint: the key, what it does, and whether it does anything now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub key: String,
    pub what: String,
    pub available: bool,
}

/// Whether an action would do something in the current state (gitui's
/// greyed-out commands): a pump key without a switchable device, an
/// editor without a writable property, …
fn available(app: &App, action: Action) -> bool {
    let device = app.selected_device();
    match action {
        Action::PumpToggle => device.is_some_and(|d| d.capabilities.power.is_some()),
        Action::Edit => app
            .property_list()
            .get(app.cursor(Pane::Properties))
            .is_some_and(|p| p.def.writable),
        Action::NewTask => app
            .data
            .devices
            .iter()
            .any(|d| !d.capabilities.techniques.is_empty()),
        Action::CancelTask => app.selected_task().is_some_and(|t| !t.state.is_terminal()),
        Action::QueuePause => app.queue_paused() || app.has_waiting_work(),
        Action::QueuePauseAfter | Action::QueueStopAfter | Action::QueueAbort => {
            app.has_waiting_work()
        }
        Action::Faults => app.selected_simulator().is_some(),
        Action::Connect | Action::Disconnect => app.selected_connection().is_some(),
        Action::RetryNow => app
            .selected_connection()
            .is_some_and(|c| c.state == labdeck_core::connection::StateKind::Recovering),
        // The view collapses the rows already; recorded traffic is enough here.
        Action::Details if app.focus == Pane::Traffic => !app.traffic.is_empty(),
        Action::SearchOlder | Action::SearchNewer => !app.traffic.search.trim().is_empty(),
        Action::Send => app
            .data
            .connections
            .iter()
            .any(|c| c.state == labdeck_core::connection::StateKind::Connected),
        Action::Acknowledge | Action::AcknowledgeAll => {
            app.alarms.iter().any(|a| a.active && !a.acked)
        }
        _ => true,
    }
}

/// The hints for the current focus and overlay.
pub fn hints(app: &App) -> Vec<Hint> {
    let fixed = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, w)| Hint {
                key: k.to_string(),
                what: w.to_string(),
                available: true,
            })
            .collect()
    };
    if app.message.is_some() {
        return fixed(&[("↑↓ PgUp/PgDn", "scroll"), ("any other key", "close")]);
    }
    match &app.overlay {
        Some(Overlay::Help { .. }) => fixed(&[
            ("type", "filter"),
            ("↑↓ PgUp PgDn", "scroll"),
            ("Esc", "close"),
        ]),
        Some(Overlay::Palette(_)) => fixed(&[
            ("Tab", "complete"),
            ("↑↓", "history"),
            ("Enter", "run"),
            ("Esc", "close"),
        ]),
        Some(Overlay::Faults { .. }) => fixed(&[
            ("↑↓", "select"),
            ("Enter/Space", "toggle"),
            ("←→", "simulator"),
            ("Esc", "close"),
        ]),
        Some(Overlay::Confirm(Confirm::Quit)) => {
            fixed(&[("y", "yes, quit"), ("any other key", "stay")])
        }
        Some(Overlay::Confirm(Confirm::TakeControl)) => fixed(&[
            ("y", "yes, take control"),
            ("any other key", "keep watching"),
        ]),
        Some(Overlay::Confirm(Confirm::Request { .. })) => {
            fixed(&[("y", "yes, do it"), ("any other key", "do nothing")])
        }
        Some(Overlay::Confirm(Confirm::CancelTask { .. })) => {
            fixed(&[("y", "yes, cancel it"), ("any other key", "keep it")])
        }
        Some(Overlay::Input {
            purpose: InputPurpose::EditAttr,
            ..
        }) => fixed(&[("Enter", "check and send"), ("Esc", "close")]),
        Some(Overlay::Input { .. }) => fixed(&[("Enter", "apply"), ("Esc", "clear and close")]),
        Some(Overlay::TaskForm(_)) => fixed(&[
            ("Tab ↑↓", "field"),
            ("Enter", "check and queue"),
            ("Esc", "close"),
        ]),
        None => pane_actions(app.focus)
            .iter()
            .chain(GLOBAL)
            .filter_map(|a| {
                let key = app.keymap.keys(*a).first()?;
                Some(Hint {
                    key: key.to_string(),
                    what: short(app, *a).to_string(),
                    available: available(app, *a),
                })
            })
            .collect(),
    }
}

fn short(app: &App, action: Action) -> &'static str {
    match action {
        Action::Help => "help",
        Action::Palette => "command",
        Action::Faults => "faults",
        Action::Filter => "filter",
        Action::NextPane => "pane",
        Action::Quit => "quit",
        Action::Pause => "pause",
        Action::Decode => "hex/decoded",
        Action::TimeMode => "time",
        Action::Direction => "dir",
        Action::LinkFilter => "link",
        Action::Collapse => "repeats",
        Action::Capture => "capture",
        Action::Acknowledge => "ack",
        Action::AcknowledgeAll => "ack all",
        Action::LogMore => "more",
        Action::LogLess => "less",
        Action::Connect => "connect",
        Action::Disconnect => "disconnect",
        Action::RetryNow => "retry",
        Action::PumpToggle => "on/off",
        Action::Edit => "edit",
        Action::NewTask => "new task",
        Action::CancelTask => "cancel task",
        Action::QueuePause if app.queue_paused() => "resume",
        Action::QueuePause => "pause",
        Action::QueueStopAfter => "stop after",
        Action::QueueAbort => "abort",
        other => other.name(),
    }
}

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect) {
    let theme = ctx.theme;
    let width = area.width as usize;
    let status = app.current_status().map(|s| {
        let style = if s.ok {
            theme.style(Role::Ok)
        } else {
            theme.style(Role::Error)
        };
        (sanitize::text(&s.text).into_owned(), style)
    });
    let status_width = status
        .as_ref()
        .map_or(0, |(t, _)| (t.chars().count() + 2).min(width / 2));
    let mut parts = Vec::new();
    let mut used = 0;
    for Hint {
        key,
        what,
        available,
    } in hints(app)
    {
        let piece = key.chars().count() + what.chars().count() + 3;
        if used + piece > width.saturating_sub(status_width) {
            break;
        }
        used += piece;
        let (key_role, what_role) = if available {
            (Role::HintKey, Role::Hint)
        } else {
            (Role::Dim, Role::Dim)
        };
        parts.push((format!(" {key}"), theme.style(key_role)));
        parts.push((format!(" {what} "), theme.style(what_role)));
    }
    if let Some((text, style)) = status {
        parts.push((
            " ".repeat(width.saturating_sub(used + status_width)),
            theme.style(Role::Hint),
        ));
        parts.push((fit(&text, status_width.saturating_sub(1)), style));
    }
    frame.render_widget(Paragraph::new(spans(parts)), area);
}
