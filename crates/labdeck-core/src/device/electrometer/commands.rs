//! Operator commands: settings, buffered scans, buffer fetch, raw SCPI.
//! Every setting is followed by `:SYST:ERR?` in the same message, so a
//! refused command is reported at once with the instrument's own words.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{ElectrometerDriver, Scan, props};
use crate::device::{PropState, Value};
use crate::protocol::keithley::parse_error;
use crate::reply::Reply;

/// Most readings a scan asks for (the trigger count's limit).
const MAX_POINTS: usize = 99_999;

const ACTIONS: &str =
    "poll, clear, reset, scan [POINTS] [INTERVAL_S], stop, fetch [FILE.csv], scpi TEXT";

/// What a fetch found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FetchSummary {
    pub count: usize,
    pub mean: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    pub bytes: usize,
    pub millis: f64,
}

impl ElectrometerDriver {
    /// Send settings plus `:SYST:ERR?`; the instrument's error as a reply.
    async fn checked(&mut self, line: &str) -> Result<(), Reply> {
        let answer = self
            .query(&format!("{line};:SYST:ERR?"))
            .await
            .map_err(|e| Reply::fail(format!("{}: {e}", self.core.name)))?;
        if !self.apply_error(&answer.text) {
            return Ok(());
        }
        let refused = match parse_error(&answer.text) {
            Some((code, text)) => format!(
                "{}: instrument refused {line:?}: {code} {text}",
                self.core.name
            ),
            None => format!("{}: unexpected answer {:?}", self.core.name, answer.text),
        };
        self.drain_errors().await;
        self.publish_snapshot();
        Err(Reply::fail(refused))
    }

    async fn apply(&mut self, line: &str, done: String) -> Reply {
        match self.checked(line).await {
            Ok(()) => {
                self.poll_now().await;
                Reply::ok(done)
            }
            Err(reply) => reply,
        }
    }

    /// Write a validated attribute; the instrument has the last word.
    pub(super) async fn write_attr(&mut self, attr: &str, value: Value) -> Reply {
        let f = self.function.mnemonic();
        let name = self.core.name.clone();
        let (line, done) = match (attr, &value) {
            (props::FUNCTION, Value::Text(m)) => (
                format!(":SENS:FUNC '{m}'"),
                format!("{name}.function = {m}"),
            ),
            (props::RANGE, Value::Float(range)) => (
                format!(":SENS:{f}:RANG {range:e}"),
                format!("{name}.range = {range:e}"),
            ),
            (props::AUTORANGE, Value::Bool(on)) => (
                format!(":SENS:{f}:RANG:AUTO {}", on_off(*on)),
                format!("{name}.autorange = {}", on_off(*on)),
            ),
            (props::NPLC, Value::Float(nplc)) => (
                format!(":SENS:{f}:NPLC {nplc}"),
                format!("{name}.nplc = {nplc}"),
            ),
            (props::ZERO_CHECK, Value::Bool(on)) => (
                format!(":SYST:ZCH {}", on_off(*on)),
                format!("{name}.zero-check = {}", on_off(*on)),
            ),
            (other, value) => {
                return Reply::fail(format!(
                    "{name}: cannot write {other} = {}",
                    value.render(3)
                ));
            }
        };
        self.apply(&line, done).await
    }

    pub(super) async fn run_action(&mut self, action: &str, args: &[String]) -> Reply {
        let name = self.core.name.clone();
        match (action, args.len()) {
            ("poll", 0) => {
                self.poll_now().await;
                let reading = self.core.sheet.get(props::READING).map(|p| p.display());
                Reply::ok(format!("{name}: {}", reading.unwrap_or_default()))
            }
            ("clear", 0) => match self.checked("*CLS").await {
                Ok(()) => {
                    self.clear_error();
                    Reply::ok(format!("{name}: error queue cleared"))
                }
                Err(reply) => reply,
            },
            ("reset", 0) => {
                self.scan = Scan::Idle;
                self.apply("*RST", format!("{name}: reset to defaults"))
                    .await
            }
            ("scan", 0..=2) => self.start_scan(args).await,
            ("stop", 0) => {
                let reply = self
                    .apply(":ABOR;:TRAC:FEED:CONT NEV", format!("{name}: scan stopped"))
                    .await;
                if reply.success {
                    self.scan = Scan::Stopped {
                        stored: self.buffer_count,
                    };
                    self.show_scan();
                    self.publish_snapshot();
                }
                reply
            }
            ("fetch", 0 | 1) => self.fetch(args.first().map(Path::new)).await,
            ("scpi", 1..) => self.raw(&args.join(" ")).await,
            _ => Reply::fail(format!(
                "unknown action {action:?} with {} argument(s) for {name}; actions: {ACTIONS}",
                args.len()
            )),
        }
    }

    fn clear_error(&mut self) {
        if self.error.take().is_some() {
            self.core.bus.alarm(
                &self.core.name,
                crate::bus::AlarmKind::Device,
                false,
                "SCPI errors cleared",
            );
        }
        self.core
            .set(props::ERROR, Value::Text("none".into()), PropState::Ok);
        self.publish_snapshot();
    }

