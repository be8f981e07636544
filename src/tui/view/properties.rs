//! Properties of the selected device, grouped: value with unit, state as a
//! word and colour, limits, writability and a sparkline of recent values.

use std::sync::Arc;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::columns::{Cell, Column, Cut, Widths};
use super::{ViewContext, block, prop_state_style, window};
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use labdeck_core::device::{Level, Property};

const SPARK_WIDTH: usize = 24;

/// Group, name and value always; then state, writability, the trend and
/// the limits (also in the editor's title). Caps of group and name are set
/// by the pane's width.
const COLUMNS: [Column; 7] = [
    Column::new("group", 0, 7).shrink(5),
    Column::new("name", 0, 16).shrink(10),
    Column::new("value", 0, 20).shrink(10),
    Column::new("state", 1, 6),
    Column::new("limits", 4, 16),
    Column::new("w", 2, 1),
    Column::new("trend", 3, SPARK_WIDTH)
        .shrink(6)
        .cut(Cut::Start),
];

/// The cells of row `i` of `list`; `first` is the first row on screen
/// (where a group's name starts again).
fn row_cells(
    app: &App,
    ctx: &ViewContext,
    device: &Arc<str>,
    list: &[&Property],
    i: usize,
    first: usize,
) -> Vec<Cell> {
    let theme = ctx.theme;
    let p = list[i];
    let dim = theme.style(Role::Dim);
    // A long group ("CCD Simulator · Image Settings") continues on the
    // rows below its first; a group of one row shows its whole name.
    let group_start = (first..=i)
        .rev()
        .take_while(|&j| list[j].def.group == p.def.group)
        .last()
        .unwrap_or(i);
    let group_row = i - group_start;
    let alone = group_row == 0
        && list
            .get(i + 1)
            .is_none_or(|next| next.def.group != p.def.group);
    let group = match group_lines(&p.def.group).nth(group_row) {
        Some(_) if alone => p.def.group.clone(),
        Some(line) => line,
        None => String::new(),
    };
    // Beyond the write limits or an alarm threshold: `!`; beyond a warning
    // threshold: `^`. Marked in words too, not by colour alone.
    let (value_style, mark) = match (outside_limits(p), p.level()) {
        (true, _) | (_, Level::Alarm) => (theme.style(Role::OutOfLimits), " !"),
        (false, Level::Warning) => (theme.style(Role::StateBusy), " ^"),
        (false, Level::Normal) => (theme.style(Role::Value), ""),
    };
    let value = format!("{}{mark}", sanitize::text(&crate::format::property(p)));
    let limits = match (p.def.min, p.def.max) {
        (Some(lo), Some(hi)) => format!("{lo}..{hi}"),
        (Some(lo), None) => format!(">={lo}"),
        (None, Some(hi)) => format!("<={hi}"),
        (None, None) => String::new(),
    };
    let trend = app
        .history
        .get(&(device.clone(), p.name().to_string()))
        .filter(|h| h.len() > 1)
        .map(|h| ctx.glyphs.sparkline(h.iter().copied(), SPARK_WIDTH))
        .unwrap_or_default();
    vec![
        Cell::new(sanitize::text(&group), dim),
        Cell::new(sanitize::text(&p.def.label), theme.style(Role::Base)),
        Cell::new(value, value_style),
        Cell::new(p.state.as_str(), prop_state_style(theme, p.state)),
        Cell::new(limits, dim),
        Cell::new(
            if p.def.writable { "w" } else { "" },
            theme.style(Role::Base),
        ),
        Cell::new(trend, theme.style(Role::Sparkline)),
    ]
}

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, focused: bool) {
    let theme = ctx.theme;
    let device = app.selected_device();
    let title = match device {
        Some(d) => format!(
            "Properties: {} ({}, {})",
            sanitize::text(&d.name),
            d.kind,
            d.liveness.as_str()
        ),
        None => "Properties".into(),
    };
    let filter = app.filter(Pane::Properties);
    let title = if filter.is_empty() {
        title
    } else {
        format!("{title} /{}", sanitize::text(filter))
    };
    let block = block(ctx, &title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(device) = device else {
        frame.render_widget(
            Paragraph::new("no device on the selected link").style(theme.style(Role::Dim)),
            inner,
        );
        return;
    };
    let width = inner.width as usize;
    let list = app.property_list();
    let cursor = app.cursor(Pane::Properties);
    let shown = window(list.len(), inner.height.saturating_sub(1) as usize, cursor);
    let cells: Vec<Vec<Cell>> = shown
        .clone()
        .map(|i| row_cells(app, ctx, &device.name, &list, i, shown.start))
        .collect();
    // Groups and names widen for long ones (INDI: "CCD Simulator · Image
    // Settings"), the group up to a quarter of the pane, the name a third.
    let mut columns = COLUMNS;
    columns[0].cap = (width / 4).max(7);
    columns[1].cap = (width / 3).max(16);
    let widths = Widths::fit(&columns, cells.iter().map(Vec::as_slice), width);
    let mut lines = vec![widths.header(&columns, theme.style(Role::Label))];
    for (i, row) in shown.zip(&cells) {
        let base = if focused && i == cursor {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        lines.push(widths.line(&columns, row, base));
    }
    if list.is_empty() {
        lines.push(Line::styled(
            "  no property matches the filter",
            theme.style(Role::Dim),
        ));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A group as display lines: `Device · Group` is two.
fn group_lines(group: &str) -> impl Iterator<Item = String> + '_ {
    group.split(" · ").enumerate().map(|(i, part)| {
        if i == 0 {
            part.to_string()
        } else {
            format!("· {part}")
        }
    })
}

fn outside_limits(p: &Property) -> bool {
    let Some(v) = p
        .value
        .as_ref()
        .and_then(labdeck_core::device::Value::as_f64)
    else {
        return false;
    };
    p.def.min.is_some_and(|lo| v < lo) || p.def.max.is_some_and(|hi| v > hi)
}
