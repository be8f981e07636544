//! The reading model: what the electrometer would measure — a configurable
//! signal with noise and drift, integration time from NPLC and the line
//! frequency, ranges with saturation, zero check — and readings formatted
//! as the 6517B prints them.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

pub use crate::protocol::keithley::{Function, OVERFLOW, ZERO_CHECK, nr3, status, write_nr3};

/// What the instrument is connected to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// Amperes.
    pub current: f64,
    /// Volts.
    pub voltage: f64,
    /// Ohms.
    pub resistance: f64,
    /// Coulombs collected per second (charge mode integrates it).
    pub charge_rate: f64,
    /// Noise, relative to the value, at 1 PLC.
    pub noise: f64,
    /// Drift, relative to the value, per hour.
    pub drift: f64,
}

impl Default for Signal {
    fn default() -> Self {
        Self {
            current: 1.0e-9,
            voltage: 1.5,
            resistance: 2.0e9,
            charge_rate: 1.0e-11,
            noise: 0.002,
            drift: 0.01,
        }
    }
}

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub function: Function,
    pub value: f64,
    pub status: char,
    /// Seconds since power-on or `*RST`.
    pub timestamp: f64,
    pub number: u64,
}

/// Which elements a reading string carries (`FORM:ELEM`, `TRAC:ELEM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elements {
    pub reading: bool,
    pub timestamp: bool,
    pub number: bool,
    pub status: bool,
}

impl Elements {
    pub const ALL: Self = Self {
        reading: true,
        timestamp: true,
        number: true,
        status: false,
    };
    pub const READING: Self = Self {
        reading: true,
        timestamp: false,
        number: false,
        status: false,
    };

    /// Parse `READ, TST, RNUM` (also the long forms and `TIME`, `STAT`).
    pub fn parse(items: &[String]) -> Option<Self> {
        let mut e = Self {
            reading: false,
            timestamp: false,
            number: false,
            status: false,
        };
        for item in items {
            match item.trim().to_ascii_uppercase().as_str() {
                "READ" | "READING" | "CURR" | "CURRENT" => e.reading = true,
                "TST" | "TSTAMP" | "TIME" => e.timestamp = true,
                "RNUM" | "RNUMBER" => e.number = true,
                "STAT" | "STATUS" => e.status = true,
                // Environmental and source elements this model does not
                // measure are accepted and left out of readings.
                "ETEM" | "ETEMPERATURE" | "HUM" | "HUMIDITY" | "VSO" | "VSOURCE" | "CHAN"
                | "CHANNEL" | "UNIT" | "UNITS" | "NONE" => {}
                _ => return None,
            }
        }
        Some(e)
    }

    pub fn names(&self) -> String {
        let mut names = Vec::new();
        if self.reading {
            names.push("READ");
        }
        if self.timestamp {
            names.push("TST");
        }
        if self.number {
            names.push("RNUM");
        }
        if self.status {
            names.push("STAT");
        }
        names.join(",")
    }
}

impl Reading {
    /// A reading string: `+1.234567E-12NADC,+0000001.234secs,+00001RDNG#`.
    pub fn format(&self, elements: Elements) -> String {
        let mut out = String::with_capacity(48);
        if elements.reading {
            write_nr3(&mut out, self.value);
            out.push(self.status);
            out.push_str(self.function.suffix());
        }
        if elements.timestamp {
            if !out.is_empty() {
                out.push(',');
            }
            // `{:+012.3}` from integers: float formatting is slow.
            let ms = (self.timestamp.abs() * 1e3).round() as u64;
            let sign = if self.timestamp < 0.0 { '-' } else { '+' };
            let _ = write!(out, "{sign}{:07}.{:03}secs", ms / 1000, ms % 1000);
        }
        if elements.number {
            if !out.is_empty() {
                out.push(',');
            }
            let _ = write!(out, "{:+06}RDNG#", self.number);
        }
        if elements.status {
            if !out.is_empty() {
                out.push(',');
            }
            let code = match self.status {
                status::OVERFLOW => 1,
                status::ZERO_CHECK => 4,
                _ => 0,
            };
            let _ = write!(out, "{code:+06}");
        }
        out
    }

    /// The plain numbers a buffer dump carries per reading.
    pub fn plain(&self, elements: Elements) -> String {
        let mut out = String::with_capacity(32);
        self.write_plain(&mut out, elements);
        out
    }

    /// [`Reading::plain`] appended to `out`.
    pub fn write_plain(&self, out: &mut String, elements: Elements) {
        let start = out.len();
        let separate = |out: &mut String| {
            if out.len() > start {
                out.push(',');
            }
        };
        if elements.reading {
            write_nr3(out, self.value);
        }
        if elements.timestamp {
            separate(out);
            write_nr3(out, self.timestamp);
        }
        if elements.number {
            separate(out);
            let _ = write!(out, "{:+06}", self.number);
        }
    }
}

/// How a measurement is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setup {
    pub function: Function,
    /// Manual range; `None` for autorange.
    pub range: Option<f64>,
    pub nplc: f64,
    pub zero_check: bool,
    /// Readings averaged by the filters.
    pub filter_count: u32,
}

/// Makes readings. Deterministic for a given seed.
#[derive(Debug, Clone)]
pub struct ReadingModel {
    pub signal: Signal,
    pub line_frequency: f64,
    /// Fault: every reading overflows.
    pub force_overflow: bool,
    /// Fault: the value is frozen at the last one.
    pub stuck: bool,
    last: Option<f64>,
    rng: u64,
    next_number: u64,
}

