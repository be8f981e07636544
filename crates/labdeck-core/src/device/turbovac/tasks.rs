//! The pump's techniques. `monitor` records the live values; `ramp` brings
//! the rotor to a target frequency at a chosen rate by moving the setpoint
//! (P24) along a line, one step per sample, since the pump itself always
//! accelerates at full rate.

use std::collections::BTreeMap;

use super::{PumpDriver, props};
use crate::device::core::Verdict;
use crate::device::{Column, TaskSpec, Technique, Value};
use crate::protocol::turbovac::{StatusWord, error_name};

/// The ramp rate a fresh driver uses, Hz/s.
pub const DEFAULT_RAMP_RATE: f64 = 50.0;

pub fn techniques() -> Vec<Technique> {
    vec![
        Technique::new(
            "monitor",
            "record frequency, temperature, current and voltage",
        ),
        Technique::new(
            "ramp",
            "switch on and move the setpoint to a target at a rate",
        )
        .param("setpoint", props::SETPOINT)
        .param("rate", props::RAMP_RATE)
        .controls(&[props::ON, props::SETPOINT, props::RAMP_RATE]),
    ]
}

pub fn columns(technique: &str) -> Vec<Column> {
    let live = [
        Column::new("frequency", Some("Hz")),
        Column::new("temperature", Some("°C")),
        Column::new("current", Some("A")),
        Column::new("voltage", Some("V")),
    ];
    match technique {
        "ramp" => std::iter::once(Column::new("setpoint", Some("Hz")))
            .chain(live)
            .collect(),
        _ => live
            .into_iter()
            .chain([Column::new("on", None), Column::new("motion", None)])
            .collect(),
    }
}

/// A ramp in progress: where the commanded setpoint is and where it goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    commanded: f64,
    target: f64,
    /// Hz per sample.
    step: f64,
}

impl Ramp {
    /// One sample further along the line.
    fn advance(&mut self) -> f64 {
        let gap = self.target - self.commanded;
        self.commanded += gap.clamp(-self.step, self.step);
        self.commanded
    }
}

/// How close the rotor must come to a ramp's target: 2 % of it, and at
/// least 5 Hz (the pump reports whole hertz and hunts a little).
pub fn tolerance(target: f64) -> f64 {
    (target.abs() * 0.02).max(5.0)
}

impl PumpDriver {
    /// Why the pump cannot do what it is asked, when its status word says
    /// it is in error.
    fn in_error(&self) -> Option<String> {
        let flagged = self.status.is_some_and(|z| z.has(StatusWord::ERROR));
        match self.error {
            Some(code) => Some(format!(
                "the pump is in error {code}: {}",
                error_name(code).unwrap_or("unknown error")
            )),
            None if flagged => Some("the pump is in error (its status word says so)".into()),
            None => None,
        }
    }

    /// A ramp is met when the rotor is at its target; a monitor when it
    /// was recorded throughout (a failed sample already failed it).
    pub(super) fn judge(&self, task: &TaskSpec) -> Verdict {
        if let Some(why) = self.in_error() {
            return Verdict::NotMet(why);
        }
        let Some(ramp) = self.ramp.filter(|_| task.technique == "ramp") else {
            return Verdict::Met;
        };
        let frequency = self.number(props::FREQUENCY);
        let within = tolerance(ramp.target);
        match frequency {
            Some(f) if (f - ramp.target).abs() <= within => Verdict::Met,
            Some(f) => Verdict::NotMet(format!(
                "the rotor is at {f} Hz, not within ±{within} Hz of the setpoint {} Hz after {} s",
                ramp.target,
                task.max_duration.as_secs_f64()
            )),
            None => Verdict::NotMet("the rotor frequency is unknown".into()),
        }
    }

    fn value(&self, name: &str) -> Option<Value> {
        self.core.sheet.value(name).cloned()
    }

    fn number(&self, name: &str) -> Option<f64> {
        self.core.sheet.value(name).and_then(Value::as_f64)
    }

    pub(super) async fn prepare(
        &mut self,
        task: &TaskSpec,
        params: &BTreeMap<String, Value>,
    ) -> Result<(), String> {
        self.ramp = None;
        if task.technique != "ramp" {
            return Ok(());
        }
        let number = |name: &str, fallback: Option<f64>| {
            params
                .get(name)
                .and_then(Value::as_f64)
                .or(fallback)
                .ok_or_else(|| format!("no {name} given and none known"))
        };
        let target = number("setpoint", self.number(props::SETPOINT))?;
        let rate = number("rate", self.number(props::RAMP_RATE))?;
        let limits = self
            .core
            .sheet
            .get(props::SETPOINT)
            .map_or((f64::MIN, f64::MAX), |p| {
                (p.def.min.unwrap_or(f64::MIN), p.def.max.unwrap_or(f64::MAX))
            });
        // Start from where the rotor is, within what P24 accepts (a pump
        // may report P19 above P18: never trust the order).
        let start = self
            .number(props::FREQUENCY)
            .unwrap_or(0.0)
            .max(limits.0)
            .min(limits.1);
        self.write_attr(props::SETPOINT, Value::Number(start.round()))
            .await
            .map_err(|e| e.detail())?;
        self.switch(true).await.map_err(|e| e.detail())?;
        self.ramp = Some(Ramp {
            commanded: start,
            target,
            step: rate * task.sampling_interval.as_secs_f64(),
        });
        Ok(())
    }

    pub(super) async fn sample(&mut self, task: &TaskSpec) -> Result<Vec<Option<Value>>, String> {
        let mut commanded = None;
        if let Some(ramp) = self.ramp.as_mut() {
            let before = ramp.commanded.round();
            let next = ramp.advance();
            commanded = Some(next);
            if next.round() != before {
                self.write_attr(props::SETPOINT, Value::Number(next.round()))
                    .await
                    .map_err(|e| e.detail())?;
            }
        }
        // A fresh status for the sample (also the keep-alive).
        self.poll_status()
            .await
            .map_err(|e| format!("status poll: {e}"))?;
        // A pump in error does nothing a technique asks of it.
        if let Some(why) = self.in_error() {
            return Err(why);
        }
        let live = [
            self.value(props::FREQUENCY),
            self.value(props::TEMPERATURE),
            self.value(props::CURRENT),
            self.value(props::VOLTAGE),
        ];
        Ok(match task.technique.as_str() {
            "ramp" => std::iter::once(commanded.map(|c| Value::Number(c.round())))
                .chain(live)
                .collect(),
            _ => live
                .into_iter()
                .chain([self.value(props::ON), self.value(props::MOTION)])
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ramp_steps_toward_the_target_and_stops_there() {
        let mut ramp = Ramp {
            commanded: 750.0,
            target: 800.0,
            step: 20.0,
        };
        let path: Vec<f64> = (0..4).map(|_| ramp.advance()).collect();
        assert_eq!(path, [770.0, 790.0, 800.0, 800.0]);
        let mut down = Ramp {
            commanded: 1000.0,
            target: 900.0,
            step: 60.0,
        };
        assert_eq!([down.advance(), down.advance()], [940.0, 900.0]);
    }

    #[test]
    fn columns_carry_units() {
        let headers: Vec<String> = columns("ramp").iter().map(Column::header).collect();
        assert_eq!(
            headers,
            [
                "setpoint [Hz]",
                "frequency [Hz]",
                "temperature [°C]",
                "current [A]",
                "voltage [V]"
            ]
        );
        assert_eq!(columns("monitor").len(), 6);
    }
}
