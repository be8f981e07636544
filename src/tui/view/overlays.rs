//! Windows over the panes: help (generated from the keymap, filterable),
//! the command palette, the fault menu, confirmations, input lines and
//! multi-line replies.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::{ViewContext, centred, fit, spans};
use crate::tui::app::{App, Confirm, InputPurpose, Overlay};
use crate::tui::forms::{FIELDS, TaskForm};
use crate::tui::keys::{Action, Scope};
use crate::tui::palette::{Palette, candidates};
use crate::tui::sanitize;
use crate::tui::theme::Role;

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect) {
    if let Some(message) = &app.message {
        message_box(ctx, frame, area, message, app.message_scroll);
        return;
    }
    match &app.overlay {
        None => {}
        Some(Overlay::Help { filter, scroll }) => help(app, ctx, frame, area, filter, *scroll),
        Some(Overlay::Palette(p)) => palette(app, ctx, frame, area, p),
        Some(Overlay::Faults {
            simulator,
            selected,
        }) => faults(app, ctx, frame, area, *simulator, *selected),
        Some(Overlay::Confirm(Confirm::Quit)) => {
            let rect = centred(area, 56, 5);
            let lines = vec![
                Line::from("Links are connected, a pump runs or tasks are queued."),
                Line::styled("Quit anyway? (y / n)", ctx.theme.style(Role::Value)),
            ];
            popup(ctx, frame, rect, "Quit", lines);
        }
        Some(Overlay::Confirm(Confirm::TakeControl)) => {
            let holder = app.watching().unwrap_or("another console");
            let question = format!("{} holds control.", sanitize::text(holder));
            let width = (question.chars().count() as u16 + 4).clamp(48, area.width);
            let rect = centred(area, width, 5);
            let lines = vec![
                Line::from(question),
                Line::styled(
                    "Take it? Its writes are refused from then on. (y / n)",
                    ctx.theme.style(Role::Value),
                ),
            ];
            popup(ctx, frame, rect, "Take control", lines);
        }
        Some(Overlay::Confirm(Confirm::Request { question, .. })) => {
            let width = (question.chars().count() as u16 + 4).clamp(40, area.width);
            let rect = centred(area, width, 5);
            let lines = vec![
                Line::from(sanitize::text(question)),
                Line::styled("(y / n)", ctx.theme.style(Role::Value)),
            ];
            popup(ctx, frame, rect, "Confirm", lines);
        }
        Some(Overlay::Confirm(Confirm::CancelTask { device, id, name })) => {
            let rect = centred(area, 60, 5);
            let lines = vec![
                Line::from(format!(
                    "Cancel task #{id} '{}' on {}?",
                    sanitize::text(name),
                    sanitize::text(device)
                )),
                Line::styled(
                    "A running task stops and the device goes to its safe state. (y / n)",
                    ctx.theme.style(Role::Value),
                ),
            ];
            popup(ctx, frame, rect, "Cancel task", lines);
        }
        Some(Overlay::TaskForm(form)) => task_form(app, ctx, frame, area, form),
        Some(Overlay::Input { purpose, text }) => {
            let rect = Rect::new(
                area.x,
                area.bottom().saturating_sub(4),
                area.width,
                3.min(area.height),
            );
            let title = match purpose {
                InputPurpose::Filter(pane) => format!("Filter {}", pane.title()),
                InputPurpose::Search => {
                    "Search the traffic: text or hex (Enter: go to the newest hit, n/N next)".into()
                }
                InputPurpose::CapturePath => "Write the visible traffic to".into(),
                InputPurpose::EditAttr => edit_title(app),
            };
            let line = spans(vec![(
                format!("{}█", sanitize::text(text)),
                ctx.theme.style(Role::Input),
            )]);
            popup(ctx, frame, rect, &title, vec![line]);
        }
    }
}

/// Rows of completion candidates the palette shows at most.
const CANDIDATE_ROWS: usize = 6;

