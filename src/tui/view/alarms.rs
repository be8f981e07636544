//! Alarms with time, severity, source and reason: active ones first, then
//! those cleared before anyone acknowledged them (`CLR`), then the rest.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{ViewContext, block, fit, spans, window};
use crate::format::clock;
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use labdeck_core::alarm::{AlarmKind, Severity};

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, focused: bool) {
    let theme = ctx.theme;
    let list = app.alarm_list();
    let block = block(
        ctx,
        &format!(
            "Alarms ({} active, {} new)",
            app.active_alarms(),
            app.unacked()
        ),
        focused,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let cursor = app.cursor(Pane::Alarms);
    let mut lines = Vec::new();
    for i in window(list.len(), inner.height as usize, cursor) {
        let a = list[i];
        // Cleared before anyone saw it: still news, and said so.
        let (word, role) = match (a.active, a.acked) {
            (true, false) => ("NEW", Role::Alarm),
            (true, true) => ("ack", Role::AlarmAcked),
            (false, false) => ("CLR", Role::AlarmAcked),
            (false, true) => ("clr", Role::AlarmCleared),
        };
        let severity = match a.severity {
            Severity::Alarm => "alarm",
            Severity::Warning => "warn ",
        };
        let selected = focused && i == cursor;
        let base = if selected {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        let kind = match a.kind {
            AlarmKind::Link => "link",
            AlarmKind::Device => "dev",
            AlarmKind::Actor => "actor",
        };
        let time = clock(&a.t);
        let time = time.split('.').next().unwrap_or_default().to_string();
        let text = format!(
            " {time} {severity} {} ({kind}): {}",
            sanitize::text(&a.source),
            sanitize::text(&a.reason)
        );
        lines.push(spans(vec![
            (format!("{word:<3}"), theme.style(role).patch(base)),
            (
                fit(&text, width.saturating_sub(3)),
                theme.style(role).patch(base),
            ),
        ]));
    }
    if list.is_empty() {
        lines.push(Line::styled("no alarms", theme.style(Role::Dim)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
