//! The ports the lab stands in front of for others: sniff links and
//! RFC 2217 servers. Each gets a traffic tap of its own (the console's
//! Traffic pane and the traffic log see it) and says what happens as
//! notices under its name.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::RuntimeError;
use super::supervise::Supervisor;
use crate::bus::EventBus;
use crate::capture::{PcapngCapture, SETTLE, capture_taps};
use crate::config::{PortSpec, Rfc2217Spec, SniffSpec};
use crate::link::{Framing, PortPath, RingLimits, SerialSettings, TrafficTap};
use crate::publish::Publish;
use crate::rfc2217::{Rfc2217Server, ServedPort};
use crate::sniff::{Decode, SniffDevice, Sniffer};

/// Events of one part as notices on the bus, under its name.
#[derive(Debug)]
struct AsNotices {
    bus: EventBus,
    source: Arc<str>,
}

impl<T: std::fmt::Display> Publish<T> for AsNotices {
    fn publish(&self, event: T) {
        self.bus.notice(&self.source, event.to_string());
    }
}

/// Where the simulators' virtual ports are now.
pub(super) type Ports<'a> = HashMap<&'a str, watch::Receiver<Option<PathBuf>>>;

fn port_path(spec: &PortSpec, ports: &Ports<'_>) -> Option<PortPath> {
    match spec {
        PortSpec::Path(path) => Some(PortPath::Fixed(path.clone())),
        PortSpec::Simulator(name) => ports.get(name.as_str()).map(|current| PortPath::Virtual {
            simulator: name.clone(),
            current: current.clone(),
        }),
        PortSpec::Address(_) => None,
    }
}

/// A simulator without a virtual port (validation makes it a turbovac).
fn missing(name: &str, port: &PortSpec) -> RuntimeError {
    RuntimeError::MissingSimulator {
        link: name.to_string(),
        simulator: match port {
            PortSpec::Simulator(simulator) => simulator.clone(),
            other => other.describe(),
        },
    }
}

/// Start every sniff link; their taps join `taps`.
pub(super) fn start_sniffers(
    specs: &[SniffSpec],
    ports: &Ports<'_>,
    ring: RingLimits,
    bus: &EventBus,
    supervisor: &Supervisor,
    cancel: &CancellationToken,
    taps: &mut Vec<TrafficTap>,
) -> Result<(), RuntimeError> {
    for spec in specs {
        let name: Arc<str> = spec.name.as_str().into();
        let device = match &spec.device {
            PortSpec::Address(address) => SniffDevice::Tcp {
                address: address.clone(),
            },
            other => SniffDevice::Serial {
                path: port_path(other, ports).ok_or_else(|| missing(&spec.name, other))?,
                settings: spec.settings,
            },
        };
        let framing = match spec.decode {
            Decode::Uss => Framing::UssTelegrams,
            Decode::Scpi | Decode::Text => Framing::TextLines,
            Decode::None => Framing::Raw,
        };
        let tap = TrafficTap::framed(name.clone(), ring, Arc::new(bus.clone()), Some(framing));
        let notices = Arc::new(AsNotices {
            bus: bus.clone(),
            source: name.clone(),
        });
        let sniffer = Sniffer::create(
            device,
            spec.pty_link.as_deref(),
            tap.clone(),
            notices,
            cancel.child_token(),
        )
        .map_err(|source| RuntimeError::Sniffer {
            name: spec.name.clone(),
            source,
        })?;
        bus.notice(
            &name,
            format!(
                "sniffing {}: programs open {}",
                spec.device.describe(),
                sniffer.client_path().display()
            ),
        );
        if let Some(path) = &spec.capture {
            capture(&name, path, &tap, supervisor, cancel)?;
        }
        supervisor.spawn(name, "sniffer", async move {
            sniffer.run().await;
            Ok::<(), std::convert::Infallible>(())
        });
        taps.push(tap);
    }
    Ok(())
}

/// Bind every `[[rfc2217]]` server; their taps join `taps`.
pub(super) async fn start_rfc2217(
    specs: &[Rfc2217Spec],
    ports: &Ports<'_>,
    ring: RingLimits,
    bus: &EventBus,
    supervisor: &Supervisor,
    cancel: &CancellationToken,
    taps: &mut Vec<TrafficTap>,
) -> Result<(), RuntimeError> {
    for spec in specs {
        let name: Arc<str> = spec.name.as_str().into();
        let path = port_path(&spec.port, ports).ok_or_else(|| missing(&spec.name, &spec.port))?;
        let tap = TrafficTap::new(name.clone(), ring, Arc::new(bus.clone()));
        let notices = Arc::new(AsNotices {
            bus: bus.clone(),
            source: name.clone(),
        });
        let server = Rfc2217Server::bind(
            &spec.listen,
            ServedPort {
                path,
                settings: SerialSettings::DEFAULT,
            },
            tap.clone(),
            notices,
            cancel.child_token(),
        )
        .await
        .map_err(|source| RuntimeError::Listen {
            name: spec.name.clone(),
            address: spec.listen.clone(),
            source,
        })?;
        let address = server
            .local_addr()
            .map_or_else(|_| spec.listen.clone(), |a| a.to_string());
        bus.notice(
            &name,
            format!(
                "serving {} over RFC 2217 on rfc2217://{address}",
                spec.port.describe()
            ),
        );
        supervisor.spawn(name, "rfc2217", async move {
            server.run().await;
            Ok::<(), std::convert::Infallible>(())
        });
        taps.push(tap);
    }
    Ok(())
}

/// Mirror `tap` into a pcapng file until shutdown.
pub(super) fn capture(
    name: &Arc<str>,
    path: &std::path::Path,
    tap: &TrafficTap,
    supervisor: &Supervisor,
    cancel: &CancellationToken,
) -> Result<(), RuntimeError> {
    let capture = PcapngCapture::create(path).map_err(|source| RuntimeError::Capture {
        link: name.to_string(),
        source,
    })?;
    let writer = capture_taps(
        std::slice::from_ref(tap),
        capture,
        Arc::default(),
        SETTLE,
        cancel.child_token(),
    );
    supervisor.spawn(name.clone(), "capture", writer);
    Ok(())
}
