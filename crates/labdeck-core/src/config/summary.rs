//! The one-screen summary `labdeck check` prints.

use std::fmt::Write as _;

use super::{Config, DriverSpec, SimulatorKind, TransportSpec};

impl Config {
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "config: {} (valid)", self.origin);
        let _ = writeln!(out, "simulators ({}):", self.simulators.len());
        for sim in &self.simulators {
            match &sim.kind {
                SimulatorKind::Turbovac(spec) => {
                    let link = spec
                        .link
                        .as_ref()
                        .map_or_else(String::new, |l| format!(", symlink {}", l.display()));
                    let _ = writeln!(
                        out,
                        "  {:<16} turbovac      {} profile, ramp {} Hz/s, auto-off {} s{link}",
                        sim.name,
                        spec.pump.profile.as_str(),
                        spec.pump.ramp_rate,
                        spec.pump.auto_off.as_secs_f64(),
                    );
                }
                SimulatorKind::Electrometer(spec) => {
                    let port = match spec.port {
                        0 => "a free port".to_string(),
                        p => format!("port {p}"),
                    };
                    let _ = writeln!(
                        out,
                        "  {:<16} electrometer  {} dialect on {} {port}{}",
                        sim.name,
                        spec.dialect.describe(),
                        spec.host,
                        if spec.unstable { ", unstable" } else { "" },
                    );
                }
            }
        }
        let _ = writeln!(out, "links ({}):", self.links.len() + self.sniffers.len());
        for link in &self.links {
            let target = match &link.transport {
                TransportSpec::Serial { path, settings } => {
                    format!("{} {}", path.display(), settings.summary())
                }
                TransportSpec::Virtual {
                    simulator,
                    settings,
                } => format!("{simulator} {}", settings.summary()),
                TransportSpec::Tcp { address } => address.clone(),
                TransportSpec::SimulatedTcp { simulator } => format!("{simulator} (its port)"),
                TransportSpec::Rfc2217 { address, settings } => {
                    format!("rfc2217://{address} {}", settings.summary())
                }
            };
            let r = &link.retry;
            let attempts = match r.max_attempts {
                0 => "unlimited".to_string(),
                n => n.to_string(),
            };
            let _ = writeln!(
                out,
                "  {:<16} {:<8}  {target}; retry {} s ×{} ≤ {} s, attempts {attempts}{}{}",
                link.name,
                link.transport.kind(),
                r.base.as_secs_f64(),
                r.factor,
                r.cap.as_secs_f64(),
                if link.autoconnect {
                    ""
                } else {
                    ", manual connect"
                },
                link.capture
                    .as_ref()
                    .map(|path| format!(", captured to {}", path.display()))
                    .unwrap_or_default(),
            );
        }
        for sniffer in &self.sniffers {
            let _ = writeln!(
                out,
                "  {:<16} sniff     {} {}; programs open {}; decode {:?}{}",
                sniffer.name,
                sniffer.device.describe(),
                sniffer.settings.summary(),
                sniffer
                    .pty_link
                    .as_ref()
                    .map_or_else(|| "a new pty".to_string(), |p| p.display().to_string()),
                sniffer.decode,
                sniffer
                    .capture
                    .as_ref()
                    .map(|path| format!(", captured to {}", path.display()))
                    .unwrap_or_default(),
            );
        }
        if !self.rfc2217.is_empty() {
            let _ = writeln!(out, "rfc2217 servers ({}):", self.rfc2217.len());
            for server in &self.rfc2217 {
                let _ = writeln!(
                    out,
                    "  {:<16} {} on rfc2217://{}",
                    server.name,
                    server.port.describe(),
                    server.listen
                );
            }
        }
        let _ = writeln!(out, "devices ({}):", self.devices.len());
        for device in &self.devices {
            match &device.driver {
                DriverSpec::Turbovac(cfg) => {
                    let _ = writeln!(
                        out,
                        "  {:<16} turbovac      on {}, poll {} s, reply timeout {} s",
                        device.name,
                        device.link,
                        cfg.poll_interval.as_secs_f64(),
                        cfg.reply_timeout.as_secs_f64(),
                    );
                }
                DriverSpec::Indi(cfg) => {
                    let _ = writeln!(
                        out,
                        "  {:<16} indi          remote INDI server on {}, BLOBs {} to {}",
                        device.name,
                        device.link,
                        cfg.blobs.word(),
                        cfg.blob_dir.display(),
                    );
                }
                DriverSpec::Electrometer(cfg) => {
                    let _ = writeln!(
                        out,
                        "  {:<16} electrometer  on {}, poll {} s, reply timeout {} s, fetch timeout {} s",
                        device.name,
                        device.link,
                        cfg.poll_interval.as_secs_f64(),
                        cfg.reply_timeout.as_secs_f64(),
                        cfg.fetch_timeout.as_secs_f64(),
                    );
                }
            }
        }
        for device in self.devices.iter().filter(|d| !d.snoop.is_empty()) {
            let list: Vec<String> = device
                .snoop
                .iter()
                .map(|s| format!("{}:{}.{}", s.remote, s.device, s.vector))
                .collect();
            let _ = writeln!(out, "  {:<16} snoops {}", device.name, list.join(", "));
        }
        match &self.indi_server {
            Some(spec) => {
                let _ = writeln!(
                    out,
                    "INDI server: {}:{}, up to {} clients ({} per address, {} s to say something), queue {} MB (BLOBs skipped past {} MB)",
                    spec.host,
                    spec.port,
                    spec.max_clients,
                    spec.max_per_address,
                    spec.handshake_timeout.as_secs_f64(),
                    spec.outbox.bytes as f64 / 1_048_576.0,
                    spec.outbox.blob_bytes as f64 / 1_048_576.0,
                );
            }
            None => {
                let _ = writeln!(out, "INDI server: off");
            }
        }
        let _ = write!(
            out,
            "logging: {}{}; traffic ring {} chunks or {} KiB per link",
            self.logging.level,
            self.logging
                .file
                .as_ref()
                .map_or_else(String::new, |f| format!(" to {}", f.display())),
            self.traffic.ring,
            self.traffic.ring_bytes / 1024,
        );
        out
    }
}
