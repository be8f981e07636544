//! Semantic checks of a parsed configuration. Every problem is collected
//! with the span of the value it is about, so one run reports them all.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

mod device;
mod indi;
mod link;
mod macros;
mod ports;
mod simulator;

use device::device;
use link::link;
use simulator::simulator;

use super::error::{ConfigError, ConfigErrors};
use super::raw::{RawConfig, RawDevice, RawRetry};
use super::{
    Config, ConfigOrigin, DeviceSpec, LinkSpec, LoggingSettings, SimulatorSpec, SniffSpec,
    TrafficSettings,
};

/// A number as a reader would write it: huge and tiny ones in exponent form.
fn shown(value: f64) -> String {
    if value != 0.0 && !(1e-3..1e6).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

/// The shortest non-zero duration a configuration may ask for.
pub const MIN_DURATION: Duration = Duration::from_millis(1);
/// The longest: one day. Longer timers are mistakes, and deadlines
/// computed from them must not overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(86_400);
use crate::connection::RetryPolicy;
use crate::device::TaskSettings;

struct Checker<'a> {
    origin: String,
    text: &'a str,
    base: Option<PathBuf>,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors
            .push(ConfigError::at(&self.origin, self.text, span, message));
    }

    /// A duration in seconds: at least [`MIN_DURATION`] (or zero when
    /// allowed) and at most [`MAX_DURATION`], so every timer it sets can
    /// be armed.
    fn duration(
        &mut self,
        value: Option<&Spanned<f64>>,
        key: &str,
        default: Duration,
        zero_ok: bool,
    ) -> Duration {
        let Some(v) = value else { return default };
        let secs = *v.get_ref();
        let (min, max) = (MIN_DURATION.as_secs_f64(), MAX_DURATION.as_secs_f64());
        if zero_ok && secs == 0.0 {
            return Duration::ZERO;
        }
        if secs.is_finite() && (min..=max).contains(&secs) {
            return Duration::from_secs_f64(secs);
        }
        let lowest = if zero_ok {
            "0".to_string()
        } else {
            min.to_string()
        };
        self.error(
            v.span(),
            format!(
                "{key} must be {lowest}..={max} seconds, found {}",
                shown(secs)
            ),
        );
        default
    }

    /// A quantity that must be positive (or zero when allowed).
    fn positive(
        &mut self,
        value: Option<&Spanned<f64>>,
        key: &str,
        unit: &str,
        default: f64,
        zero_ok: bool,
    ) -> f64 {
        let Some(v) = value else { return default };
        let ok =
            v.get_ref().is_finite() && (*v.get_ref() > 0.0 || (zero_ok && *v.get_ref() == 0.0));
        if !ok {
            let wanted = if zero_ok {
                "zero or more"
            } else {
                "more than zero"
            };
            self.error(
                v.span(),
                format!(
                    "{key} must be {wanted} {unit}, found {}",
                    shown(*v.get_ref())
                ),
            );
            return default;
        }
        *v.get_ref()
    }

    /// A listening host: anything but empty.
    fn host(&mut self, raw: Option<&Spanned<String>>, into: &mut String) {
        let Some(host) = raw else { return };
        if host.get_ref().trim().is_empty() {
            self.error(
                host.span(),
                "host must not be empty (127.0.0.1 for loopback)",
            );
        } else {
            into.clone_from(host.get_ref());
        }
    }

    /// A listening port; 0 picks a free one.
    fn port(&mut self, raw: Option<&Spanned<i64>>, into: &mut u16) {
        let Some(port) = raw else { return };
        match u16::try_from(*port.get_ref()) {
            Ok(p) => *into = p,
            Err(_) => self.error(
                port.span(),
                format!(
                    "port must be 0..=65535 (0 picks a free one), found {}",
                    port.get_ref()
                ),
            ),
        }
    }

    fn path(&self, text: &str) -> PathBuf {
        let path = PathBuf::from(text);
        match (&self.base, path.is_relative()) {
            (Some(base), true) => base.join(path),
            _ => path,
        }
    }

    fn retry(&mut self, raw: Option<&RawRetry>, defaults: RetryPolicy) -> RetryPolicy {
        let Some(raw) = raw else { return defaults };
        let mut policy = defaults;
        policy.base = self.duration(raw.base.as_ref(), "base", defaults.base, false);
        policy.cap = self.duration(raw.cap.as_ref(), "cap", defaults.cap, false);
        policy.stable_after = self.duration(
            raw.stable_after.as_ref(),
            "stable-after",
            defaults.stable_after,
            true,
        );
        policy.open_timeout = self.duration(
            raw.open_timeout.as_ref(),
            "open-timeout",
            defaults.open_timeout,
            false,
        );
        if let Some(factor) = &raw.factor {
            if factor.get_ref().is_finite() && *factor.get_ref() >= 1.0 {
                policy.factor = *factor.get_ref();
            } else {
                self.error(
                    factor.span(),
                    format!("factor must be 1 or more, found {}", factor.get_ref()),
                );
            }
        }
        if let Some(n) = raw.max_attempts {
            policy.max_attempts = n;
        }
        if let Some(on) = raw.auto_reconnect {
            policy.auto_reconnect = on;
        }
        if policy.cap < policy.base
            && let Some(cap) = &raw.cap
        {
            self.error(
                cap.span(),
                format!(
                    "cap ({} s) is below base ({} s)",
                    policy.cap.as_secs_f64(),
                    policy.base.as_secs_f64()
                ),
            );
        }
        policy
    }

    /// Report names defined twice; returns name → index.
    fn names<T>(
        &mut self,
        what: &str,
        items: &[Spanned<T>],
        name: impl Fn(&T) -> &Spanned<String>,
    ) -> HashMap<String, usize> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let n = name(item.get_ref());
            if n.get_ref().trim().is_empty() {
                self.error(n.span(), format!("{what} name must not be empty"));
                continue;
            }
            if let Some(&first) = seen.get(n.get_ref()) {
                let first_line =
                    ConfigError::at("", self.text, name(items[first].get_ref()).span(), "").line;
                self.error(
                    n.span(),
                    format!(
                        "duplicate {what} name {:?} (first defined on line {first_line})",
                        n.get_ref()
                    ),
                );
            } else {
                seen.insert(n.get_ref().clone(), i);
            }
        }
        seen
    }
}

