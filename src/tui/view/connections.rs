//! Connections: one row per link with state (word and glyph), endpoint,
//! retries, last error and byte rates. An open link whose device does not
//! answer is "not responding", never green.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use ratatui::text::Span;

use super::columns::{Cell, Column, Cut, Widths};
use super::{ViewContext, block, fit, link_style, spans, window};
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use labdeck_core::connection::{ConnectionSnapshot, StateKind};
use labdeck_core::time::Timestamp;

/// State and link always; then retries, the error (spelled out in full
/// on the last line for the selected link), rates and the endpoint (the
/// transport is in the details).
const COLUMNS: [Column; 6] = [
    Column::new("state", 0, 16),
    Column::new("link", 0, 16).shrink(8),
    Column::new("endpoint", 4, 40).shrink(12).cut(Cut::Middle),
    Column::new("retry", 1, 14),
    Column::new("rx/tx B/s", 3, 13).right(),
    Column::new("last error", 2, 16).shrink(12),
];

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, focused: bool) {
    let theme = ctx.theme;
    let list = app.connection_list();
    let filter = app.filter(Pane::Connections);
    let title = match filter {
        "" => format!("Connections ({})", list.len()),
        f => format!("Connections ({}) /{}", list.len(), sanitize::text(f)),
    };
    let block = block(ctx, &title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let width = inner.width as usize;
    let cursor = app.cursor(Pane::Connections);
    let now = app.now;
    // The last line spells out the selected link's error in full.
    let detail = list.get(cursor).and_then(|c| {
        c.last_error
            .as_deref()
            .or(c.alarm.as_ref().map(|a| a.reason.as_str()))
    });
    let rows = inner
        .height
        .saturating_sub(1 + u16::from(detail.is_some() && inner.height > 3))
        as usize;
    let shown = window(list.len(), rows, cursor);
    let cells: Vec<Vec<Cell>> = list[shown.clone()]
        .iter()
        .map(|c| row_cells(app, ctx, c, now))
        .collect();
    // One column for the selection marker.
    let widths = Widths::fit(
        &COLUMNS,
        cells.iter().map(Vec::as_slice),
        width.saturating_sub(1),
    );
    let mut header = widths.header(&COLUMNS, theme.style(Role::Label));
    header.spans.insert(0, " ".into());
    let mut lines = vec![header];
    for (i, row) in shown.zip(&cells) {
        let selected = i == cursor;
        let base = if selected {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        let marker = match (selected, ctx.glyphs.unicode) {
            (true, true) => "▸",
            (true, false) => ">",
            _ => " ",
        };
        let mut line = widths.line(&COLUMNS, row, base);
        line.spans.insert(0, Span::styled(marker, base));
        lines.push(line);
    }
    if let Some(detail) = detail
        && inner.height > 3
    {
        while lines.len() < inner.height as usize - 1 {
            lines.push(Line::default());
        }
        lines.push(spans(vec![(
            fit(&format!("last error: {}", sanitize::text(detail)), width),
            theme.style(Role::Error),
        )]));
    }
    if list.is_empty() {
        let text = if filter.is_empty() {
            "no links configured"
        } else {
            "no link matches the filter"
        };
        lines.push(Line::styled(format!("  {text}"), theme.style(Role::Dim)));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn row_cells(app: &App, ctx: &ViewContext, c: &ConnectionSnapshot, now: Timestamp) -> Vec<Cell> {
    let theme = ctx.theme;
    let retry = match &c.retry_at {
        Some(at) => {
            let secs = at
                .wall
                .duration_since(now.wall)
                .map_or(0.0, |d| d.as_secs_f64());
            format!("#{} in {secs:.1}s", c.attempt)
        }
        None if c.attempt > 0 => format!("#{}", c.attempt),
        None => "-".to_string(),
    };
    let rates = app.rates.get(&c.name).copied().unwrap_or_default();
    let silent = c.state == StateKind::Connected
        && app
            .data
            .devices
            .iter()
            .any(|d| d.link == c.name && !d.responding());
    let state = if silent {
        Cell::new(
            format!("{} not responding", ctx.glyphs.silent()),
            theme.style(Role::LinkRecovering),
        )
    } else {
        Cell::new(
            format!("{} {}", ctx.glyphs.link(c.state), c.state.as_str()),
            link_style(theme, c.state),
        )
    };
    let base = theme.style(Role::Base);
    vec![
        state,
        Cell::new(sanitize::text(&c.name), base),
        Cell::new(sanitize::text(&c.endpoint), base),
        Cell::new(retry, base),
        Cell::new(format!("{:.0}/{:.0}", rates.rx, rates.tx), base),
        Cell::new(sanitize::text(c.last_error.as_deref().unwrap_or("")), base),
    ]
}
