//! Alarms with time, severity, source and reason: active ones first, then
//! those cleared before anyone acknowledged them (`CLR`), then the rest.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::columns::{Cell, Column, Widths};
use super::{ViewContext, block, window};
use crate::format::clock;
use crate::tui::app::{Alarm, App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use labdeck_core::alarm::{AlarmKind, Severity};

/// Status, source and reason always; then time, severity and kind. No
/// header: the words say what they are.
const COLUMNS: [Column; 6] = [
    Column::new("", 0, 3),
    Column::new("", 1, 8),
    Column::new("", 2, 5),
    Column::new("", 0, 16).shrink(6),
    Column::new("", 3, 7),
    Column::new("", 0, 24).shrink(12),
];

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
    let cursor = app.cursor(Pane::Alarms);
    let shown = window(list.len(), inner.height as usize, cursor);
    let cells: Vec<Vec<Cell>> = list[shown.clone()]
        .iter()
        .map(|a| row_cells(ctx, a))
        .collect();
    let widths = Widths::fit(
        &COLUMNS,
        cells.iter().map(Vec::as_slice),
        inner.width as usize,
    );
    let mut lines = Vec::new();
    for (i, row) in shown.zip(&cells) {
        let base = if focused && i == cursor {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        lines.push(widths.line(&COLUMNS, row, base));
    }
    if list.is_empty() {
        lines.push(Line::styled("no alarms", theme.style(Role::Dim)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row_cells(ctx: &ViewContext, a: &Alarm) -> Vec<Cell> {
    // Cleared before anyone saw it: still news, and said so.
    let (word, role) = match (a.active, a.acked) {
        (true, false) => ("NEW", Role::Alarm),
        (true, true) => ("ack", Role::AlarmAcked),
        (false, false) => ("CLR", Role::AlarmAcked),
        (false, true) => ("clr", Role::AlarmCleared),
    };
    let severity = match a.severity {
        Severity::Alarm => "alarm",
        Severity::Warning => "warn",
    };
    let kind = match a.kind {
        AlarmKind::Link => "link",
        AlarmKind::Device => "dev",
        AlarmKind::Actor => "actor",
    };
    let time = clock(&a.t);
    let time = time.split('.').next().unwrap_or_default();
    let style = ctx.theme.style(role);
    vec![
        Cell::new(word, style),
        Cell::new(time, style),
        Cell::new(severity, style),
        Cell::new(sanitize::text(&a.source), style),
        Cell::new(format!("({kind}):"), style),
        Cell::new(sanitize::text(&a.reason), style),
    ]
}
