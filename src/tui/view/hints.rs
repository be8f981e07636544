//! The bottom line: the keys valid right now (from the keymap, so it can
//! never disagree with them) and the last reply.

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
            Action::Decode,
            Action::TimeMode,
            Action::Direction,
            Action::LinkFilter,
            Action::Collapse,
            Action::Capture,
        ],
        Pane::Alarms => &[Action::Acknowledge, Action::AcknowledgeAll],
        Pane::Logs => &[Action::LogMore, Action::LogLess],
        Pane::Connections | Pane::StateMachine => {
            &[Action::Connect, Action::Disconnect, Action::RetryNow]
        }
        Pane::Properties => &[Action::Edit, Action::NewTask, Action::PumpToggle],
        Pane::Tasks => &[Action::NewTask, Action::CancelTask],
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

/// The hints as (keys, what) pairs for the current focus and overlay.
pub fn hints(app: &App) -> Vec<(String, String)> {
    let fixed = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, w)| (k.to_string(), w.to_string()))
            .collect()
    };
    if app.message.is_some() {
        return fixed(&[("any key", "close")]);
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
                Some((key.to_string(), short(*a).to_string()))
            })
            .collect(),
    }
}

fn short(action: Action) -> &'static str {
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
        Action::PumpToggle => "pump on/off",
        Action::Edit => "edit",
        Action::NewTask => "new task",
        Action::CancelTask => "cancel task",
        other => other.name(),
    }
}

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect) {
    let theme = ctx.theme;
    let width = area.width as usize;
    let status = app.status.as_ref().map(|s| {
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
    for (key, what) in hints(app) {
        let piece = key.chars().count() + what.chars().count() + 3;
        if used + piece > width.saturating_sub(status_width) {
            break;
        }
        used += piece;
        parts.push((format!(" {key}"), theme.style(Role::HintKey)));
        parts.push((format!(" {what} "), theme.style(Role::Hint)));
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
