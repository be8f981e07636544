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
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = ConfigOrigin::File(path.to_path_buf());
        match String::from_utf8(bytes) {
            Ok(text) => Ok((text, origin)),
            Err(e) => Err(not_utf8(&origin, e.as_bytes()).into()),
        }
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

/// Where a file stops being UTF-8, as line and column.
pub fn not_utf8(origin: &ConfigOrigin, bytes: &[u8]) -> ConfigErrors {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    };
    // The line as far as it can be shown, for the excerpt.
    let line_end = bytes[valid..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |i| valid + i);
    let text = String::from_utf8_lossy(&bytes[..line_end]);
    let at = String::from_utf8_lossy(&bytes[..valid]).len();
    let byte = bytes.get(valid).copied().unwrap_or_default();
    ConfigErrors(vec![ConfigError::at(
        &origin.to_string(),
        &text,
        at..at,
        format!("not UTF-8: byte 0x{byte:02x} at offset {valid} (a configuration is UTF-8 text)"),
    )])
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
