//! The `scpi` dialect: a Keithley 6517B as the real instrument behaves —
//! case-insensitive long and short forms, `;`-chained units with the
//! compound-header rule and `:` root reset, answers of one line joined by
//! `;`, an error queue with the standard codes, and a reading model behind
//! `:READ?`, `:MEAS?`, `:FETC?` and the trace buffer.

mod acquire;
mod commands;
mod execute;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

pub use acquire::{Acquisition, TriggerSource};
use commands::{Forms, ResolveCache};

use super::model::{Elements, Function, Reading, ReadingModel, Setup};
use crate::protocol::scpi::{Header, Param, ScpiError, Unit, parse_units};

/// The identity the instrument reports.
pub const IDN: &str = "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,4096797,A13/700X";
/// Error queue depth of the 6517B.
const ERROR_QUEUE: usize = 10;
/// Measurement event: buffer full.
pub const BUFFER_FULL: u16 = 1 << 9;

/// Settings kept per measurement function.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FunctionSettings {
    pub range: f64,
    pub auto_range: bool,
    pub nplc: f64,
    pub digits: u8,
    pub median: bool,
    pub median_rank: u32,
    pub average: bool,
    pub average_count: u32,
    pub average_moving: bool,
}

impl FunctionSettings {
    fn reset(function: Function) -> Self {
        let ranges = function.ranges();
        Self {
            range: ranges[ranges.len() - 1],
            auto_range: true,
            nplc: 1.0,
            digits: 6,
            median: false,
            median_rank: 1,
            average: false,
            average_count: 10,
            average_moving: true,
        }
    }

