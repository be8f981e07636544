//! Table columns that keep what matters. Each column is as wide as its
//! widest cell (up to a cap); when the pane is too narrow, the columns of
//! lowest priority go first, and room left over goes to the cells that were
//! cut. The whole row is always one Enter away in the detail popup.

use ratatui::style::Style;
use ratatui::text::Line;

use super::{fit, spans};

/// How a cell wider than its column is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Keep the start, end with `…`.
    End,
    /// Keep the start and the end, `…` between (file names: the time at
    /// the start and the task at the end both tell).
    Middle,
    /// Keep the newest part, no mark (sparklines grow at the end).
    Start,
}

#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    pub title: &'a str,
    /// 0 is never dropped; higher numbers are dropped first.
    pub priority: u8,
    /// The widest the column asks for before others are dropped; room
    /// left over widens it further for a longer cell.
    pub cap: usize,
    /// The narrowest a cut may make it before columns are dropped
    /// (`None`: never cut for room).
    pub min: Option<usize>,
    pub right: bool,
    pub cut: Cut,
    /// Left out when no row has anything in it.
    pub optional: bool,
}

impl<'a> Column<'a> {
    pub const fn new(title: &'a str, priority: u8, cap: usize) -> Self {
        Self {
            title,
            priority,
            cap,
            min: None,
            right: false,
            cut: Cut::End,
            optional: false,
        }
    }

    pub const fn right(mut self) -> Self {
        self.right = true;
        self
    }

    /// May be cut down to `min` columns before others are dropped.
    pub const fn shrink(mut self, min: usize) -> Self {
        self.min = Some(min);
        self
    }

    pub const fn cut(mut self, cut: Cut) -> Self {
        self.cut = cut;
        self
    }

    pub const fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

/// One cell: its text (already sanitised) and style.
#[derive(Debug, Clone)]
pub struct Cell {
    pub text: String,
    pub style: Style,
}

impl Cell {
    pub fn new(text: impl Into<String>, style: Style) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }
}

/// The width of each column, `None` for those left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Widths(Vec<Option<usize>>);

const GAP: usize = 1;

impl Widths {
    /// Lay out `columns` for `rows` (one text per column each) in `width`.
    pub fn fit<'r>(
        columns: &[Column],
        rows: impl IntoIterator<Item = &'r [Cell]>,
        width: usize,
    ) -> Self {
        let mut widest: Vec<usize> = columns.iter().map(|c| c.title.chars().count()).collect();
        let mut filled = vec![false; columns.len()];
        for row in rows {
            for (i, cell) in row.iter().enumerate().take(columns.len()) {
                let n = cell.text.chars().count();
                widest[i] = widest[i].max(n);
                filled[i] |= n > 0;
            }
        }
        let mut widths: Vec<Option<usize>> = columns
            .iter()
            .zip(&widest)
            .zip(&filled)
            .map(|((c, w), filled)| (!c.optional || *filled).then_some((*w).min(c.cap)))
            .collect();
        let used = |widths: &[Option<usize>]| {
            let shown: Vec<usize> = widths.iter().flatten().copied().collect();
            shown.iter().sum::<usize>() + GAP * shown.len().saturating_sub(1)
        };
        // From the lowest priority up: cut what may be cut, then drop the
        // rest of that priority, the rightmost first. Priority 0 is only cut.
        while used(&widths) > width {
            let excess = used(&widths) - width;
            let level = (0..columns.len())
                .filter(|&i| widths[i].is_some())
                .map(|i| columns[i].priority)
                .max()
                .unwrap_or(0);
            let at_level = |i: &usize| widths[*i].is_some() && columns[*i].priority == level;
            let shrinkable = (0..columns.len()).rev().filter(at_level).find(|&i| {
                columns[i]
                    .min
                    .is_some_and(|min| widths[i].is_some_and(|w| w > min))
            });
            if let Some(i) = shrinkable {
                let (w, min) = (widths[i].unwrap_or(0), columns[i].min.unwrap_or(0));
                widths[i] = Some(w - excess.min(w - min));
            } else if level > 0 {
                let last = (0..columns.len()).rev().find(at_level);
                if let Some(i) = last {
                    widths[i] = None;
                }
            } else {
                break;
            }
        }
        // A column dropped for room comes back if it fits after all (a
        // later cut may have made room), the most important first.
        let mut order: Vec<usize> = (0..columns.len()).collect();
        order.sort_by_key(|&i| (columns[i].priority, i));
        for &i in &order {
            let fits_in = |w: usize| used(&widths) + GAP + w <= width;
            let natural = widest[i].min(columns[i].cap);
            if widths[i].is_none() && (!columns[i].optional || filled[i]) {
                if fits_in(natural) {
                    widths[i] = Some(natural);
                } else if let Some(min) = columns[i].min.filter(|m| fits_in(*m)) {
                    widths[i] = Some(min);
                }
            }
        }
        // What is left widens cut cells, the most important first.
        let mut spare = width.saturating_sub(used(&widths));
        for i in order {
            if let Some(w) = widths[i].as_mut() {
                let more = widest[i].saturating_sub(*w).min(spare);
                *w += more;
                spare -= more;
            }
        }
        Self(widths)
    }

    #[cfg(test)]
    fn shown(&self, column: usize) -> bool {
        self.0.get(column).is_some_and(Option::is_some)
    }

    /// The header line: the titles of the columns shown.
    pub fn header<'l>(&self, columns: &[Column], style: Style) -> Line<'l> {
        let titles: Vec<Cell> = columns.iter().map(|c| Cell::new(c.title, style)).collect();
        self.line(columns, &titles, style)
    }

    /// One row, each cell's style patched with `base` (the selection).
    pub fn line<'l>(&self, columns: &[Column], cells: &[Cell], base: Style) -> Line<'l> {
        let mut parts = Vec::new();
        let shown = self
            .0
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.map(|w| (i, w)));
        for (n, (i, w)) in shown.enumerate() {
            if n > 0 {
                parts.push((" ".repeat(GAP), base));
            }
            let (column, cell) = (&columns[i], &cells[i]);
            parts.push((place(&cell.text, w, column), cell.style.patch(base)));
        }
        spans(parts)
    }
}