/// The palette: the line with its cursor, and every completion of the
/// word being typed in columns, scrolled to the one Tab chose.
fn palette(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, p: &Palette) {
    let shown = if p.candidates.is_empty() {
        candidates(&p.input, &app.vocabulary())
    } else {
        p.candidates.clone()
    };
    let inner_width = area.width.saturating_sub(2) as usize;
    let column = shown
        .iter()
        .map(|c| c.chars().count() + 2)
        .max()
        .unwrap_or(1)
        .min(inner_width.max(1));
    let columns = (inner_width / column).max(1);
    let rows = shown.len().div_ceil(columns);
    let visible = rows.min(CANDIDATE_ROWS);
    // Row of the chosen candidate, kept in view.
    let first = p
        .choice
        .map_or(0, |c| (c / columns + 1).saturating_sub(visible));
    let height = (visible as u16 + 3).min(area.height);
    let rect = Rect::new(
        area.x,
        area.bottom().saturating_sub(height + 1),
        area.width,
        height,
    );
    // The cursor is the character under it, reversed (a block at the end
    // of the line).
    let (before, rest) = p.input.split_at(p.cursor.min(p.input.len()));
    let mut chars = rest.chars();
    let under = chars.next().map_or_else(|| " ".to_string(), String::from);
    let input = ctx.theme.style(Role::Input);
    let mut lines = vec![spans(vec![
        (":".into(), ctx.theme.style(Role::HintKey)),
        (sanitize::text(before).into_owned(), input),
        (
            sanitize::text(&under).into_owned(),
            input.add_modifier(ratatui::style::Modifier::REVERSED),
        ),
        (sanitize::text(chars.as_str()).into_owned(), input),
    ])];
    for row in first..first + visible {
        let cells = (0..columns)
            .filter_map(|col| {
                let i = row * columns + col;
                let c = shown.get(i)?;
                let style = if Some(i) == p.choice {
                    ctx.theme.style(Role::Selection)
                } else {
                    ctx.theme.style(Role::Dim)
                };
                let text = fit(&sanitize::text(c), column - 2);
                Some((format!(" {text:<width$} ", width = column - 2), style))
            })
            .collect();
        lines.push(spans(cells));
    }
    let title = match (shown.len(), rows > visible) {
        (0, _) => "Command (Tab completes)".to_string(),
        (n, false) => format!("Command (Tab completes: {n})"),
        (n, true) => format!(
            "Command (Tab completes: {n}, rows {}-{} of {rows})",
            first + 1,
            first + visible
        ),
    };
    popup(ctx, frame, rect, &title, lines);
}

/// `Edit pump1.setpoint (int, 750..1200 Hz)`.
fn edit_title(app: &App) -> String {
    let Some((device, attr)) = &app.editing else {
        return "Edit".into();
    };
    let prop = app
        .data
        .devices
        .iter()
        .find(|d| *d.name == **device)
        .and_then(|d| d.property(attr));
    let mut what = vec![];
    if let Some(p) = prop.map(|p| &*p.def) {
        what.push(match &p.kind {
            labdeck_core::device::AttrKind::Enum(options) => options.join("|"),
            kind => kind.name().to_string(),
        });
        let unit = p.unit.as_deref().map_or(String::new(), |u| format!(" {u}"));
        match (p.min, p.max) {
            (Some(lo), Some(hi)) => what.push(format!("{lo}..{hi}{unit}")),
            (Some(lo), None) => what.push(format!(">= {lo}{unit}")),
            (None, Some(hi)) => what.push(format!("<= {hi}{unit}")),
            (None, None) if !unit.is_empty() => what.push(unit.trim().to_string()),
            (None, None) => {}
        }
    }
    format!(
        "Edit {}.{} ({})",
        sanitize::text(device),
        sanitize::text(attr),
        what.join(", ")
    )
}

fn task_form(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, form: &TaskForm) {
    let theme = ctx.theme;
    let rect = centred(area, 76, FIELDS.len() as u16 + 8);
    let mut lines = Vec::new();
    for (i, (label, value)) in FIELDS.iter().zip(&form.values).enumerate() {
        let focused = i == form.focus;
        let cursor = if focused { "█" } else { "" };
        let style = if focused {
            theme.style(Role::Input)
        } else {
            theme.style(Role::Value)
        };
        lines.push(spans(vec![
            (format!("{label:>10}: "), theme.style(Role::Label)),
            (format!("{}{cursor}", sanitize::text(value)), style),
        ]));
    }
    // What the chosen device offers, to type from.
    let device = app
        .data
        .devices
        .iter()
        .find(|d| *d.name == *form.values[0].trim());
    let offer = match device {
        Some(d) => {
            let techniques: Vec<String> = d
                .capabilities
                .techniques
                .iter()
                .map(|t| {
                    let params: Vec<&str> = t.params.iter().map(|(p, _)| p.as_str()).collect();
                    if params.is_empty() {
                        t.name.clone()
                    } else {
                        format!("{} ({})", t.name, params.join(" "))
                    }
                })
                .collect();
            format!("techniques: {}", techniques.join(", "))
        }
        None => {
            "devices: ".to_string()
                + &app
                    .data
                    .devices
                    .iter()
                    .map(|d| d.name.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
        }
    };
    lines.push(Line::styled(
        sanitize::text(&offer).into_owned(),
        theme.style(Role::Dim),
    ));
    lines.push(Line::styled(
        "params: NAME=VALUE separated by spaces; interval and duration in seconds",
        theme.style(Role::Dim),
    ));
    if let Some(error) = &form.error {
        lines.push(Line::styled(
            sanitize::text(error).into_owned(),
            theme.style(Role::Error),
        ));
    }
    popup(
        ctx,
        frame,
        rect,
        "New task (Enter queues, Esc closes)",
        lines,
    );
}

fn popup(ctx: &ViewContext, frame: &mut Frame, rect: Rect, title: &str, lines: Vec<Line>) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(ctx.theme.style(Role::BorderFocus))
        .title(format!(" {title} "))
        .style(ctx.theme.style(Role::Overlay));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        rect,
    );
}

