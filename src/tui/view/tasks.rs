//! Tasks: the queue's mode when it is not active, a line per job (its
//! state, tasks done, outcome), every device's running, queued and recent
//! tasks with state as a word and colour, the job each belongs to, a
//! progress gauge, samples taken and the data file; and a live chart of
//! the selected (or running) task's numeric columns, each scaled to its
//! own range and named with it in the legend.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use super::columns::{Cell, Column, Widths};
use super::{ViewContext, block, fit, spans, window};
use crate::tui::app::{App, Pane};
use crate::tui::sanitize;
use crate::tui::theme::{Role, Theme};
use labdeck_core::device::{QueueMode, TaskSnapshot, TaskState, si_format};
use labdeck_core::jobs::JobSnapshot;

const GAUGE: usize = 8;

/// Job lines shown at most above the tasks.
const JOB_LINES: usize = 3;

/// State, name and progress always; then device, samples, the reason of a
/// failure, the id, the job, the technique and the file.
const COLUMNS: [Column; 11] = [
    Column::new("state", 0, 11),
    Column::new("id", 2, 6),
    Column::new("device", 1, 12).shrink(5),
    Column::new("name", 0, 20).shrink(8),
    Column::new("job", 3, 14).shrink(6).optional(),
    Column::new("technique", 3, 14).shrink(6),
    Column::new("progress", 0, GAUGE),
    Column::new("", 0, 4).right(),
    Column::new("samples", 1, 11).right(),
    Column::new("reason", 1, 24).shrink(10).optional(),
    // Cut at the end: the name starts with the date and time.
    Column::new("file", 4, 24).shrink(12),
];

fn state_style(theme: &Theme, state: TaskState) -> Style {
    theme.style(match state {
        TaskState::Queued => Role::StateIdle,
        TaskState::Running => Role::StateBusy,
        TaskState::Paused => Role::StateIdle,
        TaskState::Completed => Role::StateOk,
        TaskState::Failed | TaskState::Interrupted => Role::StateAlert,
        TaskState::Cancelled => Role::Dim,
    })
}

/// The jobs worth a line: running and waiting ones, then the latest ended.
fn shown_jobs(jobs: &[JobSnapshot]) -> Vec<&JobSnapshot> {
    let mut shown: Vec<&JobSnapshot> = jobs.iter().filter(|j| !j.state.is_terminal()).collect();
    if let Some(last) = jobs.iter().rev().find(|j| j.state.is_terminal()) {
        shown.insert(0, last);
    }
    shown.truncate(JOB_LINES);
    shown
}

/// `job #1 pump-down running 1/3 tasks · stop on failure · reset at end`.
fn job_line<'a>(theme: &Theme, job: &JobSnapshot) -> Line<'a> {
    let mut text = format!(
        " {}/{} tasks · {} on failure",
        job.done(),
        job.tasks.len(),
        match job.on_failure {
            labdeck_core::jobs::OnFailure::Stop => "stop",
            labdeck_core::jobs::OnFailure::Continue => "continue",
        }
    );
    if job.reset_at_end {
        text.push_str(" · reset at end");
    }
    if let Some(reason) = &job.reason {
        text.push_str(" · ");
        text.push_str(reason);
    }
    spans(vec![
        (
            format!("job #{} {} ", job.id, sanitize::text(&job.name)),
            theme.style(Role::Label),
        ),
        (
            job.state.as_str().to_string(),
            state_style(theme, job.state),
        ),
        (sanitize::text(&text).into_owned(), theme.style(Role::Dim)),
    ])
}

