//! Finding and reading the configuration.

use std::path::{Path, PathBuf};

use super::error::{ConfigError, ConfigErrors, LoadError};
use super::raw::RawConfig;
use super::{Config, ConfigOrigin, validate};

/// The embedded demo: a simulated TURBOVAC pump on a virtual serial port,
/// driven by the pump driver through a connection manager.
pub const DEMO: &str = include_str!("demo.toml");

/// Where the configuration comes from: `--config`, else `./labdeck.toml`,
/// else `$XDG_CONFIG_HOME/labdeck/config.toml`, else the embedded demo.
pub fn discover(explicit: Option<&Path>) -> Result<(String, ConfigOrigin), LoadError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map(|text| (text, ConfigOrigin::File(path.to_path_buf())))
            .map_err(|source| LoadError::Read {
                path: path.to_path_buf(),
                source,
            })
    };
    if let Some(path) = explicit {
        return read(path);
    }
    let candidates = [
        Some(PathBuf::from("labdeck.toml")),
        directories::ProjectDirs::from("", "", "labdeck")
            .map(|d| d.config_dir().join("config.toml")),
    ];
    for path in candidates.into_iter().flatten() {
        if path.is_file() {
            return read(&path);
        }
    }
    Ok((DEMO.to_string(), ConfigOrigin::Demo))
}

/// Discover, read and validate.
pub fn load(explicit: Option<&Path>) -> Result<Config, LoadError> {
    let (text, origin) = discover(explicit)?;
    Ok(parse(&text, origin)?)
}

/// Parse and validate a configuration text.
pub fn parse(text: &str, origin: ConfigOrigin) -> Result<Config, ConfigErrors> {
    let name = origin.to_string();
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        ConfigErrors(vec![ConfigError::at(
            &name,
            text,
            span,
            e.message().trim_end(),
        )])
    })?;
    validate::validate(&raw, text, origin)
}
