//! The console's model: copies of the Hub's snapshots, what the panes
//! derive from them (rates, sparkline history, alarms, traffic), and the
//! interface state (focus, selections, filters, overlays). Only `update`
//! changes it; `view` only reads it.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::forms::TaskForm;
use super::palette::Palette;
use super::safety::Safety;
use super::traffic::Traffic;
use crate::tui::keys::{Action, Keymap, Scope};
use labdeck_core::alarm::{Alarm as CoreAlarm, AlarmKind, Severity};
use labdeck_core::connection::{ConnectionSnapshot, StateKind};
use labdeck_core::device::{
    DeviceSnapshot, Property, PropertyDef, TaskSnapshot, TaskState, Value, ValueUpdate,
};
use labdeck_core::hub::LabSnapshot;
use labdeck_core::link::{Framing, TapCounters};
use labdeck_core::time::Timestamp;

/// Values kept per numeric property for its sparkline.
pub const SPARK_POINTS: usize = 48;
/// Alarms kept, active or not.
const ALARM_HISTORY: usize = 200;

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Connections,
    StateMachine,
    Properties,
    Traffic,
    Tasks,
    Alarms,
    Logs,
}

impl Pane {
    pub const ALL: [Pane; 7] = [
        Pane::Connections,
        Pane::StateMachine,
        Pane::Properties,
        Pane::Traffic,
        Pane::Tasks,
        Pane::Alarms,
        Pane::Logs,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Self::Connections => "Connections",
            Self::StateMachine => "State machine",
            Self::Properties => "Properties",
            Self::Traffic => "Raw traffic",
            Self::Tasks => "Tasks",
            Self::Alarms => "Alarms",
            Self::Logs => "Logs",
        }
    }

    /// The action that focuses it.
    pub fn action(self) -> Action {
        match self {
            Self::Connections => Action::PaneConnections,
            Self::StateMachine => Action::PaneStateMachine,
            Self::Properties => Action::PaneProperties,
            Self::Traffic => Action::PaneTraffic,
            Self::Tasks => Action::PaneTasks,
            Self::Alarms => Action::PaneAlarms,
            Self::Logs => Action::PaneLogs,
        }
    }

    /// Key scopes active in this pane, narrowest first.
    pub fn scopes(self) -> &'static [Scope] {
        match self {
            Self::Traffic => &[Scope::Traffic, Scope::Lists, Scope::Global],
            Self::Alarms => &[Scope::Alarms, Scope::Lists, Scope::Global],
            Self::Logs => &[Scope::Logs, Scope::Lists, Scope::Global],
            Self::Properties => &[Scope::Properties, Scope::Lists, Scope::Global],
            Self::Tasks => &[Scope::Tasks, Scope::Lists, Scope::Global],
            _ => &[Scope::Lists, Scope::Global],
        }
    }

    #[must_use]
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    #[must_use]
    pub fn prev(self) -> Self {
        let i = Self::ALL.iter().position(|p| *p == self).unwrap_or(0);
        Self::ALL[(i + Self::ALL.len() - 1) % Self::ALL.len()]
    }
}

/// Everything the Hub publishes, as of the last sync, with the property
/// events since applied.
pub type Data = LabSnapshot;

/// Bytes per second over the last second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub rx: f64,
    pub tx: f64,
}

/// One occurrence of a condition, as the alarms pane lists it: raised,
/// maybe acknowledged, maybe cleared (acknowledged or not).
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub id: u64,
    /// When it was raised.
    pub t: Timestamp,
    pub source: Arc<str>,
    pub kind: AlarmKind,
    pub condition: Arc<str>,
    pub severity: Severity,
    pub reason: String,
    pub active: bool,
    pub acked: bool,
    pub cleared: Option<Timestamp>,
}

impl Alarm {
    fn is(&self, alarm: &CoreAlarm) -> bool {
        self.source == alarm.source && self.kind == alarm.kind && self.condition == alarm.condition
    }
}

/// What may be asked before it happens.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirm {
    Quit,
    /// Attached: take the control lock from the console that holds it.
    TakeControl,
    CancelTask {
        device: String,
        id: u64,
        name: String,
    },
    /// A request that moves hardware (a pump switched, a running
    /// device's link closed, an emergency stop), said in words.
    Request {
        question: String,
        request: labdeck_core::hub::Request,
    },
}

