//! Raw traffic: one line per chunk (or decoded telegram), with time, a
//! direction marker that is a word and a glyph, hex and ASCII side by side
//! or the decoded fields. Device bytes are never written raw: the
//! renderings only contain printable characters.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::{ViewContext, block, fit, spans};
use crate::format::clock;
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::Role;
use crate::tui::traffic::{Entry, TimeMode};
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
                "· {} · {} · link {} · repeats {}{}",
                traffic.time.label(),
                traffic.dir.label(),
                traffic.link.label(),
                if traffic.collapse {
                    "collapsed"
                } else {
                    "shown"
                },
                if traffic.wrap { " · wrapped" } else { "" },
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
    if let Some(rec) = app.data.recording.as_ref().filter(|r| r.on) {
        status.push((
            format!(
                " · ● REC {} ({})",
                sanitize::text(&rec.path.display().to_string()),
                rec.frames
            ),
            theme.style(Role::StateAlert),
        ));
    }
    if traffic.lost > 0 {
        status.push((
            format!(" · {} chunks missed", traffic.lost),
            theme.style(Role::StateAlert),
        ));
    }
    if !traffic.search.is_empty() {
        status.push((
            format!(" · search {} (n/N)", sanitize::text(&traffic.search)),
            theme.style(Role::Match),
        ));
    }
    let mut lines = vec![spans(status)];
    let height = inner.height.saturating_sub(1) as usize;
    let visible = traffic.visible();
    // The selected row (the newest when live) is in view; rows above it
    // fill the pane, and rows below it when it is near the top.
    let selected = visible.len().saturating_sub(1 + traffic.scroll);
    let show = |i: usize| {
        let previous = i.checked_sub(1).map(|p| &*visible[p]);
        let highlight = traffic.paused() && i == selected;
        entry_lines(app, ctx, &visible[i], previous, width, highlight)
    };
    let mut rendered: Vec<Line> = Vec::new();
    let mut i = (selected + 1).min(visible.len());
    while i > 0 && rendered.len() < height {
        i -= 1;
        let mut entry = show(i);
        while let Some(line) = entry.pop() {
            if rendered.len() < height {
                rendered.push(line);
            }
        }
    }
    rendered.reverse();
    let mut below = selected + 1;
    while below < visible.len() && rendered.len() < height {
        rendered.extend(show(below).into_iter().take(height - rendered.len()));
        below += 1;
    }
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
    selected: bool,
) -> Vec<Line<'a>> {
    let theme = ctx.theme;
    let traffic = &app.traffic;
    let delta = || {
        let since = previous.map_or(0.0, |p| {
            e.last
                .mono
                .saturating_duration_since(p.last.mono)
                .as_secs_f64()
        });
        format!("{since:>+9.4}")
    };
    // A collapsed run shows when it was last seen (and, at its end, first).
    let time = match traffic.time {
        TimeMode::Clock => clock(&e.last),
        TimeMode::Delta => delta(),
        TimeMode::Both => format!("{} {}", clock(&e.last), delta()),
    };
    let (marker, style) = match e.dir {
        Direction::Tx => (ctx.glyphs.tx(), theme.style(Role::Tx)),
        Direction::Rx => (ctx.glyphs.rx(), theme.style(Role::Rx)),
    };
    let prefix_width = time.chars().count() + 1 + marker.chars().count() + 1 + 9 + 1;
    // A run's count, and its span where the frame keeps 48 columns
    // (Enter shows its first and last time).
    let repeats = if e.repeats > 1 {
        let span = e.last.mono.saturating_duration_since(e.t.mono);
        let full = format!(" ×{} in {:.1} s", e.repeats, span.as_secs_f64());
        if width >= prefix_width + full.chars().count() + 48 {
            full
        } else {
            format!(" ×{}", e.repeats)
        }
    } else {
        String::new()
    };
    let link = fit(&sanitize::text(&e.link), 9);
    let body_style = if selected {
        theme.style(Role::Selection)
    } else if traffic.decoded {
        theme.style(Role::Decoded)
    } else {
        theme.style(Role::Base)
    };
    let found = traffic.found(e);
    let room = width.saturating_sub(prefix_width + repeats.chars().count());
    // Renderings are printable already; sanitising again costs little
    // and keeps the rule in one obvious place.
    let bodies: Vec<String> = if traffic.wrap && room > 0 {
        traffic
            .render_wrapped(e, room)
            .iter()
            .map(|b| sanitize::text(b).into_owned())
            .collect()
    } else {
        traffic
            .render(e)
            .iter()
            .map(|body| {
                let mut body = sanitize::text(body).into_owned();
                // Hex first: the ASCII column goes when both do not fit.
                if body.chars().count() > room
                    && let Some(cut) = body.find("  |")
                {
                    body.truncate(cut);
                }
                fit(&body, room)
            })
            .collect()
    };
    bodies
        .into_iter()
        .enumerate()
        .map(|(n, body)| {
            let lead = if n == 0 {
                time.clone()
            } else {
                " ".repeat(time.chars().count())
            };
            let mut parts = vec![
                (format!("{lead} "), theme.style(Role::Dim)),
                (format!("{marker} "), style),
                (format!("{link} "), theme.style(Role::Label)),
            ];
            if found {
                parts.extend(highlight(
                    &body,
                    &traffic.search,
                    body_style,
                    theme.style(Role::Match),
                ));
            } else {
                parts.push((body, body_style));
            }
            if n == 0 {
                parts.push((repeats.clone(), theme.style(Role::Dim)));
            }
            spans(parts)
        })
        .collect()
}

/// `body` in pieces, the search hits in the match style (a hex search
/// `0216` also finds `02 16`); a row found only by its bytes is marked
/// whole.
fn highlight(body: &str, search: &str, base: Style, hit: Style) -> Vec<(String, Style)> {
    let lower = body.to_lowercase();
    let needle = search.trim().to_lowercase();
    let spaced = spaced_hex(&needle);
    let find = |from: usize| {
        [needle.as_str(), spaced.as_deref().unwrap_or("")]
            .iter()
            .filter(|n| !n.is_empty())
            .filter_map(|n| lower[from..].find(*n).map(|at| (from + at, n.len())))
            .min()
    };
    // Lowercasing can change byte lengths outside ASCII: then mark whole.
    if lower.len() != body.len() || find(0).is_none() {
        return vec![(body.to_string(), hit)];
    }
    let mut parts = Vec::new();
    let mut at = 0;
    while let Some((start, len)) = find(at) {
        if start > at {
            parts.push((body[at..start].to_string(), base));
        }
        parts.push((body[start..start + len].to_string(), hit));
        at = start + len;
    }
    if at < body.len() {
        parts.push((body[at..].to_string(), base));
    }
    parts
}

/// `0216` as `02 16`, when it is hex.
fn spaced_hex(needle: &str) -> Option<String> {
    let digits: Vec<char> = needle.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() >= 2
        && digits.len().is_multiple_of(2)
        && digits.iter().all(char::is_ascii_hexdigit))
    .then(|| {
        digits
            .chunks(2)
            .map(|p| p.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ")
    })
}
