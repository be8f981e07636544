//! `view(model, frame)`: draws the model, reads nothing else. One file per
//! pane; shared helpers here.

mod alarms;
mod columns;
mod connections;
mod header;
mod hints;
mod logs;
mod overlays;
mod properties;
mod state;
mod tasks;
mod traffic;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::app::{App, Pane};
use super::layout;
use super::theme::{Role, Theme};
use labdeck_core::connection::StateKind;
use labdeck_core::device::PropState;

pub use logs::LogView;

/// Characters that depend on what the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Glyphs {
    pub unicode: bool,
}

impl Glyphs {
    /// ASCII on the Linux console and non-UTF-8 locales.
    pub fn detect() -> Self {
        let term = std::env::var("TERM").unwrap_or_default();
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .unwrap_or_default()
            .to_uppercase();
        let utf8 = locale.contains("UTF-8") || locale.contains("UTF8") || locale.is_empty();
        Self {
            unicode: term != "linux" && utf8,
        }
    }

    /// A link that is open to a device that does not answer.
    pub fn silent(self) -> &'static str {
        if self.unicode { "◌" } else { "?" }
    }

    pub fn link(self, state: StateKind) -> &'static str {
        match (state, self.unicode) {
            (StateKind::Connected, true) => "●",
            (StateKind::Connecting, true) => "◔",
            (StateKind::Recovering, true) => "↻",
            (StateKind::Disconnected, true) => "○",
            (StateKind::Ready, true) => "·",
            (StateKind::TornDown, true) => "✕",
            (StateKind::Connected, false) => "*",
            (StateKind::Connecting, false) => "~",
            (StateKind::Recovering, false) => "!",
            (StateKind::Disconnected, false) => "-",
            (StateKind::Ready, false) => ".",
            (StateKind::TornDown, false) => "x",
        }
    }

    pub fn tx(self) -> &'static str {
        if self.unicode { "TX ▶" } else { "TX >" }
    }

    pub fn rx(self) -> &'static str {
        if self.unicode { "RX ◀" } else { "RX <" }
    }

    pub fn arrow(self) -> &'static str {
        if self.unicode { "→" } else { "->" }
    }

    fn spark_levels(self) -> &'static [char] {
        if self.unicode {
            &['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█']
        } else {
            &['_', '.', '-', '~', '=', '+', '*', '#']
        }
    }

    /// A sparkline of the last `width` values as text.
    pub fn sparkline(self, values: impl Iterator<Item = f64> + Clone, width: usize) -> String {
        let values: Vec<f64> = values.collect();
        let tail = &values[values.len().saturating_sub(width)..];
        let (lo, hi) = tail
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        let levels = self.spark_levels();
        tail.iter()
            .map(|v| {
                if (hi - lo).abs() < f64::EPSILON {
                    levels[0]
                } else {
                    let i = ((v - lo) / (hi - lo) * (levels.len() - 1) as f64).round() as usize;
                    levels[i.min(levels.len() - 1)]
                }
            })
            .collect()
    }
}

/// What the view needs besides the model.
pub struct ViewContext<'a> {
    pub theme: &'a Theme,
    pub glyphs: Glyphs,
    pub logs: Option<&'a LogView>,
}

/// Draw the whole console.
pub fn view(app: &App, ctx: &ViewContext, frame: &mut Frame) {
    let area = frame.area();
    frame
        .buffer_mut()
        .set_style(area, ctx.theme.style(Role::Base));
    let areas = layout::compute(area.width, area.height, app.focus);
    header::draw(app, ctx, frame, areas.header);
    if let Some(tabs) = areas.tabs {
        header::tabs(app, ctx, frame, tabs);
    }
    for (pane, rect) in &areas.panes {
        let focused = *pane == app.focus;
        match pane {
            Pane::Connections => connections::draw(app, ctx, frame, *rect, focused),
            Pane::StateMachine => state::draw(app, ctx, frame, *rect, focused),
            Pane::Properties => properties::draw(app, ctx, frame, *rect, focused),
            Pane::Traffic => traffic::draw(app, ctx, frame, *rect, focused),
            Pane::Tasks => tasks::draw(app, ctx, frame, *rect, focused),
            Pane::Alarms => alarms::draw(app, ctx, frame, *rect, focused),
            Pane::Logs => logs::draw(app, ctx, frame, *rect, focused),
        }
    }
    hints::draw(app, ctx, frame, areas.hints);
    overlays::draw(app, ctx, frame, area);
}

/// A pane's frame: the title says which pane has the focus in words too.
fn block<'a>(ctx: &ViewContext, title: &str, focused: bool) -> Block<'a> {
    let theme = ctx.theme;
    let (border, title_style) = if focused {
        (
            theme.style(Role::BorderFocus),
            theme.style(Role::TitleFocus),
        )
    } else {
        (theme.style(Role::Border), theme.style(Role::Title))
    };
    let title = if focused {
        format!(" ▸ {title} ")
    } else {
        format!(" {title} ")
    };
    let title = if ctx.glyphs.unicode {
        title
    } else {
        title.replace('▸', ">")
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(border)
        .title(Span::styled(title, title_style))
}

fn prop_state_style(theme: &Theme, state: PropState) -> Style {
    theme.style(match state {
        PropState::Idle => Role::StateIdle,
        PropState::Ok => Role::StateOk,
        PropState::Busy => Role::StateBusy,
        PropState::Alert => Role::StateAlert,
    })
}

fn link_style(theme: &Theme, state: StateKind) -> Style {
    theme.style(match state {
        StateKind::Connected => Role::LinkConnected,
        StateKind::Connecting => Role::LinkConnecting,
        StateKind::Recovering => Role::LinkRecovering,
        StateKind::Disconnected | StateKind::TornDown => Role::LinkDown,
        StateKind::Ready => Role::LinkIdle,
    })
}

/// The rows of a list to show so that `cursor` is visible.
fn window(rows: usize, height: usize, cursor: usize) -> std::ops::Range<usize> {
    if rows <= height {
        return 0..rows;
    }
    let start = cursor
        .saturating_sub(height.saturating_sub(1))
        .min(rows - height);
    start..start + height
}

/// Cut or pad text to `width` columns (by characters).
fn fit(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        format!("{text:<width$}")
    } else if width == 0 {
        String::new()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

/// A line of styled words.
fn spans<'a>(parts: Vec<(String, Style)>) -> Line<'a> {
    Line::from(
        parts
            .into_iter()
            .map(|(t, s)| Span::styled(t, s))
            .collect::<Vec<_>>(),
    )
}

/// A centred rectangle of at most `w`×`h` inside `area`.
fn centred(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_to_the_range() {
        let g = Glyphs { unicode: true };
        assert_eq!(g.sparkline([1.0, 2.0, 3.0].into_iter(), 10), "▁▅█");
        assert_eq!(g.sparkline([5.0, 5.0].into_iter(), 10), "▁▁");
        let a = Glyphs { unicode: false };
        assert_eq!(a.sparkline((0..20).map(f64::from), 4), "_-+#");
    }

    #[test]
    fn windows_follow_the_cursor() {
        assert_eq!(window(5, 10, 3), 0..5);
        assert_eq!(window(100, 10, 0), 0..10);
        assert_eq!(window(100, 10, 50), 41..51);
        assert_eq!(window(100, 10, 99), 90..100);
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
    }
}