impl ReadingModel {
    pub fn new(signal: Signal, line_frequency: f64, seed: u64) -> Self {
        Self {
            signal,
            line_frequency,
            force_overflow: false,
            stuck: false,
            last: None,
            rng: seed | 1,
            next_number: 1,
        }
    }

    /// Restart the reading numbers (`*RST`).
    pub fn reset_numbers(&mut self) {
        self.next_number = 1;
    }

    /// Seconds one reading integrates for.
    pub fn integration_time(&self, nplc: f64) -> f64 {
        nplc / self.line_frequency
    }

    fn gaussian(&mut self) -> f64 {
        // Irwin–Hall: the sum of twelve uniforms minus six.
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }

    fn uniform(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The true input value at time `t` (seconds since reset).
    pub fn ideal(&self, function: Function, t: f64) -> f64 {
        let s = &self.signal;
        let drift = 1.0 + s.drift * t / 3600.0;
        match function {
            Function::Current => s.current * drift,
            Function::Voltage => s.voltage * drift,
            Function::Resistance => s.resistance * drift,
            Function::Charge => s.charge_rate * t,
        }
    }

    /// Take a reading at time `t`.
    pub fn measure(&mut self, setup: &Setup, t: f64) -> Reading {
        let number = self.next_number;
        self.next_number += 1;
        let reading = |value, status| Reading {
            function: setup.function,
            value,
            status,
            timestamp: t,
            number,
        };
        if setup.zero_check {
            return reading(ZERO_CHECK, status::ZERO_CHECK);
        }
        let ideal = self.ideal(setup.function, t);
        // Noise falls with the square root of the integration.
        let averaging = (setup.nplc.max(0.01) * f64::from(setup.filter_count.max(1))).sqrt();
        let noisy = ideal * (1.0 + self.signal.noise * self.gaussian() / averaging);
        let value = match (self.stuck, self.last) {
            (true, Some(last)) => last,
            _ => noisy,
        };
        self.last = Some(value);
        let range = setup
            .range
            .unwrap_or_else(|| setup.function.range_for(value));
        if self.force_overflow || value.abs() > range * 1.05 {
            return reading(OVERFLOW, status::OVERFLOW);
        }
        reading(value, status::NORMAL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> Setup {
        Setup {
            function: Function::Current,
            range: None,
            nplc: 1.0,
            zero_check: false,
            filter_count: 1,
        }
    }

    #[test]
    fn numbers_print_like_the_instrument() {
        assert_eq!(nr3(1.234_567e-12), "+1.234567E-12");
        assert_eq!(nr3(-2e-8), "-2.000000E-08");
        assert_eq!(nr3(OVERFLOW), "+9.900000E+37");
        assert_eq!(nr3(9.999_999_9), "+1.000000E+01");
        assert_eq!(nr3(0.0), "+0.000000E+00");
    }

    #[test]
    fn reading_strings() {
        let r = Reading {
            function: Function::Current,
            value: 1.234_567e-12,
            status: 'N',
            timestamp: 1.234,
            number: 1,
        };
        assert_eq!(
            r.format(Elements::ALL),
            "+1.234567E-12NADC,+0000001.234secs,+00001RDNG#"
        );
        assert_eq!(r.format(Elements::READING), "+1.234567E-12NADC");
        assert_eq!(r.plain(Elements::READING), "+1.234567E-12");
    }

    #[test]
    fn noise_is_small_and_falls_with_integration() {
        let mut m = ReadingModel::new(Signal::default(), 50.0, 7);
        let spread = |m: &mut ReadingModel, nplc| {
            let s = Setup { nplc, ..setup() };
            let values: Vec<f64> = (0..400).map(|_| m.measure(&s, 0.0).value).collect();
            let mean = values.iter().sum::<f64>() / values.len() as f64;
            (
                mean,
                (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64)
                    .sqrt(),
            )
        };
        let (mean, fast) = spread(&mut m, 0.01);
        assert!((mean - 1e-9).abs() < 1e-11, "{mean}");
        let (_, slow) = spread(&mut m, 10.0);
        assert!(slow < fast / 10.0, "{slow} vs {fast}");
    }

    #[test]
    fn ranges_zero_check_overflow_and_stuck() {
        let mut m = ReadingModel::new(Signal::default(), 50.0, 1);
        let manual_small = Setup {
            range: Some(20e-12),
            ..setup()
        };
        assert_eq!(m.measure(&manual_small, 0.0).status, status::OVERFLOW);
        assert_eq!(m.measure(&manual_small, 0.0).value, OVERFLOW);
        let zc = Setup {
            zero_check: true,
            ..setup()
        };
        assert_eq!(m.measure(&zc, 0.0).value, ZERO_CHECK);
        m.stuck = true;
        let a = m.measure(&setup(), 1.0).value;
        let b = m.measure(&setup(), 2.0).value;
        assert_eq!(a, b);
        m.stuck = false;
        m.force_overflow = true;
        assert_eq!(m.measure(&setup(), 3.0).status, status::OVERFLOW);
        assert_eq!(Function::Current.range_for(1e-9), 2e-9);
        assert_eq!(Function::Current.range_for(1.0), 20e-3);
        assert_eq!(m.integration_time(1.0), 0.02);
    }
}
