//! The Keithley 6517B's vocabulary, shared by the simulator and the
//! driver: measurement functions and their ranges, reading strings with
//! status letters and unit suffixes, numbers in NR3, `:SYST:ERR?` answers.

use serde::{Deserialize, Serialize};

/// Measurement functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Function {
    Current,
    Charge,
    Voltage,
    Resistance,
}

impl Function {
    pub const ALL: [Function; 4] = [Self::Current, Self::Charge, Self::Voltage, Self::Resistance];

    /// The SCPI mnemonic: `CURR`, `CHAR`, `VOLT`, `RES`.
    pub fn mnemonic(self) -> &'static str {
        match self {
            Self::Current => "CURR",
            Self::Charge => "CHAR",
            Self::Voltage => "VOLT",
            Self::Resistance => "RES",
        }
    }

    /// Parse `CURR`, `'CURRent:DC'`, `volt` …
    pub fn parse(text: &str) -> Option<Self> {
        let head = text.split(':').next()?.to_ascii_uppercase();
        Self::ALL.into_iter().find(|f| {
            let long = match f {
                Self::Current => "CURRENT",
                Self::Charge => "CHARGE",
                Self::Voltage => "VOLTAGE",
                Self::Resistance => "RESISTANCE",
            };
            head == f.mnemonic() || head == long
        })
    }

    /// The unit suffix of a reading: `ADC`, `COUL`, `VDC`, `OHM`.
    pub fn suffix(self) -> &'static str {
        match self {
            Self::Current => "ADC",
            Self::Charge => "COUL",
            Self::Voltage => "VDC",
            Self::Resistance => "OHM",
        }
    }

    /// The SI unit for display.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Current => "A",
            Self::Charge => "C",
            Self::Voltage => "V",
            Self::Resistance => "Ω",
        }
    }

    /// Full-scale values of the ranges, smallest first.
    pub fn ranges(self) -> &'static [f64] {
        match self {
            Self::Current => &[
                2e-12, 20e-12, 200e-12, 2e-9, 20e-9, 200e-9, 2e-6, 20e-6, 200e-6, 2e-3, 20e-3,
            ],
            Self::Charge => &[2e-9, 20e-9, 200e-9, 2e-6],
            Self::Voltage => &[2.0, 20.0, 200.0],
            Self::Resistance => &[2e6, 20e6, 200e6, 2e9, 20e9, 200e9, 2e12, 20e12, 200e12],
        }
    }

    /// The smallest range that holds `value`, or the largest.
    pub fn range_for(self, value: f64) -> f64 {
        let ranges = self.ranges();
        ranges
            .iter()
            .copied()
            .find(|r| value.abs() <= *r)
            .unwrap_or(ranges[ranges.len() - 1])
    }
}

/// Reading status letters (6517B).
pub mod status {
    pub const NORMAL: char = 'N';
    pub const ZERO_CHECK: char = 'Z';
    pub const OVERFLOW: char = 'O';
}

/// The instrument's overflow value.
pub const OVERFLOW: f64 = 9.9e37;
/// The value while zero check is on.
pub const ZERO_CHECK: f64 = 9.91e37;

/// `+1.234567E-12`: NR3 with seven significant digits and a two-digit
/// signed exponent, as the instrument prints numbers.
pub fn nr3(value: f64) -> String {
    let mut out = String::with_capacity(13);
    write_nr3(&mut out, value);
    out
}

/// [`nr3`] appended to `out`. Digits are made from integers: a buffer dump
/// formats tens of thousands of numbers, and float formatting is slow.
pub fn write_nr3(out: &mut String, value: f64) {
    if value == 0.0 || !value.is_finite() {
        out.push_str("+0.000000E+00");
        return;
    }
    let magnitude = value.abs();
    let scaled = |exponent: i32| (magnitude / 10f64.powi(exponent) * 1e6).round() as u64;
    let mut exponent = magnitude.log10().floor() as i32;
    let mut digits = scaled(exponent);
    // log10 can land one off near powers of ten; rounding can carry.
    if digits < 1_000_000 {
        exponent -= 1;
        digits = scaled(exponent);
    }
    if digits >= 10_000_000 {
        exponent += 1;
        digits = scaled(exponent);
    }
    out.push(if value < 0.0 { '-' } else { '+' });
    let mut text = [b'0'; 7];
    for slot in text.iter_mut().rev() {
        *slot = b'0' + (digits % 10) as u8;
        digits /= 10;
    }
    out.push(char::from(text[0]));
    out.push('.');
    out.extend(text[1..].iter().map(|&b| char::from(b)));
    out.push('E');
    out.push(if exponent < 0 { '-' } else { '+' });
    let e = exponent.unsigned_abs();
    if e >= 100 {
        out.push(char::from(b'0' + (e / 100) as u8));
    }
    out.push(char::from(b'0' + (e / 10 % 10) as u8));
    out.push(char::from(b'0' + (e % 10) as u8));
}

