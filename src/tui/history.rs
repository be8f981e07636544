//! The palette's history across sessions: one line per command in
//! `$XDG_STATE_HOME/labdeck/history` (`~/.local/state/labdeck/history`),
//! appended as commands run, the newest [`KEPT`] read back at start.

use std::io::Write as _;
use std::path::PathBuf;

/// Lines read back at start.
pub const KEPT: usize = 500;

/// Where the history lives, when there is a home for state.
pub fn path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "labdeck")
        .and_then(|d| d.state_dir().map(|s| s.join("history")))
}

/// The newest [`KEPT`] lines, oldest first (none when there is no file).
pub fn load() -> Vec<String> {
    let Some(text) = path().and_then(|p| std::fs::read_to_string(p).ok()) else {
        return Vec::new();
    };
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(String::from)
        .collect();
    // A line run twice is kept once, at its newest place.
    let mut seen = std::collections::HashSet::new();
    lines.reverse();
    lines.retain(|l| seen.insert(l.clone()));
    lines.truncate(KEPT);
    lines.reverse();
    lines
}

/// Append one line; a history that cannot be written is not worth
/// interrupting the operator for (the log says why).
pub fn append(line: &str) {
    let Some(path) = path() else {
        return;
    };
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
        })
        .and_then(|mut f| writeln!(f, "{}", line.replace('\n', " ")));
    if let Err(e) = written {
        tracing::warn!("palette history {}: {e}", path.display());
    }
}
