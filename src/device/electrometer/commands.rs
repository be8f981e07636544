//! Operator commands: settings, buffered scans, buffer fetch, raw SCPI.
//! Every setting is followed by `:SYST:ERR?` in the same message, so a
//! refused command is reported at once with the instrument's own words.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::poll::scpi_bool;
use super::{ElectrometerDriver, Scan, props};
use crate::device::{PropState, Value};
use crate::protocol::keithley::{Function, parse_error};
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
        self.publish();
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

    pub(super) async fn set_attr(&mut self, attr: &str, value: &str) -> Reply {
        let f = self.function.mnemonic();
        let name = self.core.name.clone();
        match attr {
            props::FUNCTION => {
                let Some(function) = Function::parse(value) else {
                    return Reply::fail(format!(
                        "function {value:?}: expected CURR, CHAR, VOLT or RES"
                    ));
                };
                let m = function.mnemonic();
                self.apply(
                    &format!(":SENS:FUNC '{m}'"),
                    format!("{name}.function = {m}"),
                )
                .await
            }
            props::RANGE if value.eq_ignore_ascii_case("auto") => {
                self.apply(
                    &format!(":SENS:{f}:RANG:AUTO ON"),
                    format!("{name}.range = auto"),
                )
                .await
            }
            props::RANGE => {
                let Some(range) = parse_si(value) else {
                    return Reply::fail(format!(
                        "range {value:?}: expected a number (2e-9, 20n) or auto"
                    ));
                };
                self.apply(
                    &format!(":SENS:{f}:RANG {range:e}"),
                    format!("{name}.range = {range:e}"),
                )
                .await
            }
            props::AUTORANGE => match parse_bool(value) {
                Some(on) => {
                    let word = on_off(on);
                    self.apply(
                        &format!(":SENS:{f}:RANG:AUTO {word}"),
                        format!("{name}.autorange = {word}"),
                    )
                    .await
                }
                None => Reply::fail(format!("{value:?} is not on/off")),
            },
            props::NPLC => match value.parse::<f64>() {
                Ok(nplc) if (0.01..=10.0).contains(&nplc) => {
                    self.apply(
                        &format!(":SENS:{f}:NPLC {nplc}"),
                        format!("{name}.nplc = {nplc}"),
                    )
                    .await
                }
                _ => Reply::fail(format!(
                    "nplc {value:?}: expected 0.01..=10 power-line cycles"
                )),
            },
            props::ZERO_CHECK => match parse_bool(value) {
                Some(on) => {
                    let word = on_off(on);
                    self.apply(
                        &format!(":SYST:ZCH {word}"),
                        format!("{name}.zero-check = {word}"),
                    )
                    .await
                }
                None => Reply::fail(format!("{value:?} is not on/off")),
            },
            other if self.core.sheet.get(other).is_some() => {
                Reply::fail(format!("attribute {other:?} of {name} is read-only"))
            }
            other => Reply::fail(format!(
                "unknown attribute {other:?} of {name}; known: {}",
                self.core.sheet.names().collect::<Vec<_>>().join(", ")
            )),
        }
    }

    pub(super) async fn action(&mut self, action: &str, args: &[String]) -> Reply {
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
                    self.publish();
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
        self.publish();
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
        let line = format!(
            ":ABOR;:TRAC:CLE;:TRAC:POIN {points};:TRAC:FEED SENS;:TRAC:FEED:CONT NEXT;\
             :TRIG:SOUR TIM;:TRIG:TIM {interval};:TRIG:COUN {points};:INIT"
        );
        if let Err(reply) = self.checked(&line).await {
            return reply;
        }
        self.scan = Scan::Running { points };
        self.buffer_count = 0;
        self.show_scan();
        self.core.bus.notice(
            &self.core.name,
            format!("scan started: {points} readings every {interval} s"),
        );
        self.poll_now().await;
        Reply::ok(format!(
            "{}: scan of {points} readings every {interval} s started",
            self.core.name
        ))
    }

    /// `:TRAC:DATA?`: the buffer as plain numbers, summarised, optionally
    /// written to a CSV file.
    async fn fetch(&mut self, file: Option<&Path>) -> Reply {
        let name = self.core.name.clone();
        let timeout = self.cfg.fetch_timeout;
        let answer = match self.query_within(":TRAC:ELEM?;:TRAC:DATA?", timeout).await {
            Ok(answer) => answer,
            Err(e) => return Reply::fail(format!("{name}: fetch failed: {e}")),
        };
        let Some((elements, data)) = answer.text.split_once(';') else {
            self.drain_errors().await;
            self.publish();
            return Reply::fail(format!("{name}: the buffer is empty"));
        };
        let columns: Vec<&str> = elements.split(',').map(str::trim).collect();
        let numbers: Result<Vec<f64>, _> =
            data.split(',').map(|v| v.trim().parse::<f64>()).collect();
        let Ok(numbers) = numbers else {
            return Reply::fail(format!("{name}: the buffer dump is not plain numbers"));
        };
        let stride = columns.len().max(1);
        let readings: Vec<f64> = numbers.iter().step_by(stride).copied().collect();
        let Some(summary) = summarise(&readings, answer.text.len(), answer.round_trip) else {
            return Reply::fail(format!("{name}: the buffer is empty"));
        };
        let unit = self.function.unit();
        let text = format!(
            "{} readings, mean {}, σ {}",
            summary.count,
            crate::device::si_format(summary.mean, 4, unit),
            crate::device::si_format(summary.std_dev, 2, unit)
        );
        self.core
            .set(props::LAST_FETCH, Value::Text(text.clone()), PropState::Ok);
        self.publish();
        let mut msg = format!(
            "{name}: {text} ({} bytes in {:.1} ms)",
            summary.bytes, summary.millis
        );
        if let Some(path) = file {
            if let Err(e) = write_csv(path, &columns, &numbers, stride) {
                return Reply::fail(format!("{name}: cannot write {}: {e}", path.display()));
            }
            let _ = write!(msg, "; written to {}", path.display());
        }
        Reply::ok(msg).with_data(summary)
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

fn write_csv(path: &Path, columns: &[&str], numbers: &[f64], stride: usize) -> std::io::Result<()> {
    let mut out = String::from("index");
    for column in columns {
        let _ = write!(out, ",{}", column.to_ascii_lowercase());
    }
    out.push('\n');
    for (i, row) in numbers.chunks(stride).enumerate() {
        let _ = write!(out, "{i}");
        for value in row {
            let _ = write!(out, ",{value:e}");
        }
        out.push('\n');
    }
    std::fs::write(path, out)
}

fn on_off(on: bool) -> &'static str {
    if on { "ON" } else { "OFF" }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        other => scpi_bool(other),
    }
}

