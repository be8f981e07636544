//! What a client's `new*Vector` asks of the lab: typed Hub requests (a
//! number stays a number), or why it cannot be done.

use labdeck_core::connection::ConnCommand;
use labdeck_core::device::Value;
use labdeck_core::hub::Request;
use labdeck_core::sim::FaultSetting;
use labdeck_protocol::indi::{Perm, Vector, parse_number};

use super::catalog::{Binding, Served, Shape};

/// The requests for `new` against what is served, in order.
pub fn plan(served: &Served, device: &str, new: &Vector) -> Result<Vec<Request>, String> {
    let name = &new.head.name;
    let (Some(known), Some(binding)) = (served.vector(name), served.binding(name)) else {
        return Err(format!("no vector {device}.{name}"));
    };
    if *binding != Binding::Connection && known.head.perm == Some(Perm::Ro) {
        return Err(format!("{name} is read-only"));
    }
    if new.kind != known.kind {
        return Err(format!(
            "{name} is a {} vector, not {}",
            known.kind.word(),
            new.kind.word()
        ));
    }
    let on = |member: &str| {
        new.members
            .iter()
            .find(|m| m.name == member)
            .map(|m| m.value == "On")
    };
    match binding {
        Binding::Connection => {
            let command = match (on("CONNECT"), on("DISCONNECT")) {
                (Some(true), _) => ConnCommand::Connect,
                (_, Some(true)) => ConnCommand::Disconnect,
                _ => return Err("CONNECTION needs CONNECT or DISCONNECT On".into()),
            };
            Ok(vec![Request::Connection {
                target: device.to_string(),
                command,
            }])
        }
        Binding::Attribute { attr, shape, .. } => {
            let value = match shape {
                Shape::OnOff => match (on("ON"), on("OFF")) {
                    (Some(true), _) | (_, Some(false)) => Value::Bool(true),
                    (_, Some(true)) | (Some(false), _) => Value::Bool(false),
                    _ => return Err("switch ON or OFF expected".into()),
                },
                Shape::Options => {
                    let lit = new
                        .members
                        .iter()
                        .find(|m| m.value == "On")
                        .ok_or("OneOfMany: one switch must be On")?;
                    let option = known
                        .members
                        .iter()
                        .find(|m| m.name == lit.name)
                        .and_then(|m| m.label.clone())
                        .ok_or_else(|| format!("no option {}", lit.name))?;
                    Value::Text(option)
                }
                Shape::Number => {
                    let member = new.members.first().ok_or("no member given")?;
                    let number = parse_number(&member.value)
                        .ok_or_else(|| format!("{:?} is not a number", member.value))?;
                    Value::Number(number)
                }
                Shape::Text => {
                    let member = new.members.first().ok_or("no member given")?;
                    Value::Text(member.value.clone())
                }
            };
            Ok(vec![Request::Set {
                device: device.to_string(),
                attr: attr.to_string(),
                value,
                force: false,
            }])
        }
        // Each switch that differs from now is one fault switched.
        Binding::Faults => Ok(new
            .members
            .iter()
            .filter(|m| {
                known
                    .members
                    .iter()
                    .any(|k| k.name == m.name && k.value != m.value)
                    || !known.members.iter().any(|k| k.name == m.name)
            })
            .map(|m| Request::Fault {
                simulator: Some(device.to_string()),
                fault: m.name.clone(),
                setting: if m.value == "On" {
                    FaultSetting::On
                } else {
                    FaultSetting::Off
                },
            })
            .collect()),
        Binding::FaultValues => new
            .members
            .iter()
            .map(|m| {
                let value = parse_number(&m.value)
                    .filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v < 1e15)
                    .ok_or_else(|| format!("{}: {:?} is not a whole number", m.name, m.value))?;
                let value = value as u64;
                Ok(Request::Fault {
                    simulator: Some(device.to_string()),
                    fault: m.name.clone(),
                    setting: FaultSetting::Value(value),
                })
            })
            .collect(),
        Binding::Route | Binding::Status | Binding::Tasks | Binding::SimStatus => {
            Err(format!("{name} is read-only"))
        }
    }
}