fn known<V>(names: &HashMap<String, V>) -> String {
    if names.is_empty() {
        return "none are defined".into();
    }
    let mut list: Vec<&str> = names.keys().map(String::as_str).collect();
    list.sort_unstable();
    format!("defined: {}", list.join(", "))
}

pub(super) fn validate(
    raw: &RawConfig,
    text: &str,
    origin: ConfigOrigin,
) -> Result<Config, ConfigErrors> {
    let base = match &origin {
        ConfigOrigin::File(path) => path.parent().map(Path::to_path_buf),
        ConfigOrigin::Demo => None,
    };
    let mut c = Checker {
        origin: origin.to_string(),
        text,
        base,
        errors: Vec::new(),
    };

    let logging = logging(&mut c, raw);
    let traffic = traffic(&mut c, raw);
    let tasks = tasks(&mut c, raw);
    let retry_defaults = c.retry(raw.retry.as_ref(), RetryPolicy::default());

    c.names("simulator", &raw.simulator, |s| &s.name);
    // Which type each simulator is, for the links that lead to one.
    let sim_kinds: HashMap<String, &str> = raw
        .simulator
        .iter()
        .map(|s| {
            (
                s.get_ref().name.get_ref().clone(),
                s.get_ref().kind.get_ref().as_str(),
            )
        })
        .collect();
    let link_names = c.names("link", &raw.link, |l| &l.name);
    c.names("device", &raw.device, |d| &d.name);

    let simulators: Vec<SimulatorSpec> = raw
        .simulator
        .iter()
        .filter_map(|s| simulator(&mut c, s.get_ref()))
        .collect();

    // Which driver sits on each link, to pick serial defaults.
    let mut driver_of: HashMap<&str, &RawDevice> = HashMap::new();
    for device in &raw.device {
        let device = device.get_ref();
        let link = device.link.get_ref().as_str();
        if !link_names.contains_key(link) {
            c.error(
                device.link.span(),
                format!(
                    "unknown link {link:?} for device {:?}; {}",
                    device.name.get_ref(),
                    known(&link_names)
                ),
            );
        } else if let Some(other) = driver_of.insert(link, device) {
            c.error(
                device.link.span(),
                format!(
                    "link {link:?} is already used by device {:?}; a link carries one device",
                    other.name.get_ref()
                ),
            );
        }
    }

    let (sniff_links, other_links): (Vec<_>, Vec<_>) = raw
        .link
        .iter()
        .partition(|l| l.get_ref().kind.get_ref() == "sniff");
    let links: Vec<LinkSpec> = other_links
        .into_iter()
        .filter_map(|l| {
            let l = l.get_ref();
            let driver = driver_of
                .get(l.name.get_ref().as_str())
                .map(|d| d.driver.get_ref().as_str());
            link(&mut c, l, &sim_kinds, retry_defaults, driver)
        })
        .collect();
    let sniffers: Vec<SniffSpec> = sniff_links
        .into_iter()
        .filter_map(|l| ports::sniffer(&mut c, l.get_ref(), &sim_kinds, &driver_of))
        .collect();
    let rfc2217 = ports::rfc2217_servers(&mut c, &raw.rfc2217, &sim_kinds, &raw.link);

    let no_remotes = Vec::new();
    let remotes = raw.indi.as_ref().map_or(&no_remotes, |i| &i.remote);
    let remote_names = c.names("INDI remote", remotes, |r| &r.name);
    for r in remotes {
        let name = r.get_ref().name.get_ref();
        let clash = if link_names.contains_key(name) {
            Some("link")
        } else if raw
            .device
            .iter()
            .any(|d| d.get_ref().name.get_ref() == name)
        {
            Some("device")
        } else {
            None
        };
        if let Some(what) = clash {
            c.error(
                r.get_ref().name.span(),
                format!("INDI remote {name:?}: a {what} has that name already (a remote is a link and a device of its name)"),
            );
        }
    }

    let mut devices: Vec<DeviceSpec> = raw
        .device
        .iter()
        .filter_map(|d| {
            let mut spec = device(&mut c, d.get_ref())?;
            spec.snoop = indi::snoops(&mut c, d.get_ref(), &remote_names);
            Some(spec)
        })
        .collect();
    let mut links = links;
    for r in remotes {
        let (link, device) = indi::remote(&mut c, r.get_ref(), retry_defaults, &tasks.data_dir);
        links.push(link);
        devices.push(device);
    }
    let indi_server = indi::server(&mut c, raw.indi.as_ref().and_then(|i| i.server.as_ref()));
    // A macro names a link, or a device standing for its link.
    let targets: HashMap<String, usize> = links
        .iter()
        .map(|l| l.name.clone())
        .chain(devices.iter().map(|d| d.name.clone()))
        .map(|name| (name, 0))
        .collect();
    let macros = macros::macros(&mut c, &raw.macros, &targets);

    c.errors.sort_by_key(|e| (e.line, e.column));
    if c.errors.is_empty() {
        Ok(Config {
            origin,
            logging,
            traffic,
            tasks,
            simulators,
            links,
            devices,
            indi_server,
            macros,
            timeline: None,
            sniffers,
            rfc2217,
        })
    } else {
        Err(ConfigErrors(c.errors))
    }
}

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