/// What a text input line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPurpose {
    Filter(Pane),
    /// Text or hex the traffic pane highlights.
    Search,
    CapturePath,
    /// A new value for the attribute in [`App::editing`].
    EditAttr,
}

/// A window over the panes.
#[derive(Debug, Clone, PartialEq)]
pub enum Overlay {
    Help { filter: String, scroll: usize },
    Palette(Palette),
    Faults { simulator: usize, selected: usize },
    Confirm(Confirm),
    Input { purpose: InputPurpose, text: String },
    TaskForm(TaskForm),
}

/// The last reply or notice, shown in the hint bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub text: String,
    pub ok: bool,
    /// When it was said: the status line shows it for [`STATUS_FOR`].
    pub at: Timestamp,
}

/// How long a message stays on the status line; `:messages` lists the
/// last [`MESSAGES_KEPT`].
pub const STATUS_FOR: std::time::Duration = std::time::Duration::from_secs(6);
pub const MESSAGES_KEPT: usize = 100;

/// Facts the console needs that do not change while it runs.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// How each link's (and simulator tap's) bytes decode.
    pub framing: HashMap<String, Framing>,
    /// Simulator names (their taps mirror the links).
    pub simulators: Vec<String>,
    pub themes: Vec<String>,
    pub traffic_capacity: usize,
}

impl Setup {
    /// From the lab as it is: a link frames as its device does, a
    /// simulator's tap as the simulator says.
    pub fn from_snapshot(lab: &LabSnapshot, themes: Vec<String>, traffic_capacity: usize) -> Self {
        let mut framing = HashMap::new();
        for d in &lab.devices {
            framing.insert(d.link.to_string(), d.capabilities.framing);
        }
        for s in &lab.simulators {
            framing.insert(s.name.to_string(), s.framing);
        }
        for (tap, f) in &lab.framing {
            framing.insert(tap.to_string(), *f);
        }
        Self {
            framing,
            simulators: lab.simulators.iter().map(|s| s.name.to_string()).collect(),
            themes,
            traffic_capacity,
        }
    }
}

#[derive(Debug, Clone)]
pub struct App {
    pub data: Data,
    pub setup: Setup,
    pub rates: HashMap<Arc<str>, Rates>,
    last_counters: HashMap<Arc<str>, (TapCounters, Timestamp)>,
    pub history: HashMap<(Arc<str>, String), VecDeque<f64>>,
    pub traffic: Traffic,
    pub alarms: Vec<Alarm>,
    next_alarm: u64,
    pub focus: Pane,
    pub cursor: HashMap<Pane, usize>,
    pub filters: HashMap<Pane, String>,
    pub overlay: Option<Overlay>,
    /// A multi-line reply shown in a box until a key is pressed.
    pub message: Option<String>,
    /// Lines of [`App::message`] scrolled past.
    pub message_scroll: usize,
    pub status: Option<Status>,
    /// Every status message, oldest first, for `:messages`.
    pub messages: VecDeque<Status>,
    pub palette_history: Vec<String>,
    /// `(device, attribute)` being edited.
    pub editing: Option<(String, String)>,
    pub keymap: Keymap,
    pub safety: Safety,
    pub size: (u16, u16),
    pub now: Timestamp,
    /// Index into [`LOG_LEVELS`] of the most verbose level shown.
    pub log_level: usize,
    /// Index into [`LOG_LEVELS`] of the most verbose level recorded at
    /// all (`[logging] level`): `+` stops there.
    pub log_recorded: usize,
    /// The log pane is scrolled back from the newest line.
    pub log_scrolled: bool,
    pub theme: String,
    /// What the console runs against: `embedded`, or `attached SOCKET`.
    pub lab: String,
    /// Attached to a daemon: the control lock as it stands.
    pub attachment: Option<super::lab::Attachment>,
    /// Playing a recording: quitting stops nothing.
    pub replay: bool,
    pub dirty: bool,
    pub quit: bool,
}

pub const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

