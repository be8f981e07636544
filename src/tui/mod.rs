//! The console: a ratatui front end over the Hub. Elm-style: `update`
//! turns messages into model changes and effects, `view` draws the model,
//! and the loop here selects over terminal input (first), replies and the
//! lab's events and snapshots, drawing only when something changed: keys
//! at once (at most `frame-rate` times a second), the lab's own changes in
//! bursts (at most `data-rate` times a second; see [`pace`]).

mod app;
mod commands;
mod details;
mod editing;
mod forms;
mod history;
mod input;
pub mod keys;
mod lab;
mod layout;
mod pace;
mod palette;
mod safety;
pub mod sanitize;
pub mod settings;
mod terminal;
mod theme;
mod traffic;
mod traffic_actions;
mod update;
mod view;
mod watches;

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ratatui::crossterm::event::EventStream;
use thiserror::Error;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

pub use app::{Alarm, App, Confirm, Data, InputPurpose, Overlay, Pane, Setup};
pub use lab::{Attached, Attachment, Lab, Replayed};
pub use palette::Palette;
pub use safety::Safety;
pub use settings::ConsoleSettings;
pub use theme::{BUILTIN_THEMES, Theme, ThemeError, no_color_requested};
pub use traffic::uss_lines;
pub use update::{Effect, LogScroll, Msg};
pub use view::{Glyphs, LogView, ViewContext, view};

use self::pace::Pacer;
use crate::headless::command::Reply;
use labdeck_core::bus::Event;
use labdeck_core::time::Timestamp;

#[derive(Debug, Error)]
pub enum ConsoleError {
    #[error("the console needs a terminal; use `labdeck serve` to run without one")]
    NotATerminal,
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("{0}")]
    Theme(#[from] ThemeError),
    #[error("detached: the daemon closed the connection ({0})")]
    Detached(String),
}

/// How the console looks and behaves, from the config and command line.
#[derive(Debug, Clone)]
pub struct ConsoleOptions {
    pub theme: String,
    pub no_color: bool,
    pub mouse: bool,
    pub frame_rate: u32,
    pub data_rate: u32,
    pub log_level: String,
    pub keymap: keys::Keymap,
    /// Chunks of traffic kept per link for the traffic pane.
    pub traffic_ring: usize,
    /// A method file to queue at start.
    pub method: Option<std::path::PathBuf>,
    pub safety: safety::Safety,
}

/// The console needs a terminal on stdin and stdout.
pub fn check_terminal() -> Result<(), ConsoleError> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(ConsoleError::NotATerminal)
    }
}

/// Run the console until the operator quits or a signal arrives (or, when
/// attached, until the daemon goes away).
pub async fn run(lab: Lab, options: ConsoleOptions) -> Result<(), ConsoleError> {
    check_terminal()?;
    let mut theme = Theme::load(&options.theme, options.no_color)?;
    let glyphs = Glyphs::detect();
    let (mut terminal, _guard) = terminal::setup(options.mouse)?;
    let themes = BUILTIN_THEMES.iter().map(ToString::to_string).collect();
    let setup = Setup::from_snapshot(&lab.snapshot(), themes, options.traffic_ring);
    let mut app = App::new(setup, options.keymap.clone(), &theme.name, Timestamp::now());
    app.lab = lab.describe();
    app.replay = matches!(lab, Lab::Replay(_));
    app.safety = options.safety;
    app.palette_history = history::load();
    if let Ok(size) = terminal.size() {
        app.size = (size.width, size.height);
    }
    app.log_level = app::LOG_LEVELS
        .iter()
        .position(|l| *l == options.log_level)
        .unwrap_or(2);
    // RUST_LOG may record more than the configuration says.
    app.log_recorded = if std::env::var_os("RUST_LOG").is_some() {
        app::LOG_LEVELS.len() - 1
    } else {
        app.log_level
    };
    let mut logs = LogView::new(app::LOG_LEVELS[app.log_level], &theme);
    // What was recorded before the console started.
    for chunk in &lab.history() {
        app.traffic.push(chunk);
    }
    if let Some(path) = &options.method {
        let reply = lab
            .request(labdeck_core::hub::Request::Load { path: path.clone() })
            .await;
        app.say(reply.text, reply.ok);
    }
    // What a crashed run left is offered at once, not only in the log.
    if let Lab::Embedded(hub) = &lab
        && let Some(work) = hub
            .store()
            .and_then(|s| s.resumable().ok())
            .filter(|w| !w.is_empty())
    {
        app.say(
            format!(
                "an earlier run was interrupted: {}; :resume runs them",
                work.summary()
            ),
            false,
        );
    }
    let lab = Arc::new(lab);
    let mut watches = lab.state();
    app.sync(watches.read());
    app.update_rates(Timestamp::now());
    let mut control = lab.control();
    if let Some(control) = &mut control {
        app.update(Msg::Attachment(control.borrow_and_update().clone()));
    }

    let mut input = EventStream::new();
    let mut events = lab.subscribe();
    let (reply_tx, mut replies) = mpsc::channel::<Reply>(64);
    let mut pacer = Pacer::new(options.frame_rate, options.data_rate);
    pacer.want_draw(Instant::now().into_std());
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;

    loop {
        let listening = pacer.listening();
        let data_opens = pacer.data_opens().map(Instant::from_std);
        let draw_at = pacer.draw_at().map(Instant::from_std);
        let effects = tokio::select! {
            biased;
            event = input.next() => match event {
                Some(Ok(event)) => match input::message(&event) {
                    Some(msg) => app.update(msg),
                    None => vec![],
                },
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            _ = term.recv() => break,
            _ = hangup.recv() => break,
            Some(reply) = replies.recv() => app.update(Msg::Reply(reply)),
            () = sleep_until(draw_at), if draw_at.is_some() => vec![],
            event = events.recv(), if listening => {
                if matches!(event, Err(RecvError::Closed)) {
                    return Err(ConsoleError::Detached(lab.detached()));
                }
                let (effects, _) = take_events(Some(event), &mut events, &mut app);
                if watches.changed() {
                    app.update(Msg::Sync(Box::new(watches.read())));
                }
                pacer.took_data(std::time::Instant::now());
                effects
            }
            Some(attachment) = next_control(control.as_mut()) => {
                app.update(Msg::Attachment(attachment))
            }
            () = watches.any_changed(), if listening => {
                app.update(Msg::Sync(Box::new(watches.read())));
                pacer.took_data(std::time::Instant::now());
                vec![]
            }
            () = sleep_until(data_opens), if data_opens.is_some() => {
                let (effects, taken) = take_events(None, &mut events, &mut app);
                let synced = watches.changed();
                if synced {
                    app.update(Msg::Sync(Box::new(watches.read())));
                }
                pacer.reopened(std::time::Instant::now(), synced || taken > 0);
                effects
            }
            _ = second.tick() => app.update(Msg::Second(Timestamp::now())),
        };
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Remember(line) => history::append(&line),
                Effect::Repaint => {
                    terminal.clear()?;
                    app.dirty = true;
                }
                Effect::Theme(name) => match Theme::load(&name, options.no_color) {
                    Ok(t) => {
                        theme = t;
                        logs.set_theme(&theme);
                        app.theme = theme.name.clone();
                        app.update(Msg::Reply(Reply::ok(format!("theme {name}"))));
                    }
                    Err(e) => {
                        app.update(Msg::Reply(Reply::fail(e.to_string())));
                    }
                },
                Effect::LogLevel(level) => {
                    logs.set_level(level);
                    app.dirty = true;
                }
                Effect::LogScroll(scroll) => {
                    logs.scroll(scroll);
                    app.dirty = true;
                }
                Effect::Resync => {
                    app.update(Msg::Sync(Box::new(watches.read())));
                }
                Effect::TakeControl => {
                    app.update(Msg::Reply(lab.take_control()));
                }
                effect => spawn_effect(&lab, effect, reply_tx.clone()),
            }
        }
        if app.quit {
            break;
        }
        let now = std::time::Instant::now();
        if app.dirty {
            pacer.want_draw(now);
        }
        if pacer.due(now) {
            if app.dirty {
                // The log pane shows what was logged up to this frame.
                tui_logger::move_events();
                let ctx = ViewContext {
                    theme: &theme,
                    glyphs,
                    logs: Some(&logs),
                };
                terminal.draw(|f| view(&app, &ctx, f))?;
                app.dirty = false;
            }
            pacer.drew(now);
        }
    }
    Ok(())
}

