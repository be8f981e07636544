//! Connections: one row per link with state (word and glyph), endpoint,
//! retries, last error and byte rates. An open link whose device does not
//! answer is "not responding", never green.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{ViewContext, block, fit, link_style, spans, window};
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use labdeck_core::connection::StateKind;

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
    let (state_w, name_w, endpoint_w, retry_w) = (16, 12, 20, 11);
    let header = format!(
        " {:<state_w$} {:<name_w$} {:<endpoint_w$} {:<retry_w$} {:>11}  last error",
        "state", "link", "transport endpoint", "retry", "rx/tx B/s"
    );
    let mut lines = vec![spans(vec![(fit(&header, width), theme.style(Role::Label))])];
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
    for i in window(list.len(), rows, cursor) {
        let c = list[i];
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
        let error = c.last_error.as_deref().unwrap_or("");
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
        let silent = c.state == StateKind::Connected
            && app
                .data
                .devices
                .iter()
                .any(|d| d.link == c.name && !d.responding());
        let (state, state_style) = if silent {
            (
                format!("{} not responding", ctx.glyphs.silent()),
                theme.style(Role::LinkRecovering),
            )
        } else {
            (
                format!("{} {}", ctx.glyphs.link(c.state), c.state.as_str()),
                link_style(theme, c.state),
            )
        };
        let rest = format!(
            " {} {} {} {:>5.0}/{:<5.0} {}",
            fit(&sanitize::text(&c.name), name_w),
            fit(
                &format!("{} {}", c.transport, sanitize::text(&c.endpoint)),
                endpoint_w
            ),
            fit(&retry, retry_w),
            rates.rx,
            rates.tx,
            sanitize::text(error),
        );
        lines.push(spans(vec![
            (marker.to_string(), base),
            (fit(&state, state_w), state_style.patch(base)),
            (fit(&rest, width.saturating_sub(state_w + 1)), base),
        ]));
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
