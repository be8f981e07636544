//! The path commands of the `scpi` dialect.

use super::commands::Cmd;
use super::{Feed, FeedControl, Instrument, TriggerSource, one};
use crate::protocol::scpi::{NumberArg, Param, ScpiError};
use crate::sim::electrometer::model::{Elements, Function, nr3};

type Answer = Result<Option<String>, ScpiError>;

/// `1` or `0`, as an answer.
fn bool_text(b: bool) -> String {
    if b { "1" } else { "0" }.to_string()
}

/// A number within `[min, max]`, MIN/MAX/DEF resolved.
fn bounded(param: &Param, min: f64, max: f64, default: f64) -> Result<f64, ScpiError> {
    let value = match param.number()? {
        NumberArg::Value(v) => v,
        NumberArg::Min => min,
        NumberArg::Max => max,
        NumberArg::Default => default,
        _ => return Err(ScpiError::ILLEGAL_VALUE),
    };
    if !(min..=max).contains(&value) {
        return Err(ScpiError::OUT_OF_RANGE);
    }
    Ok(value)
}

fn words(params: &[Param]) -> Result<Vec<String>, ScpiError> {
    if params.is_empty() {
        return Err(ScpiError::MISSING_PARAMETER);
    }
    params.iter().map(Param::word).collect()
}

impl Instrument {
    fn set_bool(params: &[Param], slot: &mut bool) -> Answer {
        *slot = one(params)?.boolean()?;
        Ok(None)
    }

