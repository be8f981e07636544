//! The TOML schema as written: every key, with source spans for the values
//! that semantic checks may need to point at. `deny_unknown_fields`
//! everywhere, so a misspelt key is an error with its position.

use serde::Deserialize;
use toml::Spanned;

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConfig {
    /// `[console]` and `[keys]` belong to the console, which reads them
    /// from the same text.
    #[serde(rename = "console")]
    pub _console: Option<serde::de::IgnoredAny>,
    pub logging: Option<RawLogging>,
    pub traffic: Option<RawTraffic>,
    pub tasks: Option<RawTasks>,
    pub retry: Option<RawRetry>,
    #[serde(default)]
    pub simulator: Vec<S<RawSimulator>>,
    #[serde(default)]
    pub link: Vec<S<RawLink>>,
    #[serde(default)]
    pub device: Vec<S<RawDevice>>,
    #[serde(rename = "keys")]
    pub _keys: Option<serde::de::IgnoredAny>,
    pub indi: Option<RawIndi>,
    #[serde(default, rename = "macro")]
    pub macros: Vec<S<RawMacro>>,
    #[serde(default)]
    pub rfc2217: Vec<S<RawRfc2217>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawMacro {
    pub name: S<String>,
    pub link: S<String>,
    pub text: Option<S<String>>,
    pub hex: Option<S<String>>,
    pub eol: Option<S<String>>,
    /// Seconds, or text with a unit (`"500ms"`).
    pub every: Option<S<toml::Value>>,
    pub start: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIndi {
    pub server: Option<S<RawIndiServer>>,
    #[serde(default)]
    pub remote: Vec<S<RawIndiRemote>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIndiServer {
    pub enabled: Option<bool>,
    pub host: Option<S<String>>,
    pub port: Option<S<i64>>,
    pub max_clients: Option<S<i64>>,
    pub max_per_address: Option<S<i64>>,
    pub handshake_timeout: Option<S<f64>>,
    pub queue_mb: Option<S<f64>>,
    pub blob_queue_mb: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIndiRemote {
    pub name: S<String>,
    pub address: S<String>,
    pub blob_dir: Option<S<String>>,
    pub blobs: Option<S<String>>,
    pub autoconnect: Option<bool>,
    pub retry: Option<RawRetry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLogging {
    pub level: Option<S<String>>,
    pub file: Option<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTraffic {
    pub ring: Option<S<u64>>,
    pub ring_bytes: Option<S<u64>>,
    pub events: Option<S<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTasks {
    pub data_dir: Option<S<String>>,
    pub queue_limit: Option<S<i64>>,
    pub netcdf: Option<S<bool>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRetry {
    pub base: Option<S<f64>>,
    pub factor: Option<S<f64>>,
    pub cap: Option<S<f64>>,
    pub max_attempts: Option<u32>,
    pub auto_reconnect: Option<bool>,
    pub stable_after: Option<S<f64>>,
    pub open_timeout: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSimulator {
    pub name: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub profile: Option<S<String>>,
    pub link: Option<S<String>>,
    pub ramp_rate: Option<S<f64>>,
    pub decel_rate: Option<S<f64>>,
    pub auto_off: Option<S<f64>>,
    pub wire_timing: Option<S<bool>>,
    pub flicker: Option<S<bool>>,
    pub ambient: Option<S<f64>>,
    // electrometer
    pub dialect: Option<S<String>>,
    pub brand: Option<S<String>>,
    pub strict: Option<S<bool>>,
    pub host: Option<S<String>>,
    pub port: Option<S<i64>>,
    pub terminator: Option<S<String>>,
    pub max_line: Option<S<i64>>,
    pub write_timeout: Option<S<f64>>,
    pub unstable: Option<S<bool>>,
    pub speed: Option<S<f64>>,
    pub line_frequency: Option<S<f64>>,
    pub current: Option<S<f64>>,
    pub noise: Option<S<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLink {
    pub name: S<String>,
    #[serde(rename = "type")]
    pub kind: S<String>,
    pub path: Option<S<String>>,
    pub simulator: Option<S<String>>,
    pub address: Option<S<String>>,
    pub baud: Option<S<u32>>,
    pub data_bits: Option<S<u8>>,
    pub parity: Option<S<String>>,
    pub stop_bits: Option<S<u8>>,
    pub flow_control: Option<S<String>>,
    pub exclusive: Option<S<bool>>,
    pub autoconnect: Option<bool>,
    /// A pcapng file every chunk of the link is written to.
    pub capture: Option<S<String>>,
    /// Sniff links: the stable symlink to the pty the other program opens.
    pub pty_link: Option<S<String>>,
    /// Sniff links: how the traffic is cut into frames.
    pub decode: Option<S<String>>,
    pub retry: Option<RawRetry>,
}

/// `[[rfc2217]]`: one of the lab's ports served over RFC 2217.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawRfc2217 {
    pub name: S<String>,
    pub simulator: Option<S<String>>,
    pub path: Option<S<String>>,
    pub host: Option<S<String>>,
    pub port: S<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawDevice {
    pub name: S<String>,
    pub driver: S<String>,
    pub link: S<String>,
    pub poll_interval: Option<S<f64>>,
    pub reply_timeout: Option<S<f64>>,
    pub alarm_after: Option<S<u32>>,
    pub fetch_timeout: Option<S<f64>>,
    pub terminator: Option<S<String>>,
    /// Remote INDI vectors shown with this device: `REMOTE:DEVICE.VECTOR`.
    pub snoop: Option<Vec<S<String>>>,
}