/// The queue's mode when any device's is not active, in words.
fn queue_mode(app: &App) -> Option<QueueMode> {
    app.data
        .devices
        .iter()
        .map(|d| d.queue)
        .find(|m| *m != QueueMode::Active)
}

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, focused: bool) {
    let theme = ctx.theme;
    let list = app.task_list();
    let running = list.iter().filter(|t| t.state.is_current()).count();
    let queued = list.iter().filter(|t| t.state == TaskState::Queued).count();
    let mut title = format!("Tasks ({running} running, {queued} queued)");
    if let Some(mode) = queue_mode(app) {
        title = format!("{title} · queue {mode}");
    }
    let filter = app.filter(Pane::Tasks);
    if !filter.is_empty() {
        title = format!("{title} /{}", sanitize::text(filter));
    }
    let block = block(ctx, &title, focused);
    let mut inner = block.inner(area);
    frame.render_widget(block, area);
    let jobs = shown_jobs(&app.data.jobs);
    if !jobs.is_empty() && inner.height > jobs.len() as u16 + 3 {
        let [jobs_area, rest] =
            Layout::vertical([Constraint::Length(jobs.len() as u16), Constraint::Min(0)])
                .areas(inner);
        let lines: Vec<Line> = jobs.iter().map(|j| job_line(theme, j)).collect();
        frame.render_widget(Paragraph::new(lines), jobs_area);
        inner = rest;
    }
    if list.is_empty() {
        frame.render_widget(
            Paragraph::new(vec![
                Line::styled("no tasks", theme.style(Role::Dim)),
                Line::styled(
                    "t queues one (form); :task DEVICE TECHNIQUE …; :load FILE",
                    theme.style(Role::Dim),
                ),
            ]),
            inner,
        );
        return;
    }
    let cursor = app.cursor(Pane::Tasks);
    let charted = list
        .get(cursor)
        .copied()
        .filter(|t| !t.recent.is_empty())
        .or_else(|| {
            list.iter()
                .copied()
                .find(|t| t.state.is_current() && !t.recent.is_empty())
        });
    let list_rows = (list.len() as u16 + 1).min(inner.height / 2).max(3);
    let [rows_area, chart_area] = match charted {
        Some(_) if inner.height >= 10 => {
            Layout::vertical([Constraint::Length(list_rows), Constraint::Min(0)]).areas(inner)
        }
        _ => [inner, Rect::default()],
    };
    rows(app, ctx, frame, rows_area, &list, cursor, focused);
    if let Some(task) = charted
        && chart_area.height > 0
    {
        chart(ctx, frame, chart_area, task);
    }
}

