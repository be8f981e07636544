//! The state machine of the selected connection: current state, the
//! commands that do something from it, counters, and the transition
//! timeline with time and reason.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{ViewContext, block, fit, link_style, spans, window};
use crate::format::clock;
use crate::tui::app::{App, Pane};
use crate::tui::keys::Action;
use crate::tui::sanitize;
use crate::tui::theme::Role;

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, focused: bool) {
    let theme = ctx.theme;
    let Some(c) = app.selected_connection() else {
        let block = block(ctx, "State machine", focused);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(
            Paragraph::new("select a link").style(theme.style(Role::Dim)),
            inner,
        );
        return;
    };
    let block = block(
        ctx,
        &format!("State machine: {}", sanitize::text(&c.name)),
        focused,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let since = app
        .now
        .wall
        .duration_since(c.since.wall)
        .map_or(0, |d| d.as_secs());
    let mut lines = vec![spans(vec![
        ("state ".into(), theme.style(Role::Label)),
        (
            format!(
                "{} {}",
                ctx.glyphs.link(c.state),
                c.state.as_str().to_uppercase()
            ),
            link_style(theme, c.state),
        ),
        (format!("  for {}", duration(since)), theme.style(Role::Dim)),
    ])];
    let commands: Vec<String> = c
        .state
        .meaningful_commands()
        .iter()
        .map(|name| match key_of(app, name) {
            Some(key) => format!("{key} {name}"),
            None => format!(":{name}"),
        })
        .collect();
    let commands = if commands.is_empty() {
        "none (torn down)".into()
    } else {
        commands.join(" · ")
    };
    lines.push(spans(vec![
        ("inputs ".into(), theme.style(Role::Label)),
        (commands, theme.style(Role::Value)),
    ]));
    let k = c.counters;
    lines.push(Line::styled(
        fit(
            &format!(
                "attempts {} · opened {} · failed {} · lost {} · alarms {}",
                k.attempts, k.successes, k.failures, k.losses, k.alarms
            ),
            width,
        ),
        theme.style(Role::Dim),
    ));
    if let Some(alarm) = &c.alarm {
        lines.push(Line::styled(
            fit(&format!("alarm: {}", sanitize::text(&alarm.reason)), width),
            theme.style(Role::Alarm),
        ));
    }
    let head = lines.len();
    let height = (inner.height as usize).saturating_sub(head);
    let cursor = app.cursor(Pane::StateMachine);
    let newest_first = app.transition_list();
    for i in window(newest_first.len(), height, cursor) {
        let t = newest_first[i];
        let selected = focused && i == cursor;
        let base = if selected {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        // The previous line's state is where each transition came from.
        let time = clock(&t.t);
        let to = format!(
            "{} {} {:<12} ",
            ctx.glyphs.arrow(),
            ctx.glyphs.link(t.to),
            t.to.as_str()
        );
        let room = width.saturating_sub(time.len() + 1 + to.chars().count());
        lines.push(spans(vec![
            (format!("{time} "), theme.style(Role::Dim).patch(base)),
            (to, link_style(theme, t.to).patch(base)),
            (fit(&sanitize::text(&t.reason), room), base),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn key_of(app: &App, command: &str) -> Option<String> {
    let action = match command {
        "connect" => Action::Connect,
        "disconnect" => Action::Disconnect,
        "retry" => Action::RetryNow,
        _ => return None,
    };
    app.keymap.keys(action).first().map(ToString::to_string)
}

fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{}m {}s", secs / 60, secs % 60),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}
