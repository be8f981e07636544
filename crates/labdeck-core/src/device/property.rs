//! Device properties: named values with units, limits and an INDI-style
//! state, grouped for display.

use serde::Serialize;

use super::attr::{AttrKind, Thresholds};
use crate::bus::Timestamp;

/// A property value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Int(v) => Some(*v as f64),
            Self::Float(v) => Some(*v),
            Self::Bool(v) => Some(f64::from(u8::from(*v))),
            Self::Text(_) => None,
        }
    }

    /// Render with `decimals` places for floats.
    pub fn render(&self, decimals: u8) -> String {
        match self {
            Self::Bool(true) => "on".into(),
            Self::Bool(false) => "off".into(),
            Self::Int(v) => v.to_string(),
            Self::Float(v) => format!("{v:.*}", usize::from(decimals)),
            Self::Text(t) => t.clone(),
        }
    }
}

/// State of a property, as INDI defines it. Always shown as a word, never
/// by colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PropState {
    Idle,
    Ok,
    Busy,
    Alert,
}

impl PropState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "Idle",
            Self::Ok => "Ok",
            Self::Busy => "Busy",
            Self::Alert => "Alert",
        }
    }
}

/// One property of a device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    pub name: String,
    pub label: String,
    pub group: String,
    pub unit: Option<String>,
    pub kind: AttrKind,
    pub writable: bool,
    /// Write limits: values outside are refused.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Display thresholds: values beyond are marked, never refused.
    pub thresholds: Thresholds,
    /// Part of the device's status report.
    pub status: bool,
    /// Decimal places for display.
    pub decimals: u8,
    /// Display floats with an SI prefix (`1.023 nA`).
    #[serde(skip)]
    pub si: bool,
    /// An INDI number format for display (`%.2f`, `%010.6m`); when set,
    /// typed values may also be sexagesimal or use a decimal comma.
    #[serde(skip)]
    pub format: Option<String>,
    pub value: Option<Value>,
    pub state: PropState,
    pub updated: Option<Timestamp>,
    /// Whether changes go out as events; high-churn diagnostics (counters,
    /// round-trip times) are only in snapshots.
    #[serde(skip)]
    pub announce: bool,
    /// Shown from another device (a snooped INDI vector): read-only here
    /// and not served again.
    #[serde(skip)]
    pub mirror: bool,
}

impl Property {
    /// A read-only property with no value yet.
    pub fn new(name: &str, label: &str, group: &str) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            group: group.into(),
            unit: None,
            kind: AttrKind::Text,
            writable: false,
            min: None,
            max: None,
            thresholds: Thresholds::default(),
            status: false,
            decimals: 0,
            si: false,
            format: None,
            value: None,
            state: PropState::Idle,
            updated: None,
            announce: true,
            mirror: false,
        }
    }

    /// Keep changes out of the event stream (snapshots still carry them).
    pub fn quiet(mut self) -> Self {
        self.announce = false;
        self
    }

    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.into());
        self
    }

    pub fn writable(mut self) -> Self {
        self.writable = true;
        self
    }

    pub fn kind(mut self, kind: AttrKind) -> Self {
        self.kind = kind;
        self
    }

    /// Write limits.
    pub fn limits(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    pub fn thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Include in status reports.
    pub fn status(mut self) -> Self {
        self.status = true;
        self
    }

    pub fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = decimals;
        self
    }

    /// Show floats with an SI prefix before the unit, `decimals` places.
    pub fn si(mut self) -> Self {
        self.si = true;
        self
    }

    /// Value with its unit, or `-` when unknown.
    pub fn display(&self) -> String {
        if let (Some(format), Some(Value::Float(v))) = (&self.format, &self.value) {
            return crate::protocol::indi::format_number(*v, format)
                .trim()
                .to_string();
        }
        if let (true, Some(Value::Float(v))) = (self.si, &self.value) {
            return si_format(*v, self.decimals, self.unit.as_deref().unwrap_or(""));
        }
        match (&self.value, &self.unit) {
            (None, _) => "-".into(),
            // Words ("overflow", "zero check") stand without a unit.
            (Some(v @ Value::Text(_)), _) => v.render(self.decimals),
            (Some(v), Some(unit)) => format!("{} {unit}", v.render(self.decimals)),
            (Some(v), None) => v.render(self.decimals),
        }
    }
}