fn logging(c: &mut Checker, raw: &RawConfig) -> LoggingSettings {
    let mut settings = LoggingSettings {
        level: "info".into(),
        file: None,
    };
    let Some(logging) = &raw.logging else {
        return settings;
    };
    if let Some(level) = &logging.level {
        let text = level.get_ref();
        // A bare word must be a level; anything with directives must parse
        // as a tracing filter ("info,labdeck::connection=debug").
        let valid = if text.contains(['=', ',']) {
            tracing_subscriber::EnvFilter::try_new(text).is_ok()
        } else {
            LEVELS.contains(&text.to_ascii_lowercase().as_str())
        };
        if valid {
            settings.level.clone_from(text);
        } else {
            c.error(
                level.span(),
                format!("level {text:?} is not a log level or filter; use error, warn, info, debug or trace"),
            );
        }
    }
    if let Some(file) = &logging.file {
        settings.file = Some(c.path(file.get_ref()));
    }
    settings
}

fn tasks(c: &mut Checker, raw: &RawConfig) -> TaskSettings {
    let mut settings = TaskSettings::default();
    let Some(tasks) = &raw.tasks else {
        return settings;
    };
    if let Some(dir) = &tasks.data_dir {
        if dir.get_ref().trim().is_empty() {
            c.error(dir.span(), "data-dir must not be empty");
        } else {
            settings.data_dir = c.path(dir.get_ref());
        }
    }
    if let Some(limit) = &tasks.queue_limit {
        match usize::try_from(*limit.get_ref()) {
            Ok(n) if (1..=10_000).contains(&n) => settings.queue_limit = n,
            _ => c.error(
                limit.span(),
                format!(
                    "queue-limit must be 1..=10000 tasks, found {}",
                    limit.get_ref()
                ),
            ),
        }
    }
    if let Some(netcdf) = &tasks.netcdf {
        settings.netcdf = *netcdf.get_ref();
        if settings.netcdf && !cfg!(feature = "netcdf") {
            c.error(
                netcdf.span(),
                "this labdeck was built without NetCDF: build it with `cargo build --features netcdf` (needs libnetcdf-dev), or leave netcdf off (CSV only)",
            );
        }
    }
    settings
}

fn traffic(c: &mut Checker, raw: &RawConfig) -> TrafficSettings {
    let mut settings = TrafficSettings::default();
    let Some(traffic) = &raw.traffic else {
        return settings;
    };
    for (value, key, slot, range) in [
        (&traffic.ring, "ring", &mut settings.ring, 1..=10_000_000u64),
        (
            &traffic.ring_bytes,
            "ring-bytes",
            &mut settings.ring_bytes,
            4096..=1 << 30,
        ),
        (
            &traffic.events,
            "events",
            &mut settings.events,
            16..=1_000_000u64,
        ),
    ] {
        if let Some(v) = value {
            if range.contains(v.get_ref()) {
                *slot = *v.get_ref() as usize;
            } else {
                c.error(
                    v.span(),
                    format!(
                        "traffic.{key} must be {}..={}, found {}",
                        range.start(),
                        range.end(),
                        v.get_ref()
                    ),
                );
            }
        }
    }
    settings
}
