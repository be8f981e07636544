//! Ports labdeck stands in front of for others: `[[link]]`s of type
//! `sniff` (a pty for another program, the real port behind it) and
//! `[[rfc2217]]` servers.

use std::collections::HashMap;

use toml::Spanned;

use super::link::{is_host_port, serial_settings, simulator_of};
use super::{Checker, known};
use crate::config::raw::{RawDevice, RawLink, RawRfc2217};
use crate::config::{PortSpec, Rfc2217Spec, SniffSpec};
use crate::sniff::Decode;

/// A `sniff` link: exactly one of path, simulator (a turbovac's virtual
/// port) or address; no device may use it (the other program is its user).
pub(super) fn sniffer(
    c: &mut Checker,
    l: &RawLink,
    sims: &HashMap<String, &str>,
    devices: &HashMap<&str, &RawDevice>,
) -> Option<SniffSpec> {
    let name = l.name.get_ref();
    if let Some(device) = devices.get(name.as_str()) {
        c.error(
            device.link.span(),
            format!(
                "link {name:?} is a sniff link: it carries another program's traffic, so no device can use it"
            ),
        );
    }
    if let Some(exclusive) = &l.exclusive {
        c.error(
            exclusive.span(),
            "exclusive does not apply to a sniff link (it always holds its port)",
        );
    }
    let decode = match &l.decode {
        None => Decode::None,
        Some(text) => match text.get_ref().parse() {
            Ok(decode) => decode,
            Err(e) => {
                c.error(
                    text.span(),
                    format!("decode: {e}, found {:?}", text.get_ref()),
                );
                Decode::None
            }
        },
    };
    let device = port(
        c,
        l.kind.span(),
        name,
        "a sniff link",
        l.path.as_ref(),
        l.simulator.as_ref(),
        l.address.as_ref(),
        sims,
    )?;
    let driver = match &device {
        PortSpec::Simulator(_) => Some("turbovac"),
        _ => None,
    };
    Some(SniffSpec {
        name: name.clone(),
        device,
        settings: serial_settings(c, l, driver),
        pty_link: l.pty_link.as_ref().map(|p| c.path(p.get_ref())),
        decode,
        capture: l.capture.as_ref().map(|p| c.path(p.get_ref())),
    })
}

/// `[[rfc2217]]` servers: a simulator's virtual port or a serial path,
/// on a port of their own, and never a simulator a link already opens.
pub(super) fn rfc2217_servers(
    c: &mut Checker,
    raw: &[Spanned<RawRfc2217>],
    sims: &HashMap<String, &str>,
    links: &[Spanned<RawLink>],
) -> Vec<Rfc2217Spec> {
    c.names("rfc2217 server", raw, |r| &r.name);
    let mut ports: HashMap<u16, &str> = HashMap::new();
    let mut out = Vec::new();
    for r in raw {
        let r = r.get_ref();
        let name = r.name.get_ref();
        let Some(port) = port(
            c,
            r.name.span(),
            name,
            "an rfc2217 server",
            r.path.as_ref(),
            r.simulator.as_ref(),
            None,
            sims,
        ) else {
            continue;
        };
        if let Some(sim) = &r.simulator
            && let Some(user) = links.iter().find(|l| {
                l.get_ref().simulator.as_ref().map(Spanned::get_ref) == Some(sim.get_ref())
            })
        {
            c.error(
                sim.span(),
                format!(
                    "simulator {:?} is opened by link {:?} already; its port takes one user",
                    sim.get_ref(),
                    user.get_ref().name.get_ref()
                ),
            );
        }
        let number = *r.port.get_ref();
        if number != 0
            && let Some(other) = ports.insert(number, name)
        {
            c.error(
                r.port.span(),
                format!("port {number} is taken by rfc2217 server {other:?} already"),
            );
        }
        let host = r
            .host
            .as_ref()
            .map_or("127.0.0.1", |h| h.get_ref().as_str());
        let listen = format!("{host}:{number}");
        if !is_host_port(&listen)
            && let Some(h) = &r.host
        {
            c.error(
                h.span(),
                format!("host {:?} is not a host name or address", h.get_ref()),
            );
        }
        out.push(Rfc2217Spec {
            name: name.clone(),
            port,
            listen,
        });
    }
    out
}

/// Exactly one of `path`, `simulator` (a turbovac's) or `address` (where
/// allowed).
#[allow(clippy::too_many_arguments)] // the three places a port can be named
fn port(
    c: &mut Checker,
    at: std::ops::Range<usize>,
    name: &str,
    what: &str,
    path: Option<&Spanned<String>>,
    simulator: Option<&Spanned<String>>,
    address: Option<&Spanned<String>>,
    sims: &HashMap<String, &str>,
) -> Option<PortSpec> {
    let given = [path.is_some(), simulator.is_some(), address.is_some()]
        .iter()
        .filter(|g| **g)
        .count();
    let takes = if what.starts_with("a sniff") {
        "path = \"/dev/…\", simulator = \"NAME\" or address = \"HOST:PORT\""
    } else {
        "path = \"/dev/…\" or simulator = \"NAME\""
    };
    if given != 1 {
        c.error(
            at,
            format!("{name:?}: {what} takes one of {takes}; {given} given"),
        );
        return None;
    }
    if let Some(path) = path {
        return Some(PortSpec::Path(c.path(path.get_ref())));
    }
    if let Some(sim) = simulator {
        if !sims.contains_key(sim.get_ref()) {
            c.error(
                sim.span(),
                format!("unknown simulator {:?}; {}", sim.get_ref(), known(sims)),
            );
            return None;
        }
        simulator_of(c, sim, sims, "turbovac", "sniff");
        return Some(PortSpec::Simulator(sim.get_ref().clone()));
    }
    let address = address?;
    if !is_host_port(address.get_ref()) {
        c.error(
            address.span(),
            format!("address {:?} is not HOST:PORT", address.get_ref()),
        );
    }
    Some(PortSpec::Address(address.get_ref().clone()))
}