fn rows(
    app: &App,
    ctx: &ViewContext,
    frame: &mut Frame,
    area: Rect,
    list: &[&TaskSnapshot],
    cursor: usize,
    focused: bool,
) {
    let theme = ctx.theme;
    let shown = window(list.len(), area.height.saturating_sub(1) as usize, cursor);
    let cells: Vec<Vec<Cell>> = list[shown.clone()]
        .iter()
        .map(|t| row_cells(app, ctx, t))
        .collect();
    let widths = Widths::fit(
        &COLUMNS,
        cells.iter().map(Vec::as_slice),
        area.width as usize,
    );
    let mut lines = vec![widths.header(&COLUMNS, theme.style(Role::Label))];
    for (i, row) in shown.zip(&cells) {
        let base = if focused && i == cursor {
            theme.style(Role::Selection)
        } else {
            theme.style(Role::Base)
        };
        lines.push(widths.line(&COLUMNS, row, base));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// A chart line: its legend name, points scaled to 0..1, its style.
type Series = (String, Vec<(f64, f64)>, Style);

/// One series per numeric column, each scaled to 0..1 of its own range.
fn chart(ctx: &ViewContext, frame: &mut Frame, area: Rect, task: &TaskSnapshot) {
    let theme = ctx.theme;
    let roles = [
        Role::Sparkline,
        Role::StateBusy,
        Role::StateOk,
        Role::LinkConnecting,
        Role::Rx,
        Role::Tx,
    ];
    let mut series: Vec<Series> = Vec::new();
    for (c, column) in task.columns.iter().enumerate() {
        let points: Vec<(f64, f64)> = task
            .recent
            .iter()
            .filter_map(|(t, values)| Some((*t, values.get(c).copied().flatten()?)))
            .collect();
        if points.is_empty() {
            continue;
        }
        let (lo, hi) = points
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
                (lo.min(*v), hi.max(*v))
            });
        let span = if (hi - lo).abs() < f64::EPSILON {
            1.0
        } else {
            hi - lo
        };
        let scaled = points.iter().map(|(t, v)| (*t, (v - lo) / span)).collect();
        let unit = column.unit.as_deref().unwrap_or("");
        let name = format!(
            "{} {}–{}",
            column.name,
            si_format(lo, 1, unit),
            si_format(hi, 1, unit)
        );
        let style = theme.style(roles[series.len() % roles.len()]);
        series.push((sanitize::text(&name).into_owned(), scaled, style));
    }
    if series.is_empty() {
        return;
    }
    // The legend as a line of its own: the chart's would hide the curves.
    let [legend_area, area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let mut legend = vec![(
        format!("{} ", fit(&sanitize::text(&task.spec.name), 12).trim_end()),
        theme.style(Role::Label),
    )];
    for (name, _, style) in &series {
        legend.push((format!("■ {name}  "), *style));
    }
    frame.render_widget(Paragraph::new(spans(legend)), legend_area);
    let datasets: Vec<Dataset> = series
        .iter()
        .map(|(name, points, style)| {
            Dataset::default()
                .name(name.clone())
                .marker(if ctx.glyphs.unicode {
                    Marker::Braille
                } else {
                    Marker::Dot
                })
                .graph_type(GraphType::Line)
                .style(*style)
                .data(points)
        })
        .collect();
    let duration = task.spec.max_duration.as_secs_f64();
    let chart = Chart::new(datasets)
        .legend_position(None)
        .style(theme.style(Role::Base))
        .x_axis(
            Axis::default()
                .title(Line::styled("s", theme.style(Role::Dim)))
                .style(theme.style(Role::Dim))
                .bounds([0.0, duration])
                .labels(vec![Line::from("0"), Line::from(format!("{duration}"))]),
        )
        .y_axis(
            Axis::default()
                .style(theme.style(Role::Dim))
                .bounds([0.0, 1.0])
                .labels(vec![Line::from("min"), Line::from("max")]),
        );
    frame.render_widget(chart, area);
}

fn row_cells(app: &App, ctx: &ViewContext, t: &TaskSnapshot) -> Vec<Cell> {
    let theme = ctx.theme;
    let (full, empty) = if ctx.glyphs.unicode {
        ('█', '░')
    } else {
        ('#', '.')
    };
    let progress = t.progress(app.now);
    let filled = ((progress * GAUGE as f64).round() as usize).min(GAUGE);
    let gauge: String = std::iter::repeat_n(full, filled)
        .chain(std::iter::repeat_n(empty, GAUGE - filled))
        .collect();
    let (base, dim) = (theme.style(Role::Base), theme.style(Role::Dim));
    vec![
        Cell::new(t.state.as_str(), state_style(theme, t.state)),
        Cell::new(format!("#{}", t.id), dim),
        Cell::new(sanitize::text(&t.spec.device), base),
        Cell::new(sanitize::text(&t.spec.name), base),
        Cell::new(
            t.spec
                .job
                .as_ref()
                .map_or_else(String::new, |j| sanitize::text(&j.name).into_owned()),
            dim,
        ),
        Cell::new(sanitize::text(&t.spec.technique), base),
        Cell::new(gauge, theme.style(Role::Sparkline)),
        Cell::new(format!("{:.0}%", progress * 100.0), base),
        Cell::new(format!("{}/{}", t.samples, t.expected), base),
        Cell::new(sanitize::text(t.reason.as_deref().unwrap_or("")), dim),
        Cell::new(file_name(t), dim),
    ]
}

fn file_name(t: &TaskSnapshot) -> String {
    t.file
        .as_ref()
        .and_then(|f| f.file_name())
        .map(|f| sanitize::text(&f.to_string_lossy()).into_owned())
        .unwrap_or_default()
}
