//! The `:` command palette: a line editor with completion over the
//! command language and the names the runtime knows, plus history.

use super::keys::{KeyChord, KeyName};

/// Names the palette completes.
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    pub connections: Vec<String>,
    /// Devices: name, whether they can be switched on and off, attributes.
    pub devices: Vec<(String, bool, Vec<String>)>,
    /// Simulators with their fault ids.
    pub simulators: Vec<(String, Vec<String>)>,
    /// `DEVICE.ATTR` of every attribute that can be written (what `set`
    /// offers).
    pub writable: Vec<String>,
    /// Traffic taps (links and simulators).
    pub taps: Vec<String>,
    pub themes: Vec<String>,
    /// `[[macro]]` names.
    pub macros: Vec<String>,
}

/// Verbs and what they complete, in the order they are offered.
pub const VERBS: &[&str] = &[
    "connect",
    "disconnect",
    "teardown",
    "retry",
    "fault",
    "faults",
    "pump",
    "set",
    "get",
    "read",
    "write",
    "send",
    "macro",
    "macros",
    "capture",
    "record",
    "task",
    "tasks",
    "cancel",
    "load",
    "jobs",
    "pause",
    "resume",
    "stop-after",
    "abort",
    "props",
    "measure",
    "safe",
    "estop",
    "scpi",
    "do",
    "theme",
    "status",
    "messages",
    "help",
    "quit",
];

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Palette {
    pub input: String,
    /// Where the next character goes: a byte offset on a char boundary.
    pub cursor: usize,
    /// Completions of the word being typed, after Tab.
    pub candidates: Vec<String>,
    /// Which candidate Tab put in.
    pub choice: Option<usize>,
    /// Position in the history while browsing with ↑/↓.
    pub browsing: Option<usize>,
}

impl Palette {
    pub fn type_char(&mut self, c: char) {
        self.input.insert(self.cursor, c);
        self.cursor += c.len_utf8();
        self.reset_completion();
    }

    /// The line editor's keys: ←/→, Home/End (Ctrl-A/E), Backspace,
    /// Delete, Ctrl-U/K (to the start/end), Ctrl-W (the word before),
    /// Alt-B/F and Ctrl-←/→ (a word back/on).
    pub fn edit(&mut self, key: KeyChord) {
        let (before, after) = (self.prev_char(), self.next_char());
        match (key.key, key.ctrl, key.alt) {
            (KeyName::Left, true, _) | (KeyName::Char('b'), _, true) => {
                self.cursor = self.word_start();
            }
            (KeyName::Right, true, _) | (KeyName::Char('f'), _, true) => {
                self.cursor = self.word_end();
            }
            (KeyName::Left, ..) => self.cursor = before,
            (KeyName::Right, ..) => self.cursor = after,
            (KeyName::Home, ..) | (KeyName::Char('a'), true, _) => self.cursor = 0,
            (KeyName::End, ..) | (KeyName::Char('e'), true, _) => self.cursor = self.input.len(),
            (KeyName::Backspace, ..) | (KeyName::Char('h'), true, _) => {
                self.input.replace_range(before..self.cursor, "");
                self.cursor = before;
            }
            (KeyName::Delete, ..) | (KeyName::Char('d'), true, _) => {
                self.input.replace_range(self.cursor..after, "");
            }
            (KeyName::Char('u'), true, _) => {
                self.input.replace_range(..self.cursor, "");
                self.cursor = 0;
            }
            (KeyName::Char('k'), true, _) => self.input.truncate(self.cursor),
            (KeyName::Char('w'), true, _) => {
                let start = self.word_start();
                self.input.replace_range(start..self.cursor, "");
                self.cursor = start;
            }
            _ => return,
        }
        self.reset_completion();
    }

    pub fn backspace(&mut self) {
        self.edit(KeyChord::plain(KeyName::Backspace));
    }

    fn prev_char(&self) -> usize {
        self.input[..self.cursor]
            .char_indices()
            .next_back()
            .map_or(0, |(i, _)| i)
    }

