//! The top line (name, clock, counts) and, on small terminals, the tab bar.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{ViewContext, spans};
use crate::format::clock;
use crate::tui::app::{App, Pane};
use crate::tui::theme::Role;
use labdeck_core::connection::StateKind;

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect) {
    let theme = ctx.theme;
    let connected = app
        .data
        .connections
        .iter()
        .filter(|c| c.state == StateKind::Connected)
        .count();
    let responding = app.data.devices.iter().filter(|d| d.responding()).count();
    let (active, unacked) = (app.active_alarms(), app.unacked());
    let style = if unacked > 0 {
        theme.style(Role::HeaderAlarm)
    } else {
        theme.style(Role::Header)
    };
    let clock_text = clock(&app.now);
    let time = clock_text.split('.').next().unwrap_or_default();
    // "no alarms" only when none is active.
    let alarm_text = match (active, unacked) {
        (0, 0) => "no alarms".to_string(),
        (0, n) => format!("no alarms active, {n} cleared unseen"),
        (1, 0) => "1 alarm (acknowledged)".to_string(),
        (n, 0) => format!("{n} alarms (acknowledged)"),
        (1, _) => "1 ALARM".to_string(),
        (n, u) => format!("{n} ALARMS ({u} new)"),
    };
    // Dropped from the right when the terminal is narrow: what is true of
    // the devices comes before the links under them.
    let mut mode = if app.safety.read_only {
        " labdeck READ-ONLY".to_string()
    } else {
        " labdeck".to_string()
    };
    if let Some(attachment) = &app.attachment {
        // Attached: to what, and whether this console may write.
        let socket = std::path::Path::new(&attachment.socket)
            .file_name()
            .map_or_else(
                || attachment.socket.clone(),
                |n| n.to_string_lossy().into_owned(),
            );
        let role = if app.watching().is_some() {
            "watching"
        } else {
            "control"
        };
        mode = format!("{mode} @{socket} {role}");
    }
    let parts = [
        mode,
        time.to_string(),
        format!("devices {responding}/{} responding", app.data.devices.len()),
        alarm_text,
        format!("links {connected}/{} up", app.data.connections.len()),
        // Attached consoles say so first (in `mode`); this one runs its own lab.
        if app.attachment.is_none() {
            app.lab.clone()
        } else {
            String::new()
        },
        "? help  : command".to_string(),
    ];
    let sep = if ctx.glyphs.unicode { " │ " } else { " | " };
    let mut text = String::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        if text.chars().count() + sep.len() + part.chars().count() > area.width as usize {
            break;
        }
        if !text.is_empty() {
            text.push_str(sep);
        }
        text.push_str(&part);
    }
    frame.render_widget(Paragraph::new(Line::from(text)).style(style), area);
}

pub fn tabs(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect) {
    let theme = ctx.theme;
    let mut parts = Vec::new();
    for pane in &Pane::ALL {
        // The key that opens it, from the keymap: the two cannot disagree.
        let key = app
            .keymap
            .keys(pane.action())
            .first()
            .map_or_else(String::new, |k| format!("{k} "));
        let mut title = format!(" {key}{} ", short(*pane));
        if *pane == Pane::Alarms && app.unacked() > 0 {
            title = format!(" {key}{} ({}) ", short(*pane), app.unacked());
        }
        let style = if *pane == app.focus {
            theme.style(Role::TabActive)
        } else {
            theme.style(Role::Tab)
        };
        parts.push((title, style));
    }
    frame.render_widget(Paragraph::new(spans(parts)), area);
}

fn short(pane: Pane) -> &'static str {
    match pane {
        Pane::Connections => "Links",
        Pane::StateMachine => "State",
        Pane::Properties => "Props",
        Pane::Traffic => "Traffic",
        Pane::Tasks => "Tasks",
        Pane::Alarms => "Alarms",
        Pane::Logs => "Logs",
    }
}
