//! What an edit of one member sends: a `new*Vector` carrying every member
//! (C drivers answer a partial `CCD_FRAME` with Alert), switches set as
//! their rule demands.

use crate::device::Value;
use crate::protocol::indi::{Member, Rule, Vector, VectorHead, VectorKind, parse_number};

/// The `new*` for `member = value`, or why it cannot be sent.
pub fn new_vector(current: &Vector, member: &str, value: &Value) -> Result<Vector, String> {
    let v = &current.head;
    if !current.members.iter().any(|m| m.name == member) {
        return Err(format!("{}.{} has no member {member}", v.device, v.name));
    }
    let members = match current.kind {
        VectorKind::Number => {
            let Some(number) = value.as_f64() else {
                return Err(format!("{member} takes a number"));
            };
            replace(current, member, &format_value(number))
        }
        VectorKind::Text => {
            let text = match value {
                Value::Text(t) => t.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => if *b { "On" } else { "Off" }.to_string(),
            };
            replace(current, member, &text)
        }
        VectorKind::Switch => {
            let Value::Bool(on) = value else {
                return Err(format!("{member} takes on or off"));
            };
            switches(current, member, *on)?
        }
        VectorKind::Light | VectorKind::Blob => {
            return Err(format!(
                "{}.{} is a {} vector: clients cannot set it",
                v.device,
                v.name,
                current.kind.word()
            ));
        }
    };
    Ok(Vector {
        kind: current.kind,
        head: VectorHead {
            device: v.device.clone(),
            name: v.name.clone(),
            timestamp: Some(crate::protocol::indi::timestamp(
                std::time::SystemTime::now(),
            )),
            ..VectorHead::default()
        },
        members,
    })
}

/// The shortest text that reads back as the same number.
fn format_value(number: f64) -> String {
    format!("{number}")
}

/// Whether `number` is off its member's `step` grid, if it has one. INDI
/// drivers use step as a slider increment (a CCD's exposure has step 1 and
/// takes 0.1 s), so such a value is sent as typed and only pointed out.
pub fn off_step(current: &Vector, member: &str, number: f64) -> Option<f64> {
    let step = current
        .members
        .iter()
        .find(|m| m.name == member)
        .and_then(|m| m.step.as_deref())
        .and_then(parse_number)
        .filter(|s| s.is_finite() && *s > 0.0)?;
    let ratio = number / step;
    ((ratio - ratio.round()).abs() > 1e-9 * ratio.abs().max(1.0)).then_some(step)
}

fn replace(current: &Vector, member: &str, value: &str) -> Vec<Member> {
    current
        .members
        .iter()
        .map(|m| {
            let text = if m.name == member {
                value.to_string()
            } else {
                m.value.clone()
            };
            Member::new(&m.name, text)
        })
        .collect()
}

/// The switch states after turning `member` on or off, by the rule.
fn switches(current: &Vector, member: &str, on: bool) -> Result<Vec<Member>, String> {
    let rule = current.head.rule.unwrap_or(Rule::AnyOfMany);
    let state = |m: &Member| -> bool {
        match (rule, m.name == member) {
            (_, true) => on,
            // Turning one on turns the others off.
            (Rule::OneOfMany | Rule::AtMostOne, false) if on => false,
            (_, false) => m.value == "On",
        }
    };
    if rule == Rule::OneOfMany && !on {
        return Err("Invalid, OneOfMany rule requires one On switch".into());
    }
    Ok(current
        .members
        .iter()
        .map(|m| Member::new(&m.name, if state(m) { "On" } else { "Off" }))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch_vector(rule: Rule, on: &[&str]) -> Vector {
        Vector {
            kind: VectorKind::Switch,
            head: VectorHead {
                device: "Dome".into(),
                name: "SLAVING".into(),
                rule: Some(rule),
                ..VectorHead::default()
            },
            members: ["A", "B", "C"]
                .iter()
                .map(|n| Member::new(n, if on.contains(n) { "On" } else { "Off" }))
                .collect(),
        }
    }

    fn states(v: &Vector) -> Vec<(&str, &str)> {
        v.members
            .iter()
            .map(|m| (m.name.as_str(), m.value.as_str()))
            .collect()
    }

    #[test]
    fn switch_rules() {
        let one = switch_vector(Rule::OneOfMany, &["A"]);
        let sent = new_vector(&one, "B", &Value::Bool(true)).unwrap();
        assert_eq!(states(&sent), [("A", "Off"), ("B", "On"), ("C", "Off")]);
        assert_eq!(
            new_vector(&one, "A", &Value::Bool(false)).unwrap_err(),
            "Invalid, OneOfMany rule requires one On switch"
        );
        let at_most = switch_vector(Rule::AtMostOne, &["A"]);
        let sent = new_vector(&at_most, "A", &Value::Bool(false)).unwrap();
        assert_eq!(states(&sent), [("A", "Off"), ("B", "Off"), ("C", "Off")]);
        let sent = new_vector(&at_most, "C", &Value::Bool(true)).unwrap();
        assert_eq!(states(&sent), [("A", "Off"), ("B", "Off"), ("C", "On")]);
        let any = switch_vector(Rule::AnyOfMany, &["A"]);
        let sent = new_vector(&any, "C", &Value::Bool(true)).unwrap();
        assert_eq!(states(&sent), [("A", "On"), ("B", "Off"), ("C", "On")]);
        assert_eq!(sent.head.device, "Dome");
        assert!(new_vector(&any, "D", &Value::Bool(true)).is_err());
    }

    #[test]
    fn numbers_carry_every_member() {
        let frame = Vector {
            kind: VectorKind::Number,
            head: VectorHead {
                device: "CCD Simulator".into(),
                name: "CCD_FRAME".into(),
                ..VectorHead::default()
            },
            members: [
                ("X", "0"),
                ("Y", "0"),
                ("WIDTH", "1280"),
                ("HEIGHT", "1024"),
            ]
            .iter()
            .map(|(n, v)| Member::new(n, *v))
            .collect(),
        };
        let sent = new_vector(&frame, "WIDTH", &Value::Number(64.0)).unwrap();
        let mut stepped = frame.clone();
        stepped.members[2].step = Some("16".into());
        let typed = new_vector(&stepped, "WIDTH", &Value::Number(70.0)).unwrap();
        assert_eq!(typed.members[2].value, "70", "sent as typed");
        assert_eq!(off_step(&stepped, "WIDTH", 70.0), Some(16.0));
        assert_eq!(off_step(&stepped, "WIDTH", 64.0), None);
        assert_eq!(off_step(&stepped, "X", 0.1), None, "no step");
        assert_eq!(
            states(&sent),
            [("X", "0"), ("Y", "0"), ("WIDTH", "64"), ("HEIGHT", "1024")]
        );
        let sent = new_vector(&frame, "X", &Value::Number(0.1)).unwrap();
        assert_eq!(sent.members[0].value, "0.1");
        assert!(sent.head.timestamp.is_some());
        assert!(new_vector(&frame, "X", &Value::Text("a".into())).is_err());
    }
}