    fn next_char(&self) -> usize {
        self.input[self.cursor..]
            .chars()
            .next()
            .map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    /// The start of the word before the cursor (spaces first skipped).
    fn word_start(&self) -> usize {
        let head = self.input[..self.cursor].trim_end();
        head.rfind(char::is_whitespace).map_or(0, |i| i + 1)
    }

    /// The end of the word at or after the cursor.
    fn word_end(&self) -> usize {
        let tail = &self.input[self.cursor..];
        let skipped = tail.len() - tail.trim_start().len();
        let word = tail[skipped..]
            .find(char::is_whitespace)
            .unwrap_or(tail.len() - skipped);
        self.cursor + skipped + word
    }

    fn reset_completion(&mut self) {
        self.candidates.clear();
        self.choice = None;
        self.browsing = None;
    }

    /// Tab: complete the word being typed; again: the next candidate.
    pub fn complete(&mut self, vocabulary: &Vocabulary) {
        // Completion works on the end of the line.
        self.cursor = self.input.len();
        if self.choice.is_none() {
            self.candidates = candidates(&self.input, vocabulary);
            if self.candidates.is_empty() {
                return;
            }
        }
        let next = self.choice.map_or(0, |c| (c + 1) % self.candidates.len());
        self.choice = Some(next);
        let start = self.input.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        self.input.truncate(start);
        self.input.push_str(&self.candidates[next]);
        // A single match is final: continue with the next word.
        if self.candidates.len() == 1 {
            self.input.push(' ');
            self.reset_completion();
        }
        self.cursor = self.input.len();
    }

    /// ↑ / ↓ through earlier lines (newest first).
    pub fn browse(&mut self, history: &[String], older: bool) {
        if history.is_empty() {
            return;
        }
        let next = match (self.browsing, older) {
            (None, true) => Some(history.len() - 1),
            (None, false) => None,
            (Some(i), true) => Some(i.saturating_sub(1)),
            (Some(i), false) if i + 1 < history.len() => Some(i + 1),
            (Some(_), false) => None,
        };
        self.browsing = next;
        self.input = next.map_or_else(String::new, |i| history[i].clone());
        self.cursor = self.input.len();
        self.candidates.clear();
        self.choice = None;
    }
}

/// Completions of the last word of `input`.
pub fn candidates(input: &str, v: &Vocabulary) -> Vec<String> {
    let mut words: Vec<&str> = input.split_whitespace().collect();
    let partial = if input.is_empty() || input.ends_with(char::is_whitespace) {
        ""
    } else {
        words.pop().unwrap_or("")
    };
    let owned = |list: &[String]| list.to_vec();
    let options: Vec<String> = match words.as_slice() {
        [] => VERBS.iter().map(std::string::ToString::to_string).collect(),
        ["connect" | "disconnect" | "teardown" | "retry"] => {
            let mut names = owned(&v.connections);
            names.extend(v.devices.iter().map(|(d, _, _)| d.clone()));
            names
        }
        ["fault" | "faults"] => v.simulators.iter().map(|(s, _)| s.clone()).collect(),
        ["fault", sim] => v
            .simulators
            .iter()
            .find(|(s, _)| s == sim)
            .map_or_else(Vec::new, |(_, faults)| faults.clone()),
        ["fault", _, _] => ["on", "off", "toggle"].map(String::from).to_vec(),
        ["pump"] => v
            .devices
            .iter()
            .filter(|(_, switchable, _)| *switchable)
            .map(|(d, _, _)| d.clone())
            .collect(),
        ["pump", _] => ["on", "off", "reset"].map(String::from).to_vec(),
        ["set"] => owned(&v.writable),
        ["get"] => v
            .devices
            .iter()
            .flat_map(|(d, _, attrs)| attrs.iter().map(move |a| format!("{d}.{a}")))
            .collect(),
        [
            "read" | "write" | "task" | "tasks" | "cancel" | "props" | "measure" | "safe" | "estop"
            | "scpi" | "do" | "status",
        ] => v.devices.iter().map(|(d, _, _)| d.clone()).collect(),
        ["send"] => owned(&v.connections),
        ["send", _] => ["hex", "text"].map(String::from).to_vec(),
        ["send", _, "text"] => ["--eol=lf", "--eol=crlf", "--eol=cr"]
            .map(String::from)
            .to_vec(),
        ["macro"] => owned(&v.macros),
        ["macro", _] => vec!["stop".into()],
        ["record"] => vec!["stop".into()],
        ["capture"] => owned(&v.taps),
        ["theme"] => owned(&v.themes),
        _ => Vec::new(),
    };
    options
        .into_iter()
        .filter(|o| o.starts_with(partial))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary {
            connections: vec!["pump-port".into()],
            devices: vec![(
                "pump1".into(),
                true,
                vec!["on".into(), "setpoint".into(), "frequency".into()],
            )],
            writable: vec!["pump1.on".into(), "pump1.setpoint".into()],
            simulators: vec![("pump-sim".into(), vec!["no-reply".into(), "hang-up".into()])],
            taps: vec!["pump-port".into(), "pump-sim".into()],
            themes: vec!["default".into(), "mono".into()],
            macros: vec!["idn".into()],
        }
    }

