//! Where a daemon's control socket lives and who may open it: by default
//! `$XDG_RUNTIME_DIR/labdeck/<config>.sock`, the directory 0700 and the
//! socket 0600, so only its user reaches the lab. A socket nobody answers
//! on is left over from a daemon that died and is taken over; one that
//! answers belongs to a live daemon, and a second one is refused. A daemon
//! may listen on TCP instead (`tcp:HOST:PORT`): loopback by default, any
//! other address only with a token every client must present.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use std::net::SocketAddr;
use std::sync::Arc;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use labdeck_core::config::ConfigOrigin;

#[derive(Debug, Error)]
pub enum SocketError {
    #[error(
        "another labdeck daemon is serving {path}; attach to it (labdeck attach {path}) or stop it first"
    )]
    InUse { path: PathBuf },
    #[error("{path} exists and is not a socket; not touching it")]
    NotASocket { path: PathBuf },
    #[error(
        "tcp:{address} is not a loopback address: anyone who reaches it could drive the lab; give a token (--token-file FILE) that clients must present"
    )]
    NeedsToken { address: SocketAddr },
    #[error("tcp:{address}: {source}")]
    Tcp {
        address: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SocketError + '_ {
    move |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The directory of every labdeck socket of this user.
pub fn socket_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir.join("labdeck"),
        // No runtime directory (cron, a bare ssh command): one of our own.
        _ => std::env::temp_dir().join(format!("labdeck-{}", nix::unistd::getuid())),
    }
}

/// The default socket of a configuration: named after its file, `demo`
/// for the embedded demo.
pub fn default_path(origin: &ConfigOrigin) -> PathBuf {
    let name = match origin {
        ConfigOrigin::File(path) => path
            .file_stem()
            .map_or_else(|| "labdeck".into(), |s| s.to_string_lossy().into_owned()),
        ConfigOrigin::Demo => "demo".into(),
    };
    socket_dir().join(format!("{name}.sock"))
}

/// Where a daemon listens or a client connects: a Unix socket's path, or
/// `tcp:HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

impl Endpoint {
    pub fn parse(text: &str) -> Self {
        match text.strip_prefix("tcp:") {
            Some(address) => Self::Tcp(address.to_string()),
            None => Self::Unix(PathBuf::from(text)),
        }
    }

    /// As the header shows it: a socket by its file name.
    pub fn short(&self) -> String {
        match self {
            Self::Unix(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            Self::Tcp(address) => format!("tcp:{address}"),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "{}", path.display()),
            Self::Tcp(address) => write!(f, "tcp:{address}"),
        }
    }
}

/// A byte stream to one client, whichever the transport.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One accepted client: its stream, what the kernel says of it (Unix
/// sockets only) and where it came from (TCP only).
pub struct Accepted {
    pub stream: Box<dyn Io>,
    pub cred: Option<tokio::net::unix::UCred>,
    pub from: Option<String>,
}

#[derive(Debug)]
enum Kind {
    Unix {
        listener: UnixListener,
        path: PathBuf,
        inode: u64,
    },
    Tcp {
        listener: TcpListener,
        address: SocketAddr,
    },
}

/// A bound control socket; a Unix socket's file goes when it is dropped.
#[derive(Debug)]
pub struct Listener {
    kind: Kind,
    /// What TCP clients must present in their hello.
    pub token: Option<Arc<str>>,
}

impl Listener {
    /// Bind where `endpoint` says; TCP off loopback only with a token.
    /// (In a tokio runtime: a TCP listener is registered with it.)
    pub fn bind_endpoint(endpoint: &Endpoint, token: Option<String>) -> Result<Self, SocketError> {
        match endpoint {
            Endpoint::Unix(path) => Self::bind(path),
            Endpoint::Tcp(address) => Self::bind_tcp(address, token),
        }
    }

