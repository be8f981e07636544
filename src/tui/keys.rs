//! Console key bindings as data: chords parsed from strings such as
//! `"ctrl+l"`, the console's actions with their default keys, and the
//! merged keymap with duplicate detection. The console turns terminal key
//! events into [`KeyChord`]s; nothing here knows the terminal.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A key without modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyName {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Insert,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Space,
    F(u8),
}

/// A key with modifiers. Shifted letters are their upper-case `Char`
/// (`"shift+g"` = `"G"`), as terminals report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyChord {
    pub key: KeyName,
    pub ctrl: bool,
    pub alt: bool,
}

impl KeyChord {
    pub const fn plain(key: KeyName) -> Self {
        Self {
            key,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn char(c: char) -> Self {
        Self::plain(KeyName::Char(c))
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            key: KeyName::Char(c),
            ctrl: true,
            alt: false,
        }
    }
}

impl FromStr for KeyChord {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err("empty key".into());
        }
        // "+" alone is the plus key; "ctrl++" is ctrl and plus.
        let (mods, key) = match text.strip_suffix("++") {
            Some(rest) => (rest, "+"),
            None => match text.rsplit_once('+') {
                Some((mods, key)) if !key.is_empty() => (mods, key),
                _ => ("", text),
            },
        };
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        for m in mods.split('+').filter(|m| !m.is_empty()) {
            match m.to_ascii_lowercase().as_str() {
                "ctrl" | "control" | "c" => ctrl = true,
                "alt" | "meta" | "m" => alt = true,
                "shift" | "s" => shift = true,
                other => {
                    return Err(format!(
                        "unknown modifier {other:?} (use ctrl, alt or shift)"
                    ));
                }
            }
        }
        let lower = key.to_ascii_lowercase();
        let name = match lower.as_str() {
            "enter" | "return" => KeyName::Enter,
            "esc" | "escape" => KeyName::Esc,
            "tab" if shift => {
                shift = false;
                KeyName::BackTab
            }
            "tab" => KeyName::Tab,
            "backtab" => KeyName::BackTab,
            "backspace" | "bs" => KeyName::Backspace,
            "delete" | "del" => KeyName::Delete,
            "insert" | "ins" => KeyName::Insert,
            "up" => KeyName::Up,
            "down" => KeyName::Down,
            "left" => KeyName::Left,
            "right" => KeyName::Right,
            "pageup" | "pgup" => KeyName::PageUp,
            "pagedown" | "pgdn" | "pgdown" => KeyName::PageDown,
            "home" => KeyName::Home,
            "end" => KeyName::End,
            "space" => KeyName::Space,
            f if f.len() > 1
                && f.starts_with('f')
                && f[1..].parse::<u8>().is_ok_and(|n| (1..=24).contains(&n)) =>
            {
                KeyName::F(f[1..].parse().unwrap_or(1))
            }
            _ => {
                let mut chars = key.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_control() => {
                        if shift && c.is_ascii_alphabetic() {
                            shift = false;
                            KeyName::Char(c.to_ascii_uppercase())
                        } else if ctrl && c.is_ascii_alphabetic() {
                            KeyName::Char(c.to_ascii_lowercase())
                        } else {
                            KeyName::Char(c)
                        }
                    }
                    _ => return Err(format!("unknown key {key:?}")),
                }
            }
        };
        if shift {
            return Err(format!(
                "shift+{key} cannot be told apart; write the shifted character"
            ));
        }
        Ok(Self {
            key: name,
            ctrl,
            alt,
        })
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.key {
            KeyName::Char(c) if self.ctrl => write!(f, "{}", c.to_ascii_uppercase()),
            KeyName::Char(c) => write!(f, "{c}"),
            KeyName::Enter => f.write_str("Enter"),
            KeyName::Esc => f.write_str("Esc"),
            KeyName::Tab => f.write_str("Tab"),
            KeyName::BackTab => f.write_str("Shift-Tab"),
            KeyName::Backspace => f.write_str("Backspace"),
            KeyName::Delete => f.write_str("Del"),
            KeyName::Insert => f.write_str("Ins"),
            KeyName::Up => f.write_str("↑"),
            KeyName::Down => f.write_str("↓"),
            KeyName::Left => f.write_str("←"),
            KeyName::Right => f.write_str("→"),
            KeyName::PageUp => f.write_str("PgUp"),
            KeyName::PageDown => f.write_str("PgDn"),
            KeyName::Home => f.write_str("Home"),
            KeyName::End => f.write_str("End"),
            KeyName::Space => f.write_str("Space"),
            KeyName::F(n) => write!(f, "F{n}"),
        }
    }
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Everywhere outside overlays.
    Global,
    /// Lists: every pane with a list.
    Lists,
    Alarms,
    Traffic,
    Logs,
    Properties,
    Tasks,
}

