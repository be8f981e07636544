//! `labdeck replay FILE`: a recorded timeline played into the console as
//! if live. The player sends the recorded states and events, at their
//! recorded pace times the speed, as frames a daemon would send, so the
//! console shows them through the same path as an attached lab. It can
//! pause, resume, change speed and seek (`replay pause|resume|speed N|seek
//! SECONDS|status` in the palette).

use std::time::Duration;

use labdeck_core::hub::LabSnapshot;
use labdeck_core::timeline::{Entry, Timeline};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::daemon::wire::FromDaemon;

/// What the player can be told.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Control {
    Pause,
    Resume,
    /// Times the recorded pace (0.1–1000).
    Speed(f64),
    /// Seconds from the start of the recording.
    Seek(f64),
}

/// Where the player is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Seconds from the start.
    pub at: f64,
    pub length: f64,
    pub speed: f64,
    pub paused: bool,
    /// Everything has been played.
    pub ended: bool,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replay at {:.1} s of {:.1} s, ×{}{}",
            self.at,
            self.length,
            self.speed,
            if self.ended {
                ", ended"
            } else if self.paused {
                ", paused"
            } else {
                ""
            }
        )
    }
}

/// A running player.
#[derive(Debug)]
pub struct Player {
    controls: mpsc::UnboundedSender<Control>,
    position: watch::Receiver<Position>,
}

impl Player {
    /// Start playing `timeline` at `speed`: the lab's first recorded state,
    /// and the frames that follow it.
    pub fn start(
        timeline: Timeline,
        speed: f64,
    ) -> Result<(Self, LabSnapshot, mpsc::UnboundedReceiver<FromDaemon>), String> {
        let Some(Entry::Snapshot { snapshot, .. }) = timeline
            .entries
            .iter()
            .find(|e| matches!(e, Entry::Snapshot { .. }))
        else {
            return Err(format!(
                "{}: no lab state recorded in it (recordings of labdeck {} and later have one a second)",
                timeline.path.display(),
                env!("CARGO_PKG_VERSION")
            ));
        };
        let first = (**snapshot).clone();
        let start = timeline.header.started;
        let length = timeline.entries.last().map_or(0.0, |e| e.at() - start);
        let (controls, rx) = mpsc::unbounded_channel();
        let (frames, frames_rx) = mpsc::unbounded_channel();
        let (position_tx, position) = watch::channel(Position {
            at: 0.0,
            length,
            speed,
            paused: false,
            ended: false,
        });
        tokio::spawn(play(timeline, rx, frames, position_tx));
        Ok((Self { controls, position }, first, frames_rx))
    }

    pub fn control(&self, control: Control) {
        let _ = self.controls.send(control);
    }

    pub fn position(&self) -> Position {
        *self.position.borrow()
    }
}

/// The frame an entry is played as.
fn frame(timeline: &Timeline, entry: &Entry) -> FromDaemon {
    match entry {
        Entry::Snapshot { snapshot, .. } => FromDaemon::State {
            snapshot: snapshot.clone(),
        },
        Entry::Event { index, .. } => FromDaemon::Event {
            event: Box::new(timeline.events[*index].clone()),
        },
    }
}

async fn play(
    timeline: Timeline,
    mut controls: mpsc::UnboundedReceiver<Control>,
    frames: mpsc::UnboundedSender<FromDaemon>,
    position: watch::Sender<Position>,
) {
    let start = timeline.header.started;
    let mut next = 0;
    // Recording time `anchor_at` plays at wall time `anchor`.
    let mut anchor = Instant::now();
    let mut anchor_at = start;
    loop {
        let now = *position.borrow();
        let due = timeline.entries.get(next).map(|entry| {
            let ahead = ((entry.at() - anchor_at) / now.speed).max(0.0);
            anchor + Duration::from_secs_f64(ahead)
        });
        let playing = !now.paused && due.is_some();
        tokio::select! {
            control = controls.recv() => {
                let Some(control) = control else { return };
                // The recording time reached so far, where the clock restarts.
                let here = if now.paused || due.is_none() {
                    start + now.at
                } else {
                    anchor_at + anchor.elapsed().as_secs_f64() * now.speed
                };
                let mut moved = now;
                match control {
                    Control::Pause => moved.paused = true,
                    Control::Resume => moved.paused = false,
                    Control::Speed(speed) => moved.speed = speed,
                    Control::Seek(to) => {
                        let to = start + to.clamp(0.0, now.length);
                        // From the last state at or before the target.
                        let from = timeline.entries[..]
                            .iter()
                            .rposition(|e| matches!(e, Entry::Snapshot { .. }) && e.at() <= to)
                            .unwrap_or(0);
                        next = from;
                        while let Some(entry) = timeline.entries.get(next)
                            && entry.at() <= to
                        {
                            if frames.send(frame(&timeline, entry)).is_err() {
                                return;
                            }
                            next += 1;
                        }
                        anchor = Instant::now();
                        anchor_at = to;
                        moved.at = to - start;
                        moved.ended = next >= timeline.entries.len();
                        position.send_replace(moved);
                        continue;
                    }
                }
                anchor = Instant::now();
                anchor_at = here;
                moved.at = here - start;
                position.send_replace(moved);
            }
            () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if playing => {
                let entry = &timeline.entries[next];
                if frames.send(frame(&timeline, entry)).is_err() {
                    return;
                }
                next += 1;
                position.send_modify(|p| {
                    p.at = entry.at() - start;
                    p.ended = next >= timeline.entries.len();
                });
            }
        }
    }
}

/// A palette line for the player: `replay pause|resume|speed N|seek
/// SECONDS|status`; `None` when the line is not for it.
pub fn parse(line: &str) -> Option<Result<Option<Control>, String>> {
    let mut words = line.split_whitespace();
    if words.next() != Some("replay") {
        return None;
    }
    let usage = "replay pause | resume | speed N | seek SECONDS | status";
    let number =
        |word: Option<&str>| word.and_then(|w| w.trim_end_matches('s').parse::<f64>().ok());
    Some(match (words.next(), words.next()) {
        (Some("pause"), None) => Ok(Some(Control::Pause)),
        (Some("resume" | "play"), None) => Ok(Some(Control::Resume)),
        (Some("status") | None, None) => Ok(None),
        (Some("speed"), word) => match number(word) {
            Some(speed) if (0.1..=1000.0).contains(&speed) => Ok(Some(Control::Speed(speed))),
            _ => Err("replay speed takes a number from 0.1 to 1000".into()),
        },
        (Some("seek"), word) => match number(word) {
            Some(at) if at >= 0.0 => Ok(Some(Control::Seek(at))),
            _ => Err("replay seek takes the seconds from the start".into()),
        },
        _ => Err(format!("usage: {usage}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn palette_lines() {
        assert_eq!(parse("replay pause"), Some(Ok(Some(Control::Pause))));
        assert_eq!(parse("replay speed 4"), Some(Ok(Some(Control::Speed(4.0)))));
        assert_eq!(
            parse("replay seek 30s"),
            Some(Ok(Some(Control::Seek(30.0))))
        );
        assert_eq!(parse("replay"), Some(Ok(None)));
        assert!(matches!(parse("replay speed 0"), Some(Err(_))));
        assert!(matches!(parse("replay jump"), Some(Err(_))));
        assert_eq!(parse("pump pump1 on"), None);
    }
}
