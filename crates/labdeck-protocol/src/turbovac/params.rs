//! The TURBOVAC parameter database (`data/turbovac/parameters.csv`, derived
//! from turboctl's transcription of the Leybold manual; see
//! `data/turbovac/README.md` for provenance).

use std::fmt;
use std::sync::LazyLock;

use thiserror::Error;

use super::tables::split_csv_line;

pub type ParamNumber = u16;

/// Binary format of a parameter value inside PWE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamFormat {
    U16,
    S16,
    U32,
    S32,
    Real32,
}

impl ParamFormat {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "u16" => Self::U16,
            "s16" => Self::S16,
            "u32" => Self::U32,
            "s32" => Self::S32,
            "real32" => Self::Real32,
            _ => return None,
        })
    }

    /// Bit width: 16 or 32.
    pub fn width(self) -> u8 {
        match self {
            Self::U16 | Self::S16 => 16,
            _ => 32,
        }
    }

    /// Interpret a PWE field. 16-bit formats use the low 16 bits.
    pub fn decode(self, pwe: u32) -> ParamValue {
        match self {
            Self::U16 => ParamValue::Int(i64::from(pwe as u16)),
            Self::S16 => ParamValue::Int(i64::from(pwe as u16 as i16)),
            Self::U32 => ParamValue::Int(i64::from(pwe)),
            Self::S32 => ParamValue::Int(i64::from(pwe as i32)),
            Self::Real32 => ParamValue::Float(f32::from_bits(pwe)),
        }
    }

    /// Encode a value as the PWE field a reply carries: u16 in the low
    /// bytes, s16 sign-extended, 32-bit values in all four bytes.
    pub fn encode(self, value: ParamValue) -> u32 {
        match (self, value) {
            (Self::Real32, v) => (v.as_f64() as f32).to_bits(),
            (Self::U16, v) => u32::from(v.as_i64() as u16),
            (Self::S16, v) => i32::from(v.as_i64() as i16) as u32,
            (Self::U32, v) => v.as_i64() as u32,
            (Self::S32, v) => v.as_i64() as i32 as u32,
        }
    }

    /// Whether `value` can be represented in this format.
    pub fn fits(self, value: f64) -> bool {
        let (lo, hi) = match self {
            Self::U16 => (0.0, f64::from(u16::MAX)),
            Self::S16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
            Self::U32 => (0.0, f64::from(u32::MAX)),
            Self::S32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
            Self::Real32 => return value.is_finite(),
        };
        value.fract() == 0.0 && (lo..=hi).contains(&value)
    }
}

impl fmt::Display for ParamFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::U16 => "u16",
            Self::S16 => "s16",
            Self::U32 => "u32",
            Self::S32 => "s32",
            Self::Real32 => "real32",
        })
    }
}

/// A decoded parameter value.
/// A parameter's value as the pump sends it: whole, or a 32-bit float.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Int(i64),
    Float(f32),
}

impl ParamValue {
    pub fn as_f64(self) -> f64 {
        match self {
            Self::Int(v) => v as f64,
            Self::Float(v) => f64::from(v),
        }
    }

    pub fn as_i64(self) -> i64 {
        match self {
            Self::Int(v) => v,
            Self::Float(v) => v as i64,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Int(v) => write!(f, "{v}"),
            Self::Float(v) => write!(f, "{v}"),
        }
    }
}

/// A minimum or maximum: a number, or the live value of another parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Value(f64),
    Param(ParamNumber),
}

impl Limit {
    fn parse(text: &str, format: ParamFormat) -> Option<Self> {
        if let Some(number) = text.strip_prefix('P') {
            return number.parse().ok().map(Self::Param);
        }
        let value: f64 = text.parse().ok()?;
        // The manual's ±3.402823466E+38 means "the whole float range".
        if format == ParamFormat::Real32 && value.abs() >= 3.4e38 {
            return Some(Self::Value(value.signum() * f64::INFINITY));
        }
        Some(Self::Value(value))
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Value(v) => write!(f, "{v}"),
            Self::Param(p) => write!(f, "P{p}"),
        }
    }
}

/// Default value: one for every index, or one per index in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Defaults {
    Single(f64),
    PerIndex(Vec<f64>),
}

/// One row of the parameter database.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamDef {
    pub number: ParamNumber,
    /// Inclusive index range of an indexed parameter.
    pub indices: Option<(u8, u8)>,
    pub name: String,
    pub min: Limit,
    pub max: Limit,
    pub default: Defaults,
    pub unit: String,
    pub writable: bool,
    pub format: ParamFormat,
}

impl ParamDef {
    pub fn is_indexed(&self) -> bool {
        self.indices.is_some()
    }

    /// Number of value slots (1 for unindexed parameters).
    pub fn slots(&self) -> usize {
        self.indices
            .map_or(1, |(first, last)| usize::from(last - first) + 1)
    }

    /// Slot of `index`, or `None` when the index is out of range. Ranges
    /// starting at 1 are offset; unindexed parameters accept only index 0.
    pub fn slot(&self, index: u8) -> Option<usize> {
        match self.indices {
            None => (index == 0).then_some(0),
            Some((first, last)) => (first..=last)
                .contains(&index)
                .then(|| usize::from(index - first)),
        }
    }

    /// Default raw PWE value of a slot.
    pub fn default_value(&self, slot: usize) -> f64 {
        match &self.default {
            Defaults::Single(v) => *v,
            Defaults::PerIndex(list) => list.get(slot).copied().unwrap_or(0.0),
        }
    }

    /// The name with the source file's `\n` escape rendered as a separator.
    pub fn display_name(&self) -> String {
        self.name.replace("\\n", " / ")
    }
}

