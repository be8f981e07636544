//! Operator commands: settings, buffered scans, buffer fetch, raw SCPI.
//! Every setting is followed by `:SYST:ERR?` in the same message, so a
//! refused command is reported at once with the instrument's own words.

use std::fmt::Write as _;
use std::path::Path;

use super::{ElectrometerDriver, QueryError, Scan, props};
use crate::device::{ActionOutcome, DeviceOutcome, FetchSummary, PropState, Value};
use crate::error::HubError;
use crate::protocol::keithley::parse_error;

/// Most readings a scan asks for (the trigger count's limit).
const MAX_POINTS: usize = 99_999;

/// The actions, with usage and what they do.
pub(super) const ACTIONS: &[(&str, &str)] = &[
    ("poll", "read the configuration and a reading now"),
    ("clear", "clear the error queue (*CLS) and the error alarm"),
    ("reset", "back to the instrument's defaults (*RST)"),
    (
        "scan [POINTS] [INTERVAL_S]",
        "a timer-triggered buffered scan (default 100 readings, 0.1 s)",
    ),
    ("stop", "stop a scan"),
    (
        "fetch [FILE.csv]",
        "read the buffer, summarise it, optionally write a CSV",
    ),
    ("scpi TEXT", "raw SCPI; a query's answer is the reply"),
];

impl ElectrometerDriver {
    /// A failed query as the caller's refusal.
    fn query_error(&self, error: &QueryError) -> HubError {
        match error {
            QueryError::NotConnected => self.core.link_down(),
            other => self.core.exchange_failed(other),
        }
    }

    /// Send settings plus `:SYST:ERR?`; the instrument's error as a refusal.
    async fn checked(&mut self, line: &str) -> Result<(), HubError> {
        let answer = match self.query(&format!("{line};:SYST:ERR?")).await {
            Ok(answer) => answer,
            Err(e) => return Err(self.query_error(&e)),
        };
        if !self.apply_error(&answer.text) {
            return Ok(());
        }
        let refused = match parse_error(&answer.text) {
            Some((code, text)) => self
                .core
                .refused(format!("instrument refused {line:?}: {code} {text}")),
            None => self
                .core
                .refused(format!("unexpected answer {:?}", answer.text)),
        };
        self.drain_errors().await;
        self.publish_snapshot();
        Err(refused)
    }

    async fn apply(&mut self, line: &str) -> Result<(), HubError> {
        self.checked(line).await?;
        self.poll_now().await;
        Ok(())
    }

    /// Write a checked attribute; the instrument has the last word.
    pub(super) async fn write_attr(
        &mut self,
        attr: &str,
        value: Value,
    ) -> Result<DeviceOutcome, HubError> {
        let f = self.function.mnemonic();
        let line = match (attr, &value) {
            (props::FUNCTION, Value::Text(m)) => format!(":SENS:FUNC '{m}'"),
            (props::RANGE, Value::Number(range)) => format!(":SENS:{f}:RANG {range:e}"),
            (props::AUTORANGE, Value::Bool(on)) => {
                format!(":SENS:{f}:RANG:AUTO {}", on_off(*on))
            }
            (props::NPLC, Value::Number(nplc)) => format!(":SENS:{f}:NPLC {nplc}"),
            (props::ZERO_CHECK, Value::Bool(on)) => format!(":SYST:ZCH {}", on_off(*on)),
            (other, value) => {
                return Err(self
                    .core
                    .bad_argument(format!("cannot write {other} = {value:?}")));
            }
        };
        self.apply(&line).await?;
        // The property as the instrument reports it after the poll.
        let property = self
            .core
            .sheet
            .get(attr)
            .cloned()
            .ok_or_else(|| self.core.bad_argument(format!("no attribute {attr}")))?;
        Ok(DeviceOutcome::Set { property })
    }

    pub(super) async fn run_action(
        &mut self,
        action: &str,
        args: &[String],
    ) -> Result<ActionOutcome, HubError> {
        match (action, args.len()) {
            ("poll", 0) => {
                self.poll_now().await;
                let property = self
                    .core
                    .sheet
                    .get(props::READING)
                    .cloned()
                    .ok_or_else(|| self.core.bad_argument("no reading"))?;
                Ok(ActionOutcome::Reading { property })
            }
            ("clear", 0) => {
                self.checked("*CLS").await?;
                self.clear_error();
                Ok(ActionOutcome::ErrorsCleared)
            }
            ("reset", 0) => {
                self.scan = Scan::Idle;
                self.apply("*RST").await?;
                Ok(ActionOutcome::ResetToDefaults)
            }
            ("scan", 0..=2) => self.start_scan(args).await,
            ("stop", 0) => {
                self.apply(":ABOR;:TRAC:FEED:CONT NEV").await?;
                self.scan = Scan::Stopped {
                    stored: self.buffer_count,
                };
                self.show_scan();
                self.publish_snapshot();
                Ok(ActionOutcome::ScanStopped)
            }
            ("fetch", 0 | 1) => self.fetch(args.first().map(Path::new)).await,
            ("scpi", 1..) => self.raw(&args.join(" ")).await,
            _ => Err(HubError::UnknownAction {
                device: self.core.name.to_string(),
                action: action.into(),
                args: args.len(),
                known: ACTIONS
                    .iter()
                    .map(|(usage, _)| (*usage).to_string())
                    .collect(),
            }),
        }
    }

    fn clear_error(&mut self) {
        self.error = None;
        self.core
            .set(props::ERROR, Value::Text("none".into()), PropState::Ok);
        self.publish_snapshot();
    }