/// A multi-line reply, whole: lines wrap at words, and a reply taller than
/// the screen scrolls.
fn message_box(ctx: &ViewContext, frame: &mut Frame, area: Rect, message: &str, scroll: usize) {
    let lines: Vec<Line> = message
        .lines()
        .map(|l| Line::from(sanitize::text(l).into_owned()))
        .collect();
    let width = lines.iter().map(Line::width).max().unwrap_or(10) as u16 + 4;
    let rect = centred(area, width.max(30), lines.len() as u16 + 2);
    let rows = rect.height.saturating_sub(2) as usize;
    let total = lines.len();
    let scroll = scroll.min(total.saturating_sub(rows));
    let title = if total > rows {
        format!(
            " Reply {}–{}/{total} · ↑↓ PgUp PgDn · Esc ",
            scroll + 1,
            (scroll + rows).min(total)
        )
    } else {
        " Reply (any key closes) ".to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(ctx.theme.style(Role::BorderFocus))
        .title(title)
        .style(ctx.theme.style(Role::Overlay));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        rect,
    );
}

/// Help lines: `keys  what  (where)`, grouped by scope.
pub fn help_lines(app: &App, filter: &str) -> Vec<(String, String, Scope)> {
    let needle = filter.to_lowercase();
    let mut rows: Vec<(String, String, Scope)> = Action::ALL
        .iter()
        .map(|a| (app.keymap.describe(*a), a.help().to_string(), a.scope()))
        .filter(|(keys, help, scope)| {
            needle.is_empty()
                || keys.to_lowercase().contains(&needle)
                || help.to_lowercase().contains(&needle)
                || scope.title().contains(&needle)
        })
        .collect();
    rows.sort_by_key(|(_, _, scope)| *scope);
    rows
}

fn help(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, filter: &str, scroll: usize) {
    let rect = centred(area, 76, area.height.saturating_sub(2));
    let theme = ctx.theme;
    let mut lines = vec![spans(vec![
        ("filter: ".into(), theme.style(Role::Label)),
        (
            format!("{}█", sanitize::text(filter)),
            theme.style(Role::Input),
        ),
    ])];
    let mut scope = None;
    let mut body = Vec::new();
    for (keys, what, s) in help_lines(app, filter) {
        if scope != Some(s) {
            scope = Some(s);
            body.push(Line::styled(
                format!("— {} —", s.title()),
                theme.style(Role::Title),
            ));
        }
        body.push(spans(vec![
            (format!("  {} ", fit(&keys, 16)), theme.style(Role::HintKey)),
            (what, theme.style(Role::Base)),
        ]));
    }
    if body.is_empty() {
        body.push(Line::styled("no key matches", theme.style(Role::Dim)));
    }
    let scroll = scroll.min(body.len().saturating_sub(1));
    lines.extend(body.into_iter().skip(scroll));
    popup(ctx, frame, rect, "Keys (type to filter, Esc closes)", lines);
}

fn faults(
    app: &App,
    ctx: &ViewContext,
    frame: &mut Frame,
    area: Rect,
    simulator: usize,
    selected: usize,
) {
    let theme = ctx.theme;
    let Some(sim) = app.data.simulators.get(simulator) else {
        return;
    };
    let id_w = sim
        .faults
        .iter()
        .map(|f| f.id.len())
        .max()
        .unwrap_or(0)
        .max(10);
    let text_w = 56 + id_w - 10;
    let rect = centred(area, text_w as u16 + 8, sim.faults.len() as u16 + 4);
    let endpoint = sim.endpoint.as_deref().map_or_else(
        || "(port closed)".to_string(),
        |e| sanitize::text(e).into_owned(),
    );
    let mut lines = vec![Line::styled(
        format!("{} on {endpoint}", sim.kind),
        theme.style(Role::Dim),
    )];
    for (i, fault) in sim.faults.iter().enumerate() {
        let base = if i == selected {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        let (word, role) = if fault.active {
            ("[ON] ", Role::StateAlert)
        } else {
            ("[off]", Role::StateIdle)
        };
        let value = fault
            .setting()
            .map_or_else(String::new, |s| format!(" ({s})"));
        lines.push(spans(vec![
            (format!("{word} "), theme.style(role).patch(base)),
            (
                fit(
                    &format!("{:<id_w$} {}{value}", fault.id, fault.label),
                    text_w,
                ),
                base,
            ),
        ]));
    }
    popup(
        ctx,
        frame,
        rect,
        &format!("Faults of {}", sanitize::text(&sim.name)),
        lines,
    );
}
