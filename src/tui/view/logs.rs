//! The log pane: tui-logger fed by `tracing`, with a level filter, through
//! a formatter that sanitises every message before it reaches the screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use tui_logger::{
    ExtLogRecord, LevelFilter, LogFormatter, TuiLoggerWidget, TuiWidgetEvent, TuiWidgetState,
};

use super::{ViewContext, block};
use crate::tui::app::{App, LOG_LEVELS};
use crate::tui::sanitize;
use crate::tui::theme::{Role, Theme};

/// The widget state of the log pane (global logger, so kept out of the model).
pub struct LogView {
    state: TuiWidgetState,
    styles: [Style; 5],
}

impl LogView {
    pub fn new(level: &str, theme: &Theme) -> Self {
        let mut view = Self {
            state: TuiWidgetState::new(),
            styles: [Style::default(); 5],
        };
        view.set_level(level);
        view.set_theme(theme);
        view
    }

    pub fn set_level(&mut self, level: &str) {
        self.state = TuiWidgetState::new().set_default_display_level(filter(level));
    }

    pub fn scroll(&self, scroll: crate::tui::LogScroll) {
        use crate::tui::LogScroll;
        self.state.transition(match scroll {
            LogScroll::Back => TuiWidgetEvent::PrevPageKey,
            LogScroll::Forward => TuiWidgetEvent::NextPageKey,
            LogScroll::Live => TuiWidgetEvent::EscapeKey,
        });
    }

    pub fn set_theme(&mut self, theme: &Theme) {
        self.styles = [
            theme.style(Role::StateAlert),
            theme.style(Role::StateBusy),
            theme.style(Role::Base),
            theme.style(Role::Dim),
            theme.style(Role::Dim),
        ];
    }
}

fn filter(level: &str) -> LevelFilter {
    match level {
        "error" => LevelFilter::Error,
        "warn" => LevelFilter::Warn,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => LevelFilter::Info,
    }
}

pub fn draw(app: &App, ctx: &ViewContext, frame: &mut Frame, area: Rect, focused: bool) {
    let filter = app.filter(crate::tui::Pane::Logs).to_lowercase();
    let title = if filter.is_empty() {
        format!("Logs (≤ {}; +/- to change)", LOG_LEVELS[app.log_level])
    } else {
        format!(
            "Logs (≤ {}) /{}",
            LOG_LEVELS[app.log_level],
            sanitize::text(&filter)
        )
    };
    // Scrolled back, new lines do not show: say so.
    let title = if app.log_scrolled {
        format!("{title} · SCROLLED BACK (End: live)")
    } else {
        title
    };
    let block = block(ctx, &title, focused);
    if let Some(logs) = ctx.logs {
        let formatter = Sanitised {
            styles: logs.styles,
            filter,
        };
        TuiLoggerWidget::default()
            .block(block)
            .formatter(Box::new(formatter))
            .state(&logs.state)
            .render(area, frame.buffer_mut());
    } else {
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.render_widget(
            Paragraph::new("(log view not attached)").style(ctx.theme.style(Role::Dim)),
            inner,
        );
    }
}

const INDENT: &str = "  ";

/// `HH:MM:SS LEVEL target: message`, wrapped, control characters
/// replaced; events not matching the pane's filter are left out.
struct Sanitised {
    styles: [Style; 5],
    filter: String,
}

impl LogFormatter for Sanitised {
    fn min_width(&self) -> u16 {
        20
    }

    fn format(&self, width: usize, evt: &ExtLogRecord) -> Vec<Line<'_>> {
        let (level, style) = match evt.level.as_str() {
            "ERROR" => ("ERROR", self.styles[0]),
            "WARN" => ("WARN ", self.styles[1]),
            "INFO" => ("INFO ", self.styles[2]),
            "DEBUG" => ("DEBUG", self.styles[3]),
            _ => ("TRACE", self.styles[4]),
        };
        let target = evt.target().rsplit("::").next().unwrap_or_default();
        let text = format!(
            "{} {level} {}: {}",
            evt.timestamp.strftime("%H:%M:%S"),
            sanitize::text(target),
            sanitize::text(evt.msg())
        );
        if !self.filter.is_empty() && !text.to_lowercase().contains(&self.filter) {
            return Vec::new();
        }
        wrapped(&text, width)
            .into_iter()
            .map(|line| Line::from(Span::styled(line, style)))
            .collect()
    }
}

/// A log line in lines of `width`: between words where it can, the lines
/// after the first indented.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    crate::format::wrap_hanging(text, width, width - INDENT.len())
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line
            } else {
                format!("{INDENT}{line}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_break_between_words_within_the_width() {
        let text = "13:01:02 WARN  pump: link lost: no reply in 500 ms (attempt 3)";
        let lines = wrapped(text, 24);
        assert_eq!(
            lines,
            [
                "13:01:02 WARN  pump:",
                "  link lost: no reply in",
                "  500 ms (attempt 3)"
            ]
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 24));
        // A word longer than the line is cut, not lost.
        assert_eq!(
            wrapped(&"x".repeat(25), 12).concat().matches('x').count(),
            25
        );
    }
}
