//! Device properties: named values with units, limits and an INDI-style
//! state, grouped for display.

use serde::Serialize;

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
    pub writable: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Decimal places for display.
    pub decimals: u8,
    pub value: Option<Value>,
    pub state: PropState,
    pub updated: Option<Timestamp>,
    /// Whether changes go out as events; high-churn diagnostics (counters,
    /// round-trip times) are only in snapshots.
    #[serde(skip)]
    pub announce: bool,
}

impl Property {
    /// A read-only property with no value yet.
    pub fn new(name: &str, label: &str, group: &str) -> Self {
        Self {
            name: name.into(),
            label: label.into(),
            group: group.into(),
            unit: None,
            writable: false,
            min: None,
            max: None,
            decimals: 0,
            value: None,
            state: PropState::Idle,
            updated: None,
            announce: true,
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

    pub fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = decimals;
        self
    }

    /// Value with its unit, or `-` when unknown.
    pub fn display(&self) -> String {
        match (&self.value, &self.unit) {
            (None, _) => "-".into(),
            (Some(v), Some(unit)) => format!("{} {unit}", v.render(self.decimals)),
            (Some(v), None) => v.render(self.decimals),
        }
    }
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
    fn rendering() {
        let p = Property::new("i", "Current", "Drive").unit("A").decimals(1);
        assert_eq!(p.display(), "-");
        assert_eq!(Value::Float(1.25).render(1), "1.2");
        assert_eq!(Value::Bool(true).render(0), "on");
    }
}
