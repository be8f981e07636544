//! The poll: configuration, buffer count, a reading and the next error in
//! one program message, answered on one line joined by `;`.

use super::{ElectrometerDriver, STUCK_AFTER, Scan, props};
use crate::device::{PropState, Value};
use crate::protocol::keithley::{Function, ParsedReading, parse_error, parse_reading, status};

/// Answers in a poll reply; the last (the error) may itself contain `;`.
const POLL_ANSWERS: usize = 9;
/// Errors read in one go before the rest waits for the next poll.
const DRAIN_LIMIT: usize = 10;

impl ElectrometerDriver {
    fn poll_line(&self) -> String {
        let f = self.function.mnemonic();
        // `:READ?` would put a reading into a running scan's buffer.
        let read = match self.scan {
            Scan::Running { .. } => ":SENS:DATA?",
            _ => ":READ?",
        };
        format!(
            ":SENS:FUNC?;:SENS:{f}:RANG?;:SENS:{f}:RANG:AUTO?;:SENS:{f}:NPLC?;:SYST:ZCH?;\
             :TRAC:POIN?;:TRAC:POIN:ACT?;{read};:SYST:ERR?"
        )
    }

    pub(super) async fn poll_now(&mut self) {
        let line = self.poll_line();
        if let Ok(answer) = self.query(&line).await {
            let parts: Vec<&str> = answer.text.splitn(POLL_ANSWERS, ';').collect();
            if let [func, range, auto, nplc, zch, size, count, reading, error] = parts[..] {
                self.apply_function(func);
                self.apply_settings(range, auto, nplc, zch);
                self.apply_buffer(size, count);
                self.apply_reading(reading);
                if self.apply_error(error) {
                    self.drain_errors().await;
                }
            } else {
                // A unit failed (its error is queued) or this is not a 6517B.
                tracing::warn!(
                    "{}: poll answered {} of {POLL_ANSWERS} values: {:?}",
                    self.core.name,
                    parts.len(),
                    answer.text.chars().take(120).collect::<String>()
                );
                self.drain_errors().await;
            }
        }
        self.publish_snapshot();
    }

    fn apply_function(&mut self, text: &str) {
        let Some(function) = Function::parse(text.trim().trim_matches('"')) else {
            tracing::warn!("{}: unknown function {text:?}", self.core.name);
            return;
        };
        if function != self.function {
            self.function = function;
            self.same_polls = 0;
            self.last_value = None;
        }
        let unit = function.unit();
        for name in [props::READING, props::RANGE] {
            let change = self
                .core
                .sheet
                .redefine(name, |d| d.unit = Some(unit.into()));
            self.core.apply(change);
        }
        self.core.set(
            props::FUNCTION,
            Value::Text(function.mnemonic().into()),
            PropState::Ok,
        );
    }

    fn apply_settings(&mut self, range: &str, auto: &str, nplc: &str, zch: &str) {
        if let Ok(range) = range.trim().parse::<f64>() {
            self.core
                .set(props::RANGE, Value::Number(range), PropState::Ok);
        }
        if let Some(auto) = scpi_bool(auto) {
            self.core
                .set(props::AUTORANGE, Value::Bool(auto), PropState::Ok);
        }
        if let Ok(nplc) = nplc.trim().parse::<f64>() {
            self.core
                .set(props::NPLC, Value::Number(nplc), PropState::Ok);
        }
        if let Some(on) = scpi_bool(zch) {
            let state = if on { PropState::Busy } else { PropState::Ok };
            self.core.set(props::ZERO_CHECK, Value::Bool(on), state);
        }
    }

    fn apply_buffer(&mut self, size: &str, count: &str) {
        let size = size.trim().parse::<f64>().map_or(0, |v| v as usize);
        let count = count.trim().parse::<f64>().map_or(0, |v| v as usize);
        self.buffer_count = count;
        self.core
            .set(props::BUFFER_SIZE, Value::from(size as i64), PropState::Ok);
        if let Scan::Running { points } = self.scan
            && count >= points
        {
            self.scan = Scan::Complete { points };
            self.core.report.notice(format!(
                "scan complete: {points} readings stored; 'fetch' reads them"
            ));
        }
        let count_state = match self.scan {
            Scan::Running { .. } => PropState::Busy,
            _ => PropState::Ok,
        };
        self.core
            .set(props::BUFFER_COUNT, Value::from(count as i64), count_state);
        self.show_scan();
    }

