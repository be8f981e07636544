//! Devices: the driver and its timing.

use std::time::Duration;

use super::Checker;
use crate::config::raw::RawDevice;
use crate::config::{DeviceSpec, DriverSpec};
use crate::device::electrometer::ElectrometerDriverConfig;
use crate::device::turbovac::PumpDriverConfig;

pub(super) fn device(c: &mut Checker, d: &RawDevice) -> Option<DeviceSpec> {
    let driver = match d.driver.get_ref().as_str() {
        "turbovac" => {
            for (value, key) in [
                (
                    d.fetch_timeout.as_ref().map(toml::Spanned::span),
                    "fetch-timeout",
                ),
                (d.terminator.as_ref().map(toml::Spanned::span), "terminator"),
            ] {
                if let Some(span) = value {
                    c.error(span, format!("{key} does not apply to the turbovac driver"));
                }
            }
            let defaults = PumpDriverConfig::default();
            let cfg = PumpDriverConfig {
                poll_interval: c.duration(
                    d.poll_interval.as_ref(),
                    "poll-interval",
                    defaults.poll_interval,
                    false,
                ),
                reply_timeout: c.duration(
                    d.reply_timeout.as_ref(),
                    "reply-timeout",
                    defaults.reply_timeout,
                    false,
                ),
                alarm_after: alarm_after(c, d, defaults.alarm_after),
            };
            if cfg.poll_interval > Duration::from_secs(5)
                && let Some(p) = &d.poll_interval
            {
                c.error(
                    p.span(),
                    "poll-interval above 5 s lets the pump switch itself off (it needs an ON telegram within 10 s)",
                );
            }
            DriverSpec::Turbovac(cfg)
        }
        "electrometer" => DriverSpec::Electrometer(electrometer(c, d)),
        "indi" => {
            c.error(
                d.driver.span(),
                "a remote INDI server is configured with [[indi.remote]] (name, address), not [[device]]",
            );
            return None;
        }
        other => {
            c.error(
                d.driver.span(),
                format!("unknown driver {other:?}; expected turbovac or electrometer"),
            );
            return None;
        }
    };
    Some(DeviceSpec {
        name: d.name.get_ref().clone(),
        link: d.link.get_ref().clone(),
        driver,
        snoop: Vec::new(),
    })
}

fn alarm_after(c: &mut Checker, d: &RawDevice, default: u32) -> u32 {
    match &d.alarm_after {
        Some(n) if *n.get_ref() >= 1 => *n.get_ref(),
        Some(n) => {
            c.error(n.span(), "alarm-after must be at least 1");
            default
        }
        None => default,
    }
}

fn electrometer(c: &mut Checker, d: &RawDevice) -> ElectrometerDriverConfig {
    let defaults = ElectrometerDriverConfig::default();
    let seconds = |c: &mut Checker, v, key, default: Duration| c.duration(v, key, default, false);
    let mut cfg = ElectrometerDriverConfig {
        poll_interval: seconds(
            c,
            d.poll_interval.as_ref(),
            "poll-interval",
            defaults.poll_interval,
        ),
        reply_timeout: seconds(
            c,
            d.reply_timeout.as_ref(),
            "reply-timeout",
            defaults.reply_timeout,
        ),
        fetch_timeout: seconds(
            c,
            d.fetch_timeout.as_ref(),
            "fetch-timeout",
            defaults.fetch_timeout,
        ),
        alarm_after: alarm_after(c, d, defaults.alarm_after),
        terminator: defaults.terminator,
    };
    if let Some(term) = &d.terminator {
        match term.get_ref().as_str() {
            "\n" | "\r" | "\r\n" => cfg.terminator = term.get_ref().as_bytes().to_vec(),
            other => c.error(
                term.span(),
                format!("terminator must be \"\\n\", \"\\r\" or \"\\r\\n\", found {other:?}"),
            ),
        }
    }
    cfg
}