impl App {
    pub fn new(setup: Setup, keymap: Keymap, theme: &str, now: Timestamp) -> Self {
        let mut traffic = Traffic::new(setup.traffic_capacity);
        for (link, framing) in &setup.framing {
            traffic.set_framing(link.as_str().into(), *framing);
        }
        for sim in &setup.simulators {
            traffic.add_simulator_tap(sim.as_str().into());
        }
        Self {
            data: Data::default(),
            setup,
            rates: HashMap::new(),
            last_counters: HashMap::new(),
            history: HashMap::new(),
            traffic,
            alarms: Vec::new(),
            next_alarm: 1,
            focus: Pane::Connections,
            cursor: HashMap::new(),
            filters: HashMap::new(),
            overlay: None,
            message: None,
            status: None,
            palette_history: Vec::new(),
            editing: None,
            keymap,
            safety: Safety::default(),
            messages: VecDeque::new(),
            message_scroll: 0,
            size: (80, 24),
            now,
            log_level: 2,
            log_recorded: 2,
            log_scrolled: false,
            theme: theme.to_string(),
            lab: "embedded".into(),
            attachment: None,
            replay: false,
            dirty: true,
            quit: false,
        }
    }

    /// Say something on the status line (and keep it in the history).
    pub fn say(&mut self, text: impl Into<String>, ok: bool) {
        let status = Status {
            text: text.into(),
            ok,
            at: self.now,
        };
        if self.messages.len() == MESSAGES_KEPT {
            self.messages.pop_front();
        }
        self.messages.push_back(status.clone());
        self.status = Some(status);
        self.dirty = true;
    }

    /// The status message still on show at `now`.
    pub fn current_status(&self) -> Option<&Status> {
        self.status
            .as_ref()
            .filter(|s| self.now.mono.saturating_duration_since(s.at.mono) < STATUS_FOR)
    }

    /// Take new snapshots (at start, on device-level changes, after lag)
    /// and raise alarms the event stream may have missed. Values between
    /// snapshots come as events ([`App::value`]).
    pub fn sync(&mut self, data: Data) {
        for device in &data.devices {
            for prop in &device.properties {
                let key = (device.name.clone(), prop.name().to_string());
                // Seen for the first time: its value starts the sparkline.
                if let (false, Some(number)) = (
                    self.history.contains_key(&key),
                    prop.value.as_ref().and_then(numeric),
                ) {
                    self.history.entry(key).or_default().push_back(number);
                }
            }
        }
        // Each active alarm as it was raised: one already listed (even if
        // cleared since this snapshot was taken) is not raised again.
        for alarm in data.connections.iter().filter_map(|c| c.alarm.as_ref()) {
            self.raise(alarm);
        }
        for alarm in data.devices.iter().flat_map(|d| &d.alarms) {
            self.raise(alarm);
        }
        // An actor that faulted before the console started (the INDI port
        // busy, say) is an alarm too; it stays until labdeck restarts.
        for actor in data
            .actors
            .iter()
            .filter(|a| a.state == labdeck_core::hub::ActorState::Faulted)
        {
            let reason = format!(
                "{} faulted: {}",
                actor.kind,
                actor.reason.as_deref().unwrap_or("no reason given")
            );
            self.raise(&CoreAlarm {
                t: self.now,
                ..CoreAlarm::new(&actor.name, AlarmKind::Actor, true, reason)
            });
        }
        self.data = data;
        self.clamp_cursors();
        self.dirty = true;
    }

    /// A property event: the value in the model and a sparkline point.
    /// Whether the property is on screen.
    pub fn value(&mut self, device: &str, update: &ValueUpdate) -> bool {
        let Some(d) = self.data.devices.iter_mut().find(|d| &*d.name == device) else {
            return false;
        };
        let Some(p) = d.properties.iter_mut().find(|p| p.def.name == update.name) else {
            return false;
        };
        p.value.clone_from(&update.value);
        p.state = update.state;
        p.updated = Some(update.t);
        if let Some(number) = update.value.as_ref().and_then(numeric) {
            let key = (d.name.clone(), update.name.to_string());
            let points = self.history.entry(key).or_default();
            if points.len() == SPARK_POINTS {
                points.pop_front();
            }
            points.push_back(number);
        }
        let selected = self.selected_device().is_some_and(|s| &*s.name == device);
        selected && (self.wide() || self.focus == Pane::Properties)
    }

    /// A definition event: the property appears or changes its definition.
    pub fn define(&mut self, device: &str, property: &Arc<PropertyDef>) {
        let Some(d) = self.data.devices.iter_mut().find(|d| &*d.name == device) else {
            return;
        };
        match d
            .properties
            .iter_mut()
            .find(|p| p.def.name == property.name)
        {
            Some(p) => p.def = property.clone(),
            None => d.properties.push(Property::shared(property.clone())),
        }
        self.dirty = true;
    }