    /// A timer-triggered scan into the buffer.
    async fn start_scan(&mut self, args: &[String]) -> Reply {
        let points = match args.first().map(|a| a.parse::<usize>()) {
            None => 100,
            Some(Ok(n)) if (1..=MAX_POINTS).contains(&n) => n,
            _ => {
                return Reply::fail(format!(
                    "usage: scan [POINTS 1..={MAX_POINTS}] [INTERVAL_S]"
                ));
            }
        };
        let interval = match args.get(1).map(|a| a.parse::<f64>()) {
            None => 0.1,
            Some(Ok(s)) if (0.001..=99_999.0).contains(&s) => s,
            _ => return Reply::fail("usage: scan [POINTS] [INTERVAL_S 0.001..=99999]"),
        };
        if let Err(reply) = self.begin_scan(points, interval).await {
            return reply;
        }
        self.poll_now().await;
        Reply::ok(format!(
            "{}: scan of {points} readings every {interval} s started",
            self.core.name
        ))
    }

    /// Clear the buffer and start a timer-triggered acquisition into it.
    pub(super) async fn begin_scan(&mut self, points: usize, interval: f64) -> Result<(), Reply> {
        let line = format!(
            ":ABOR;:TRAC:CLE;:TRAC:POIN {points};:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;\
             :TRIG:SOUR TIM;:TRIG:TIM {interval};:TRIG:COUN {points};:INIT"
        );
        self.checked(&line).await?;
        self.scan = Scan::Running { points };
        self.buffer_count = 0;
        self.show_scan();
        self.core.bus.notice(
            &self.core.name,
            format!("scan started: {points} readings every {interval} s"),
        );
        Ok(())
    }

    /// `:TRAC:ELEM?;:TRAC:DATA?`: the buffer, with its summary shown.
    pub(super) async fn read_buffer(&mut self) -> Result<Buffer, Reply> {
        let name = self.core.name.clone();
        let timeout = self.cfg.fetch_timeout;
        let answer = self
            .query_within(":TRAC:ELEM?;:TRAC:DATA?", timeout)
            .await
            .map_err(|e| Reply::fail(format!("{name}: fetch failed: {e}")))?;
        let Some((elements, data)) = answer.text.split_once(';') else {
            self.drain_errors().await;
            self.publish_snapshot();
            return Err(Reply::fail(format!("{name}: the buffer is empty")));
        };
        let columns: Vec<String> = elements.split(',').map(|c| c.trim().to_string()).collect();
        let numbers: Vec<f64> = data
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| Reply::fail(format!("{name}: the buffer dump is not plain numbers")))?;
        let stride = columns.len().max(1);
        let readings: Vec<f64> = numbers.iter().step_by(stride).copied().collect();
        let summary = summarise(&readings, answer.text.len(), answer.round_trip)
            .ok_or_else(|| Reply::fail(format!("{name}: the buffer is empty")))?;
        let unit = self.function.unit();
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
    async fn fetch(&mut self, file: Option<&Path>) -> Reply {
        let name = self.core.name.clone();
        let buffer = match self.read_buffer().await {
            Ok(buffer) => buffer,
            Err(reply) => return reply,
        };
        let summary = &buffer.summary;
        let shown = self
            .core
            .sheet
            .get(props::LAST_FETCH)
            .map(|p| p.display())
            .unwrap_or_default();
        let mut msg = format!(
            "{name}: {shown} ({} bytes in {:.1} ms)",
            summary.bytes, summary.millis
        );
        if let Some(path) = file {
            if let Err(e) = std::fs::write(path, buffer.csv()) {
                return Reply::fail(format!("{name}: cannot write {}: {e}", path.display()));
            }
            let _ = write!(msg, "; written to {}", path.display());
        }
        Reply::ok(msg).with_data(buffer.summary)
    }

    /// Any SCPI text; a query's answer is the reply.
    async fn raw(&mut self, line: &str) -> Reply {
        let name = self.core.name.clone();
        if !line.contains('?') {
            return match self.checked(line).await {
                Ok(()) => Reply::ok(format!("{name}: sent {line:?}")),
                Err(reply) => reply,
            };
        }
        match self.query(line).await {
            Ok(answer) => {
                let text = &answer.text;
                let shown: String = text.chars().take(200).collect();
                let more = if shown.len() < text.len() {
                    format!("… ({} bytes)", text.len())
                } else {
                    String::new()
                };
                Reply::ok(format!("{name}: {shown}{more}")).with_data(text)
            }
            Err(e) => Reply::fail(format!("{name}: {e}")),
        }
    }
}

fn summarise(values: &[f64], bytes: usize, took: std::time::Duration) -> Option<FetchSummary> {
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
        let s = summarise(&[1.0, 2.0, 3.0], 10, std::time::Duration::from_millis(2)).unwrap();
        assert_eq!((s.count, s.mean, s.min, s.max), (3, 2.0, 1.0, 3.0));
        assert!((s.std_dev - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!(summarise(&[], 0, std::time::Duration::ZERO).is_none());
    }
}