impl Scope {
    pub fn overlaps(self, other: Scope) -> bool {
        self == other || self == Scope::Global || other == Scope::Global || {
            // The list keys work in every pane with a list.
            matches!((self, other), (Scope::Lists, _) | (_, Scope::Lists))
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Global => "everywhere",
            Self::Lists => "lists",
            Self::Alarms => "alarms pane",
            Self::Traffic => "traffic pane",
            Self::Logs => "logs pane",
            Self::Properties => "properties pane",
            Self::Tasks => "tasks pane",
        }
    }
}

macro_rules! actions {
    ($($variant:ident = $name:literal, $scope:ident, [$($key:expr),*], $help:literal;)*) => {
        /// Everything the console does from a key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// Name used in the `[keys]` table of the configuration.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            pub fn scope(self) -> Scope {
                match self { $(Action::$variant => Scope::$scope),* }
            }

            pub fn help(self) -> &'static str {
                match self { $(Action::$variant => $help),* }
            }

            pub fn default_keys(self) -> Vec<KeyChord> {
                match self { $(Action::$variant => vec![$($key),*]),* }
            }
        }
    };
}

use KeyName as K;

const fn key(k: KeyName) -> KeyChord {
    KeyChord::plain(k)
}

actions! {
    Quit = "quit", Global, [KeyChord::char('q'), KeyChord::ctrl('c')], "quit (asks first if anything is running)";
    Help = "help", Global, [KeyChord::char('?'), key(K::F(1))], "this help";
    Palette = "palette", Global, [KeyChord::char(':')], "command palette";
    Filter = "filter", Global, [KeyChord::char('/')], "filter the focused list";
    Back = "back", Global, [key(K::Esc)], "close, clear the filter";
    NextPane = "next-pane", Global, [key(K::Tab)], "next pane";
    PrevPane = "prev-pane", Global, [key(K::BackTab)], "previous pane";
    Repaint = "repaint", Global, [KeyChord::ctrl('l')], "repaint the screen";
    ReadOnly = "read-only", Global, [KeyChord::ctrl('r')], "read-only on/off: refuse every write";
    Detach = "detach", Global, [KeyChord::ctrl('d')], "attached: detach (the daemon and its tasks run on)";
    PaneConnections = "pane-connections", Global, [KeyChord::char('1')], "go to connections";
    PaneStateMachine = "pane-state", Global, [KeyChord::char('2')], "go to the state machine";
    PaneProperties = "pane-properties", Global, [KeyChord::char('3')], "go to properties";
    PaneTraffic = "pane-traffic", Global, [KeyChord::char('4')], "go to raw traffic";
    PaneTasks = "pane-tasks", Global, [KeyChord::char('5')], "go to tasks";
    PaneAlarms = "pane-alarms", Global, [KeyChord::char('6')], "go to alarms";
    PaneLogs = "pane-logs", Global, [KeyChord::char('7')], "go to logs";
    Up = "up", Lists, [key(K::Up), KeyChord::char('k')], "move up";
    Down = "down", Lists, [key(K::Down), KeyChord::char('j')], "move down";
    PageUp = "page-up", Lists, [key(K::PageUp)], "page up";
    PageDown = "page-down", Lists, [key(K::PageDown)], "page down";
    Top = "top", Lists, [key(K::Home), KeyChord::char('g')], "first line";
    Bottom = "bottom", Lists, [key(K::End), KeyChord::char('G')], "last line";
    Connect = "connect", Global, [KeyChord::char('c')], "connect the selected link";
    Disconnect = "disconnect", Global, [KeyChord::char('d')], "disconnect the selected link";
    RetryNow = "retry", Global, [KeyChord::char('R')], "retry a recovering link now";
    Details = "details", Lists, [key(K::Enter), KeyChord::char('i')], "every field of the selected row (the whole frame in traffic)";
    Faults = "faults", Global, [KeyChord::char('f')], "fault menu of the selected simulator";
    PumpToggle = "pump-toggle", Global, [KeyChord::char('o')], "switch the selected device on/off";
    NewTask = "new-task", Global, [KeyChord::char('t')], "queue a task (form) on the selected device";
    Edit = "edit", Properties, [KeyChord::char('e')], "edit the selected attribute";
    CancelTask = "cancel-task", Tasks, [KeyChord::char('x'), key(K::Delete)], "cancel the selected task (asks first)";
    QueuePause = "queue-pause", Tasks, [KeyChord::char('p')], "pause every queue now (the running task stops sampling) / resume";
    QueuePauseAfter = "queue-pause-after", Tasks, [KeyChord::char('P')], "pause every queue after the current task";
    QueueStopAfter = "queue-stop-after", Tasks, [KeyChord::char('S')], "let the running tasks end, then cancel what waits (jobs too)";
    QueueAbort = "queue-abort", Tasks, [KeyChord::char('A')], "abort: cancel every task and job, safe state (asks first)";
    Acknowledge = "acknowledge", Alarms, [KeyChord::char('a')], "acknowledge the selected alarm";
    AcknowledgeAll = "acknowledge-all", Alarms, [KeyChord::char('A')], "acknowledge every alarm";
    Pause = "pause", Traffic, [KeyChord::char('p'), key(K::Space)], "pause / resume (keeps buffering)";
    Decode = "decode", Traffic, [KeyChord::char('h')], "hex ↔ decoded telegrams";
    TimeMode = "time-mode", Traffic, [KeyChord::char('T')], "timestamps: clock, delta, both";
    Wrap = "wrap", Traffic, [KeyChord::char('z')], "wrap long frames ↔ cut them";
    Search = "search", Traffic, [KeyChord::char('s')], "search: highlight frames with text or hex";
    SearchOlder = "search-older", Traffic, [KeyChord::char('n')], "go to the previous (older) hit";
    SearchNewer = "search-newer", Traffic, [KeyChord::char('N')], "go to the next (newer) hit";
    Send = "send", Traffic, [KeyChord::char('S')], "send raw bytes or text on a link";
    Direction = "direction", Traffic, [KeyChord::char('x')], "show TX+RX / TX / RX";
    LinkFilter = "link-filter", Traffic, [KeyChord::char('l')], "show all links / one link";
    Collapse = "collapse", Traffic, [KeyChord::char('r')], "collapse repeated frames";
    Capture = "capture", Traffic, [KeyChord::char('w')], "write the visible history to a file";
    Record = "record", Traffic, [KeyChord::char('W')], "log every frame to a file from now on (on/off)";
    LogMore = "log-more", Logs, [KeyChord::char('+')], "show more log levels";
    LogLess = "log-less", Logs, [KeyChord::char('-')], "show fewer log levels";
}