/// `text` in exactly `width` columns, aligned and cut as `column` says.
fn place(text: &str, width: usize, column: &Column) -> String {
    let count = text.chars().count();
    if count <= width {
        return if column.right {
            format!("{text:>width$}")
        } else {
            format!("{text:<width$}")
        };
    }
    match column.cut {
        Cut::End => fit(text, width),
        Cut::Start => text.chars().skip(count - width).collect(),
        Cut::Middle if width >= 3 => {
            let tail = (width - 1) / 2;
            let head = width - 1 - tail;
            let start: String = text.chars().take(head).collect();
            let end: String = text.chars().skip(count - tail).collect();
            format!("{start}…{end}")
        }
        Cut::Middle => fit(text, width),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(texts: &[&str]) -> Vec<Cell> {
        texts
            .iter()
            .map(|t| Cell::new(*t, Style::default()))
            .collect()
    }

    fn text(line: &Line) -> String {
        line.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    const COLUMNS: [Column; 4] = [
        Column::new("state", 0, 12),
        Column::new("link", 0, 12),
        Column::new("error", 1, 30),
        Column::new("rx/tx", 2, 9).right(),
    ];

    #[test]
    fn columns_are_as_wide_as_their_cells() {
        let rows = [row(&["connected", "pump", "", "10/2"])];
        let w = Widths::fit(&COLUMNS, rows.iter().map(Vec::as_slice), 80);
        assert_eq!(
            text(&w.line(&COLUMNS, &rows[0], Style::default())),
            "connected pump        10/2"
        );
        assert_eq!(
            text(&w.header(&COLUMNS, Style::default())),
            "state     link error rx/tx"
        );
    }

    #[test]
    fn the_lowest_priority_goes_first_then_cells_are_cut() {
        let rows = [row(&[
            "connected",
            "pump-port",
            "no reply in 200 ms",
            "9999/9999",
        ])];
        let all = Widths::fit(&COLUMNS, rows.iter().map(Vec::as_slice), 60);
        assert!((0..4).all(|i| all.shown(i)));
        // 9 + 9 + 18 + 2 gaps = 38: rx/tx goes, the error stays whole.
        let narrow = Widths::fit(&COLUMNS, rows.iter().map(Vec::as_slice), 40);
        assert!(!narrow.shown(3));
        assert_eq!(
            text(&narrow.line(&COLUMNS, &rows[0], Style::default())),
            "connected pump-port no reply in 200 ms"
        );
        // Priority 0 columns stay even when nothing else fits.
        let tiny = Widths::fit(&COLUMNS, rows.iter().map(Vec::as_slice), 12);
        assert!(tiny.shown(0) && tiny.shown(1) && !tiny.shown(2));
    }

    #[test]
    fn room_left_widens_cut_cells_and_empty_optional_columns_go() {
        let columns = [
            Column::new("name", 0, 4),
            Column::new("reason", 1, 20).optional(),
        ];
        let rows = [row(&["spin-up", ""])];
        let w = Widths::fit(&columns, rows.iter().map(Vec::as_slice), 30);
        assert!(!w.shown(1));
        assert_eq!(
            text(&w.line(&columns, &rows[0], Style::default())),
            "spin-up"
        );
    }

    #[test]
    fn a_column_dropped_for_room_comes_back_if_it_fits_after_all() {
        let columns = [
            Column::new("name", 0, 10),
            Column::new("reason", 1, 20).shrink(12),
            Column::new("id", 2, 3),
        ];
        let rows = [row(&["spin-up", "the pump is in error 5", "#12"])];
        // The id goes first, then the reason (too wide even cut); the id
        // fits again once the reason is gone.
        let w = Widths::fit(&columns, rows.iter().map(Vec::as_slice), 18);
        assert!(w.shown(0) && !w.shown(1) && w.shown(2));
        // With two more columns the reason fits cut, and the id stays out.
        let w = Widths::fit(&columns, rows.iter().map(Vec::as_slice), 20);
        assert_eq!(
            text(&w.line(&columns, &rows[0], Style::default())),
            "spin-up the pump is…"
        );
    }

    #[test]
    fn cells_are_cut_where_the_column_says() {
        let file = Column::new("file", 0, 10).cut(Cut::Middle);
        assert_eq!(place("20261201-131500-pump1.csv", 11, &file), "20261…1.csv");
        let trend = Column::new("trend", 0, 4).cut(Cut::Start);
        assert_eq!(place("▁▂▃▄▅▆", 4, &trend), "▃▄▅▆");
        assert_eq!(place("abcdef", 4, &Column::new("x", 0, 4)), "abc…");
        assert_eq!(place("7", 3, &Column::new("n", 0, 3).right()), "  7");
    }
}
