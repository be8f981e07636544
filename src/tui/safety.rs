//! What keeps the operator from doing harm by accident: a read-only
//! console refuses every request that changes the lab (an emergency stop
//! excepted), and requests that move hardware are asked about first.

use super::app::{App, Confirm, Overlay};
use super::update::Effect;
use crate::headless::command::{self, Line};
use labdeck_core::hub::Request;

/// What keeps the operator from doing harm by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Safety {
    /// Every write, action and fault toggle is refused (an emergency stop
    /// never is).
    pub read_only: bool,
    /// `--read-only`: the key cannot turn read-only off.
    pub locked: bool,
    /// Ask before switching a pump, disconnecting the link of a device
    /// that runs, an emergency stop.
    pub confirm: bool,
}

impl Default for Safety {
    fn default() -> Self {
        Self {
            read_only: false,
            locked: false,
            confirm: true,
        }
    }
}

impl App {
    /// Effects as they may go out: read-only, a request that changes the
    /// lab is dropped, and the status line says so.
    pub(super) fn guard(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let holder = self.watching().map(str::to_string);
        if !self.safety.read_only && holder.is_none() {
            return effects;
        }
        let mut out = Vec::with_capacity(effects.len());
        for effect in effects {
            match request_of(&effect) {
                Some(request) if !request.allowed_read_only() => {
                    let unlock = if let Some(holder) = &holder {
                        format!("{holder} holds control; :control take")
                    } else if self.safety.locked {
                        "started with --read-only".into()
                    } else {
                        "ctrl+r allows writes".into()
                    };
                    self.notice(
                        format!(
                            "read-only: {} refused ({unlock}); monitoring goes on",
                            what(&request)
                        ),
                        false,
                    );
                }
                _ => out.push(effect),
            }
        }
        out
    }

    /// `request`, asked about first when confirmations are on (not when
    /// read-only will refuse it anyway).
    pub(super) fn confirmed(&mut self, question: String, request: Request) -> Vec<Effect> {
        let refused =
            (self.safety.read_only || self.watching().is_some()) && !request.allowed_read_only();
        if self.safety.confirm && !refused {
            self.overlay = Some(Overlay::Confirm(Confirm::Request { question, request }));
            vec![]
        } else {
            vec![Effect::Hub(request)]
        }
    }

    /// Attached while another client holds control: who does.
    pub fn watching(&self) -> Option<&str> {
        self.attachment
            .as_ref()
            .filter(|a| !a.yours)
            .and_then(|a| a.holder.as_deref())
    }

    /// The control lock changed hands: said in the status line.
    pub(super) fn attachment(&mut self, attachment: super::lab::Attachment) {
        if self.attachment.as_ref() == Some(&attachment) {
            return;
        }
        match (&attachment.holder, attachment.yours) {
            (_, true) => self.notice("control: this console holds the lab's control", true),
            (Some(holder), false) => self.notice(
                format!("watching: {holder} holds control (:control take to take it)"),
                true,
            ),
            (None, false) => self.notice("control: nobody holds it; writes go through", true),
        }
        self.attachment = Some(attachment);
        self.dirty = true;
    }

    pub(super) fn toggle_read_only(&mut self) -> Vec<Effect> {
        if self.safety.read_only && self.safety.locked {
            self.notice("read-only: started with --read-only; it stays on", false);
        } else {
            self.safety.read_only = !self.safety.read_only;
            let text = if self.safety.read_only {
                "read-only: writes, actions, faults and tasks are refused"
            } else {
                "read-only off: writes are sent again"
            };
            self.notice(text, true);
        }
        vec![]
    }
}

/// The request an effect would send, if any.
fn request_of(effect: &Effect) -> Option<Request> {
    match effect {
        Effect::Hub(request) => Some(request.clone()),
        Effect::HubLine(line) => match command::parse(line) {
            Ok(Some(Line::Request(request))) => Some(request),
            _ => None,
        },
        _ => None,
    }
}

/// A request in a word or two (`power`, `set`, `fault`), as the wire
/// names it.
fn what(request: &Request) -> String {
    serde_json::to_value(request)
        .ok()
        .and_then(|v| v.get("request")?.as_str().map(|s| format!("'{s}'")))
        .unwrap_or_else(|| "this".into())
}
