//! `update(model, message) -> effects`: the only place the console's model
//! changes. Pure: no I/O, no clock reads; side effects are returned as
//! values for the event loop to carry out.

use std::path::PathBuf;

use super::app::{App, Confirm, Data, InputPurpose, LOG_LEVELS, Overlay, Pane};
use super::layout;
use super::palette::Palette;
use crate::headless::command::Reply;
use crate::tui::keys::{Action, KeyChord, KeyName};
use labdeck_core::bus::Event;
use labdeck_core::connection::ConnCommand;
use labdeck_core::device::TaskRef;
use labdeck_core::hub::Request;
use labdeck_core::sim::FaultSetting;
use labdeck_core::time::Timestamp;

/// Everything that can happen to the console.
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyChord),
    /// A mouse click or wheel at a cell.
    Click {
        x: u16,
        y: u16,
    },
    Scroll {
        x: u16,
        y: u16,
        up: bool,
    },
    Resize(u16, u16),
    Event(Box<Event>),
    /// Events the console missed (bus lag).
    Lagged(u64),
    Sync(Box<Data>),
    /// Attached to a daemon: who holds the control lock now.
    Attachment(super::lab::Attachment),
    /// Once a second: clock and rates.
    Second(Timestamp),
    Reply(Reply),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogScroll {
    Back,
    Forward,
    Live,
}

/// What the event loop must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Hub(Request),
    /// A palette line for the Hub's command language.
    HubLine(String),
    /// A palette line for the history kept across sessions.
    Remember(String),
    /// Write text to a file (traffic capture).
    Write {
        path: PathBuf,
        text: String,
    },
    /// Write a link's whole recorded traffic to a file.
    CaptureLink {
        link: String,
        path: PathBuf,
    },
    Theme(String),
    LogLevel(&'static str),
    /// Scroll the log pane: back a page, forward a page, back to live.
    LogScroll(LogScroll),
    /// Events were lost: read the snapshots again.
    Resync,
    /// Attached: take the daemon's control lock.
    TakeControl,
    Repaint,
    Quit,
}