    #[test]
    fn completes_each_word_from_what_exists() {
        let v = vocabulary();
        assert_eq!(candidates("fa", &v), ["fault", "faults"]);
        assert_eq!(candidates("fault ", &v), ["pump-sim"]);
        assert_eq!(candidates("fault pump-sim n", &v), ["no-reply"]);
        assert_eq!(candidates("fault pump-sim no-reply o", &v), ["on", "off"]);
        assert_eq!(candidates("set pump1.s", &v), ["pump1.setpoint"]);
        assert_eq!(candidates("connect ", &v), ["pump-port", "pump1"]);
        assert_eq!(candidates("theme m", &v), ["mono"]);
        assert_eq!(candidates("send ", &v), ["pump-port"]);
        assert_eq!(candidates("send pump-port ", &v), ["hex", "text"]);
        assert_eq!(candidates("macro ", &v), ["idn"]);
        assert!(candidates("frobnicate ", &v).is_empty());
    }

    #[test]
    fn tab_cycles_and_a_single_match_moves_on() {
        let v = vocabulary();
        let mut p = Palette::default();
        for c in "fault pu".chars() {
            p.type_char(c);
        }
        p.complete(&v);
        assert_eq!(p.input, "fault pump-sim ");
        p.complete(&v);
        assert_eq!(p.input, "fault pump-sim no-reply");
        p.complete(&v);
        assert_eq!(p.input, "fault pump-sim hang-up");
        p.type_char(' ');
        p.complete(&v);
        assert_eq!(p.input, "fault pump-sim hang-up on");
    }

    #[test]
    fn set_offers_only_what_can_be_written() {
        let v = vocabulary();
        assert_eq!(candidates("set pump1.", &v), ["pump1.on", "pump1.setpoint"]);
        assert!(candidates("get pump1.", &v).contains(&"pump1.frequency".to_string()));
    }

    #[test]
    fn the_line_edits_like_a_shell() {
        let mut p = Palette::default();
        let key = |k: &str| k.parse::<KeyChord>().unwrap();
        for c in "set pump1.setpoint 900".chars() {
            p.type_char(c);
        }
        p.edit(key("ctrl+w"));
        assert_eq!((p.input.as_str(), p.cursor), ("set pump1.setpoint ", 19));
        p.edit(key("home"));
        p.edit(key("delete"));
        p.type_char('S');
        assert_eq!(p.input, "Set pump1.setpoint ");
        p.edit(key("alt+f"));
        assert_eq!(p.cursor, 3);
        p.edit(key("right"));
        p.edit(key("alt+f"));
        assert_eq!(p.cursor, 18);
        p.edit(key("alt+b"));
        assert_eq!(p.cursor, 4);
        p.edit(key("left"));
        p.edit(key("ctrl+k"));
        assert_eq!(p.input, "Set");
        p.edit(key("end"));
        p.edit(key("backspace"));
        p.edit(key("ctrl+u"));
        assert_eq!((p.input.as_str(), p.cursor), ("", 0));
    }

    #[test]
    fn history_browsing() {
        let history = vec!["status".to_string(), "pump pump1 on".to_string()];
        let mut p = Palette::default();
        p.browse(&history, true);
        assert_eq!(p.input, "pump pump1 on");
        p.browse(&history, true);
        assert_eq!(p.input, "status");
        p.browse(&history, false);
        assert_eq!(p.input, "pump pump1 on");
        p.browse(&history, false);
        assert_eq!(p.input, "");
    }
}
