//! The palette's lines: the console's own commands (`theme`, `capture`,
//! `messages`, `estop` with its question, and when attached `detach` and
//! `control take`), everything else for the Hub;
//! and the names the palette completes.

use std::path::PathBuf;

use super::app::{App, Confirm, Overlay};
use super::keys::Action;
use super::palette::Vocabulary;
use super::update::Effect;
use labdeck_core::hub::Request;

impl App {
    pub fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            connections: self
                .data
                .connections
                .iter()
                .map(|c| c.name.to_string())
                .collect(),
            devices: self
                .data
                .devices
                .iter()
                .map(|d| {
                    let attrs = d.properties.iter().map(|p| p.name().to_string()).collect();
                    (d.name.to_string(), d.capabilities.power.is_some(), attrs)
                })
                .collect(),
            simulators: self
                .data
                .simulators
                .iter()
                .map(|s| {
                    (
                        s.name.to_string(),
                        s.faults.iter().map(|f| f.id.to_string()).collect(),
                    )
                })
                .collect(),
            writable: self
                .data
                .devices
                .iter()
                .flat_map(|d| {
                    d.properties
                        .iter()
                        .filter(|p| p.def.writable)
                        .map(move |p| format!("{}.{}", d.name, p.name()))
                })
                .collect(),
            taps: self.data.taps.iter().map(|(l, _)| l.to_string()).collect(),
            themes: self.setup.themes.clone(),
            macros: self.data.macros.iter().map(|m| m.name.clone()).collect(),
        }
    }

    pub(super) fn run_palette(&mut self, line: String) -> Vec<Effect> {
        if line.is_empty() {
            return vec![];
        }
        self.palette_history.retain(|l| *l != line);
        self.palette_history.push(line.clone());
        let mut effects = self.palette_line(&line);
        effects.push(Effect::Remember(line));
        effects
    }

    fn palette_line(&mut self, line: &str) -> Vec<Effect> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["quit" | "exit"] => self.action(Action::Quit),
            ["detach"] if self.attachment.is_some() => vec![Effect::Quit],
            ["control", "take"] if self.attachment.is_some() => {
                if self.watching().is_some() {
                    self.overlay = Some(Overlay::Confirm(Confirm::TakeControl));
                    vec![]
                } else {
                    vec![Effect::TakeControl]
                }
            }
            ["detach" | "control", ..] => {
                self.notice("not attached: this console runs its own lab", false);
                vec![]
            }
            ["theme", name] => vec![Effect::Theme(name.to_string())],
            ["theme", ..] => {
                self.notice(
                    format!("usage: theme NAME ({})", self.setup.themes.join(", ")),
                    false,
                );
                vec![]
            }
            ["capture", link, path] => vec![Effect::CaptureLink {
                link: link.to_string(),
                path: PathBuf::from(path),
            }],
            ["capture", ..] => {
                self.notice("usage: capture LINK FILE", false);
                vec![]
            }
            ["messages"] => {
                let lines: Vec<String> = self
                    .messages
                    .iter()
                    .map(|m| {
                        let clock = crate::format::clock(&m.at);
                        let word = if m.ok { "ok   " } else { "error" };
                        format!("{clock} {word} {}", m.text)
                    })
                    .collect();
                self.message = Some(if lines.is_empty() {
                    "no messages yet".into()
                } else {
                    format!("messages (oldest first):\n{}", lines.join("\n"))
                });
                vec![]
            }
            ["estop", device] => self.confirmed(
                format!("Emergency stop {device}? Every task is cancelled, the device goes to its safe state."),
                Request::EmergencyStop {
                    device: (*device).to_string(),
                },
            ),
            ["abort"] => self.confirmed(
                "Abort: cancel every task and job and put every device in its safe state?".into(),
                Request::Queue {
                    control: labdeck_core::device::QueueControl::Abort,
                },
            ),
            _ => vec![Effect::HubLine(line.to_string())],
        }
    }
}
