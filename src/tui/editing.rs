//! The console's task and attribute editing: the task form, the attribute
//! editor, the cancel confirmation and the queue keys. Part of `update`:
//! pure, effects out.

use super::app::{App, Confirm, InputPurpose, Overlay, Pane};
use super::forms::{FormKey, TaskForm};
use super::update::Effect;
use crate::tui::keys::{Action, KeyChord};
use labdeck_core::device::{QueueControl, QueueMode, Value};
use labdeck_core::hub::Request;

impl App {
    /// `t`: the form, prefilled for the selected device.
    pub(super) fn open_task_form(&mut self) -> Vec<Effect> {
        if self.data.devices.is_empty() {
            self.say("no device to run a task on", false);
            return vec![];
        }
        let device = self.selected_device().or_else(|| self.data.devices.first());
        self.overlay = Some(Overlay::TaskForm(TaskForm::new(device)));
        vec![]
    }

    pub(super) fn task_form_key(&mut self, mut form: TaskForm, key: KeyChord) -> Vec<Effect> {
        match form.key(key) {
            FormKey::Close => vec![],
            FormKey::Edited => {
                form.error = None;
                self.overlay = Some(Overlay::TaskForm(form));
                vec![]
            }
            FormKey::Submit => match form.command(&self.data.devices) {
                Ok(line) => {
                    self.focus = Pane::Tasks;
                    vec![Effect::HubLine(line)]
                }
                Err(error) => {
                    form.error = Some(error);
                    self.overlay = Some(Overlay::TaskForm(form));
                    vec![]
                }
            },
        }
    }

    /// `e` on a writable attribute: an input line with its value.
    pub(super) fn open_editor(&mut self) -> Vec<Effect> {
        let Some(device) = self.selected_device() else {
            self.say("no device on the selected link", false);
            return vec![];
        };
        let Some(prop) = self
            .property_list()
            .get(self.cursor(Pane::Properties))
            .copied()
        else {
            return vec![];
        };
        if !prop.def.writable {
            let text = format!("attribute '{}' is read-only", prop.def.name);
            self.say(text, false);
            return vec![];
        }
        // A switch opens on the other state: e, Enter toggles it.
        let text = match &prop.value {
            Some(Value::Bool(on)) => if *on { "off" } else { "on" }.to_string(),
            Some(Value::Number(v)) => v.to_string(),
            Some(v) => crate::format::plain(v, 0),
            None => String::new(),
        };
        self.editing = Some((device.name.to_string(), prop.name().to_string()));
        self.overlay = Some(Overlay::Input {
            purpose: InputPurpose::EditAttr,
            text,
        });
        vec![]
    }

    /// Enter in the editor: checked here against the attribute; sent only
    /// when valid, otherwise the editor stays open with the reason.
    pub(super) fn submit_edit(&mut self, text: String) -> Vec<Effect> {
        let Some((device, attr)) = self.editing.clone() else {
            return vec![];
        };
        let prop = self
            .data
            .devices
            .iter()
            .find(|d| *d.name == device)
            .and_then(|d| d.properties.iter().find(|p| p.name() == attr));
        let Some(prop) = prop else {
            self.say(format!("{device}.{attr} is gone"), false);
            return vec![];
        };
        match prop.def.accept(&device, &Value::Text(text.clone())) {
            Ok(value) => {
                self.editing = None;
                vec![Effect::Hub(Request::Set {
                    device,
                    attr,
                    value,
                    force: false,
                })]
            }
            Err(e) => {
                self.say(e.detail(), false);
                self.overlay = Some(Overlay::Input {
                    purpose: InputPurpose::EditAttr,
                    text,
                });
                vec![]
            }
        }
    }

    /// `x` in the tasks pane: asks first.
    pub(super) fn ask_cancel_task(&mut self) -> Vec<Effect> {
        let Some(task) = self.selected_task() else {
            self.say("no task selected", false);
            return vec![];
        };
        if task.state.is_terminal() {
            let text = format!(
                "task '{}' has already {}",
                task.spec.name,
                task.state.as_str()
            );
            self.say(text, false);
            return vec![];
        }
        self.overlay = Some(Overlay::Confirm(Confirm::CancelTask {
            device: task.spec.device.clone(),
            id: task.id,
            name: task.spec.name.clone(),
        }));
        vec![]
    }

    /// A queue key: pause toggles with resume; abort asks first.
    pub(super) fn queue_key(&mut self, action: Action) -> Vec<Effect> {
        let control = match action {
            Action::QueuePause if self.queue_paused() => QueueControl::Resume,
            Action::QueuePause => QueueControl::Pause,
            Action::QueuePauseAfter => QueueControl::PauseAfterCurrent,
            Action::QueueStopAfter => QueueControl::StopAfterCurrent,
            Action::QueueAbort => {
                return self.confirmed(
                    "Abort: cancel every task and job and put every device in its safe state?"
                        .into(),
                    Request::Queue {
                        control: QueueControl::Abort,
                    },
                );
            }
            _ => return vec![],
        };
        vec![Effect::Hub(Request::Queue { control })]
    }

    /// Whether any device's queue is paused (or pausing).
    pub fn queue_paused(&self) -> bool {
        self.data
            .devices
            .iter()
            .any(|d| matches!(d.queue, QueueMode::Paused | QueueMode::PausingAfterCurrent))
    }

    /// Whether a task runs or waits, or a job does.
    pub fn has_waiting_work(&self) -> bool {
        self.data
            .devices
            .iter()
            .flat_map(|d| &d.tasks)
            .any(|t| !t.state.is_terminal())
            || self.data.jobs.iter().any(|j| !j.state.is_terminal())
    }
}
