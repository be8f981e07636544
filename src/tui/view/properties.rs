//! Properties of the selected device, grouped: value with unit, state as a
//! word and colour, limits, writability and a sparkline of recent values.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{ViewContext, block, fit, prop_state_style, spans, window};
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use labdeck_core::device::{Level, Property};

const SPARK_WIDTH: usize = 24;

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
    // Fixed columns first; the sparkline takes what is left. Group and
    // name widen for long ones (INDI: "CCD Simulator · Image Settings").
    let longest = |f: fn(&Property) -> usize| list.iter().map(|p| f(p)).max().unwrap_or(0);
    let group_w = longest(|p| {
        group_lines(&p.def.group)
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    })
    .clamp(7, (width / 4).max(7));
    let label_w = longest(|p| p.def.label.chars().count()).clamp(16, (width / 4).max(16));
    let (value_w, state_w, limits_w) = (14, 6, 10);
    let trend_w = width.saturating_sub(group_w + label_w + value_w + state_w + limits_w + 7);
    let header = format!(
        "{:<group_w$} {:<label_w$} {:<value_w$} {:<state_w$} {:<limits_w$} w trend",
        "group", "name", "value", "state", "limits"
    );
    let mut lines = vec![spans(vec![(fit(&header, width), theme.style(Role::Label))])];
    let cursor = app.cursor(Pane::Properties);
    let rows = window(list.len(), inner.height.saturating_sub(1) as usize, cursor);
    let first = rows.start;
    let mut group = "";
    let mut group_row = 0;
    for i in rows {
        let p = list[i];
        let selected = focused && i == cursor;
        let base = if selected {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        // A long group ("CCD Simulator · Image Settings") continues on
        // the rows below its first.
        if p.def.group != group || i == first {
            group = &p.def.group;
            group_row = 0;
        } else {
            group_row += 1;
        }
        let alone = group_row == 0
            && list
                .get(i + 1)
                .is_none_or(|next| next.def.group != p.def.group);
        let group_mark = match group_lines(&p.def.group).nth(group_row) {
            // A group of one row shows what fits of its whole name.
            Some(_) if alone => fit(&sanitize::text(&p.def.group), group_w),
            Some(line) => fit(&sanitize::text(&line), group_w),
            None => " ".repeat(group_w),
        };
        let out_of_limits = outside_limits(p);
        // Beyond the write limits or an alarm threshold: `!`; beyond a
        // warning threshold: `^`. Marked in words too, not by colour alone.
        let (value_style, mark) = match (out_of_limits, p.level()) {
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
            .get(&(device.name.clone(), p.name().to_string()))
            .filter(|h| h.len() > 1 && trend_w > 0)
            .map(|h| {
                ctx.glyphs
                    .sparkline(h.iter().copied(), trend_w.min(SPARK_WIDTH))
            })
            .unwrap_or_default();
        lines.push(spans(vec![
            (format!("{group_mark} "), theme.style(Role::Dim).patch(base)),
            (
                format!("{} ", fit(&sanitize::text(&p.def.label), label_w)),
                base,
            ),
            (
                format!("{} ", fit(&value, value_w)),
                value_style.patch(base),
            ),
            (
                format!("{:<state_w$} ", p.state.as_str()),
                prop_state_style(theme, p.state).patch(base),
            ),
            (
                format!("{} ", fit(&limits, limits_w)),
                theme.style(Role::Dim).patch(base),
            ),
            (
                if p.def.writable {
                    "w ".into()
                } else {
                    "  ".into()
                },
                base,
            ),
            (trend, theme.style(Role::Sparkline).patch(base)),
        ]));
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
