//! Links: transport kind, the keys each kind takes, serial settings.

use std::collections::HashMap;
use std::ops::Range;

use super::{Checker, known};
use crate::config::raw::RawLink;
use crate::config::{LinkSpec, TransportSpec};
use crate::connection::RetryPolicy;
use crate::device::turbovac::SERIAL as PUMP_SERIAL;
use crate::link::{DataBits, SerialSettings, StopBits};

pub(super) fn link(
    c: &mut Checker,
    l: &RawLink,
    sims: &HashMap<String, &str>,
    defaults: RetryPolicy,
    driver: Option<&str>,
) -> Option<LinkSpec> {
    let retry = c.retry(l.retry.as_ref(), defaults);
    let capture = l.capture.as_ref().map(|path| c.path(path.get_ref()));
    let kind = l.kind.get_ref().as_str();
    let serial_keys = [
        (l.baud.as_ref().map(toml::Spanned::span), "baud"),
        (l.data_bits.as_ref().map(toml::Spanned::span), "data-bits"),
        (l.parity.as_ref().map(toml::Spanned::span), "parity"),
        (l.stop_bits.as_ref().map(toml::Spanned::span), "stop-bits"),
        (
            l.flow_control.as_ref().map(toml::Spanned::span),
            "flow-control",
        ),
        (l.exclusive.as_ref().map(toml::Spanned::span), "exclusive"),
    ];
    let misplaced = |c: &mut Checker, span: Option<Range<usize>>, key: &str| {
        if let Some(span) = span {
            c.error(
                span,
                format!("{key} does not apply to {} link", article(kind)),
            );
        }
    };
    for (span, key) in [
        (l.pty_link.as_ref().map(toml::Spanned::span), "pty-link"),
        (l.decode.as_ref().map(toml::Spanned::span), "decode"),
    ] {
        misplaced(c, span, key);
    }
    let transport = match kind {
        "serial" | "virtual" => {
            misplaced(c, l.address.as_ref().map(toml::Spanned::span), "address");
            let settings = serial_settings(c, l, driver);
            if kind == "serial" {
                misplaced(
                    c,
                    l.simulator.as_ref().map(toml::Spanned::span),
                    "simulator",
                );
                let Some(path) = &l.path else {
                    c.error(
                        l.kind.span(),
                        format!(
                            "link {:?}: a serial link needs path = \"/dev/…\"",
                            l.name.get_ref()
                        ),
                    );
                    return None;
                };
                TransportSpec::Serial {
                    path: c.path(path.get_ref()),
                    settings,
                }
            } else {
                misplaced(c, l.path.as_ref().map(toml::Spanned::span), "path");
                let Some(sim) = &l.simulator else {
                    c.error(
                        l.kind.span(),
                        format!(
                            "link {:?}: a virtual link needs simulator = \"NAME\"",
                            l.name.get_ref()
                        ),
                    );
                    return None;
                };
                simulator_of(c, sim, sims, "turbovac", "virtual");
                TransportSpec::Virtual {
                    simulator: sim.get_ref().clone(),
                    settings,
                }
            }
        }
        "rfc2217" => {
            misplaced(c, l.path.as_ref().map(toml::Spanned::span), "path");
            misplaced(
                c,
                l.simulator.as_ref().map(toml::Spanned::span),
                "simulator",
            );
            misplaced(
                c,
                l.exclusive.as_ref().map(toml::Spanned::span),
                "exclusive",
            );
            let settings = serial_settings(c, l, driver);
            let address = address(
                c,
                l,
                "an rfc2217 link needs address = \"HOST:PORT\" (a ser2net telnet(rfc2217) port)",
            )?;
            TransportSpec::Rfc2217 { address, settings }
        }
        "tcp" => {
            misplaced(c, l.path.as_ref().map(toml::Spanned::span), "path");
            for (span, key) in serial_keys {
                misplaced(c, span, key);
            }
            match (&l.address, &l.simulator) {
                (Some(_), Some(sim)) => {
                    c.error(
                        sim.span(),
                        "a tcp link takes address or simulator, not both",
                    );
                    return None;
                }
                (None, Some(sim)) => {
                    simulator_of(c, sim, sims, "electrometer", "tcp");
                    return Some(spec(
                        l,
                        TransportSpec::SimulatedTcp {
                            simulator: sim.get_ref().clone(),
                        },
                        retry,
                        capture,
                    ));
                }
                _ => {}
            }
            let address = address(
                c,
                l,
                "a tcp link needs address = \"HOST:PORT\" or simulator = \"NAME\"",
            )?;
            TransportSpec::Tcp { address }
        }
        other => {
            c.error(
                l.kind.span(),
                format!("unknown link type {other:?}; expected serial, virtual, tcp or rfc2217"),
            );
            return None;
        }
    };
    Some(spec(l, transport, retry, capture))
}

