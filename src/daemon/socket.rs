//! Where a daemon's control socket lives and who may open it: by default
//! `$XDG_RUNTIME_DIR/labdeck/<config>.sock`, the directory 0700 and the
//! socket 0600, so only its user reaches the lab. A socket nobody answers
//! on is left over from a daemon that died and is taken over; one that
//! answers belongs to a live daemon, and a second one is refused.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;
use tokio::net::UnixListener;

use labdeck_core::config::ConfigOrigin;

#[derive(Debug, Error)]
pub enum SocketError {
    #[error(
        "another labdeck daemon is serving {path}; attach to it (labdeck attach {path}) or stop it first"
    )]
    InUse { path: PathBuf },
    #[error("{path} exists and is not a socket; not touching it")]
    NotASocket { path: PathBuf },
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

/// A bound control socket; the file goes when it is dropped.
#[derive(Debug)]
pub struct Listener {
    pub listener: UnixListener,
    pub path: PathBuf,
    inode: u64,
}

impl Listener {
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
            listener,
            path: path.to_path_buf(),
            inode,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        // Only our own socket: a daemon that took over a path we lost
        // keeps its own.
        if fs::metadata(&self.path).is_ok_and(|m| m.ino() == self.inode) {
            let _ = fs::remove_file(&self.path);
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