impl Action {
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.name() == name)
    }
}

/// The keys of every action, defaults merged with the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<Action, Vec<KeyChord>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self {
            bindings: Action::ALL.iter().map(|a| (*a, a.default_keys())).collect(),
        }
    }
}

/// Two actions whose scopes overlap share a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    pub key: KeyChord,
    pub first: Action,
    pub second: Action,
}

impl Keymap {
    /// Replace the keys of `action`.
    pub fn bind(&mut self, action: Action, keys: Vec<KeyChord>) {
        self.bindings.insert(action, keys);
    }

    pub fn keys(&self, action: Action) -> &[KeyChord] {
        self.bindings.get(&action).map_or(&[], Vec::as_slice)
    }

    /// The action a key triggers in `scopes` (first match in the given order).
    pub fn action(&self, key: KeyChord, scopes: &[Scope]) -> Option<Action> {
        scopes.iter().find_map(|scope| {
            self.bindings
                .iter()
                .find(|(a, keys)| a.scope() == *scope && keys.contains(&key))
                .map(|(a, _)| *a)
        })
    }

    /// Every pair of actions that would share a key.
    pub fn clashes(&self) -> Vec<Clash> {
        let mut clashes = Vec::new();
        let all: Vec<(&Action, &Vec<KeyChord>)> = self.bindings.iter().collect();
        for (i, (a, a_keys)) in all.iter().enumerate() {
            for (b, b_keys) in &all[i + 1..] {
                if !a.scope().overlaps(b.scope()) {
                    continue;
                }
                for key in a_keys.iter().filter(|k| b_keys.contains(k)) {
                    clashes.push(Clash {
                        key: *key,
                        first: **a,
                        second: **b,
                    });
                }
            }
        }
        clashes
    }

