//! The traffic pane's keys: pause, renderings, filters, search, the
//! frame view, captures, the continuous log and raw sends.

use super::app::{App, InputPurpose, Overlay};
use super::keys::Action;
use super::palette::Palette;
use super::traffic::LinkFilter;
use super::update::Effect;
use labdeck_core::hub::{RecordCommand, Request};

impl App {
    pub(super) fn traffic_action(&mut self, action: Action) -> Vec<Effect> {
        let traffic = &mut self.traffic;
        match action {
            Action::Pause => traffic.toggle_pause(),
            Action::Decode => traffic.decoded = !traffic.decoded,
            Action::TimeMode => traffic.time = traffic.time.next(),
            Action::Wrap => traffic.wrap = !traffic.wrap,
            Action::Direction => traffic.dir = traffic.dir.next(),
            Action::Collapse => traffic.collapse = !traffic.collapse,
            Action::LinkFilter => {
                let taps: Vec<std::sync::Arc<str>> =
                    self.data.taps.iter().map(|(l, _)| l.clone()).collect();
                traffic.cycle_link(&taps);
            }
            Action::Search => {
                let text = traffic.search.clone();
                self.overlay = Some(Overlay::Input {
                    purpose: InputPurpose::Search,
                    text,
                });
            }
            Action::SearchOlder | Action::SearchNewer => {
                self.next_hit(Some(action == Action::SearchOlder));
            }
            Action::Capture => {
                let stamp = crate::format::clock(&self.now).replace([':', '.'], "");
                self.overlay = Some(Overlay::Input {
                    purpose: InputPurpose::CapturePath,
                    text: format!("labdeck-capture-{stamp}.txt"),
                });
            }
            Action::Record => {
                let command = match self.data.recording.as_ref().filter(|r| r.on) {
                    Some(_) => RecordCommand::Stop,
                    None => RecordCommand::Start { path: None },
                };
                return vec![Effect::Hub(Request::Record { command })];
            }
            Action::Send => {
                let link = self.send_target();
                let mut palette = Palette::default();
                for c in format!("send {link} hex ").chars() {
                    palette.type_char(c);
                }
                self.overlay = Some(Overlay::Palette(palette));
            }
            _ => {}
        }
        vec![]
    }

    /// The link a send from the traffic pane goes to: the one shown
    /// alone, else the selected connection's.
    fn send_target(&self) -> String {
        match &self.traffic.link {
            LinkFilter::One(link) if self.data.connections.iter().any(|c| c.name == *link) => {
                link.to_string()
            }
            _ => self
                .selected_connection()
                .map(|c| c.name.to_string())
                .unwrap_or_default(),
        }
    }

    /// Select the next search hit (older or newer, wrapping; `None`: the
    /// newest), pausing.
    pub(super) fn next_hit(&mut self, older: Option<bool>) {
        if self.traffic.search.trim().is_empty() {
            self.notice("no search: s searches the traffic", false);
            return;
        }
        let hit = match older {
            Some(older) => self.traffic.find(older),
            None => self.traffic.newest_hit(),
        };
        match hit {
            Some((distance, hits)) => {
                if !self.traffic.paused() {
                    self.traffic.toggle_pause();
                }
                self.traffic.scroll = distance;
                self.notice(format!("{hits} frame(s) match; n older, N newer"), true);
            }
            None => self.notice(format!("no frame matches {:?}", self.traffic.search), false),
        }
    }

    /// The selected row of the traffic pane, whole.
    pub(super) fn frame_details(&self) -> Option<String> {
        let rows = self.traffic.visible();
        let index = rows.len().checked_sub(1 + self.traffic.scroll)?;
        Some(
            self.traffic
                .frame_text(&rows[index], crate::format::date_time_micros),
        )
    }
}