    pub(super) fn command(
        &mut self,
        cmd: Cmd,
        picks: &[usize],
        query: bool,
        params: &[Param],
        now: f64,
    ) -> Answer {
        if query && !params.is_empty() && !matches!(cmd, Cmd::Measure) {
            return Err(ScpiError::PARAMETER_NOT_ALLOWED);
        }
        // Commands under [:SENSe]:{function} apply to that function.
        let f = picks.first().map_or(self.function_index(), |&i| i.min(3));
        match (cmd, query) {
            (Cmd::Function, true) => Ok(Some(format!(
                "\"{}\"",
                match self.function {
                    Function::Current => "CURR:DC",
                    Function::Voltage => "VOLT:DC",
                    other => other.mnemonic(),
                }
            ))),
            (Cmd::Function, false) => {
                let name = one(params)?.string()?;
                self.function = Function::parse(&name).ok_or(ScpiError::ILLEGAL_VALUE)?;
                Ok(None)
            }
            (Cmd::Range, true) => {
                let s = &self.settings[f];
                let range = if s.auto_range {
                    let function = Function::ALL[f];
                    function.range_for(self.model.ideal(function, now - self.epoch))
                } else {
                    s.range
                };
                Ok(Some(nr3(range)))
            }
            (Cmd::Range, false) => {
                let function = Function::ALL[f];
                let ranges = function.ranges();
                let (lo, hi) = (0.0, ranges[ranges.len() - 1] * 1.05);
                let current = self.settings[f].range;
                let index = ranges
                    .iter()
                    .position(|r| *r == current)
                    .unwrap_or(ranges.len() - 1);
                let range = match one(params)?.number()? {
                    NumberArg::Up => ranges[(index + 1).min(ranges.len() - 1)],
                    NumberArg::Down => ranges[index.saturating_sub(1)],
                    _ => {
                        function.range_for(bounded(one(params)?, lo, hi, ranges[ranges.len() - 1])?)
                    }
                };
                self.settings[f].range = range;
                self.settings[f].auto_range = false;
                Ok(None)
            }
            (Cmd::RangeAuto, true) => Ok(Some(bool_text(self.settings[f].auto_range))),
            (Cmd::RangeAuto, false) => Self::set_bool(params, &mut self.settings[f].auto_range),
            (Cmd::Nplc, true) => Ok(Some(nr3(self.settings[f].nplc))),
            (Cmd::Nplc, false) => {
                self.settings[f].nplc = bounded(one(params)?, 0.01, 10.0, 1.0)?;
                Ok(None)
            }
            (Cmd::NplcAuto | Cmd::ApertureAuto, true) => Ok(Some(bool_text(false))),
            (Cmd::NplcAuto | Cmd::ApertureAuto, false) => one(params)?.boolean().map(|_| None),
            (Cmd::Aperture, true) => Ok(Some(nr3(self
                .model
                .integration_time(self.settings[f].nplc)))),
            (Cmd::Aperture, false) => {
                let lf = self.model.line_frequency;
                let seconds = bounded(one(params)?, 0.01 / lf, 10.0 / lf, 1.0 / lf)?;
                self.settings[f].nplc = seconds * lf;
                Ok(None)
            }
            (Cmd::Digits, true) => Ok(Some(self.settings[f].digits.to_string())),
            (Cmd::Digits, false) => {
                self.settings[f].digits = bounded(one(params)?, 4.0, 7.0, 6.0)? as u8;
                Ok(None)
            }
            (Cmd::MedianState, true) => Ok(Some(bool_text(self.settings[f].median))),
            (Cmd::MedianState, false) => Self::set_bool(params, &mut self.settings[f].median),
            (Cmd::MedianRank, true) => Ok(Some(self.settings[f].median_rank.to_string())),
            (Cmd::MedianRank, false) => {
                self.settings[f].median_rank = bounded(one(params)?, 1.0, 5.0, 1.0)? as u32;
                Ok(None)
            }
            (Cmd::AverageState, true) => Ok(Some(bool_text(self.settings[f].average))),
            (Cmd::AverageState, false) => Self::set_bool(params, &mut self.settings[f].average),
            (Cmd::AverageCount, true) => Ok(Some(self.settings[f].average_count.to_string())),
            (Cmd::AverageCount, false) => {
                self.settings[f].average_count = bounded(one(params)?, 1.0, 100.0, 10.0)? as u32;
                Ok(None)
            }
            (Cmd::AverageControl, true) => Ok(Some(
                if self.settings[f].average_moving {
                    "MOV"
                } else {
                    "REP"
                }
                .to_string(),
            )),
            (Cmd::AverageControl, false) => {
                self.settings[f].average_moving = match one(params)?.word()?.as_str() {
                    "MOV" | "MOVING" => true,
                    "REP" | "REPEAT" => false,
                    _ => return Err(ScpiError::ILLEGAL_VALUE),
                };
                Ok(None)
            }
            (Cmd::Latest, _) => {
                let reading = match self.last {
                    Some(r) => r,
                    None => self.take_reading(now),
                };
                Ok(Some(reading.format(self.format_elements)))
            }
            (Cmd::Error, _) => Ok(Some(
                self.errors
                    .pop_front()
                    .unwrap_or(ScpiError::NONE)
                    .to_string(),
            )),
            (Cmd::ErrorAll, _) => {
                let all: Vec<String> = self.errors.drain(..).map(|e| e.to_string()).collect();
                Ok(Some(if all.is_empty() {
                    ScpiError::NONE.to_string()
                } else {
                    all.join(",")
                }))
            }
            (Cmd::ErrorCount, _) => Ok(Some(self.errors.len().to_string())),
            (Cmd::ZeroCheck, true) => Ok(Some(bool_text(self.zero_check))),
            (Cmd::ZeroCheck, false) => Self::set_bool(params, &mut self.zero_check),
            (Cmd::ZeroCorrect, true) => Ok(Some(bool_text(self.zero_correct))),
            (Cmd::ZeroCorrect, false) => Self::set_bool(params, &mut self.zero_correct),
            (Cmd::ZeroAcquire, _) => Ok(None),
            (Cmd::LineSync, true) => Ok(Some(bool_text(self.line_sync))),
            (Cmd::LineSync, false) => Self::set_bool(params, &mut self.line_sync),
            (Cmd::Preset, _) => {
                self.reset(now);
                Ok(None)
            }
            (Cmd::Version, _) => Ok(Some("1991.0".into())),
            (Cmd::LineFrequency, _) => Ok(Some(format!("{}", self.model.line_frequency))),
            (Cmd::StatusPreset, _) => {
                self.measurement_enable = 0;
                Ok(None)
            }
            (Cmd::MeasurementEnable, true) => Ok(Some(self.measurement_enable.to_string())),
            (Cmd::MeasurementEnable, false) => {
                self.measurement_enable = bounded(one(params)?, 0.0, 65535.0, 0.0)? as u16;
                Ok(None)
            }
            (Cmd::MeasurementEvent, _) => Ok(Some(
                std::mem::take(&mut self.measurement_event).to_string(),
            )),
            (Cmd::TraceClear, _) => {
                self.buffer.clear();
                self.measurement_event &= !super::BUFFER_FULL;
                Ok(None)
            }
            (Cmd::TracePoints, true) => Ok(Some(self.trace_points.to_string())),
            (Cmd::TracePoints, false) => {
                self.trace_points = bounded(one(params)?, 1.0, 1_000_000.0, 100.0)? as usize;
                self.buffer.truncate(self.trace_points);
                Ok(None)
            }
            (Cmd::TraceActual, _) => Ok(Some(self.buffer.len().to_string())),
            (Cmd::TraceFeed, true) => Ok(Some(
                match self.trace_feed {
                    Feed::Sense => "SENS1",
                    Feed::Calculate => "CALC1",
                    Feed::None => "NONE",
                }
                .into(),
            )),
            (Cmd::TraceFeed, false) => {
                self.trace_feed = match one(params)?.word()?.as_str() {
                    "SENS" | "SENSE" | "SENS1" | "SENSE1" => Feed::Sense,
                    "CALC" | "CALCULATE" | "CALC1" | "CALCULATE1" => Feed::Calculate,
                    "NONE" => Feed::None,
                    _ => return Err(ScpiError::ILLEGAL_VALUE),
                };
                Ok(None)
            }
            (Cmd::TraceControl, true) => Ok(Some(
                match self.trace_control {
                    FeedControl::Next => "NEXT",
                    FeedControl::Never => "NEV",
                    FeedControl::Always => "ALW",
                }
                .into(),
            )),
            (Cmd::TraceControl, false) => {
                self.trace_control = match one(params)?.word()?.as_str() {
                    "NEXT" => FeedControl::Next,
                    "NEV" | "NEVER" => FeedControl::Never,
                    "ALW" | "ALWAYS" => FeedControl::Always,
                    _ => return Err(ScpiError::ILLEGAL_VALUE),
                };
                Ok(None)
            }
            (Cmd::TraceData, _) => {
                if self.buffer.is_empty() {
                    return Err(ScpiError::DATA_STALE);
                }
                let elements = self.trace_elements;
                let mut out = String::with_capacity(self.buffer.len() * 14);
                for (i, reading) in self.buffer.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    reading.write_plain(&mut out, elements);
                }
                Ok(Some(out))
            }
            (Cmd::TraceElements, true) => Ok(Some(self.trace_elements.names())),
            (Cmd::TraceElements, false) => {
                let items = words(params)?;
                let mut elements = Elements::parse(&items).ok_or(ScpiError::ILLEGAL_VALUE)?;
                // The buffer always keeps the reading itself.
                elements.reading = true;
                self.trace_elements = elements;
                Ok(None)
            }
            (Cmd::TriggerSource, true) => Ok(Some(self.trigger_source.mnemonic().into())),
            (Cmd::TriggerSource, false) => {
                self.trigger_source =
                    TriggerSource::parse(&one(params)?.word()?).ok_or(ScpiError::ILLEGAL_VALUE)?;
                Ok(None)
            }
            (Cmd::TriggerCount, true) => Ok(Some(match self.trigger_count {
                Some(n) => n.to_string(),
                None => nr3(9.9e37),
            })),
            (Cmd::TriggerCount, false) => {
                self.trigger_count = match one(params)?.number()? {
                    NumberArg::Infinity => None,
                    _ => Some(bounded(one(params)?, 1.0, 99_999.0, 1.0)? as u64),
                };
                Ok(None)
            }
            (Cmd::TriggerTimer, true) => Ok(Some(nr3(self.trigger_timer))),
            (Cmd::TriggerTimer, false) => {
                self.trigger_timer = bounded(one(params)?, 0.001, 99_999.999, 0.1)?;
                Ok(None)
            }
            (Cmd::TriggerDelay, true) => Ok(Some(nr3(self.trigger_delay))),
            (Cmd::TriggerDelay, false) => {
                self.trigger_delay = bounded(one(params)?, 0.0, 999_999.999, 0.0)?;
                Ok(None)
            }
            (Cmd::Initiate, _) => self.initiate(now).map(|()| None),
            (Cmd::InitiateContinuous, true) => Ok(Some(bool_text(self.continuous))),
            (Cmd::InitiateContinuous, false) => Self::set_bool(params, &mut self.continuous),
            (Cmd::Abort, _) => {
                self.abort();
                Ok(None)
            }
            (Cmd::Read, _) => Ok(Some(self.take_reading(now).format(self.format_elements))),
            (Cmd::Fetch, _) => match self.last {
                Some(reading) => Ok(Some(reading.format(self.format_elements))),
                None => Err(ScpiError::DATA_STALE),
            },
            (Cmd::Measure, _) => {
                if let Some(&i) = picks.first() {
                    self.function = Function::ALL[i.min(3)];
                }
                Ok(Some(self.take_reading(now).format(self.format_elements)))
            }
            (Cmd::Configure, _) => {
                if let Some(&i) = picks.first() {
                    self.function = Function::ALL[i.min(3)];
                }
                Ok(None)
            }
            (Cmd::FormatElements, true) => Ok(Some(self.format_elements.names())),
            (Cmd::FormatElements, false) => {
                self.format_elements =
                    Elements::parse(&words(params)?).ok_or(ScpiError::ILLEGAL_VALUE)?;
                Ok(None)
            }
            (Cmd::FormatData, true) => Ok(Some("ASC".into())),
            (Cmd::FormatData, false) => {
                match params.first().map(Param::word).transpose()?.as_deref() {
                    Some("ASC" | "ASCII") => Ok(None),
                    Some(_) => Err(ScpiError::ILLEGAL_VALUE),
                    None => Err(ScpiError::MISSING_PARAMETER),
                }
            }
            (Cmd::SourceVoltage, true) => Ok(Some(nr3(self.source.level))),
            (Cmd::SourceVoltage, false) => {
                let limit = if self.source.limit_on {
                    self.source.limit
                } else {
                    1000.0
                };
                self.source.level = bounded(one(params)?, -limit, limit, 0.0)?;
                Ok(None)
            }
            (Cmd::SourceRange, true) => Ok(Some(nr3(self.source.range))),
            (Cmd::SourceRange, false) => {
                let value = bounded(one(params)?, 0.0, 1000.0, 1000.0)?;
                self.source.range = if value <= 100.0 { 100.0 } else { 1000.0 };
                self.source.auto_range = false;
                Ok(None)
            }
            (Cmd::SourceRangeAuto, true) => Ok(Some(bool_text(self.source.auto_range))),
            (Cmd::SourceRangeAuto, false) => Self::set_bool(params, &mut self.source.auto_range),
            (Cmd::SourceLimit, true) => Ok(Some(nr3(self.source.limit))),
            (Cmd::SourceLimit, false) => {
                self.source.limit = bounded(one(params)?, 0.0, 1000.0, 1000.0)?;
                Ok(None)
            }
            (Cmd::SourceLimitState, true) => Ok(Some(bool_text(self.source.limit_on))),
            (Cmd::SourceLimitState, false) => Self::set_bool(params, &mut self.source.limit_on),
            (Cmd::SourceMeterConnect, true) => Ok(Some(bool_text(self.source.meter_connect))),
            (Cmd::SourceMeterConnect, false) => {
                Self::set_bool(params, &mut self.source.meter_connect)
            }
            (Cmd::CurrentLimitResistor, true) => Ok(Some(bool_text(self.current_limit_resistor))),
            (Cmd::CurrentLimitResistor, false) => {
                Self::set_bool(params, &mut self.current_limit_resistor)
            }
            (Cmd::Output, true) => Ok(Some(bool_text(self.source.output))),
            (Cmd::Output, false) => Self::set_bool(params, &mut self.source.output),
            (Cmd::Display, true) => Ok(Some(bool_text(self.display))),
            (Cmd::Display, false) => Self::set_bool(params, &mut self.display),
        }
    }
}
