//! How values look at the edge: the console, `serve`'s text output and
//! the replies share these words. The core keeps values typed; this is
//! where they become text.

use labdeck_core::device::{Property, PropertyDef, Value, si_format};
use labdeck_core::time::Timestamp;

/// A property's value with its unit, or `-` when unknown.
pub fn property(p: &Property) -> String {
    value(&p.def, p.value.as_ref())
}

/// A value as its definition says to show it: an INDI format, an SI
/// prefix, decimals, the unit (words stand without one).
pub fn value(def: &PropertyDef, value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "-".into();
    };
    if let (Some(format), Value::Number(v)) = (&def.format, value) {
        return labdeck_protocol::indi::format_number(*v, format)
            .trim()
            .to_string();
    }
    if let (true, Value::Number(v)) = (def.si, value) {
        return si_format(*v, def.decimals, def.unit.as_deref().unwrap_or(""));
    }
    match (value, &def.unit) {
        // Words ("overflow", "zero check") stand without a unit.
        (Value::Text(t), _) => t.clone(),
        (v, Some(unit)) => format!("{} {unit}", plain(v, def.decimals)),
        (v, None) => plain(v, def.decimals),
    }
}

/// A value without its unit: `on`, `800`, `1.5`, text as it is.
pub fn plain(value: &Value, decimals: u8) -> String {
    match value {
        Value::Bool(true) => "on".into(),
        Value::Bool(false) => "off".into(),
        Value::Number(v) => format!("{v:.*}", usize::from(decimals)),
        Value::Text(t) => t.clone(),
    }
}

/// `HH:MM:SS.mmm` in local time.
pub fn clock(t: &Timestamp) -> String {
    chrono::DateTime::<chrono::Local>::from(t.wall)
        .format("%H:%M:%S%.3f")
        .to_string()
}

/// `YYYY-MM-DD HH:MM:SS.mmm` in local time, for files.
pub fn date_time(t: &Timestamp) -> String {
    chrono::DateTime::<chrono::Local>::from(t.wall)
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string()
}

/// `YYYY-MM-DD HH:MM:SS.uuuuuu` in local time, for one frame.
pub fn date_time_micros(t: &Timestamp) -> String {
    chrono::DateTime::<chrono::Local>::from(t.wall)
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// `text` in lines of at most `width` characters, broken after a space
/// where there is one in the line, else inside the word.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    wrap_hanging(text, width, width)
}

/// As [`wrap_words`], the first line `first` characters wide and the
/// others `rest` (a hanging indent leaves room on the lines after the
/// first).
pub fn wrap_hanging(text: &str, first: usize, rest_width: usize) -> Vec<String> {
    let mut width = first.max(1);
    let mut lines = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > width {
        let cut = rest[..=width]
            .iter()
            .rposition(|c| *c == ' ')
            .filter(|&i| i > 0)
            .map_or(width, |i| i + 1);
        lines.push(
            rest[..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        rest.drain(..cut);
        width = rest_width.max(1);
    }
    lines.push(rest.into_iter().collect());
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_between_words() {
        assert_eq!(
            wrap_words("KEITHLEY INSTRUMENTS INC.,MODEL 6517B", 16),
            ["KEITHLEY", "INSTRUMENTS", "INC.,MODEL 6517B"]
        );
        assert_eq!(wrap_words("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap_words("", 5), [""]);
        assert_eq!(
            wrap_hanging("13:01:02 INFO pump: link lost after 3 s", 16, 14),
            ["13:01:02 INFO", "pump: link", "lost after 3 s"]
        );
    }
    use labdeck_core::device::AttrKind;

    #[test]
    fn values_as_their_definitions_say() {
        let hz = PropertyDef::new("f", "Frequency", "Rotor")
            .unit("Hz")
            .kind(AttrKind::Int);
        assert_eq!(value(&hz, Some(&Value::Number(800.0))), "800 Hz");
        assert_eq!(value(&hz, None), "-");
        let amps = PropertyDef::new("i", "Current", "M")
            .unit("A")
            .decimals(4)
            .si();
        assert_eq!(value(&amps, Some(&Value::Number(1.4994e-9))), "1.4994 nA");
        assert_eq!(value(&amps, Some(&"overflow".into())), "overflow");
        let mut ra = PropertyDef::new("ra", "RA", "Main");
        ra.format = Some("%010.6m".into());
        assert_eq!(
            value(&ra, Some(&Value::Number(2.618_385_708_817_798))),
            "2:37:06"
        );
        assert_eq!(plain(&Value::Bool(true), 0), "on");
        assert_eq!(plain(&Value::Number(1.25), 1), "1.2");
    }
}