/// Apply the events waiting on the bus (after `first`, if given), up to a
/// bound so input is not starved by a flood; the effects and how many
/// were taken.
fn take_events(
    first: Option<Result<Event, RecvError>>,
    events: &mut broadcast::Receiver<Event>,
    app: &mut App,
) -> (Vec<Effect>, usize) {
    let mut effects = Vec::new();
    let mut next = first;
    let mut taken = 0;
    for _ in 0..4096 {
        let event = match next.take() {
            Some(event) => event,
            None => match events.try_recv() {
                Ok(event) => Ok(event),
                Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            },
        };
        taken += 1;
        match event {
            Ok(event) => effects.extend(app.update(Msg::Event(Box::new(event)))),
            Err(RecvError::Lagged(n)) => effects.extend(app.update(Msg::Lagged(n))),
            Err(RecvError::Closed) => break,
        }
    }
    (effects, taken)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The next change of the control lock; never, when not attached.
async fn next_control(control: Option<&mut watch::Receiver<Attachment>>) -> Option<Attachment> {
    let Some(control) = control else {
        return std::future::pending().await;
    };
    if control.changed().await.is_err() {
        return std::future::pending().await;
    }
    Some(control.borrow_and_update().clone())
}

/// Carry out an effect that talks to the lab or the disk, off the UI loop.
fn spawn_effect(lab: &Arc<Lab>, effect: Effect, replies: mpsc::Sender<Reply>) {
    let lab = lab.clone();
    tokio::spawn(async move {
        let reply = match effect {
            Effect::Hub(request) => lab.request(request).await,
            Effect::HubLine(line) => match lab.line(&line).await {
                Some(reply) => reply,
                None => return,
            },
            Effect::Write { path, text } => write_file(path, text).await,
            Effect::CaptureLink { link, path } => match lab.link_history(&link).await {
                Ok(chunks) => {
                    let mut text = String::new();
                    for chunk in chunks {
                        let _ = writeln!(
                            text,
                            "{}  {} {}  {}",
                            crate::format::date_time(&chunk.t),
                            chunk.dir.as_str(),
                            chunk.link,
                            chunk.hex()
                        );
                    }
                    write_file(path, text).await
                }
                Err(e) => Reply::fail(e),
            },
            _ => return,
        };
        let _ = replies.send(reply).await;
    });
}

async fn write_file(path: std::path::PathBuf, text: String) -> Reply {
    let lines = text.lines().count();
    let shown = path.display().to_string();
    match tokio::fs::write(&path, text).await {
        Ok(()) => Reply::ok(format!("wrote {lines} lines to {shown}")),
        Err(e) => Reply::fail(format!("cannot write {shown}: {e}")),
    }
}
