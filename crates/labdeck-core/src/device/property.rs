//! Device properties. A property's definition (name, label, group, kind,
//! unit, limits, thresholds, format, writability) is shared (`Arc`) and
//! published once, and again only when it changes; its value travels alone
//! as `{value, state, timestamp}`. Values are typed; words and numbers are
//! formatted only at the edge (the console, `serve`, INDI).

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::attr::{AttrKind, Thresholds};
use crate::time::Timestamp;

/// A property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    Number(f64),
    Text(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Number(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Number(v as f64)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_string())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}

/// On the wire a value is a JSON boolean, number or string; whole numbers
/// are written without a fraction.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Bool(v) => s.serialize_bool(*v),
            Self::Number(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => s.serialize_i64(*v as i64),
            Self::Number(v) => s.serialize_f64(*v),
            Self::Text(t) => s.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Bool(bool),
            Number(f64),
            Text(String),
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Bool(v) => Self::Bool(v),
            Wire::Number(v) => Self::Number(v),
            Wire::Text(t) => Self::Text(t),
        })
    }
}

/// State of a property, as INDI defines it. Always shown as a word, never
/// by colour alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// What a property is: everything but its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyDef {
    pub name: Arc<str>,
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
    /// Display numbers with an SI prefix (`1.023 nA`).
    pub si: bool,
    /// An INDI number format for display (`%.2f`, `%010.6m`); when set,
    /// typed values may also be sexagesimal or use a decimal comma.
    pub format: Option<String>,
    /// High-churn diagnostics (counters, round-trip times): their changes
    /// go out at most once a second.
    pub quiet: bool,
    /// Shown from another device (a snooped INDI vector): read-only here
    /// and not served again.
    pub mirror: bool,
}

impl PropertyDef {
    /// A read-only text property.
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
            quiet: false,
            mirror: false,
        }
    }

    /// Changes go out at most once a second (snapshots still carry them).
    #[must_use]
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    #[must_use]
    pub fn unit(mut self, unit: &str) -> Self {
        self.unit = Some(unit.into());
        self
    }

    #[must_use]
    pub fn writable(mut self) -> Self {
        self.writable = true;
        self
    }

    #[must_use]
    pub fn kind(mut self, kind: AttrKind) -> Self {
        self.kind = kind;
        self
    }

    /// Write limits.
    #[must_use]
    pub fn limits(mut self, min: f64, max: f64) -> Self {
        self.min = Some(min);
        self.max = Some(max);
        self
    }

    #[must_use]
    pub fn thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// Include in status reports.
    #[must_use]
    pub fn status(mut self) -> Self {
        self.status = true;
        self
    }

    #[must_use]
    pub fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = decimals;
        self
    }

    /// Show numbers with an SI prefix before the unit, `decimals` places.
    #[must_use]
    pub fn si(mut self) -> Self {
        self.si = true;
        self
    }
}

/// One property as a snapshot shows it: its definition and its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Property {
    #[serde(flatten)]
    pub def: Arc<PropertyDef>,
    pub value: Option<Value>,
    pub state: PropState,
    pub updated: Option<Timestamp>,
}

impl Property {
    /// A property with no value yet.
    pub fn new(def: PropertyDef) -> Self {
        Self::shared(Arc::new(def))
    }

    pub fn shared(def: Arc<PropertyDef>) -> Self {
        Self {
            def,
            value: None,
            state: PropState::Idle,
            updated: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.def.name
    }

    /// With a value and a state, stamped now.
    #[must_use]
    pub fn with(mut self, value: Value, state: PropState) -> Self {
        self.value = Some(value);
        self.state = state;
        self
    }

    fn update(&self) -> ValueUpdate {
        ValueUpdate {
            name: self.def.name.clone(),
            t: self.updated.unwrap_or_else(Timestamp::now),
            value: self.value.clone(),
            state: self.state,
        }
    }
}

/// A new value (or state) of one property, as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueUpdate {
    pub name: Arc<str>,
    pub t: Timestamp,
    pub value: Option<Value>,
    pub state: PropState,
}

/// What changed in a sheet, for the device to publish.
#[derive(Debug, Clone, PartialEq)]
pub enum SheetChange {
    /// A property was added or redefined (its value may have changed too).
    Defined(Property),
    /// A value or state changed; the index of the property.
    Value(usize, ValueUpdate),
    Removed(Arc<str>),
}

/// A device's properties in display order.
#[derive(Debug, Clone, Default)]
pub struct PropertySheet {
    props: Vec<Property>,
}

impl PropertySheet {
    pub fn new(defs: Vec<PropertyDef>) -> Self {
        Self {
            props: defs.into_iter().map(Property::new).collect(),
        }
    }

    pub fn all(&self) -> &[Property] {
        &self.props
    }

    pub fn get(&self, name: &str) -> Option<&Property> {
        self.props.iter().find(|p| &*p.def.name == name)
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.get(name)?.value.as_ref()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.props.iter().map(|p| &*p.def.name)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.props.iter().position(|p| &*p.def.name == name)
    }