    fn bind_tcp(address: &str, token: Option<String>) -> Result<Self, SocketError> {
        let tcp = |source| SocketError::Tcp {
            address: address.to_string(),
            source,
        };
        let resolved = std::net::ToSocketAddrs::to_socket_addrs(address)
            .map_err(tcp)?
            .next()
            .ok_or_else(|| tcp(std::io::Error::other("no such address")))?;
        // Refused before anything is bound.
        if !resolved.ip().is_loopback() && token.is_none() {
            return Err(SocketError::NeedsToken { address: resolved });
        }
        let std = std::net::TcpListener::bind(resolved).map_err(tcp)?;
        std.set_nonblocking(true).map_err(tcp)?;
        let listener = TcpListener::from_std(std).map_err(tcp)?;
        let address = listener.local_addr().map_err(tcp)?;
        Ok(Self {
            kind: Kind::Tcp { listener, address },
            token: token.map(Into::into),
        })
    }

    /// Where it listens, as a client would name it.
    pub fn endpoint(&self) -> Endpoint {
        match &self.kind {
            Kind::Unix { path, .. } => Endpoint::Unix(path.clone()),
            Kind::Tcp { address, .. } => Endpoint::Tcp(address.to_string()),
        }
    }

    pub async fn accept(&self) -> std::io::Result<Accepted> {
        match &self.kind {
            Kind::Unix { listener, .. } => {
                let (stream, _) = listener.accept().await?;
                let cred = stream.peer_cred().ok();
                Ok(Accepted {
                    stream: Box::new(stream),
                    cred,
                    from: None,
                })
            }
            Kind::Tcp { listener, .. } => {
                let (stream, from) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                Ok(Accepted {
                    stream: Box::new(stream),
                    cred: None,
                    from: Some(from.to_string()),
                })
            }
        }
    }

    /// Bind `path`, making its directory (0700) if needed and taking over
    /// a stale socket; refused when a live daemon answers on it.
    pub fn bind(path: &Path) -> Result<Self, SocketError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io(dir))?;
        }
        match fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(SocketError::NotASocket {
                    path: path.to_path_buf(),
                });
            }
            Ok(_) => match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => {
                    return Err(SocketError::InUse {
                        path: path.to_path_buf(),
                    });
                }
                // Nobody listens: left over from a daemon that died.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    tracing::warn!("taking over the stale socket {}", path.display());
                    fs::remove_file(path).map_err(io(path))?;
                }
                Err(e) => return Err(io(path)(e)),
            },
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io(path)(e)),
        }
        let listener = UnixListener::bind(path).map_err(io(path))?;
        // The directory is 0700, so the moment before this is harmless.
        fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io(path))?;
        let inode = fs::metadata(path).map_err(io(path))?.ino();
        Ok(Self {
            kind: Kind::Unix {
                listener,
                path: path.to_path_buf(),
                inode,
            },
            token: None,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Only our own socket: a daemon that took over a path we lost
        // keeps its own.
        if let Kind::Unix { path, inode, .. } = &self.kind
            && fs::metadata(path).is_ok_and(|m| m.ino() == *inode)
        {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_live_socket_is_refused_a_stale_one_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run/labdeck/lab.sock");
        let first = Listener::bind(&path).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        let error = Listener::bind(&path).unwrap_err();
        assert!(matches!(error, SocketError::InUse { .. }), "{error}");
        drop(first);
        assert!(!path.exists(), "the socket goes with its daemon");

        // A daemon killed with SIGKILL leaves its socket behind.
        let stale = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(stale);
        assert!(path.exists());
        let _taken = Listener::bind(&path).unwrap();

        let file = dir.path().join("not-a-socket");
        fs::write(&file, "keep me").unwrap();
        assert!(matches!(
            Listener::bind(&file),
            Err(SocketError::NotASocket { .. })
        ));
        assert_eq!(fs::read_to_string(&file).unwrap(), "keep me");
    }

    #[test]
    fn sockets_are_named_after_their_configuration() {
        let path = default_path(&ConfigOrigin::File("/etc/lab/bench-3.toml".into()));
        assert!(path.ends_with("bench-3.sock"), "{}", path.display());
        assert!(default_path(&ConfigOrigin::Demo).ends_with("demo.sock"));
    }
}