    pub(super) fn show_scan(&mut self) {
        let (text, state) = match self.scan {
            Scan::Idle => ("idle".to_string(), PropState::Idle),
            Scan::Running { points } => (
                format!("running {}/{points}", self.buffer_count),
                PropState::Busy,
            ),
            Scan::Complete { points } => (format!("complete, {points} readings"), PropState::Ok),
            Scan::Stopped { stored } => (format!("stopped, {stored} readings"), PropState::Ok),
        };
        self.core.set(props::SCAN, Value::Text(text), state);
    }

    fn apply_reading(&mut self, text: &str) {
        let Some(reading) = parse_reading(text) else {
            tracing::warn!("{}: unreadable reading {text:?}", self.core.name);
            self.core.set(
                props::READING,
                Value::Text("unreadable".into()),
                PropState::Alert,
            );
            self.reading_ok = false;
            return;
        };
        self.reading_ok = true;
        let (value, state, status_text) = if reading.is_zero_check() {
            (
                Value::Text("zero check".into()),
                PropState::Busy,
                "zero check",
            )
        } else if reading.is_overflow() {
            (Value::Text("overflow".into()), PropState::Alert, "overflow")
        } else {
            (
                Value::Number(reading.value),
                PropState::Ok,
                status_name(&reading),
            )
        };
        self.overflow = reading.is_overflow();
        let stuck = self.detect_stuck(&reading);
        self.stuck = stuck;
        let state = if stuck { PropState::Busy } else { state };
        self.core.set(props::READING, value, state);
        self.core.set(
            props::READING_STATUS,
            Value::Text(status_text.into()),
            state,
        );
    }

    /// A live input is never exactly the same at 7 digits; a value that
    /// repeats poll after poll is stuck. Only fresh readings count.
    fn detect_stuck(&mut self, reading: &ParsedReading) -> bool {
        let fresh = !matches!(self.scan, Scan::Running { .. });
        let normal = !reading.is_zero_check() && !reading.is_overflow();
        if !(fresh && normal) {
            self.same_polls = 0;
            self.last_value = None;
            return false;
        }
        if self.last_value == Some(reading.value) {
            self.same_polls += 1;
        } else {
            self.same_polls = 0;
        }
        self.last_value = Some(reading.value);
        self.same_polls >= STUCK_AFTER
    }

    /// Record an error answer; whether it was an error (more may follow).
    pub(super) fn apply_error(&mut self, text: &str) -> bool {
        match parse_error(text) {
            Some((0, _)) => false,
            Some((code, message)) => {
                self.errors_seen += 1;
                let shown = format!("{code} {message}");
                self.core
                    .set(props::ERROR, Value::Text(shown), PropState::Alert);
                self.core.set(
                    props::ERRORS_SEEN,
                    Value::from(self.errors_seen as i64),
                    PropState::Alert,
                );
                self.error = Some((code, message));
                true
            }
            None => {
                tracing::warn!("{}: not an error answer: {text:?}", self.core.name);
                false
            }
        }
    }

    /// Read the error queue until it is empty.
    pub(super) async fn drain_errors(&mut self) {
        for _ in 0..DRAIN_LIMIT {
            let Ok(answer) = self.query(":SYST:ERR?").await else {
                return;
            };
            if !self.apply_error(&answer.text) {
                return;
            }
        }
    }
}

fn status_name(reading: &ParsedReading) -> &'static str {
    match reading.status {
        None | Some(status::NORMAL) => "normal",
        Some('U') => "underflow",
        Some('R') => "relative",
        Some('L') => "out of limit",
        Some(_) => "unknown status",
    }
}

/// `1`/`0`/`ON`/`OFF`.
pub(super) fn scpi_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_uppercase().as_str() {
        "1" | "ON" => Some(true),
        "0" | "OFF" => Some(false),
        _ => None,
    }
}
