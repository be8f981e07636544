//! INDI: the server's listener and limits, remote servers (each a link
//! and a device), and the remote vectors a device snoops on.

use std::collections::HashMap;
use std::path::Path;

use toml::Spanned;

use super::Checker;
use super::link::is_host_port;
use crate::config::raw::{RawDevice, RawIndiRemote, RawIndiServer};
use crate::config::{DeviceSpec, DriverSpec, LinkSpec, SnoopSpec, TransportSpec};
use crate::config::{IndiServerSpec, OutboxLimits};
use crate::connection::RetryPolicy;
use crate::device::indi::IndiClientConfig;
use crate::protocol::indi::BlobMode;

/// `[indi.server]`: `None` when absent or `enabled = false`.
pub(super) fn server(
    c: &mut Checker,
    raw: Option<&Spanned<RawIndiServer>>,
) -> Option<IndiServerSpec> {
    let raw = raw?.get_ref();
    let mut spec = IndiServerSpec::default();
    c.host(raw.host.as_ref(), &mut spec.host);
    c.port(raw.port.as_ref(), &mut spec.port);
    if let Some(n) = &raw.max_clients {
        match usize::try_from(*n.get_ref()) {
            Ok(n) if (1..=1000).contains(&n) => spec.max_clients = n,
            _ => c.error(
                n.span(),
                format!("max-clients must be 1..=1000, found {}", n.get_ref()),
            ),
        }
    }
    if let Some(n) = &raw.max_per_address {
        match usize::try_from(*n.get_ref()) {
            Ok(n) if (1..=1000).contains(&n) => spec.max_per_address = n,
            _ => c.error(
                n.span(),
                format!("max-per-address must be 1..=1000, found {}", n.get_ref()),
            ),
        }
    }
    spec.handshake_timeout = c.duration(
        raw.handshake_timeout.as_ref(),
        "handshake-timeout",
        spec.handshake_timeout,
        false,
    );
    let mb = |c: &mut Checker, v: &Option<Spanned<f64>>, key: &str, default: usize| {
        let default_mb = default as f64 / 1_048_576.0;
        (c.positive(v.as_ref(), key, "MB", default_mb, false) * 1_048_576.0) as usize
    };
    spec.outbox = OutboxLimits {
        bytes: mb(c, &raw.queue_mb, "queue-mb", spec.outbox.bytes),
        blob_bytes: mb(
            c,
            &raw.blob_queue_mb,
            "blob-queue-mb",
            spec.outbox.blob_bytes,
        ),
    };
    if spec.outbox.blob_bytes > spec.outbox.bytes
        && let Some(v) = &raw.blob_queue_mb
    {
        c.error(v.span(), "blob-queue-mb must not exceed queue-mb");
    }
    raw.enabled.unwrap_or(true).then_some(spec)
}

/// `[[indi.remote]]`: each becomes a TCP link and an `indi` device, both
/// named after it.
pub(super) fn remote(
    c: &mut Checker,
    r: &RawIndiRemote,
    retry: RetryPolicy,
    data_dir: &Path,
) -> (LinkSpec, DeviceSpec) {
    let name = r.name.get_ref().clone();
    if !is_host_port(r.address.get_ref()) {
        c.error(
            r.address.span(),
            format!("address {:?} is not HOST:PORT", r.address.get_ref()),
        );
    }
    let mut cfg = IndiClientConfig {
        blob_dir: data_dir.join("blobs").join(&name),
        blobs: BlobMode::Never,
    };
    if let Some(dir) = &r.blob_dir {
        if dir.get_ref().trim().is_empty() {
            c.error(dir.span(), "blob-dir must not be empty");
        } else {
            cfg.blob_dir = c.path(dir.get_ref());
        }
    }
    if let Some(mode) = &r.blobs {
        let text = mode.get_ref();
        let found = ["Never", "Also", "Only"]
            .into_iter()
            .find(|m| m.eq_ignore_ascii_case(text))
            .and_then(BlobMode::parse);
        match found {
            Some(m) => cfg.blobs = m,
            None => c.error(
                mode.span(),
                format!("blobs must be never, also or only, found {text:?}"),
            ),
        }
    }
    let link = LinkSpec {
        name: name.clone(),
        transport: TransportSpec::Tcp {
            address: r.address.get_ref().clone(),
        },
        retry: c.retry(r.retry.as_ref(), retry),
        autoconnect: r.autoconnect.unwrap_or(true),
        capture: None,
    };
    let device = DeviceSpec {
        name: name.clone(),
        link: name,
        driver: DriverSpec::Indi(cfg),
        snoop: Vec::new(),
    };
    (link, device)
}

/// `snoop = ["REMOTE:DEVICE.VECTOR", …]` of a device.
pub(super) fn snoops(
    c: &mut Checker,
    d: &RawDevice,
    remotes: &HashMap<String, usize>,
) -> Vec<SnoopSpec> {
    let mut out = Vec::new();
    for entry in d.snoop.iter().flatten() {
        let text = entry.get_ref();
        let parsed = text.split_once(':').and_then(|(remote, rest)| {
            let (device, vector) = rest.rsplit_once('.')?;
            (!remote.is_empty() && !device.is_empty() && !vector.is_empty()).then(|| SnoopSpec {
                remote: remote.to_string(),
                device: device.to_string(),
                vector: vector.to_string(),
            })
        });
        match parsed {
            Some(spec) if remotes.contains_key(&spec.remote) => out.push(spec),
            Some(spec) => c.error(
                entry.span(),
                format!(
                    "snoop {text:?}: no [[indi.remote]] named {:?}; {}",
                    spec.remote,
                    super::known(remotes)
                ),
            ),
            None => c.error(
                entry.span(),
                format!(
                    "snoop {text:?} is not REMOTE:DEVICE.VECTOR (e.g. \"sky:Weather Simulator.WEATHER_STATUS\")"
                ),
            ),
        }
    }
    out
}