/// `1.0234e-9, 3, "A"` → `1.023 nA`: engineering notation with an SI
/// prefix; values beyond the prefixes fall back to exponent notation.
pub fn si_format(value: f64, decimals: u8, unit: &str) -> String {
    const PREFIXES: [(i32, &str); 11] = [
        (-18, "a"),
        (-15, "f"),
        (-12, "p"),
        (-9, "n"),
        (-6, "µ"),
        (-3, "m"),
        (0, ""),
        (3, "k"),
        (6, "M"),
        (9, "G"),
        (12, "T"),
    ];
    let places = usize::from(decimals);
    let sep = if unit.is_empty() { "" } else { " " };
    if value == 0.0 || !value.is_finite() {
        return format!("{value:.places$}{sep}{unit}");
    }
    let mut exponent = (value.abs().log10() / 3.0).floor() as i32 * 3;
    // Rounding can carry into the next prefix (999.96 → 1000.0 → 1.000 k).
    let rounded: f64 = format!("{:.places$}", value / 10f64.powi(exponent))
        .parse()
        .unwrap_or(0.0);
    if rounded.abs() >= 1000.0 {
        exponent += 3;
    }
    let Some((_, prefix)) = PREFIXES.iter().find(|(p, _)| *p == exponent) else {
        return format!("{value:.places$e}{sep}{unit}");
    };
    let mantissa = value / 10f64.powi(exponent);
    format!("{mantissa:.places$} {prefix}{unit}")
        .trim_end()
        .to_string()
}

/// A change of one property, as published on the event bus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyUpdate {
    pub t: Timestamp,
    pub name: String,
    pub value: Option<Value>,
    pub display: String,
    pub state: PropState,
}

/// A device's properties in display order.
#[derive(Debug, Clone, Default)]
pub struct PropertySheet {
    props: Vec<Property>,
}

impl PropertySheet {
    pub fn new(props: Vec<Property>) -> Self {
        Self { props }
    }

    pub fn all(&self) -> &[Property] {
        &self.props
    }

