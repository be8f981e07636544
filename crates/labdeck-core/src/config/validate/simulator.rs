//! Simulators: the type, the keys each type takes, their ranges.

use std::ops::Range;

use super::Checker;
use super::link::article;
use crate::config::raw::RawSimulator;
use crate::config::{SimulatorKind, SimulatorSpec};
use crate::sim::electrometer::{Brand, DialectSpec, ElectrometerSimSpec};
use crate::sim::turbovac::{Profile, PumpConfig, TurbovacSimSpec};

pub(super) fn simulator(c: &mut Checker, s: &RawSimulator) -> Option<SimulatorSpec> {
    let name = s.name.get_ref().clone();
    let kind = s.kind.get_ref().as_str();
    let (turbovac_keys, electrometer_keys) = keys(s);
    let misplaced = |c: &mut Checker, keys: &[(Option<Range<usize>>, &str)]| {
        for (span, key) in keys {
            if let Some(span) = span {
                c.error(
                    span.clone(),
                    format!("{key} does not apply to {} simulator", article(kind)),
                );
            }
        }
    };
    let kind = match kind {
        "turbovac" => {
            misplaced(c, &electrometer_keys);
            SimulatorKind::Turbovac(turbovac(c, s))
        }
        "electrometer" => {
            misplaced(c, &turbovac_keys);
            SimulatorKind::Electrometer(electrometer(c, s))
        }
        other => {
            c.error(
                s.kind.span(),
                format!("unknown simulator type {other:?}; expected turbovac or electrometer"),
            );
            return None;
        }
    };
    Some(SimulatorSpec { name, kind })
}