impl App {
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Key(key) => {
                self.dirty = true;
                let effects = self.key(key);
                self.guard(effects)
            }
            Msg::Click { x, y } => {
                self.click(x, y);
                vec![]
            }
            Msg::Scroll { x, y, up } => {
                self.click(x, y);
                self.overlay = None;
                self.move_cursor(if up { -3 } else { 3 });
                vec![]
            }
            Msg::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
                vec![]
            }
            Msg::Event(event) => {
                self.event(*event);
                vec![]
            }
            Msg::Lagged(n) => {
                self.traffic.lost += n;
                self.dirty = true;
                vec![Effect::Resync]
            }
            Msg::Sync(data) => {
                self.sync(*data);
                vec![]
            }
            Msg::Second(now) => {
                self.now = now;
                self.update_rates(now);
                self.dirty = true;
                vec![]
            }
            Msg::Reply(reply) => {
                self.reply(reply);
                vec![]
            }
            Msg::Attachment(attachment) => {
                self.attachment(attachment);
                vec![]
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Traffic(chunk) => {
                self.traffic.push(&chunk);
                if self.focus == Pane::Traffic || self.wide() {
                    self.dirty = true;
                }
            }
            Event::Alarm(alarm) => {
                if alarm.active {
                    self.raise(&alarm);
                } else {
                    self.clear(&alarm);
                }
                self.dirty = true;
            }
            Event::Property { device, update } => {
                // Only what is on screen needs a frame.
                let shown = self.value(&device, &update);
                self.dirty |= shown;
            }
            Event::Definition { device, property } => self.define(&device, &property),
            Event::Removed { device, name } => self.remove(&device, &name),
            // Transitions, faults and tasks arrive with the snapshots.
            _ => {}
        }
    }

    fn reply(&mut self, reply: Reply) {
        let Reply { ok, text, .. } = reply;
        let first = text.lines().next().unwrap_or_default().to_string();
        // Longer answers (status, faults, help) open in a box.
        if text.lines().nth(1).is_some() {
            self.message = Some(text);
            self.message_scroll = 0;
        }
        self.say(first, ok);
    }

    /// Whether every pane is on screen (otherwise one tab at a time).
    pub fn wide(&self) -> bool {
        layout::is_wide(self.size.0, self.size.1)
    }

    fn key(&mut self, key: KeyChord) -> Vec<Effect> {
        if let Some(overlay) = self.overlay.take() {
            return self.overlay_key(overlay, key);
        }
        if let Some(message) = &self.message {
            // Arrows and pages scroll a long reply; any other key closes it.
            let last = message.lines().count().saturating_sub(1);
            let page = self.page();
            let scroll = &mut self.message_scroll;
            match key.key {
                KeyName::Up => *scroll = scroll.saturating_sub(1),
                KeyName::Down => *scroll = (*scroll + 1).min(last),
                KeyName::PageUp => *scroll = scroll.saturating_sub(page),
                KeyName::PageDown => *scroll = (*scroll + page).min(last),
                KeyName::Home => *scroll = 0,
                KeyName::End => *scroll = last,
                _ => {
                    self.message = None;
                    self.message_scroll = 0;
                    if key == KeyChord::plain(KeyName::Esc)
                        || key == KeyChord::plain(KeyName::Enter)
                    {
                        return vec![];
                    }
                }
            }
            if self.message.is_some() {
                return vec![];
            }
        }
        let Some(action) = self.keymap.action(key, self.focus.scopes()) else {
            return vec![];
        };
        self.action(action)
    }

    pub(super) fn action(&mut self, action: Action) -> Vec<Effect> {
        let pane = |p: Pane| {
            move |app: &mut App| {
                app.focus = p;
                vec![]
            }
        };
        match action {
            // Attached, quitting only detaches: the daemon runs on; a
            // replay stops nothing.
            Action::Quit if self.busy() && self.attachment.is_none() && !self.replay => {
                self.overlay = Some(Overlay::Confirm(Confirm::Quit));
                vec![]
            }
            Action::Quit => vec![Effect::Quit],
            Action::Help => {
                self.overlay = Some(Overlay::Help {
                    filter: String::new(),
                    scroll: 0,
                });
                vec![]
            }
            Action::Palette => {
                self.overlay = Some(Overlay::Palette(Palette::default()));
                vec![]
            }
            Action::Filter => {
                let text = self.filter(self.filter_pane()).to_string();
                self.overlay = Some(Overlay::Input {
                    purpose: InputPurpose::Filter(self.filter_pane()),
                    text,
                });
                vec![]
            }
            Action::Back => {
                self.set_filter(self.filter_pane(), String::new());
                self.status = None;
                vec![]
            }
            Action::NextPane => pane(self.focus.next())(self),
            Action::PrevPane => pane(self.focus.prev())(self),
            Action::Repaint => vec![Effect::Repaint],
            Action::ReadOnly => self.toggle_read_only(),
            Action::Detach if self.attachment.is_some() => vec![Effect::Quit],
            Action::Detach => {
                self.notice(
                    "not attached: this console runs its own lab (q quits)",
                    false,
                );
                vec![]
            }
            Action::Details => self.show_details(),
            Action::PaneConnections => pane(Pane::Connections)(self),
            Action::PaneStateMachine => pane(Pane::StateMachine)(self),
            Action::PaneProperties => pane(Pane::Properties)(self),
            Action::PaneTraffic => pane(Pane::Traffic)(self),
            Action::PaneAlarms => pane(Pane::Alarms)(self),
            Action::PaneLogs => pane(Pane::Logs)(self),
            Action::PaneTasks => pane(Pane::Tasks)(self),
            Action::NewTask => self.open_task_form(),
            Action::Edit => self.open_editor(),
            Action::CancelTask => self.ask_cancel_task(),
            Action::QueuePause
            | Action::QueuePauseAfter
            | Action::QueueStopAfter
            | Action::QueueAbort => self.queue_key(action),
            // The log pane scrolls through the logger's own page mode.
            Action::Up | Action::PageUp | Action::Top if self.focus == Pane::Logs => {
                self.log_scrolled = true;
                vec![Effect::LogScroll(LogScroll::Back)]
            }
            Action::Down | Action::PageDown if self.focus == Pane::Logs => {
                vec![Effect::LogScroll(LogScroll::Forward)]
            }
            Action::Bottom if self.focus == Pane::Logs => {
                self.log_scrolled = false;
                vec![Effect::LogScroll(LogScroll::Live)]
            }
            // In the traffic pane the bottom is live again.
            Action::Bottom if self.focus == Pane::Traffic => {
                self.traffic.scroll = 0;
                if self.traffic.paused() {
                    self.traffic.toggle_pause();
                }
                vec![]
            }
            Action::Up => self.moved(-1),
            Action::Down => self.moved(1),
            Action::PageUp => self.moved(-(self.page() as i64)),
            Action::PageDown => self.moved(self.page() as i64),
            Action::Top => self.moved(i64::MIN / 2),
            Action::Bottom => self.moved(i64::MAX / 2),
            Action::Connect => self.connection(ConnCommand::Connect),
            Action::Disconnect => self.disconnect(),
            Action::RetryNow => self.connection(ConnCommand::RetryNow),
            Action::Faults => {
                match self.selected_simulator() {
                    Some(simulator) => {
                        self.overlay = Some(Overlay::Faults {
                            simulator,
                            selected: 0,
                        });
                    }
                    None => self.notice("no simulator behind the selected link", false),
                }
                vec![]
            }
            Action::PumpToggle => {
                let Some(device) = self.selected_device() else {
                    self.notice("no device on the selected link", false);
                    return vec![];
                };
                if device.capabilities.power.is_none() {
                    let text = format!("{} cannot be switched on and off", device.name);
                    self.notice(text, false);
                    return vec![];
                }
                let on = device.powered() == Some(true);
                let question = format!("Switch {} {}?", device.name, if on { "off" } else { "on" });
                let request = Request::Power {
                    device: device.name.to_string(),
                    on: !on,
                    force: false,
                };
                self.confirmed(question, request)
            }
            Action::Acknowledge => {
                let id = self
                    .alarm_list()
                    .get(self.cursor(Pane::Alarms))
                    .map(|a| a.id);
                if let Some(alarm) = self.alarms.iter_mut().find(|a| Some(a.id) == id) {
                    alarm.acked = true;
                }
                vec![]
            }
            Action::AcknowledgeAll => {
                self.alarms.iter_mut().for_each(|a| a.acked = true);
                vec![]
            }
            Action::Pause
            | Action::Decode
            | Action::TimeMode
            | Action::Wrap
            | Action::Direction
            | Action::LinkFilter
            | Action::Collapse
            | Action::Search
            | Action::SearchOlder
            | Action::SearchNewer
            | Action::Capture
            | Action::Record
            | Action::Send => self.traffic_action(action),
            Action::LogMore | Action::LogLess => {
                let more = action == Action::LogMore;
                if more && self.log_level >= self.log_recorded {
                    self.notice(
                        format!(
                            "nothing below {} is recorded; set [logging] level = \"debug\" (or RUST_LOG) for more",
                            LOG_LEVELS[self.log_recorded]
                        ),
                        false,
                    );
                    return vec![];
                }
                self.log_level = if more {
                    (self.log_level + 1).min(self.log_recorded)
                } else {
                    self.log_level.saturating_sub(1)
                };
                vec![Effect::LogLevel(LOG_LEVELS[self.log_level])]
            }
        }
    }

    /// The pane `/` and Esc apply to.
    fn filter_pane(&self) -> Pane {
        self.focus
    }

    /// Disconnecting the link of a device that runs (switched on, or a
    /// task running) is asked about first.
    fn disconnect(&mut self) -> Vec<Effect> {
        let Some(c) = self.selected_connection() else {
            return self.connection(ConnCommand::Disconnect);
        };
        let running = self.data.devices.iter().find(|d| {
            d.link == c.name && (d.powered() == Some(true) || d.running_task().is_some())
        });
        match running {
            Some(d) => {
                let question = format!(
                    "Disconnect {}? {} is running; it keeps doing so unwatched.",
                    c.name, d.name
                );
                let request = Request::Connection {
                    target: c.name.to_string(),
                    command: ConnCommand::Disconnect,
                };
                self.confirmed(question, request)
            }
            None => self.connection(ConnCommand::Disconnect),
        }
    }

    fn connection(&mut self, command: ConnCommand) -> Vec<Effect> {
        if let Some(c) = self.selected_connection() {
            vec![Effect::Hub(Request::Connection {
                target: c.name.to_string(),
                command,
            })]
        } else {
            self.notice("no connection selected", false);
            vec![]
        }
    }

    fn page(&self) -> usize {
        (self.size.1 as usize / 3).max(3)
    }

    fn moved(&mut self, delta: i64) -> Vec<Effect> {
        self.move_cursor(delta);
        vec![]
    }

    /// Move the focused pane's cursor, staying inside its rows. In the
    /// traffic pane the cursor is the scroll distance from the newest line,
    /// and scrolling up pauses the view.
    pub fn move_cursor(&mut self, delta: i64) {
        if self.focus == Pane::Traffic {
            let rows = self.traffic.visible().len() as i64;
            let scroll = (self.traffic.scroll as i64 - delta).clamp(0, (rows - 1).max(0));
            self.traffic.scroll = scroll as usize;
            if scroll > 0 && !self.traffic.paused() {
                self.traffic.toggle_pause();
                self.traffic.scroll = scroll as usize;
            }
            return;
        }
        let rows = self.rows(self.focus) as i64;
        let cursor = self.cursor.entry(self.focus).or_insert(0);
        *cursor = (*cursor as i64 + delta).clamp(0, (rows - 1).max(0)) as usize;
        // Another link selected: the panes that follow it have other rows.
        self.clamp_cursors();
    }

    pub(super) fn notice(&mut self, text: impl Into<String>, ok: bool) {
        self.say(text, ok);
    }

    fn click(&mut self, x: u16, y: u16) {
        let areas = layout::compute(self.size.0, self.size.1, self.focus);
        if let Some(pane) = areas.pane_at(x, y) {
            self.focus = pane;
        }
        self.dirty = true;
    }

    fn overlay_key(&mut self, overlay: Overlay, key: KeyChord) -> Vec<Effect> {
        let esc = key == KeyChord::plain(KeyName::Esc);
        let enter = key == KeyChord::plain(KeyName::Enter);
        match overlay {
            Overlay::Help {
                mut filter,
                mut scroll,
            } => {
                match key.key {
                    _ if esc
                        || self.keymap.keys(Action::Help).contains(&key) && filter.is_empty() =>
                    {
                        return vec![];
                    }
                    KeyName::Up => scroll = scroll.saturating_sub(1),
                    KeyName::Down => scroll += 1,
                    KeyName::PageUp => scroll = scroll.saturating_sub(10),
                    KeyName::PageDown => scroll += 10,
                    KeyName::Backspace => {
                        filter.pop();
                        scroll = 0;
                    }
                    KeyName::Char(c) if !key.ctrl => {
                        filter.push(c);
                        scroll = 0;
                    }
                    _ => {}
                }
                self.overlay = Some(Overlay::Help { filter, scroll });
                vec![]
            }
            Overlay::Palette(mut palette) => {
                if esc {
                    return vec![];
                }
                if enter {
                    return self.run_palette(palette.input.trim().to_string());
                }
                match (key.key, key.ctrl, key.alt) {
                    (KeyName::Tab, ..) => palette.complete(&self.vocabulary()),
                    (KeyName::Up, ..) => palette.browse(&self.palette_history, true),
                    (KeyName::Down, ..) => palette.browse(&self.palette_history, false),
                    (KeyName::Space, ..) => palette.type_char(' '),
                    (KeyName::Char(c), false, false) => palette.type_char(c),
                    _ => palette.edit(key),
                }
                self.overlay = Some(Overlay::Palette(palette));
                vec![]
            }
            Overlay::Faults {
                mut simulator,
                mut selected,
            } => {
                let sims = self.data.simulators.len();
                let faults = self
                    .data
                    .simulators
                    .get(simulator)
                    .map_or(0, |s| s.faults.len());
                match key.key {
                    _ if esc => return vec![],
                    KeyName::Up | KeyName::Char('k') => selected = selected.saturating_sub(1),
                    KeyName::Down | KeyName::Char('j') => {
                        selected = (selected + 1).min(faults.saturating_sub(1));
                    }
                    KeyName::Left | KeyName::Char('h') if sims > 0 => {
                        simulator = (simulator + sims - 1) % sims;
                        selected = 0;
                    }
                    KeyName::Right | KeyName::Char('l') if sims > 0 => {
                        simulator = (simulator + 1) % sims;
                        selected = 0;
                    }
                    KeyName::Enter | KeyName::Space => {
                        if let Some(sim) = self.data.simulators.get(simulator)
                            && let Some(fault) = sim.faults.get(selected)
                        {
                            let effect = Effect::Hub(Request::Fault {
                                simulator: Some(sim.name.to_string()),
                                fault: fault.id.to_string(),
                                setting: FaultSetting::Toggle,
                            });
                            self.overlay = Some(Overlay::Faults {
                                simulator,
                                selected,
                            });
                            return vec![effect];
                        }
                    }
                    _ => {}
                }
                self.overlay = Some(Overlay::Faults {
                    simulator,
                    selected,
                });
                vec![]
            }
            Overlay::Confirm(Confirm::Quit) => match key.key {
                KeyName::Char('y' | 'Y') | KeyName::Enter => vec![Effect::Quit],
                _ => vec![],
            },
            Overlay::Confirm(Confirm::TakeControl) => match key.key {
                KeyName::Char('y' | 'Y') | KeyName::Enter => vec![Effect::TakeControl],
                _ => vec![],
            },
            Overlay::Confirm(Confirm::Request { request, .. }) => match key.key {
                KeyName::Char('y' | 'Y') | KeyName::Enter => vec![Effect::Hub(request)],
                _ => vec![],
            },
            Overlay::Confirm(Confirm::CancelTask { device, id, .. }) => match key.key {
                KeyName::Char('y' | 'Y') | KeyName::Enter => vec![Effect::Hub(Request::Cancel {
                    device,
                    task: Some(TaskRef::Id(id)),
                })],
                _ => vec![],
            },
            Overlay::TaskForm(form) => self.task_form_key(form, key),
            Overlay::Input { purpose, mut text } => {
                if esc {
                    match purpose {
                        InputPurpose::Filter(pane) => self.set_filter(pane, String::new()),
                        InputPurpose::Search => self.traffic.search.clear(),
                        _ => {}
                    }
                    self.editing = None;
                    return vec![];
                }
                if enter {
                    return match purpose {
                        InputPurpose::Filter(pane) => {
                            self.set_filter(pane, text);
                            vec![]
                        }
                        InputPurpose::Search => {
                            self.traffic.search = text;
                            if !self.traffic.search.trim().is_empty() {
                                self.next_hit(None);
                            }
                            vec![]
                        }
                        InputPurpose::EditAttr => self.submit_edit(text),
                        InputPurpose::CapturePath if text.trim().is_empty() => vec![],
                        InputPurpose::CapturePath => vec![Effect::Write {
                            path: PathBuf::from(text.trim()),
                            text: self.traffic.capture_text(crate::format::date_time),
                        }],
                    };
                }
                match key.key {
                    KeyName::Backspace => {
                        text.pop();
                    }
                    KeyName::Space => text.push(' '),
                    KeyName::Char(c) if !key.ctrl => text.push(c),
                    _ => {}
                }
                match purpose {
                    // Filters and the search apply as you type.
                    InputPurpose::Filter(pane) => self.set_filter(pane, text.clone()),
                    InputPurpose::Search => self.traffic.search.clone_from(&text),
                    _ => {}
                }
                self.overlay = Some(Overlay::Input { purpose, text });
                vec![]
            }
        }
    }

    fn set_filter(&mut self, pane: Pane, text: String) {
        if pane == Pane::Traffic {
            self.traffic.pattern.clone_from(&text);
        }
        if text.is_empty() {
            self.filters.remove(&pane);
        } else {
            self.filters.insert(pane, text);
        }
        self.clamp_cursors();
    }
}
