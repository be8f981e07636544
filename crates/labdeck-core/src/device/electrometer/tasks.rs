//! The electrometer's techniques. `measure` takes a fresh reading
//! (`:READ?`) each sample; `buffered_scan` lets the instrument fill its
//! buffer on its own timer at the sampling interval, records the count
//! and the latest reading each sample, and at the end stops the scan and
//! writes the whole buffer beside the task's file.

use std::collections::BTreeMap;

use super::{ElectrometerDriver, STUCK_AFTER, props};
use crate::device::core::Verdict;
use crate::device::{Column, Recorder, TaskSpec, Technique, Value};
use crate::protocol::keithley::{Function, parse_reading};

pub fn techniques() -> Vec<Technique> {
    let settings = |t: Technique| {
        t.param("function", props::FUNCTION)
            .param("nplc", props::NPLC)
            .param("range", props::RANGE)
            .controls(&[
                props::FUNCTION,
                props::NPLC,
                props::RANGE,
                props::AUTORANGE,
                props::ZERO_CHECK,
            ])
    };
    vec![
        settings(Technique::new(
            "measure",
            "a fresh reading every sample (:READ?)",
        )),
        settings(Technique::new(
            "buffered_scan",
            "the instrument fills its buffer at the interval; the buffer is saved at the end",
        )),
    ]
}

/// A task's readings as they came: a measurement whose readings overflow
/// or stay the same (a stuck input) is flagged, one that never read a
/// value fails.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Readings {
    taken: u32,
    overflowed: u32,
    /// Normal readings equal to the one before.
    repeated: u32,
    last: Option<f64>,
}

impl Readings {
    fn record(&mut self, value: Option<f64>, overflow: bool) {
        self.taken += 1;
        self.overflowed += u32::from(overflow);
        if value.is_some() && value == self.last {
            self.repeated += 1;
        }
        self.last = value;
    }

    pub fn verdict(&self) -> Verdict {
        let normal = self.taken - self.overflowed;
        if self.taken > 0 && normal == 0 {
            return Verdict::NotMet(format!(
                "no reading: all {} overflowed (range too low?)",
                self.taken
            ));
        }
        let mut flags = Vec::new();
        if self.overflowed > 0 {
            flags.push(format!(
                "{} of {} readings overflowed",
                self.overflowed, self.taken
            ));
        }
        // A live input differs at 7 digits from one reading to the next.
        if normal > STUCK_AFTER && self.repeated + 1 >= normal {
            flags.push(format!(
                "the reading never changed ({normal} readings): input stuck?"
            ));
        }
        if flags.is_empty() {
            Verdict::Met
        } else {
            Verdict::Flagged(format!("flagged: {}", flags.join("; ")))
        }
    }
}

impl ElectrometerDriver {
    /// The unit follows the function the task asks for, else the current one.
    pub(super) fn task_columns(&self, task: &TaskSpec) -> Vec<Column> {
        let function = task
            .params
            .get("function")
            .and_then(Value::as_text)
            .and_then(Function::parse)
            .unwrap_or(self.function);
        let reading = Column::new("reading", Some(function.unit()));
        match task.technique.as_str() {
            "buffered_scan" => vec![
                Column::new("stored", None),
                reading,
                Column::new("status", None),
            ],
            _ => vec![reading, Column::new("status", None)],
        }
    }

    pub(super) async fn prepare(
        &mut self,
        task: &TaskSpec,
        params: &BTreeMap<String, Value>,
    ) -> Result<(), String> {
        self.task_readings = Readings::default();
        // The function first: range and NPLC belong to it.
        for name in ["function", "range", "nplc"] {
            if let Some(value) = params.get(name) {
                self.write_attr(name, value.clone())
                    .await
                    .map_err(|e| e.detail())?;
            }
        }
        // A reading with zero check on is no reading.
        self.write_attr(props::ZERO_CHECK, Value::Bool(false))
            .await
            .map_err(|e| e.detail())?;
        if task.technique == "buffered_scan" {
            let points = usize::try_from(task.expected_samples()).unwrap_or(usize::MAX);
            self.begin_scan(points.max(1), task.sampling_interval.as_secs_f64())
                .await
                .map_err(|e| e.detail())?;
        }
        Ok(())
    }

    pub(super) async fn sample(&mut self, task: &TaskSpec) -> Result<Vec<Option<Value>>, String> {
        let scanning = task.technique == "buffered_scan";
        let line = if scanning {
            ":TRAC:POIN:ACT?;:SENS:DATA?"
        } else {
            ":READ?"
        };
        let answer = self.query(line).await.map_err(|e| e.to_string())?;
        let (stored, reading) = match answer.text.split_once(';') {
            Some((count, reading)) if scanning => (count.trim().parse::<f64>().ok(), reading),
            _ => (None, answer.text.as_str()),
        };
        let parsed =
            parse_reading(reading).ok_or_else(|| format!("unreadable reading {reading:?}"))?;
        let status = if parsed.is_zero_check() {
            "zero check"
        } else if parsed.is_overflow() {
            "overflow"
        } else {
            "normal"
        };
        // Overflow and zero check are not values: leave the cell empty.
        let value = (status == "normal").then_some(Value::Number(parsed.value));
        self.task_readings
            .record(value.as_ref().and_then(Value::as_f64), parsed.is_overflow());
        let mut row = Vec::new();
        if scanning {
            row.push(stored.map(Value::Number));
        }
        row.push(value);
        row.push(Some(Value::Text(status.into())));
        Ok(row)
    }

    /// Stop a scan and keep its buffer with the task's recording.
    pub(super) async fn finish(
        &mut self,
        task: &TaskSpec,
        recorder: Option<&mut Recorder>,
    ) -> Result<(), String> {
        if task.technique != "buffered_scan" {
            return Ok(());
        }
        self.run_action("stop", &[]).await.map_err(|e| e.detail())?;
        let buffer = self.read_buffer().await.map_err(|e| e.detail())?;
        if let Some(recorder) = recorder {
            recorder
                .extra("buffer", &buffer.csv())
                .map_err(|e| format!("cannot save the buffer: {e}"))?;
        }
        Ok(())
    }

    /// Acquisition stopped, buffer feed off, zero check on: the input is
    /// protected and nothing runs.
    pub(super) async fn make_safe(&mut self) -> Result<(), String> {
        self.run_action(
            "scpi",
            &[":ABOR;:TRAC:FEED:CONT NEV;:SYST:ZCH ON".to_string()],
        )
        .await
        .map_err(|e| e.detail())?;
        self.scan = super::Scan::Idle;
        self.poll_now().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_that_overflow_or_stick_are_flagged() {
        let run = |values: &[Option<f64>]| {
            let mut r = Readings::default();
            for v in values {
                r.record(*v, v.is_none());
            }
            r.verdict()
        };
        assert_eq!(run(&[Some(1.0), Some(1.1), Some(1.2)]), Verdict::Met);
        assert_eq!(
            run(&[Some(1.0), None, Some(1.2)]),
            Verdict::Flagged("flagged: 1 of 3 readings overflowed".into())
        );
        assert!(matches!(run(&[None, None]), Verdict::NotMet(_)));
        let stuck = vec![Some(2.0); 20];
        assert!(matches!(run(&stuck), Verdict::Flagged(f) if f.contains("never changed")));
    }
}