fn spec(
    l: &RawLink,
    transport: TransportSpec,
    retry: RetryPolicy,
    capture: Option<std::path::PathBuf>,
) -> LinkSpec {
    LinkSpec {
        name: l.name.get_ref().clone(),
        transport,
        retry,
        autoconnect: l.autoconnect.unwrap_or(true),
        capture,
    }
}

/// The link's `address`, checked to be HOST:PORT; `needs` says what is
/// missing when there is none.
fn address(c: &mut Checker, l: &RawLink, needs: &str) -> Option<String> {
    let Some(address) = &l.address else {
        c.error(
            l.kind.span(),
            format!("link {:?}: {needs}", l.name.get_ref()),
        );
        return None;
    };
    if !is_host_port(address.get_ref()) {
        c.error(
            address.span(),
            format!("address {:?} is not HOST:PORT", address.get_ref()),
        );
    }
    Some(address.get_ref().clone())
}

/// "a turbovac", "an electrometer".
pub(super) fn article(word: &str) -> String {
    // "an rfc2217": said letter by letter.
    let an = word.starts_with(['a', 'e', 'i', 'o', 'u']) || word.starts_with("rfc");
    format!("{} {word}", if an { "an" } else { "a" })
}

/// The simulator a link leads to must exist and serve that kind of link.
pub(super) fn simulator_of(
    c: &mut Checker,
    sim: &toml::Spanned<String>,
    sims: &HashMap<String, &str>,
    wanted: &str,
    link_kind: &str,
) {
    match sims.get(sim.get_ref()) {
        None => c.error(
            sim.span(),
            format!("unknown simulator {:?}; {}", sim.get_ref(), known(sims)),
        ),
        Some(kind) if *kind != wanted => c.error(
            sim.span(),
            format!(
                "simulator {:?} is {} simulator; {} link leads to {} simulator",
                sim.get_ref(),
                article(kind),
                article(link_kind),
                article(wanted)
            ),
        ),
        Some(_) => {}
    }
}

pub(super) fn serial_settings(
    c: &mut Checker,
    l: &RawLink,
    driver: Option<&str>,
) -> SerialSettings {
    let mut s = match driver {
        Some("turbovac") => PUMP_SERIAL,
        _ => SerialSettings::DEFAULT,
    };
    if let Some(baud) = &l.baud {
        if *baud.get_ref() > 0 {
            s.baud = *baud.get_ref();
        } else {
            c.error(baud.span(), "baud must be more than zero");
        }
    }
    if let Some(bits) = &l.data_bits {
        if (5..=8).contains(bits.get_ref()) {
            s.data_bits = DataBits(*bits.get_ref());
        } else {
            c.error(
                bits.span(),
                format!("data-bits must be 5, 6, 7 or 8, found {}", bits.get_ref()),
            );
        }
    }
    if let Some(bits) = &l.stop_bits {
        if (1..=2).contains(bits.get_ref()) {
            s.stop_bits = StopBits(*bits.get_ref());
        } else {
            c.error(
                bits.span(),
                format!("stop-bits must be 1 or 2, found {}", bits.get_ref()),
            );
        }
    }
    if let Some(parity) = &l.parity {
        match parity.get_ref().parse() {
            Ok(p) => s.parity = p,
            Err(e) => c.error(parity.span(), format!("parity {:?}: {e}", parity.get_ref())),
        }
    }
    if let Some(flow) = &l.flow_control {
        match flow.get_ref().parse() {
            Ok(f) => s.flow_control = f,
            Err(e) => c.error(
                flow.span(),
                format!("flow-control {:?}: {e}", flow.get_ref()),
            ),
        }
    }
    if let Some(exclusive) = &l.exclusive {
        s.exclusive = *exclusive.get_ref();
    }
    s
}

/// `HOST:PORT` with a non-zero port.
pub(super) fn is_host_port(text: &str) -> bool {
    text.rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
}
