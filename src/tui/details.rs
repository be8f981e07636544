//! `i`: every field of the selected row, untruncated, in the reply box
//! (which wraps and scrolls): for the rows that columns have to cut.

use std::fmt::Write as _;

use super::app::{App, Pane};
use super::update::Effect;
use crate::format::{self, clock};

impl App {
    pub(super) fn show_details(&mut self) -> Vec<Effect> {
        let text = match self.focus {
            Pane::Connections | Pane::StateMachine => self.connection_details(),
            Pane::Properties => self.property_details(),
            Pane::Tasks => self.task_details(),
            Pane::Alarms => self.alarm_details(),
            Pane::Traffic => self.frame_details(),
            Pane::Logs => None,
        };
        match text {
            Some(text) => self.message = Some(text),
            None => self.notice("nothing selected to show in detail here", false),
        }
        self.message_scroll = 0;
        vec![]
    }

    fn connection_details(&self) -> Option<String> {
        let c = self.selected_connection()?;
        let mut s = format!("link {}\n", c.name);
        let _ = writeln!(s, "  transport   {} {}", c.transport, c.endpoint);
        let _ = writeln!(
            s,
            "  state       {} since {}",
            c.state.as_str(),
            clock(&c.since)
        );
        if let Some(sim) = &c.simulator {
            let _ = writeln!(s, "  simulator   {sim}");
        }
        let retry = c
            .retry_at
            .map_or_else(|| "-".into(), |t| format!("next at {}", clock(&t)));
        let _ = writeln!(s, "  attempt     {} ({retry})", c.attempt);
        let k = &c.counters;
        let _ = writeln!(
            s,
            "  counters    {} attempts, {} opened, {} failed, {} lost, {} alarms",
            k.attempts, k.successes, k.failures, k.losses, k.alarms
        );
        let rates = self.rates.get(&c.name).copied().unwrap_or_default();
        let _ = writeln!(s, "  rx/tx       {:.0} / {:.0} B/s", rates.rx, rates.tx);
        let _ = writeln!(
            s,
            "  last error  {}",
            c.last_error.as_deref().unwrap_or("-")
        );
        let _ = writeln!(
            s,
            "  alarm       {}",
            c.alarm.as_ref().map_or("-", |a| a.reason.as_str())
        );
        for d in self.data.devices.iter().filter(|d| d.link == c.name) {
            let _ = writeln!(
                s,
                "  device      {} ({}): {}, {}",
                d.name, d.kind, d.liveness, d.summary
            );
        }
        Some(s.trim_end().to_string())
    }

    fn property_details(&self) -> Option<String> {
        let device = self.selected_device()?;
        let p = *self.property_list().get(self.cursor(Pane::Properties))?;
        let d = &p.def;
        let mut s = format!("{}.{} — {}\n", device.name, d.name, d.label);
        let _ = writeln!(s, "  value       {}", format::value(d, p.value.as_ref()));
        let _ = writeln!(s, "  state       {}", p.state.as_str());
        let updated = p.updated.map_or_else(|| "never".into(), |t| clock(&t));
        let _ = writeln!(s, "  updated     {updated}");
        let _ = writeln!(s, "  group       {}", d.group);
        let _ = writeln!(s, "  unit        {}", d.unit.as_deref().unwrap_or("-"));
        let _ = writeln!(s, "  writable    {}", if d.writable { "yes" } else { "no" });
        let limit = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| v.to_string());
        let _ = writeln!(s, "  limits      {} .. {}", limit(d.min), limit(d.max));
        let t = &d.thresholds;
        let _ = writeln!(
            s,
            "  warn        {} .. {}; alarm {} .. {}",
            limit(t.warn_low),
            limit(t.warn_high),
            limit(t.alarm_low),
            limit(t.alarm_high)
        );
        Some(s.trim_end().to_string())
    }

    fn task_details(&self) -> Option<String> {
        let t = self.selected_task()?;
        let spec = &t.spec;
        let mut s = format!("task #{} '{}' on {}\n", t.id, spec.name, spec.device);
        let _ = writeln!(s, "  technique   {}", spec.technique);
        let params: Vec<String> = spec
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", format::plain(v, 6)))
            .collect();
        let _ = writeln!(
            s,
            "  parameters  {}",
            if params.is_empty() {
                "-".into()
            } else {
                params.join(" ")
            }
        );
        let _ = writeln!(
            s,
            "  timing      every {} s for {} s",
            spec.sampling_interval.as_secs_f64(),
            spec.max_duration.as_secs_f64()
        );
        let _ = writeln!(s, "  state       {}", t.state.as_str());
        let _ = writeln!(s, "  samples     {} of {}", t.samples, t.expected);
        let when =
            |t: Option<labdeck_core::time::Timestamp>| t.map_or_else(|| "-".into(), |t| clock(&t));
        let _ = writeln!(s, "  submitted   {}", clock(&t.submitted));
        let _ = writeln!(s, "  started     {}", when(t.started));
        let _ = writeln!(s, "  ended       {}", when(t.ended));
        let file = t
            .file
            .as_ref()
            .map_or_else(|| "-".into(), |f| f.display().to_string());
        let _ = writeln!(s, "  file        {file}");
        let _ = writeln!(s, "  reason      {}", t.reason.as_deref().unwrap_or("-"));
        Some(s.trim_end().to_string())
    }

    fn alarm_details(&self) -> Option<String> {
        let a = *self.alarm_list().get(self.cursor(Pane::Alarms))?;
        let mut s = format!("alarm on {} ({})\n", a.source, a.kind.as_str());
        let _ = writeln!(s, "  condition   {} ({})", a.condition, a.severity.as_str());
        let _ = writeln!(s, "  reason      {}", a.reason);
        let _ = writeln!(s, "  raised      {}", clock(&a.t));
        let cleared = a
            .cleared
            .map_or_else(|| "still active".into(), |t| clock(&t));
        let _ = writeln!(s, "  cleared     {cleared}");
        let _ = writeln!(s, "  acknowledged {}", if a.acked { "yes" } else { "no" });
        Some(s.trim_end().to_string())
    }
}