    /// A property went away.
    pub fn remove(&mut self, device: &str, name: &str) {
        if let Some(d) = self.data.devices.iter_mut().find(|d| &*d.name == device) {
            d.properties.retain(|p| &*p.def.name != name);
            self.clamp_cursors();
            self.dirty = true;
        }
    }

    /// Recompute byte rates from the tap counters (once a second).
    pub fn update_rates(&mut self, now: Timestamp) {
        for (link, counters) in &self.data.taps {
            if let Some((before, then)) = self.last_counters.get(link) {
                let secs = now.mono.duration_since(then.mono).as_secs_f64();
                if secs > 0.0 {
                    self.rates.insert(
                        link.clone(),
                        Rates {
                            rx: counters.rx_bytes.saturating_sub(before.rx_bytes) as f64 / secs,
                            tx: counters.tx_bytes.saturating_sub(before.tx_bytes) as f64 / secs,
                        },
                    );
                }
            }
            self.last_counters.insert(link.clone(), (*counters, now));
        }
    }

    /// An alarm raised: a condition already active is the same alarm (its
    /// text may change); one listed with this raise time is an occurrence
    /// already seen, maybe cleared since; anything else is new.
    pub fn raise(&mut self, alarm: &CoreAlarm) {
        if let Some(held) = self.alarms.iter_mut().find(|a| a.active && a.is(alarm)) {
            held.reason.clone_from(&alarm.reason);
            held.severity = alarm.severity;
            return;
        }
        if self.alarms.iter().any(|a| a.is(alarm) && a.t == alarm.t) {
            return;
        }
        self.alarms.push(Alarm {
            id: self.next_alarm,
            t: alarm.t,
            source: alarm.source.clone(),
            kind: alarm.kind,
            condition: alarm.condition.clone(),
            severity: alarm.severity,
            reason: alarm.reason.clone(),
            active: true,
            acked: false,
            cleared: None,
        });
        self.next_alarm += 1;
        if self.alarms.len() > ALARM_HISTORY
            && let Some(i) = self.alarms.iter().position(|a| !a.active && a.acked)
        {
            self.alarms.remove(i);
        }
    }

    /// A condition cleared: its active alarm stays listed, cleared.
    pub fn clear(&mut self, alarm: &CoreAlarm) {
        for held in self.alarms.iter_mut().filter(|a| a.active && a.is(alarm)) {
            held.active = false;
            held.cleared = Some(alarm.t);
        }
    }

    /// Alarms whose condition holds.
    pub fn active_alarms(&self) -> usize {
        self.alarms.iter().filter(|a| a.active).count()
    }

    /// Alarms nobody acknowledged yet, active or cleared.
    pub fn unacked(&self) -> usize {
        self.alarms.iter().filter(|a| !a.acked).count()
    }

    /// Alarms in display order: active unacknowledged, active acknowledged,
    /// cleared unacknowledged, cleared; newest first within each, filtered.
    pub fn alarm_list(&self) -> Vec<&Alarm> {
        let filter = self.filter(Pane::Alarms);
        let mut list: Vec<&Alarm> = self
            .alarms
            .iter()
            .filter(|a| matches_filter(filter, &[&a.source, &a.reason]))
            .collect();
        list.sort_by_key(|a| (!a.active, a.acked, std::cmp::Reverse(a.id)));
        list
    }

    pub fn filter(&self, pane: Pane) -> &str {
        self.filters.get(&pane).map_or("", String::as_str)
    }

    pub fn cursor(&self, pane: Pane) -> usize {
        self.cursor.get(&pane).copied().unwrap_or(0)
    }

    /// Connections passing the filter.
    pub fn connection_list(&self) -> Vec<&ConnectionSnapshot> {
        let filter = self.filter(Pane::Connections);
        self.data
            .connections
            .iter()
            .filter(|c| matches_filter(filter, &[&c.name, &c.endpoint, c.state.as_str()]))
            .collect()
    }

    pub fn selected_connection(&self) -> Option<&ConnectionSnapshot> {
        self.connection_list()
            .get(self.cursor(Pane::Connections))
            .copied()
    }

    /// The device on the selected link.
    pub fn selected_device(&self) -> Option<&DeviceSnapshot> {
        let link = self.selected_connection()?;
        self.data.devices.iter().find(|d| d.link == link.name)
    }

    /// The simulator behind the selected link, else the only one.
    pub fn selected_simulator(&self) -> Option<usize> {
        let by_link = self
            .selected_connection()
            .and_then(|c| c.simulator.as_ref())
            .and_then(|sim| self.data.simulators.iter().position(|s| s.name == *sim));
        by_link.or((self.data.simulators.len() == 1).then_some(0))
    }

