//! Where each pane goes. Large terminals show every pane at once; below
//! 100×30 the panes collapse into tabs, one at a time (80×24 works).

use ratatui::layout::{Constraint, Layout, Rect};

use super::app::Pane;

pub const WIDE_COLUMNS: u16 = 100;
pub const WIDE_ROWS: u16 = 30;

pub fn is_wide(columns: u16, rows: u16) -> bool {
    columns >= WIDE_COLUMNS && rows >= WIDE_ROWS
}

/// The screen cut into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Areas {
    pub header: Rect,
    /// The tab bar, when panes are tabs.
    pub tabs: Option<Rect>,
    pub panes: Vec<(Pane, Rect)>,
    pub hints: Rect,
}

impl Areas {
    pub fn pane_at(&self, x: u16, y: u16) -> Option<Pane> {
        self.panes
            .iter()
            .find(|(_, r)| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)
            .map(|(p, _)| *p)
    }
}

pub fn compute(columns: u16, rows: u16, focus: Pane) -> Areas {
    let screen = Rect::new(0, 0, columns, rows);
    if !is_wide(columns, rows) {
        let [header, tabs, body, hints] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
        ])
        .areas(screen);
        return Areas {
            header,
            tabs: Some(tabs),
            panes: vec![(focus, body)],
            hints,
        };
    }
    let [header, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(screen);
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Percentage(36),
        Constraint::Percentage(36),
        Constraint::Percentage(28),
    ])
    .areas(body);
    let [connections, properties] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
    let [traffic, tasks] =
        Layout::horizontal([Constraint::Percentage(56), Constraint::Percentage(44)]).areas(middle);
    let [state, alarms, logs] = Layout::horizontal([
        Constraint::Percentage(40),
        Constraint::Percentage(27),
        Constraint::Percentage(33),
    ])
    .areas(bottom);
    Areas {
        header,
        tabs: None,
        panes: vec![
            (Pane::Connections, connections),
            (Pane::Properties, properties),
            (Pane::Traffic, traffic),
            (Pane::Tasks, tasks),
            (Pane::StateMachine, state),
            (Pane::Alarms, alarms),
            (Pane::Logs, logs),
        ],
        hints,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_terminals_get_tabs_large_ones_every_pane() {
        let small = compute(80, 24, Pane::Traffic);
        assert!(small.tabs.is_some());
        assert_eq!(small.panes.len(), 1);
        assert_eq!(small.panes[0].0, Pane::Traffic);
        let large = compute(120, 40, Pane::Traffic);
        assert!(large.tabs.is_none());
        assert_eq!(large.panes.len(), 7);
        // Nothing overlaps and everything is inside the screen.
        for (i, (_, a)) in large.panes.iter().enumerate() {
            assert!(a.right() <= 120 && a.bottom() <= 40);
            for (_, b) in &large.panes[i + 1..] {
                assert!(a.intersection(*b).is_empty(), "{a:?} overlaps {b:?}");
            }
        }
        assert_eq!(large.pane_at(1, 2), Some(Pane::Connections));
    }
}