type Keys = Vec<(Option<Range<usize>>, &'static str)>;

/// The keys of each type that were given, with their spans.
fn keys(s: &RawSimulator) -> (Keys, Keys) {
    fn at<T>(v: Option<&toml::Spanned<T>>) -> Option<Range<usize>> {
        v.map(toml::Spanned::span)
    }
    let turbovac = vec![
        (at(s.profile.as_ref()), "profile"),
        (at(s.link.as_ref()), "link"),
        (at(s.ramp_rate.as_ref()), "ramp-rate"),
        (at(s.decel_rate.as_ref()), "decel-rate"),
        (at(s.auto_off.as_ref()), "auto-off"),
        (at(s.wire_timing.as_ref()), "wire-timing"),
        (at(s.flicker.as_ref()), "flicker"),
        (at(s.ambient.as_ref()), "ambient"),
    ];
    let electrometer = vec![
        (at(s.dialect.as_ref()), "dialect"),
        (at(s.brand.as_ref()), "brand"),
        (at(s.strict.as_ref()), "strict"),
        (at(s.host.as_ref()), "host"),
        (at(s.port.as_ref()), "port"),
        (at(s.terminator.as_ref()), "terminator"),
        (at(s.max_line.as_ref()), "max-line"),
        (at(s.write_timeout.as_ref()), "write-timeout"),
        (at(s.unstable.as_ref()), "unstable"),
        (at(s.speed.as_ref()), "speed"),
        (at(s.line_frequency.as_ref()), "line-frequency"),
        (at(s.current.as_ref()), "current"),
        (at(s.noise.as_ref()), "noise"),
    ];
    (turbovac, electrometer)
}

fn turbovac(c: &mut Checker, s: &RawSimulator) -> TurbovacSimSpec {
    let profile = match &s.profile {
        None => Profile::Compat,
        Some(p) => match p.get_ref().parse() {
            Ok(profile) => profile,
            Err(e) => {
                c.error(p.span(), e);
                Profile::Compat
            }
        },
    };
    let mut pump = PumpConfig::for_profile(profile);
    pump.ramp_rate = c.positive(
        s.ramp_rate.as_ref(),
        "ramp-rate",
        "Hz/s",
        pump.ramp_rate,
        false,
    );
    pump.decel_rate = c.positive(
        s.decel_rate.as_ref(),
        "decel-rate",
        "Hz/s",
        pump.ramp_rate,
        false,
    );
    pump.auto_off = c.duration(s.auto_off.as_ref(), "auto-off", pump.auto_off, false);
    pump.wire_timing = s.wire_timing.as_ref().is_some_and(|v| *v.get_ref());
    pump.flicker = s.flicker.as_ref().is_some_and(|v| *v.get_ref());
    if let Some(ambient) = &s.ambient {
        if (-40.0..=80.0).contains(ambient.get_ref()) {
            pump.ambient = *ambient.get_ref();
        } else {
            c.error(
                ambient.span(),
                format!("ambient must be -40..=80 °C, found {}", ambient.get_ref()),
            );
        }
    }
    if profile == Profile::Compat {
        for (value, key) in [(&s.wire_timing, "wire-timing"), (&s.flicker, "flicker")] {
            if let Some(v) = value.as_ref().filter(|v| *v.get_ref()) {
                c.error(v.span(), format!("{key} needs profile = \"realistic\""));
            }
        }
    }
    let link = s.link.as_ref().map(|l| c.path(l.get_ref()));
    TurbovacSimSpec {
        pump,
        link,
        replay: None,
    }
}

fn electrometer(c: &mut Checker, s: &RawSimulator) -> ElectrometerSimSpec {
    let mut spec = ElectrometerSimSpec::default();
    let brand = match &s.brand {
        None => Brand::Keithley,
        Some(b) => Brand::parse(b.get_ref()).unwrap_or_else(|| {
            c.error(
                b.span(),
                format!(
                    "unknown brand {:?}; expected keithley or keysight",
                    b.get_ref()
                ),
            );
            Brand::Keithley
        }),
    };
    let strict = s.strict.as_ref().is_some_and(|v| *v.get_ref());
    spec.dialect = match s.dialect.as_ref().map(|d| (d.get_ref().as_str(), d.span())) {
        None | Some(("scpi", _)) => DialectSpec::Scpi,
        Some(("lsst", _)) => DialectSpec::Lsst { brand, strict },
        Some((other, span)) => {
            c.error(
                span,
                format!("unknown dialect {other:?}; expected scpi or lsst"),
            );
            DialectSpec::Scpi
        }
    };
    if spec.dialect == DialectSpec::Scpi {
        for (value, key) in [
            (&s.brand.as_ref().map(toml::Spanned::span), "brand"),
            (&s.strict.as_ref().map(toml::Spanned::span), "strict"),
        ] {
            if let Some(span) = value {
                c.error(
                    span.clone(),
                    format!("{key} applies to dialect = \"lsst\" only"),
                );
            }
        }
    }
    c.host(s.host.as_ref(), &mut spec.host);
    c.port(s.port.as_ref(), &mut spec.port);
    if let Some(term) = &s.terminator {
        match term.get_ref().as_str() {
            "\n" | "\r" | "\r\n" => spec.terminator = term.get_ref().as_bytes().to_vec(),
            other => c.error(
                term.span(),
                format!("terminator must be \"\\n\", \"\\r\" or \"\\r\\n\", found {other:?}"),
            ),
        }
    }
    if let Some(max) = &s.max_line {
        match usize::try_from(*max.get_ref()) {
            Ok(n) if (64..=16 * 1024 * 1024).contains(&n) => spec.max_line = n,
            _ => c.error(
                max.span(),
                format!(
                    "max-line must be 64..=16777216 bytes, found {}",
                    max.get_ref()
                ),
            ),
        }
    }
    spec.write_timeout = c.duration(
        s.write_timeout.as_ref(),
        "write-timeout",
        spec.write_timeout,
        false,
    );
    spec.unstable = s.unstable.as_ref().is_some_and(|v| *v.get_ref());
    spec.speed = c.positive(
        s.speed.as_ref(),
        "speed",
        "(simulated seconds per second)",
        spec.speed,
        false,
    );
    spec.line_frequency = c.positive(
        s.line_frequency.as_ref(),
        "line-frequency",
        "Hz",
        spec.line_frequency,
        false,
    );
    if let Some(current) = &s.current {
        if current.get_ref().is_finite() && current.get_ref().abs() <= 20e-3 {
            spec.signal.current = *current.get_ref();
        } else {
            c.error(
                current.span(),
                format!(
                    "current must be within ±20 mA (the largest range), found {}",
                    current.get_ref()
                ),
            );
        }
    }
    if let Some(noise) = &s.noise {
        if (0.0..=1.0).contains(noise.get_ref()) {
            spec.signal.noise = *noise.get_ref();
        } else {
            c.error(
                noise.span(),
                format!("noise is relative, 0..=1, found {}", noise.get_ref()),
            );
        }
    }
    spec
}