    /// Set value and state; the change when anything changed.
    pub fn set(&mut self, name: &str, value: Value, state: PropState) -> Option<SheetChange> {
        let i = self.position(name)?;
        let prop = &mut self.props[i];
        if prop.value.as_ref() == Some(&value) && prop.state == state {
            return None;
        }
        prop.value = Some(value);
        prop.state = state;
        prop.updated = Some(Timestamp::now());
        Some(SheetChange::Value(i, prop.update()))
    }

    /// Change the state only.
    pub fn set_state(&mut self, name: &str, state: PropState) -> Option<SheetChange> {
        let i = self.position(name)?;
        let prop = &mut self.props[i];
        if prop.state == state {
            return None;
        }
        prop.state = state;
        prop.updated = Some(Timestamp::now());
        Some(SheetChange::Value(i, prop.update()))
    }

    /// Change a definition in place (limits learned at connect, a unit that
    /// follows the measurement function); the change when it differs.
    pub fn redefine(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut PropertyDef),
    ) -> Option<SheetChange> {
        let i = self.position(name)?;
        let prop = &mut self.props[i];
        let mut def = (*prop.def).clone();
        change(&mut def);
        if def == *prop.def {
            return None;
        }
        prop.def = Arc::new(def);
        Some(SheetChange::Defined(prop.clone()))
    }

    /// Add a property, or replace one of that name keeping its place; the
    /// changes (definition, value) it made.
    pub fn upsert(&mut self, mut prop: Property) -> Vec<SheetChange> {
        let Some(i) = self.position(&prop.def.name) else {
            prop.updated.get_or_insert_with(Timestamp::now);
            self.props.push(prop.clone());
            return vec![SheetChange::Defined(prop)];
        };
        let existing = &mut self.props[i];
        let mut changes = Vec::new();
        let value_changed = existing.value != prop.value || existing.state != prop.state;
        if *existing.def != *prop.def {
            existing.def = prop.def.clone();
            changes.push(SheetChange::Defined(existing.clone()));
        }
        if value_changed {
            existing.value = prop.value.take();
            existing.state = prop.state;
            existing.updated = Some(Timestamp::now());
            changes.push(SheetChange::Value(i, existing.update()));
        }
        changes
    }

    /// Remove every property whose name starts with `prefix`; the names.
    pub fn remove_prefix(&mut self, prefix: &str) -> Vec<SheetChange> {
        let mut removed = Vec::new();
        self.props.retain(|p| {
            let keep = !p.def.name.starts_with(prefix);
            if !keep {
                removed.push(SheetChange::Removed(p.def.name.clone()));
            }
            keep
        });
        removed
    }

    /// Put every property with a value into `state` (e.g. Idle when the
    /// link is down: the values are stale).
    pub fn mark_all(&mut self, state: PropState) -> Vec<SheetChange> {
        let now = Timestamp::now();
        self.props
            .iter_mut()
            .enumerate()
            .filter(|(_, p)| p.value.is_some() && p.state != state)
            .map(|(i, p)| {
                p.state = state;
                p.updated = Some(now);
                SheetChange::Value(i, p.update())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hz(value: f64) -> Value {
        Value::Number(value)
    }

    #[test]
    fn only_changes_are_reported() {
        let mut sheet =
            PropertySheet::new(vec![PropertyDef::new("f", "Frequency", "Rotor").unit("Hz")]);
        assert!(sheet.set("f", hz(10.0), PropState::Ok).is_some());
        assert!(sheet.set("f", hz(10.0), PropState::Ok).is_none());
        let Some(SheetChange::Value(0, update)) = sheet.set("f", hz(10.0), PropState::Alert) else {
            panic!("a value change");
        };
        assert_eq!(
            (update.value, update.state),
            (Some(hz(10.0)), PropState::Alert)
        );
        assert!(sheet.set("missing", hz(1.0), PropState::Ok).is_none());
        assert_eq!(sheet.mark_all(PropState::Idle).len(), 1);
    }

    #[test]
    fn a_redefinition_keeps_the_value_and_shares_nothing_stale() {
        let mut sheet = PropertySheet::new(vec![PropertyDef::new("s", "Setpoint", "Rotor")]);
        sheet.set("s", hz(800.0), PropState::Ok);
        let before = sheet.get("s").unwrap().def.clone();
        let Some(SheetChange::Defined(p)) = sheet.redefine("s", |d| d.max = Some(1200.0)) else {
            panic!("a definition");
        };
        assert_eq!((p.def.max, p.value), (Some(1200.0), Some(hz(800.0))));
        assert_eq!(before.max, None, "the old definition is untouched");
        assert!(sheet.redefine("s", |d| d.max = Some(1200.0)).is_none());
    }

    #[test]
    fn values_on_the_wire() {
        let json =
            serde_json::to_string(&[hz(800.0), hz(0.25), Value::Bool(true), "x".into()]).unwrap();
        assert_eq!(json, r#"[800,0.25,true,"x"]"#);
        let back: Vec<Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [hz(800.0), hz(0.25), Value::Bool(true), "x".into()]);
    }
}
