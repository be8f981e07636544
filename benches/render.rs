//! Render time per frame of the console with 50 devices and a full traffic
//! pane, drawn into ratatui's TestBackend.
//!
//! `cargo bench --bench render [-- FRAMES]` (default 500 per case). Each
//! case is measured against an empty-screen frame (one bordered block) in
//! the same run, and against the frame budget at 30 fps.

#[path = "../tests/common/fixture.rs"]
mod fixture;

use std::time::{Duration, Instant};

use labdeck::tui::keys::Keymap;
use labdeck::tui::{App, Glyphs, Msg, Pane, Theme, ViewContext, view};
use labdeck_core::bus::Event;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::widgets::{Block, Borders};

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn model(size: (u16, u16), devices: usize, polls: usize) -> (App, tokio::time::Instant) {
    let base = tokio::time::Instant::now();
    let (setup, data) = fixture::sample(base, devices.saturating_sub(1));
    let mut app = App::new(setup, Keymap::default(), "default", fixture::at(base, 5.0));
    app.size = size;
    app.focus = Pane::Traffic;
    app.sync(data);
    // Changing replies so nothing collapses: the pane is full of lines.
    for chunk in fixture::traffic(base, polls) {
        app.update(Msg::Event(Box::new(Event::Traffic(chunk))));
    }
    (app, base)
}

fn main() {
    let frames: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(500);
    let theme = Theme::load("default", false).expect("theme");
    let ctx = ViewContext {
        theme: &theme,
        glyphs: Glyphs { unicode: true },
        logs: None,
    };
    println!("{frames} frames per case; times in µs; frame budget at 30 fps = 33 333 µs");
    println!(
        "{:<52} {:>8} {:>8} {:>10} {:>10}",
        "case", "median", "p99", "×empty", "% budget"
    );
    for (w, h) in [(120u16, 40u16), (200, 60), (80, 24)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
        // Baseline: the cheapest possible frame at this size.
        let empty: Vec<Duration> = (0..frames)
            .map(|_| {
                let start = Instant::now();
                terminal
                    .draw(|f| f.render_widget(Block::default().borders(Borders::ALL), f.area()))
                    .expect("draw");
                start.elapsed()
            })
            .collect();
        let (mut app, base) = model((w, h), 50, 2500);
        let mut full = Vec::with_capacity(frames);
        let mut more = fixture::traffic(base, frames).into_iter();
        for _ in 0..frames {
            // A new chunk per frame: the traffic pane scrolls every time.
            if let Some(chunk) = more.next() {
                app.update(Msg::Event(Box::new(Event::Traffic(chunk))));
            }
            let start = Instant::now();
            terminal.draw(|f| view(&app, &ctx, f)).expect("draw");
            full.push(start.elapsed());
        }
        let base_median = percentile(&empty, 0.5).as_secs_f64();
        for (name, samples) in [
            (format!("empty frame {w}x{h} (baseline)"), &empty),
            (
                format!("50 devices, 5000-chunk traffic pane, {w}x{h}"),
                &full,
            ),
        ] {
            let median = percentile(samples, 0.5);
            println!(
                "{:<52} {:>8.1} {:>8.1} {:>10.1} {:>9.2}%",
                name,
                median.as_secs_f64() * 1e6,
                percentile(samples, 0.99).as_secs_f64() * 1e6,
                median.as_secs_f64() / base_median,
                median.as_secs_f64() / (1.0 / 30.0) * 100.0
            );
        }
    }
}
