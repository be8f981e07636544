//! Terminal set-up and restore: raw mode and the alternate screen, restored
//! on every way out — normal exit and errors (a guard), a panic on the UI
//! thread (a hook), and signals (the event loop). A panic in a background
//! task must not touch the terminal: it is logged, and the supervisor marks
//! the actor faulted.

use std::io::{self, Stdout, Write};
use std::panic;
use std::sync::OnceLock;
use std::thread::{self, ThreadId};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

pub type Term = Terminal<CrosstermBackend<Stdout>>;

static UI_THREAD: OnceLock<ThreadId> = OnceLock::new();

/// Restores the terminal when dropped.
pub struct Guard {
    mouse: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore(self.mouse);
    }
}

/// Enter raw mode and the alternate screen.
pub fn setup(mouse: bool) -> io::Result<(Term, Guard)> {
    let _ = UI_THREAD.set(thread::current().id());
    install_panic_hook(mouse);
    enable_raw_mode()?;
    let guard = Guard { mouse };
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, Hide)?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    Ok((terminal, guard))
}

fn restore(mouse: bool) {
    let mut out = io::stdout();
    if mouse {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook(mouse: bool) {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if UI_THREAD.get() == Some(&thread::current().id()) {
            restore(mouse);
            previous(info);
        } else {
            // Printing would scribble over the live screen.
            let thread = thread::current();
            tracing::error!(
                thread = thread.name().unwrap_or("unnamed"),
                "panic in a background task: {info}"
            );
        }
    }));
}
