//! Raw traffic: one line per chunk (or decoded telegram), with time, a
//! direction marker that is a word and a glyph, hex and ASCII side by side
//! or the decoded fields. Device bytes are never written raw: the
//! renderings only contain printable characters.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{ViewContext, block, fit, spans};
use crate::format::clock;
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use crate::tui::traffic::Entry;
use labdeck_core::link::Direction;

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, focused: bool) {
    let theme = ctx.theme;
    let traffic = &app.traffic;
    let title = format!(
        "Traffic ({})",
        if traffic.decoded { "decoded" } else { "raw" }
    );
    let block = block(ctx, &title, focused);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let width = inner.width as usize;
    let state = if traffic.paused() {
        format!("PAUSED +{} new", traffic.lag())
    } else {
        "LIVE".to_string()
    };
    let mut status = vec![
        (
            format!("{state} "),
            if traffic.paused() {
                theme.style(Role::StateBusy)
            } else {
                theme.style(Role::StateOk)
            },
        ),
        (
            format!(
                "· {} · {} · link {} · repeats {}",
                if traffic.delta { "delta" } else { "clock" },
                traffic.dir.label(),
                traffic.link.label(),
                if traffic.collapse {
                    "collapsed"
                } else {
                    "shown"
                },
            ),
            theme.style(Role::Label),
        ),
    ];
    let filter = app.filter(Pane::Traffic);
    if !filter.is_empty() {
        status.push((
            format!(" · /{}", sanitize::text(filter)),
            theme.style(Role::Value),
        ));
    }
    if traffic.lost > 0 {
        status.push((
            format!(" · {} chunks missed", traffic.lost),
            theme.style(Role::StateAlert),
        ));
    }
    let mut lines = vec![spans(status)];
    let height = inner.height.saturating_sub(1) as usize;
    let visible = traffic.visible();
    let end = visible.len().saturating_sub(traffic.scroll);
    // Render backwards from the newest entry in view until the pane is full.
    let mut rendered: Vec<Line> = Vec::new();
    let mut i = end;
    while i > 0 && rendered.len() < height {
        i -= 1;
        let previous = i.checked_sub(1).map(|p| &*visible[p]);
        let mut entry_lines = entry_lines(app, ctx, &visible[i], previous, width);
        while let Some(line) = entry_lines.pop() {
            if rendered.len() < height {
                rendered.push(line);
            }
        }
    }
    rendered.reverse();
    if visible.is_empty() {
        // Say why the pane is empty: nothing came, or the filters hide it.
        let why = if traffic.is_empty() {
            "  no traffic yet"
        } else if traffic.paused() {
            "  nothing passes the filters up to the pause (p resumes)"
        } else {
            "  no traffic passes the filters (x direction, l link, / pattern)"
        };
        rendered.push(Line::styled(why, theme.style(Role::Dim)));
    }
    lines.extend(rendered);
    frame.render_widget(Paragraph::new(lines), inner);
}

fn entry_lines<'a>(
    app: &App,
    ctx: &ViewContext,
    e: &Entry,
    previous: Option<&Entry>,
    width: usize,
) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    // A collapsed run shows when it was last seen.
    let time = if app.traffic.delta {
        let since = previous.map_or(0.0, |p| {
            e.last
                .mono
                .saturating_duration_since(p.last.mono)
                .as_secs_f64()
        });
        format!("{since:>+12.3}")
    } else {
        clock(&e.last)
    };
    let (marker, style) = match e.dir {
        Direction::Tx => (ctx.glyphs.tx(), theme.style(Role::Tx)),
        Direction::Rx => (ctx.glyphs.rx(), theme.style(Role::Rx)),
    };
    let repeats = if e.repeats > 1 {
        format!(" ×{}", e.repeats)
    } else {
        String::new()
    };
    let link = fit(&sanitize::text(&e.link), 9);
    let body_style = if app.traffic.decoded {
        theme.style(Role::Decoded)
    } else {
        theme.style(Role::Base)
    };
    let prefix_width = time.len() + 1 + marker.chars().count() + 1 + 9 + 1;
    let room = width.saturating_sub(prefix_width + repeats.chars().count());
    app.traffic
        .render(e)
        .into_iter()
        .enumerate()
        .map(|(n, body)| {
            // Renderings are printable already; sanitising again costs
            // little and keeps the rule in one obvious place.
            let mut body = sanitize::text(&body).into_owned();
            // Hex first: the ASCII column goes when both do not fit.
            if body.chars().count() > room
                && let Some(cut) = body.find("  |")
            {
                body.truncate(cut);
            }
            let lead = if n == 0 {
                time.clone()
            } else {
                " ".repeat(time.len())
            };
            spans(vec![
                (format!("{lead} "), theme.style(Role::Dim)),
                (format!("{marker} "), style),
                (format!("{link} "), theme.style(Role::Label)),
                (fit(&body, room), body_style),
                (
                    if n == 0 {
                        repeats.clone()
                    } else {
                        String::new()
                    },
                    theme.style(Role::Dim),
                ),
            ])
        })
        .collect()
}