/// `2e-9`, `20n`, `2 nA`, `200p`: a number with an optional SI prefix.
fn parse_si(text: &str) -> Option<f64> {
    let text = text.trim().trim_end_matches(['A', 'V', 'C', 'Ω']).trim();
    if let Ok(value) = text.parse::<f64>() {
        return Some(value);
    }
    let (number, prefix) = text.split_at(text.len().checked_sub(text.chars().last()?.len_utf8())?);
    let scale = match prefix {
        "f" => 1e-15,
        "p" => 1e-12,
        "n" => 1e-9,
        "u" | "µ" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return None,
    };
    number.trim().parse::<f64>().ok().map(|v| v * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn si_numbers() {
        assert_eq!(parse_si("2e-9"), Some(2e-9));
        assert_eq!(parse_si("20n"), Some(20.0 * 1e-9));
        assert_eq!(parse_si("2 nA"), Some(2.0 * 1e-9));
        assert_eq!(parse_si("200µ"), Some(200.0 * 1e-6));
        assert_eq!(parse_si("2G"), Some(2e9));
        assert_eq!(parse_si("fast"), None);
        assert_eq!(parse_si(""), None);
    }

    #[test]
    fn summaries() {
        let s = summarise(&[1.0, 2.0, 3.0], 10, std::time::Duration::from_millis(2)).unwrap();
        assert_eq!((s.count, s.mean, s.min, s.max), (3, 2.0, 1.0, 3.0));
        assert!((s.std_dev - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!(summarise(&[], 0, std::time::Duration::ZERO).is_none());
    }
}