/// Problem in the parameter CSV.
#[derive(Debug, Error)]
#[error("parameter table line {line}: {message}")]
pub struct ParamTableError {
    pub line: usize,
    pub message: String,
}

/// The whole parameter database, sorted by number.
#[derive(Debug, Clone)]
pub struct ParamTable {
    defs: Vec<ParamDef>,
}

impl ParamTable {
    pub fn parse(csv: &str) -> Result<Self, ParamTableError> {
        let mut defs = Vec::new();
        for (n, line) in csv.lines().enumerate().skip(1) {
            if line.trim().is_empty() {
                continue;
            }
            let fail = |message: String| ParamTableError {
                line: n + 1,
                message,
            };
            let cols = split_csv_line(line);
            let [
                number,
                first,
                last,
                name,
                min,
                max,
                default,
                unit,
                rw,
                format,
            ] = <[String; 10]>::try_from(cols)
                .map_err(|c| fail(format!("{} columns, expected 10", c.len())))?;
            let format = ParamFormat::parse(&format)
                .ok_or_else(|| fail(format!("unknown format {format:?}")))?;
            let number: ParamNumber = number
                .parse()
                .map_err(|_| fail(format!("bad parameter number {number:?}")))?;
            let indices = match (first.as_str(), last.as_str()) {
                ("", "") => None,
                (a, b) => Some((
                    a.parse()
                        .map_err(|_| fail(format!("bad first index {a:?}")))?,
                    b.parse()
                        .map_err(|_| fail(format!("bad last index {b:?}")))?,
                )),
            };
            let limit = |text: &str| {
                Limit::parse(text, format).ok_or_else(|| fail(format!("bad limit {text:?}")))
            };
            let default =
                if let Some(list) = default.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
                    let values: Result<Vec<f64>, _> =
                        list.split(',').map(|v| v.trim().parse()).collect();
                    Defaults::PerIndex(
                        values.map_err(|_| fail(format!("bad default list {default:?}")))?,
                    )
                } else {
                    Defaults::Single(
                        default
                            .parse()
                            .map_err(|_| fail(format!("bad default {default:?}")))?,
                    )
                };
            defs.push(ParamDef {
                number,
                indices,
                name,
                min: limit(&min)?,
                max: limit(&max)?,
                default,
                unit,
                writable: match rw.as_str() {
                    "r/w" => true,
                    "r" => false,
                    other => return Err(fail(format!("bad access {other:?}"))),
                },
                format,
            });
        }
        defs.sort_by_key(|d| d.number);
        Ok(Self { defs })
    }

    pub fn get(&self, number: ParamNumber) -> Option<&ParamDef> {
        self.defs
            .binary_search_by_key(&number, |d| d.number)
            .ok()
            .map(|i| &self.defs[i])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ParamDef> {
        self.defs.iter()
    }

    pub fn len(&self) -> usize {
        self.defs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }
}

static TABLE: LazyLock<ParamTable> = LazyLock::new(|| {
    ParamTable::parse(include_str!("../../data/turbovac/parameters.csv"))
        .unwrap_or_else(|e| panic!("embedded parameter table is invalid: {e}"))
});

/// The embedded parameter database.
pub fn param_table() -> &'static ParamTable {
    &TABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_match_the_spec() {
        let table = param_table();
        assert_eq!(table.len(), 107);
        assert_eq!(table.iter().filter(|d| d.is_indexed()).count(), 32);
        assert_eq!(table.iter().filter(|d| d.writable).count(), 77);
        let count = |f| table.iter().filter(|d| d.format == f).count();
        assert_eq!(count(ParamFormat::U16), 73);
        assert_eq!(count(ParamFormat::S16), 14);
        assert_eq!(count(ParamFormat::U32), 6);
        assert_eq!(count(ParamFormat::S32), 2);
        assert_eq!(count(ParamFormat::Real32), 12);
    }

    #[test]
    fn references_defaults_and_offsets() {
        let table = param_table();
        let p24 = table.get(24).unwrap();
        assert_eq!(p24.min, Limit::Param(19));
        assert_eq!(p24.max, Limit::Param(18));
        assert_eq!(p24.default_value(0), 1000.0);
        let p31 = table.get(31).unwrap();
        assert_eq!(p31.slot(0), None);
        assert_eq!(p31.slot(1), Some(0));
        assert_eq!(p31.default_value(0), 1000.0);
        assert_eq!(p31.default_value(1), 0.0);
        assert_eq!(
            p31.display_name(),
            "Index 1: Upper limit for analog output / Index 2: Lower limit for analog output"
        );
        assert_eq!(table.get(171).unwrap().slots(), 254);
        assert!(table.get(9).is_none());
        assert_eq!(table.get(611).unwrap().max, Limit::Value(f64::INFINITY));
    }

    #[test]
    fn value_encodings() {
        assert_eq!(ParamFormat::S16.encode(ParamValue::Int(-5)), 0xffff_fffb);
        assert_eq!(ParamFormat::S16.decode(0xffff_fffb), ParamValue::Int(-5));
        assert_eq!(ParamFormat::U16.encode(ParamValue::Int(1000)), 0x0000_03e8);
        assert_eq!(
            ParamFormat::Real32.encode(ParamValue::Float(1.0)),
            0x3f80_0000
        );
        assert_eq!(ParamFormat::S32.decode(0xffff_ffff), ParamValue::Int(-1));
        assert!(ParamFormat::U16.fits(65535.0));
        assert!(!ParamFormat::U16.fits(65536.0));
        assert!(!ParamFormat::S16.fits(1.5));
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let err = ParamTable::parse("header\n1,,,x,0,1,0,,r/w,u64\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("u64"));
    }
}
