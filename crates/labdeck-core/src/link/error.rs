//! Failures of links, as values the UI can tell apart (`specs/connection-manager.md` §2.6).

use std::io;

use serde::Serialize;
use thiserror::Error;

/// Why an open attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ConnectError {
    #[error("{endpoint}: not found")]
    NotFound { endpoint: String },
    #[error("{endpoint}: permission denied (is the user in the dialout group?)")]
    PermissionDenied { endpoint: String },
    #[error("{endpoint}: busy (another program has the port open)")]
    Busy { endpoint: String },
    #[error("{endpoint}: invalid settings: {message}")]
    InvalidSettings { endpoint: String, message: String },
    #[error("{endpoint}: connection refused")]
    Refused { endpoint: String },
    #[error("{endpoint}: open timed out")]
    Timeout { endpoint: String },
    #[error("{endpoint}: {message}")]
    Io {
        endpoint: String,
        errno: Option<i32>,
        message: String,
    },
}

impl ConnectError {
    /// Classify an I/O error from an open attempt.
    pub fn from_io(endpoint: &str, err: &io::Error) -> Self {
        let endpoint = endpoint.to_string();
        match err.kind() {
            io::ErrorKind::NotFound => Self::NotFound { endpoint },
            io::ErrorKind::PermissionDenied => Self::PermissionDenied { endpoint },
            io::ErrorKind::ConnectionRefused => Self::Refused { endpoint },
            io::ErrorKind::TimedOut => Self::Timeout { endpoint },
            io::ErrorKind::ResourceBusy => Self::Busy { endpoint },
            io::ErrorKind::InvalidInput => Self::InvalidSettings {
                endpoint,
                message: err.to_string(),
            },
            _ => Self::Io {
                endpoint,
                errno: err.raw_os_error(),
                message: err.to_string(),
            },
        }
    }

    /// Short category word for tables.
    pub fn category(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not found",
            Self::PermissionDenied { .. } => "permission denied",
            Self::Busy { .. } => "busy",
            Self::InvalidSettings { .. } => "invalid settings",
            Self::Refused { .. } => "refused",
            Self::Timeout { .. } => "timeout",
            Self::Io { .. } => "i/o error",
        }
    }
}

/// Why an open link was lost.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "kebab-case")]
pub enum LinkError {
    #[error("end of file (peer closed the link)")]
    Eof,
    #[error("device removed (EIO)")]
    DeviceRemoved,
    #[error("I/O error: {0}")]
    Io(String),
    /// Raised by the driver on top of the link: reply timeout, bad frame.
    #[error("{0}")]
    Alarm(String),
}

impl LinkError {
    pub fn from_io(err: &io::Error) -> Self {
        match err.raw_os_error() {
            Some(code) if code == nix::errno::Errno::EIO as i32 => Self::DeviceRemoved,
            _ if err.kind() == io::ErrorKind::UnexpectedEof => Self::Eof,
            _ => Self::Io(err.to_string()),
        }
    }
}