    pub fn get(&self, name: &str) -> Option<&Property> {
        self.props.iter().find(|p| p.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.props.iter().map(|p| p.name.as_str())
    }

    /// Set value and state; returns the update when anything changed.
    pub fn set(&mut self, name: &str, value: Value, state: PropState) -> Option<PropertyUpdate> {
        let prop = self.props.iter_mut().find(|p| p.name == name)?;
        if prop.value.as_ref() == Some(&value) && prop.state == state {
            return None;
        }
        prop.value = Some(value);
        prop.state = state;
        let update = stamp(prop);
        prop.announce.then_some(update)
    }

    /// Change the state only.
    pub fn set_state(&mut self, name: &str, state: PropState) -> Option<PropertyUpdate> {
        let prop = self.props.iter_mut().find(|p| p.name == name)?;
        if prop.state == state {
            return None;
        }
        prop.state = state;
        let update = stamp(prop);
        prop.announce.then_some(update)
    }

    /// Set the write limits of a property.
    pub fn set_limits(&mut self, name: &str, min: Option<f64>, max: Option<f64>) {
        if let Some(prop) = self.props.iter_mut().find(|p| p.name == name) {
            prop.min = min;
            prop.max = max;
        }
    }

    /// Add a property, or replace its definition keeping its place; the
    /// update when its value or state changed.
    pub fn upsert(&mut self, prop: Property) -> Option<PropertyUpdate> {
        match self.props.iter_mut().find(|p| p.name == prop.name) {
            Some(existing) => {
                let changed = existing.value != prop.value || existing.state != prop.state;
                let updated = existing.updated;
                *existing = prop;
                existing.updated = updated;
                changed.then(|| {
                    let update = stamp(existing);
                    existing.announce.then_some(update)
                })?
            }
            None => {
                self.props.push(prop);
                let last = self.props.last_mut()?;
                let update = stamp(last);
                last.announce.then_some(update)
            }
        }
    }

    /// Remove every property whose name starts with `prefix`.
    pub fn remove_prefix(&mut self, prefix: &str) -> usize {
        let before = self.props.len();
        self.props.retain(|p| !p.name.starts_with(prefix));
        before - self.props.len()
    }

    /// Change the unit of a property (it follows the measurement function).
    pub fn set_unit(&mut self, name: &str, unit: &str) {
        if let Some(prop) = self.props.iter_mut().find(|p| p.name == name) {
            prop.unit = Some(unit.into());
        }
    }

    /// Put every property with a value into `state` (e.g. Idle when the
    /// link is down: the values are stale).
    pub fn mark_all(&mut self, state: PropState) -> Vec<PropertyUpdate> {
        self.props
            .iter_mut()
            .filter(|p| p.value.is_some() && p.state != state)
            .filter_map(|p| {
                p.state = state;
                let update = stamp(p);
                p.announce.then_some(update)
            })
            .collect()
    }
}

fn stamp(prop: &mut Property) -> PropertyUpdate {
    let t = Timestamp::now();
    prop.updated = Some(t);
    PropertyUpdate {
        t,
        name: prop.name.clone(),
        value: prop.value.clone(),
        display: prop.display(),
        state: prop.state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changes_are_reported() {
        let mut sheet =
            PropertySheet::new(vec![Property::new("f", "Frequency", "Rotor").unit("Hz")]);
        assert!(sheet.set("f", Value::Int(10), PropState::Ok).is_some());
        assert!(sheet.set("f", Value::Int(10), PropState::Ok).is_none());
        let update = sheet.set("f", Value::Int(10), PropState::Alert).unwrap();
        assert_eq!(update.display, "10 Hz");
        assert!(sheet.set("missing", Value::Int(1), PropState::Ok).is_none());
        assert_eq!(sheet.mark_all(PropState::Idle).len(), 1);
    }

    #[test]
    fn quiet_properties_change_without_events() {
        let mut sheet = PropertySheet::new(vec![Property::new("n", "Count", "Link").quiet()]);
        assert!(sheet.set("n", Value::Int(1), PropState::Ok).is_none());
        assert_eq!(sheet.get("n").unwrap().value, Some(Value::Int(1)));
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si_format(1.0234e-9, 3, "A"), "1.023 nA");
        assert_eq!(si_format(-2.5e-12, 2, "C"), "-2.50 pC");
        assert_eq!(si_format(2.0e9, 1, "Ω"), "2.0 GΩ");
        assert_eq!(si_format(1.5, 3, "V"), "1.500 V");
        assert_eq!(si_format(20e-3, 0, "A"), "20 mA");
        assert_eq!(si_format(0.0, 2, "A"), "0.00 A");
        assert_eq!(si_format(999.96e-12, 1, "A"), "1.0 nA");
        assert_eq!(si_format(0.5, 1, ""), "500.0 m");
        assert_eq!(si_format(9.9e37, 2, "A"), "9.90e37 A");
        let p = Property::new("i", "Current", "M")
            .unit("A")
            .decimals(3)
            .si();
        assert_eq!(p.display(), "-");
    }

    #[test]
    fn rendering() {
        let p = Property::new("i", "Current", "Drive").unit("A").decimals(1);
        assert_eq!(p.display(), "-");
        assert_eq!(Value::Float(1.25).render(1), "1.2");
        assert_eq!(Value::Bool(true).render(0), "on");
    }
}