    /// `"j, ↓"` for help and hint texts.
    pub fn describe(&self, action: Action) -> String {
        self.keys(action)
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_print() {
        let cases = [
            ("q", "q"),
            ("ctrl+l", "Ctrl-L"),
            ("Ctrl+L", "Ctrl-L"),
            ("shift+tab", "Shift-Tab"),
            ("shift+g", "G"),
            ("G", "G"),
            ("f1", "F1"),
            ("pgdn", "PgDn"),
            ("+", "+"),
            ("ctrl++", "Ctrl-+"),
            ("alt+x", "Alt-x"),
            ("space", "Space"),
        ];
        for (text, shown) in cases {
            let chord: KeyChord = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(chord.to_string(), shown, "{text}");
        }
        assert!("hyper+x".parse::<KeyChord>().is_err());
        assert!("shift+1".parse::<KeyChord>().is_err());
        assert!("banana".parse::<KeyChord>().is_err());
        assert!("f99".parse::<KeyChord>().is_err());
    }

    #[test]
    fn defaults_have_no_clashes() {
        assert_eq!(Keymap::default().clashes(), vec![]);
    }

    #[test]
    fn clashes_respect_scopes() {
        let mut map = Keymap::default();
        // 'a' acknowledges in the alarms pane; binding it to pause in the
        // traffic pane does not clash…
        map.bind(Action::Pause, vec![KeyChord::char('a')]);
        assert_eq!(map.clashes(), vec![]);
        // …but a global action on 'a' does.
        map.bind(Action::Faults, vec![KeyChord::char('a')]);
        let clashes = map.clashes();
        assert_eq!(clashes.len(), 2, "{clashes:?}");
        assert!(clashes.iter().all(|c| c.key == KeyChord::char('a')));
    }

    #[test]
    fn lookup_prefers_the_narrow_scope_given_first() {
        let map = Keymap::default();
        assert_eq!(
            map.action(KeyChord::char('a'), &[Scope::Alarms, Scope::Global]),
            Some(Action::Acknowledge)
        );
        assert_eq!(
            map.action(KeyChord::char('a'), &[Scope::Traffic, Scope::Global]),
            None
        );
        assert_eq!(
            map.action(KeyChord::char('q'), &[Scope::Traffic, Scope::Global]),
            Some(Action::Quit)
        );
        assert_eq!(map.describe(Action::Down), "↓, j");
    }
}
