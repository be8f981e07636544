//! Snooping: a device shows remote INDI vectors named in its config
//! (`snoop = ["sky:Weather Simulator.WEATHER_STATUS"]`) next to its own
//! properties, read-only, updated as the remote's snapshot changes.

use std::convert::Infallible;

use tokio_util::sync::CancellationToken;

use crate::config::SnoopSpec;
use crate::device::indi::safe;
use crate::device::{DeviceCommand, DeviceHandle, DeviceSnapshot, Property};

/// Mirrors what `target` snoops from one remote until cancelled.
pub(super) async fn mirror(
    target: DeviceHandle,
    remote: DeviceHandle,
    specs: Vec<SnoopSpec>,
    cancel: CancellationToken,
) -> Result<(), Infallible> {
    let prefix = format!("{}:", remote.name());
    let mut watch = remote.watch();
    let mut shown: Option<Vec<Property>> = None;
    loop {
        let wanted = snooped(&watch.borrow_and_update(), &specs, &prefix);
        if shown.as_ref() != Some(&wanted) {
            let reply = target
                .command(DeviceCommand::Mirror {
                    prefix: prefix.clone(),
                    properties: wanted.clone(),
                })
                .await;
            if !reply.success {
                return Ok(());
            }
            shown = Some(wanted);
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            changed = watch.changed() => if changed.is_err() { return Ok(()) },
        }
    }
}

/// The remote's properties that belong to a snooped vector, renamed
/// `REMOTE:Device.VECTOR.MEMBER` and grouped under the remote device.
fn snooped(remote: &DeviceSnapshot, specs: &[SnoopSpec], prefix: &str) -> Vec<Property> {
    let wanted: Vec<String> = specs
        .iter()
        .map(|s| format!("{}.{}.", safe(&s.device), s.vector))
        .collect();
    remote
        .properties
        .iter()
        .filter(|p| wanted.iter().any(|w| p.name.starts_with(w.as_str())))
        .map(|p| {
            let mut p = p.clone();
            p.name = format!("{prefix}{}", p.name);
            p.group = format!("{}: {}", remote.name, p.group);
            p
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::device::{PropState, Value};

    #[test]
    fn only_snooped_vectors_are_mirrored() {
        let prop = |name: &str| {
            let mut p = Property::new(name, "Rain", "Weather Simulator · Main");
            p.value = Some(Value::Text("Alert".into()));
            p.state = PropState::Alert;
            p
        };
        let snapshot = DeviceSnapshot {
            name: Arc::from("sky"),
            driver: "indi",
            link: Arc::from("sky"),
            online: true,
            summary: String::new(),
            properties: vec![
                prop("Weather_Simulator.WEATHER_STATUS.WEATHER_RAIN"),
                prop("Weather_Simulator.WEATHER_STATUS_X.A"),
                prop("Telescope_Simulator.WEATHER_STATUS.B"),
            ],
            alarms: Vec::new(),
            techniques: Vec::new(),
            tasks: Vec::new(),
        };
        let specs = [SnoopSpec {
            remote: "sky".into(),
            device: "Weather Simulator".into(),
            vector: "WEATHER_STATUS".into(),
        }];
        let shown = snooped(&snapshot, &specs, "sky:");
        assert_eq!(shown.len(), 1);
        assert_eq!(
            shown[0].name,
            "sky:Weather_Simulator.WEATHER_STATUS.WEATHER_RAIN"
        );
        assert_eq!(shown[0].group, "sky: Weather Simulator · Main");
        assert_eq!(shown[0].state, PropState::Alert);
    }
}