    /// A timer-triggered scan into the buffer.
    async fn start_scan(&mut self, args: &[String]) -> Result<ActionOutcome, HubError> {
        let points = match args.first().map(|a| a.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=MAX_POINTS).contains(&n) => n,
            _ => {
                return Err(self.core.bad_argument(format!(
                    "usage: scan [POINTS 1..={MAX_POINTS}] [INTERVAL_S]"
                )));
            }
        };
        let interval = match args.get(1).map(|a| a.parse::<f64>()) {
            None => 0.1,
            Some(Ok(s)) if (0.001..=99_999.0).contains(&s) => s,
            _ => {
                return Err(self
                    .core
                    .bad_argument("usage: scan [POINTS] [INTERVAL_S 0.001..=99999]"));
            }
        };
        self.begin_scan(points, interval).await?;
        self.poll_now().await;
        Ok(ActionOutcome::ScanStarted {
            points,
            interval_s: interval,
        })
    }

    /// Clear the buffer and start a timer-triggered acquisition into it.
    pub(super) async fn begin_scan(
        &mut self,
        points: usize,
        interval: f64,
    ) -> Result<(), HubError> {
        let line = format!(
            ":ABOR;:TRAC:CLE;:TRAC:POIN {points};:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;\
             :TRIG:SOUR TIM;:TRIG:TIM {interval};:TRIG:COUN {points};:INIT"
        );
        self.checked(&line).await?;
        self.scan = Scan::Running { points };
        self.buffer_count = 0;
        self.show_scan();
        self.core.report.notice(format!(
            "scan started: {points} readings every {interval} s"
        ));
        Ok(())
    }

    /// `:TRAC:ELEM?;:TRAC:DATA?`: the buffer, with its summary shown.
    pub(super) async fn read_buffer(&mut self) -> Result<Buffer, HubError> {
        let timeout = self.cfg.fetch_timeout;
        let answer = match self.query_within(":TRAC:ELEM?;:TRAC:DATA?", timeout).await {
            Ok(answer) => answer,
            Err(QueryError::NotConnected) => return Err(self.core.link_down()),
            Err(e) => return Err(self.core.exchange_failed(format!("fetch failed: {e}"))),
        };
        let Some((elements, data)) = answer.text.split_once(';') else {
            self.drain_errors().await;
            self.publish_snapshot();
            return Err(self.core.refused("the buffer is empty"));
        };
        let columns: Vec<String> = elements.split(',').map(|c| c.trim().to_string()).collect();
        let numbers: Vec<f64> = data
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| self.core.refused("the buffer dump is not plain numbers"))?;
        let stride = columns.len().max(1);
        let readings: Vec<f64> = numbers.iter().step_by(stride).copied().collect();
        let unit = self.function.unit();
        let summary = summarise(&readings, unit, answer.text.len(), answer.round_trip)
            .ok_or_else(|| self.core.refused("the buffer is empty"))?;
        let text = format!(
            "{} readings, mean {}, σ {}",
            summary.count,
            crate::device::si_format(summary.mean, 4, unit),
            crate::device::si_format(summary.std_dev, 2, unit)
        );
        self.core
            .set(props::LAST_FETCH, Value::Text(text), PropState::Ok);
        self.publish_snapshot();
        Ok(Buffer {
            columns,
            numbers,
            summary,
        })
    }

    /// The buffer, summarised, optionally written to a CSV file.
    async fn fetch(&mut self, file: Option<&Path>) -> Result<ActionOutcome, HubError> {
        let buffer = self.read_buffer().await?;
        if let Some(path) = file {
            std::fs::write(path, buffer.csv()).map_err(|e| HubError::File {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        }
        Ok(ActionOutcome::Fetched {
            summary: buffer.summary,
            file: file.map(Path::to_path_buf),
        })
    }

    /// Any SCPI text; a query's answer is the reply.
    async fn raw(&mut self, line: &str) -> Result<ActionOutcome, HubError> {
        if !line.contains('?') {
            self.checked(line).await?;
            return Ok(ActionOutcome::Sent { text: line.into() });
        }
        match self.query(line).await {
            Ok(answer) => Ok(ActionOutcome::Answer { text: answer.text }),
            Err(e) => Err(self.query_error(&e)),
        }
    }
}

fn summarise(
    values: &[f64],
    unit: &str,
    bytes: usize,
    took: std::time::Duration,
) -> Option<FetchSummary> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    Some(FetchSummary {
        count: values.len(),
        mean,
        std_dev: var.sqrt(),
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        unit: unit.into(),
        bytes,
        millis: took.as_secs_f64() * 1e3,
    })
}

/// A buffer dump: the element names and the numbers, row after row.
pub(super) struct Buffer {
    pub columns: Vec<String>,
    pub numbers: Vec<f64>,
    pub summary: FetchSummary,
}

impl Buffer {
    /// `index,read,…` then one row per reading.
    pub fn csv(&self) -> String {
        let mut out = String::from("index");
        for column in &self.columns {
            let _ = write!(out, ",{}", column.to_ascii_lowercase());
        }
        out.push('\n');
        for (i, row) in self.numbers.chunks(self.columns.len().max(1)).enumerate() {
            let _ = write!(out, "{i}");
            for value in row {
                let _ = write!(out, ",{value:e}");
            }
            out.push('\n');
        }
        out
    }
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        let s = summarise(
            &[1.0, 2.0, 3.0],
            "A",
            10,
            std::time::Duration::from_millis(2),
        )
        .unwrap();
        assert_eq!((s.count, s.mean, s.min, s.max), (3, 2.0, 1.0, 3.0));
        assert!((s.std_dev - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!(summarise(&[], "A", 0, std::time::Duration::ZERO).is_none());
    }
}