    /// Properties of the selected device passing the filter, by group.
    pub fn property_list(&self) -> Vec<&Property> {
        let Some(device) = self.selected_device() else {
            return Vec::new();
        };
        let filter = self.filter(Pane::Properties);
        let mut list: Vec<&Property> = device
            .properties
            .iter()
            .filter(|p| matches_filter(filter, &[p.name(), &p.def.label, &p.def.group]))
            .collect();
        // Stable: keeps the driver's order inside each group.
        let order: Vec<&str> =
            device
                .properties
                .iter()
                .map(|p| p.def.group.as_str())
                .fold(Vec::new(), |mut v, g| {
                    if !v.contains(&g) {
                        v.push(g);
                    }
                    v
                });
        list.sort_by_key(|p| order.iter().position(|g| *g == p.def.group));
        list
    }

    /// The selected link's transitions passing the filter, newest first.
    pub fn transition_list(&self) -> Vec<&labdeck_core::connection::TransitionRecord> {
        let filter = self.filter(Pane::StateMachine);
        self.selected_connection().map_or_else(Vec::new, |c| {
            c.transitions
                .iter()
                .rev()
                .filter(|t| {
                    matches_filter(
                        filter,
                        &[t.from.as_str(), t.to.as_str(), &t.input, &t.reason],
                    )
                })
                .collect()
        })
    }

    /// Whether quitting would stop something in progress.
    pub fn busy(&self) -> bool {
        let links = self.data.connections.iter().any(|c| {
            matches!(
                c.state,
                StateKind::Connecting | StateKind::Connected | StateKind::Recovering
            )
        });
        let powered = self.data.devices.iter().any(|d| d.powered() == Some(true));
        let tasks = self
            .data
            .devices
            .iter()
            .any(|d| d.tasks.iter().any(|t| !t.state.is_terminal()));
        links || powered || tasks
    }

    /// Every device's tasks: running, then queued in order, then finished
    /// newest first; filtered.
    pub fn task_list(&self) -> Vec<&TaskSnapshot> {
        let filter = self.filter(Pane::Tasks);
        let mut list: Vec<&TaskSnapshot> = self
            .data
            .devices
            .iter()
            .flat_map(|d| d.tasks.iter())
            .filter(|t| {
                matches_filter(
                    filter,
                    &[
                        &t.spec.device,
                        &t.spec.name,
                        &t.spec.technique,
                        t.state.as_str(),
                    ],
                )
            })
            .collect();
        let rank = |t: &TaskSnapshot| match t.state {
            TaskState::Running | TaskState::Paused => 0,
            TaskState::Queued => 1,
            _ => 2,
        };
        list.sort_by(|a, b| {
            rank(a).cmp(&rank(b)).then_with(|| match rank(a) {
                2 => b.ended.map(|t| t.mono).cmp(&a.ended.map(|t| t.mono)),
                _ => a.submitted.mono.cmp(&b.submitted.mono),
            })
        });
        list
    }

    pub fn selected_task(&self) -> Option<&TaskSnapshot> {
        self.task_list().get(self.cursor(Pane::Tasks)).copied()
    }

    /// Rows a pane's list has, for cursor limits.
    pub fn rows(&self, pane: Pane) -> usize {
        match pane {
            Pane::Connections => self.connection_list().len(),
            Pane::Properties => self.property_list().len(),
            Pane::Alarms => self.alarm_list().len(),
            Pane::StateMachine => self
                .selected_connection()
                .map_or(0, |c| c.transitions.len()),
            Pane::Traffic => self.traffic.visible().len(),
            Pane::Tasks => self.task_list().len(),
            Pane::Logs => 0,
        }
    }

    pub fn clamp_cursors(&mut self) {
        for pane in Pane::ALL {
            let rows = self.rows(pane);
            if let Some(c) = self.cursor.get_mut(&pane) {
                *c = (*c).min(rows.saturating_sub(1));
            }
        }
    }
}

fn numeric(value: &Value) -> Option<f64> {
    value.as_f64()
}

/// Case-insensitive substring match on any field; empty filter matches.
pub fn matches_filter(filter: &str, fields: &[&str]) -> bool {
    if filter.is_empty() {
        return true;
    }
    let needle = filter.to_lowercase();
    fields.iter().any(|f| f.to_lowercase().contains(&needle))
}