impl Function {
    /// The function a reading's unit suffix names (`ADC` → current).
    pub fn from_suffix(suffix: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.suffix() == suffix)
    }
}

/// A reading as the instrument sends it: `+1.234567E-12NADC,…` or a plain
/// number; only the first element counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedReading {
    pub value: f64,
    /// `N`, `Z`, `O`, `U`, `R` or `L` when the reading carries one.
    pub status: Option<char>,
    pub function: Option<Function>,
}

impl ParsedReading {
    /// Overflow or out of limit (`+9.9E37`, status `O`).
    pub fn is_overflow(&self) -> bool {
        self.status == Some(status::OVERFLOW) || self.value == OVERFLOW
    }

    /// Zero check on (`+9.91E37`, status `Z`).
    pub fn is_zero_check(&self) -> bool {
        self.status == Some(status::ZERO_CHECK) || self.value == ZERO_CHECK
    }
}

const STATUS_LETTERS: &str = "NZOURL";

pub fn parse_reading(text: &str) -> Option<ParsedReading> {
    let first = text.split(',').next()?.trim();
    // Neither status letters nor unit suffixes contain an E.
    let end = first
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
        .unwrap_or(first.len());
    let value: f64 = first[..end].parse().ok()?;
    let suffix = &first[end..];
    if !suffix.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut reading = ParsedReading {
        value,
        status: None,
        function: None,
    };
    if let Some(function) = Function::from_suffix(suffix) {
        reading.function = Some(function);
    } else if let Some(letter) = suffix
        .chars()
        .next()
        .filter(|c| STATUS_LETTERS.contains(*c))
    {
        reading.status = Some(letter);
        reading.function = Function::from_suffix(&suffix[1..]);
        if reading.function.is_none() && suffix.len() > 1 {
            return None;
        }
    } else if !suffix.is_empty() {
        return None;
    }
    Some(reading)
}

/// `-113,"Undefined header"` → (-113, "Undefined header").
pub fn parse_error(text: &str) -> Option<(i32, String)> {
    let (code, message) = text.split_once(',')?;
    let code = code.trim().parse().ok()?;
    Some((code, message.trim().trim_matches('"').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_in_every_shape() {
        let r = parse_reading("+1.034782E-09NADC,+0000001.234secs,+00001RDNG#").unwrap();
        assert_eq!(
            (r.value, r.status, r.function),
            (1.034_782e-9, Some('N'), Some(Function::Current))
        );
        let r = parse_reading("+9.900000E+37OVDC").unwrap();
        assert!(r.is_overflow());
        assert_eq!(r.function, Some(Function::Voltage));
        assert!(parse_reading("+9.910000E+37ZCOUL").unwrap().is_zero_check());
        let plain = parse_reading("1.0e-09").unwrap();
        assert_eq!(
            (plain.value, plain.status, plain.function),
            (1e-9, None, None)
        );
        assert_eq!(
            parse_reading("+2.0E+09OHM").unwrap().function,
            Some(Function::Resistance)
        );
        assert_eq!(parse_reading("0.001").unwrap().value, 0.001);
        for bad in ["", "CURR:1", "+1.0E-12XYZ", "1.0;2", "nan?"] {
            assert_eq!(parse_reading(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn error_answers() {
        assert_eq!(parse_error("0,\"No error\""), Some((0, "No error".into())));
        assert_eq!(
            parse_error("-113,\"Undefined header\""),
            Some((-113, "Undefined header".into()))
        );
        assert_eq!(parse_error("0, fine"), Some((0, "fine".into())));
        assert_eq!(parse_error("fine"), None);
    }

    #[test]
    fn nr3_numbers() {
        assert_eq!(nr3(1.234_567e-12), "+1.234567E-12");
        assert_eq!(nr3(-2e-8), "-2.000000E-08");
        assert_eq!(nr3(9.999_999_9), "+1.000000E+01");
        assert_eq!(nr3(1e300), "+1.000000E+300");
        assert_eq!(nr3(f64::NAN), "+0.000000E+00");
    }

    proptest::proptest! {
        /// The integer formatting agrees with Rust's float formatting.
        #[test]
        fn nr3_matches_float_formatting(mantissa in 1.0f64..10.0, exponent in -20i32..40) {
            let value = mantissa * 10f64.powi(exponent);
            let text = nr3(value);
            let parsed: f64 = text.parse().unwrap();
            proptest::prop_assert!(((parsed - value) / value).abs() < 1e-6, "{value} -> {text}");
            proptest::prop_assert_eq!(text.len(), 13);
        }
    }
}
