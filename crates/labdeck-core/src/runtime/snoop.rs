//! Snooping: a device shows remote INDI vectors named in its config
//! (`snoop = ["sky:Weather Simulator.WEATHER_STATUS"]`) next to its own
//! properties, read-only, following the remote's property events.

use std::convert::Infallible;

use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

use crate::bus::{Event, EventBus};
use crate::config::SnoopSpec;
use crate::device::indi::safe;
use crate::device::{
    DeviceCommand, DeviceHandle, DeviceSnapshot, Property, PropertyDef, ValueUpdate,
};

/// Mirrors what `target` snoops from one remote until cancelled.
pub(super) async fn mirror(
    target: DeviceHandle,
    remote: DeviceHandle,
    specs: Vec<SnoopSpec>,
    bus: EventBus,
    cancel: CancellationToken,
) -> Result<(), Infallible> {
    let prefix = format!("{}:", remote.name());
    let wanted: Vec<String> = specs
        .iter()
        .map(|s| format!("{}.{}.", safe(&s.device), s.vector))
        .collect();
    let snooped = |name: &str| wanted.iter().any(|w| name.starts_with(w.as_str()));
    // Subscribed before the first look: nothing falls between.
    let mut events = bus.subscribe();
    let mut shown: Option<Vec<Property>> = None;
    let mut stale = true;
    loop {
        if stale {
            let wanted = mirrored(&remote.snapshot(), &snooped, &prefix);
            if shown.as_ref() != Some(&wanted) {
                let done = target
                    .command(DeviceCommand::Mirror {
                        prefix: prefix.clone(),
                        properties: wanted.clone(),
                    })
                    .await;
                if done.is_err() {
                    return Ok(());
                }
                shown = Some(wanted);
            }
        }
        let event = tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            event = events.recv() => event,
        };
        stale = match event {
            Ok(
                Event::Property {
                    device,
                    update: ValueUpdate { name, .. },
                }
                | Event::Removed { device, name },
            ) => device == *remote.name() && snooped(&name),
            Ok(Event::Definition { device, property }) => {
                device == *remote.name() && snooped(&property.name)
            }
            Ok(_) => false,
            // Fell behind: look at the remote as it is now.
            Err(RecvError::Lagged(_)) => true,
            Err(RecvError::Closed) => return Ok(()),
        };
    }
}

/// The remote's properties that belong to a snooped vector, renamed
/// `REMOTE:Device.VECTOR.MEMBER` and grouped under the remote device.
fn mirrored(
    remote: &DeviceSnapshot,
    snooped: &impl Fn(&str) -> bool,
    prefix: &str,
) -> Vec<Property> {
    remote
        .properties
        .iter()
        .filter(|p| snooped(&p.def.name))
        .map(|p| {
            let def = PropertyDef {
                name: format!("{prefix}{}", p.def.name).into(),
                group: format!("{}: {}", remote.name, p.def.group),
                ..(*p.def).clone()
            };
            Property {
                def: def.into(),
                ..p.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::device::{Capabilities, DeviceKind, PropState, Value};

    #[test]
    fn only_snooped_vectors_are_mirrored() {
        let prop = |name: &str| {
            Property::new(PropertyDef::new(name, "Rain", "Weather Simulator · Main"))
                .with(Value::Text("Alert".into()), PropState::Alert)
        };
        let snapshot = DeviceSnapshot {
            name: Arc::from("sky"),
            kind: DeviceKind::Indi,
            link: Arc::from("sky"),
            capabilities: Arc::new(Capabilities::default()),
            liveness: crate::device::Liveness::Responding,
            summary: String::new(),
            properties: vec![
                prop("Weather_Simulator.WEATHER_STATUS.WEATHER_RAIN"),
                prop("Weather_Simulator.WEATHER_STATUS_X.A"),
                prop("Telescope_Simulator.WEATHER_STATUS.B"),
            ],
            alarms: Vec::new(),
            tasks: Vec::new(),
            queue: crate::device::QueueMode::Active,
        };
        let snooped = |name: &str| name.starts_with("Weather_Simulator.WEATHER_STATUS.");
        let shown = mirrored(&snapshot, &snooped, "sky:");
        assert_eq!(shown.len(), 1);
        assert_eq!(
            &*shown[0].def.name,
            "sky:Weather_Simulator.WEATHER_STATUS.WEATHER_RAIN"
        );
        assert_eq!(shown[0].def.group, "sky: Weather Simulator · Main");
        assert_eq!(shown[0].state, PropState::Alert);
    }
}