    /// Readings the filters combine into one.
    fn filter_count(&self) -> u32 {
        let average = if self.average { self.average_count } else { 1 };
        let median = if self.median {
            2 * self.median_rank + 1
        } else {
            1
        };
        average * median
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Feed {
    Sense,
    Calculate,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedControl {
    Next,
    Never,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VoltageSource {
    pub level: f64,
    pub range: f64,
    pub auto_range: bool,
    pub limit: f64,
    pub limit_on: bool,
    pub meter_connect: bool,
    pub output: bool,
}

/// A summary for the console.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentState {
    pub function: Function,
    pub settings: FunctionSettings,
    pub zero_check: bool,
    pub last: Option<Reading>,
    pub buffer: usize,
    pub buffer_points: usize,
    pub acquiring: bool,
    pub errors_queued: usize,
}

#[derive(Debug, Clone)]
pub struct Instrument {
    function: Function,
    settings: [FunctionSettings; 4],
    zero_check: bool,
    zero_correct: bool,
    line_sync: bool,
    display: bool,
    trigger_source: TriggerSource,
    /// `None` = infinite.
    trigger_count: Option<u64>,
    trigger_timer: f64,
    trigger_delay: f64,
    trace_points: usize,
    trace_feed: Feed,
    trace_control: FeedControl,
    trace_elements: Elements,
    buffer: Vec<Reading>,
    acquisition: Option<Acquisition>,
    continuous: bool,
    format_elements: Elements,
    source: VoltageSource,
    current_limit_resistor: bool,
    errors: VecDeque<ScpiError>,
    ese: u8,
    esr: u8,
    sre: u8,
    measurement_enable: u16,
    measurement_event: u16,
    last: Option<Reading>,
    model: ReadingModel,
    /// Where relative headers continue from (compound-header rule).
    path: Vec<String>,
    /// Readings before this time are of an earlier reset.
    epoch: f64,
    resolver: ResolveCache,
}

impl Instrument {
    pub fn new(model: ReadingModel) -> Self {
        Self::defaults(model, 0.0)
    }

    /// The state after power-on or `*RST`.
    fn defaults(model: ReadingModel, now: f64) -> Self {
        Self {
            function: Function::Current,
            settings: Function::ALL.map(FunctionSettings::reset),
            zero_check: false,
            zero_correct: false,
            line_sync: true,
            display: true,
            trigger_source: TriggerSource::Immediate,
            trigger_count: None,
            trigger_timer: 0.1,
            trigger_delay: 0.0,
            trace_points: 100,
            trace_feed: Feed::Sense,
            trace_control: FeedControl::Never,
            trace_elements: Elements::READING,
            buffer: Vec::new(),
            acquisition: None,
            continuous: false,
            format_elements: Elements::ALL,
            source: VoltageSource {
                level: 0.0,
                range: 100.0,
                auto_range: false,
                limit: 1000.0,
                limit_on: false,
                meter_connect: false,
                output: false,
            },
            current_limit_resistor: false,
            errors: VecDeque::new(),
            ese: 0,
            esr: 0,
            sre: 0,
            measurement_enable: 0,
            measurement_event: 0,
            last: None,
            model,
            path: Vec::new(),
            epoch: now,
            resolver: ResolveCache::default(),
        }
    }

    /// Let simulated time pass: an acquisition takes the readings due.
    pub fn advance(&mut self, now: f64) {
        self.update(now);
    }

    pub fn model_mut(&mut self) -> &mut ReadingModel {
        &mut self.model
    }

    /// `*RST`: defaults, empty buffer, no acquisition; the error queue and
    /// the status enable registers stay as they are.
    fn reset(&mut self, now: f64) {
        let mut model = self.model.clone();
        model.reset_numbers();
        let mut fresh = Self::defaults(model, now);
        fresh.errors = std::mem::take(&mut self.errors);
        fresh.ese = self.ese;
        fresh.esr = self.esr;
        fresh.sre = self.sre;
        fresh.measurement_enable = self.measurement_enable;
        fresh.resolver = std::mem::take(&mut self.resolver);
        *self = fresh;
    }

    /// Queue an error; a full queue turns its last entry into -350.
    pub fn push_error(&mut self, error: ScpiError) {
        if self.errors.len() >= ERROR_QUEUE {
            if let Some(last) = self.errors.back_mut() {
                *last = ScpiError::QUEUE_OVERFLOW;
            }
            return;
        }
        self.errors.push_back(error);
        // Command errors set ESR bit 5, execution errors bit 4, device bit 3.
        self.esr |= match error.code {
            -199..=-100 => 1 << 5,
            -299..=-200 => 1 << 4,
            c if c > 0 => 1 << 3,
            _ => 1 << 2,
        };
    }

    pub fn state(&self) -> InstrumentState {
        InstrumentState {
            function: self.function,
            settings: self.settings[self.function_index()],
            zero_check: self.zero_check,
            last: self.last,
            buffer: self.buffer.len(),
            buffer_points: self.trace_points,
            acquiring: self.acquisition.is_some(),
            errors_queued: self.errors.len(),
        }
    }

    fn function_index(&self) -> usize {
        Function::ALL
            .iter()
            .position(|f| *f == self.function)
            .unwrap_or(0)
    }

    fn settings(&self) -> &FunctionSettings {
        &self.settings[self.function_index()]
    }

    fn measurement_setup(&self) -> Setup {
        let s = self.settings();
        Setup {
            function: self.function,
            range: (!s.auto_range).then_some(s.range),
            nplc: s.nplc,
            zero_check: self.zero_check,
            filter_count: s.filter_count(),
        }
    }

    /// Take one reading now; it goes to the buffer when the buffer feeds.
    fn take_reading(&mut self, now: f64) -> Reading {
        let setup = self.measurement_setup();
        let reading = self.model.measure(&setup, now - self.epoch);
        self.store(reading);
        reading
    }

    fn store(&mut self, reading: Reading) {
        self.last = Some(reading);
        let feeding = self.trace_feed != Feed::None && self.trace_control != FeedControl::Never;
        if !feeding {
            return;
        }
        if self.buffer.len() < self.trace_points {
            self.buffer.push(reading);
        } else if self.trace_control == FeedControl::Always {
            self.buffer.remove(0);
            self.buffer.push(reading);
        }
        if self.buffer.len() >= self.trace_points && self.trace_control == FeedControl::Next {
            self.measurement_event |= BUFFER_FULL;
            // The 6517B stops feeding once the buffer is full.
            self.trace_control = FeedControl::Never;
        }
    }

    /// The status byte: MSB, EAV, ESB and the MSS summary.
    fn status_byte(&self) -> u8 {
        let mut stb = 0u8;
        if self.measurement_event & self.measurement_enable != 0 {
            stb |= 1;
        }
        if !self.errors.is_empty() {
            stb |= 1 << 2;
        }
        if self.esr & self.ese != 0 {
            stb |= 1 << 5;
        }
        if stb & self.sre & !(1 << 6) != 0 {
            stb |= 1 << 6;
        }
        stb
    }

    /// Execute one program message at `now` (seconds of simulated time);
    /// the answer line, if any query succeeded.
    pub fn handle_line(&mut self, line: &str, now: f64) -> Option<String> {
        self.update(now);
        self.path.clear();
        let mut answers = Vec::new();
        for unit in parse_units(line) {
            match unit.and_then(|u| self.execute(&u, now)) {
                Ok(Some(answer)) => answers.push(answer),
                Ok(None) => {}
                Err(error) => self.push_error(error),
            }
        }
        (!answers.is_empty()).then(|| answers.join(";"))
    }

    fn execute(&mut self, unit: &Unit, now: f64) -> Result<Option<String>, ScpiError> {
        match &unit.header {
            Header::Common { name, query } => self.common(name, *query, &unit.params, now),
            Header::Path {
                absolute,
                nodes,
                query,
            } => {
                let mut full = if *absolute {
                    Vec::new()
                } else {
                    self.path.clone()
                };
                full.extend(nodes.iter().cloned());
                let resolved = self
                    .resolver
                    .resolve(&full)
                    .or_else(|| (!*absolute).then(|| self.resolver.resolve(nodes)).flatten());
                let Some((cmd, picks, forms)) = resolved else {
                    return Err(ScpiError::UNDEFINED_HEADER);
                };
                self.path = full[..full.len().saturating_sub(1)].to_vec();
                match (forms, *query) {
                    (Forms::QueryOnly, false) | (Forms::SetOnly, true) => {
                        Err(ScpiError::UNDEFINED_HEADER)
                    }
                    _ => self.command(cmd, &picks, *query, &unit.params, now),
                }
            }
        }
    }

    fn common(
        &mut self,
        name: &str,
        query: bool,
        params: &[Param],
        now: f64,
    ) -> Result<Option<String>, ScpiError> {
        let no_params = || {
            if params.is_empty() {
                Ok(())
            } else {
                Err(ScpiError::PARAMETER_NOT_ALLOWED)
            }
        };
        let byte = |params: &[Param]| -> Result<u8, ScpiError> {
            let value = one(params)?.value()?;
            if !(0.0..=255.0).contains(&value) {
                return Err(ScpiError::OUT_OF_RANGE);
            }
            Ok(value as u8)
        };
        match (name, query) {
            ("IDN", true) => no_params().map(|()| Some(IDN.to_string())),
            ("RST", false) => {
                no_params()?;
                self.reset(now);
                Ok(None)
            }
            ("CLS", false) => {
                no_params()?;
                self.errors.clear();
                self.esr = 0;
                self.measurement_event = 0;
                Ok(None)
            }
            ("STB", true) => Ok(Some(self.status_byte().to_string())),
            ("ESR", true) => Ok(Some(std::mem::take(&mut self.esr).to_string())),
            ("ESE", true) => Ok(Some(self.ese.to_string())),
            ("ESE", false) => {
                self.ese = byte(params)?;
                Ok(None)
            }
            ("SRE", true) => Ok(Some(self.sre.to_string())),
            ("SRE", false) => {
                self.sre = byte(params)?;
                Ok(None)
            }
            ("OPC", false) => {
                self.esr |= 1;
                Ok(None)
            }
            ("OPC", true) => Ok(Some("1".into())),
            ("TRG", false) => {
                self.bus_trigger(now);
                Ok(None)
            }
            ("WAI", false) => Ok(None),
            ("TST", true) => Ok(Some("0".into())),
            _ => Err(ScpiError::UNDEFINED_HEADER),
        }
    }
}

/// Exactly one parameter.
fn one(params: &[Param]) -> Result<&Param, ScpiError> {
    match params {
        [p] => Ok(p),
        [] => Err(ScpiError::MISSING_PARAMETER),
        _ => Err(ScpiError::PARAMETER_NOT_ALLOWED),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
