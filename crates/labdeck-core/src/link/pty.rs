//! Virtual serial ports: a pty pair whose master a simulator holds and whose
//! slave path (`/dev/pts/N`) clients open like a real port (seed 000,
//! `specs/turbovac.md` §11).
//!
//! The termios speed calls go through [`super::line`] (nix's `cfgetospeed`
//! panics on the custom speeds serialport sets); registering the master
//! with the runtime needs `unsafe`.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
use nix::sys::termios::{self, BaudRate, SetArg};
use thiserror::Error;
use tokio::io::unix::AsyncFd;

// The slave is kept at an idle speed (38400 unless told otherwise). A pty
// ignores speed, but glibc's tcsetattr returns EINVAL when a client asks
// for 19200 8E1 on a pty already at 19200 (the kernel drops PARENB, so
// nothing changes), which breaks every second open. Holding the slave at
// another speed makes the client's request a real change (§11 item 1).

#[derive(Debug, Error)]
pub enum PtyError {
    #[error("cannot create a pty pair: {0}")]
    Open(nix::Error),
    #[error("cannot configure the pty: {0}")]
    Configure(nix::Error),
    #[error("cannot register the pty with the runtime: {0}")]
    Register(io::Error),
    #[error("cannot create symlink {path}: {source}")]
    Symlink { path: PathBuf, source: io::Error },
    #[error("{path} exists and is not a symlink; refusing to replace it")]
    NotASymlink { path: PathBuf },
}

/// The rate a client set on a virtual port (`None`: one without a number
/// the kernel names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientRate(pub Option<u32>);

impl std::fmt::Display for ClientRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(baud) => write!(f, "{baud} baud"),
            None => f.write_str("a nonstandard rate"),
        }
    }
}

/// One pty pair. Dropping it closes both ends and removes the symlink, so a
/// connected client sees EOF/EIO.
#[derive(Debug)]
pub struct VirtualPort {
    master: AsyncFd<OwnedFd>,
    // Held for the port's whole life: without an open slave fd the master
    // reports EPOLLHUP continuously and reads fail with EIO (§11 item 2).
    slave: OwnedFd,
    path: PathBuf,
    link: Option<PathBuf>,
    idle: libc::speed_t,
}

impl VirtualPort {
    /// Create a pair in raw mode, optionally with a stable symlink to the
    /// slave. Must be called inside a tokio runtime.
    pub fn open(link: Option<&Path>) -> Result<Self, PtyError> {
        Self::open_idle_at(link, libc::B38400)
    }

    /// As [`open`](Self::open), holding the slave at `idle` between a
    /// client's changes.
    pub fn open_idle_at(link: Option<&Path>, idle: libc::speed_t) -> Result<Self, PtyError> {
        let pair = nix::pty::openpty(None, None).map_err(PtyError::Open)?;
        for fd in [&pair.master, &pair.slave] {
            fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map_err(PtyError::Configure)?;
        }
        let flags = fcntl(&pair.master, FcntlArg::F_GETFL).map_err(PtyError::Configure)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
        fcntl(&pair.master, FcntlArg::F_SETFL(flags)).map_err(PtyError::Configure)?;

        // Raw from the start, so nothing echoes or mangles binary telegrams
        // before a client configures the port (§11 item 3).
        let mut attrs = termios::tcgetattr(&pair.slave).map_err(PtyError::Configure)?;
        termios::cfmakeraw(&mut attrs);
        let speed = BaudRate::try_from(idle).map_err(PtyError::Configure)?;
        termios::cfsetspeed(&mut attrs, speed).map_err(PtyError::Configure)?;
        termios::tcsetattr(&pair.slave, SetArg::TCSANOW, &attrs).map_err(PtyError::Configure)?;

        let path = nix::unistd::ttyname(&pair.slave).map_err(PtyError::Configure)?;
        // SAFETY: the OwnedFd is a valid open descriptor that the AsyncFd
        // owns from here on; nothing else closes or replaces it.
        let master = unsafe { AsyncFd::register(pair.master) }
            .map_err(|e| PtyError::Register(e.into_parts().1))?;
        let mut port = Self {
            master,
            slave: pair.slave,
            path,
            link: None,
            idle,
        };
        if let Some(link) = link {
            replace_symlink(&port.path, link)?;
            port.link = Some(link.to_path_buf());
        }
        Ok(port)
    }

    /// The slave device path clients open.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stable symlink, if one was requested.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// What a client should open: the symlink if there is one.
    pub fn client_path(&self) -> &Path {
        self.link.as_deref().unwrap_or(&self.path)
    }

    /// Read whatever the client wrote (at least one byte).
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            // Would block: wait for readiness again.
            if let Ok(result) =
                guard.try_io(|fd| nix::unistd::read(fd.get_ref(), buf).map_err(io::Error::from))
            {
                // A short read took everything there was: the next one would
                // only say EAGAIN, a system call per telegram. Bytes that
                // arrive later raise readiness again (tokio's TcpStream does
                // the same).
                if matches!(result, Ok(n) if n > 0 && n < buf.len()) {
                    guard.clear_ready();
                }
                return result;
            }
        }
    }

    /// Write all of `bytes` towards the client.
    pub async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let mut guard = self.master.writable().await?;
            // Would block: wait for readiness again.
            if let Ok(written) =
                guard.try_io(|fd| nix::unistd::write(fd.get_ref(), bytes).map_err(io::Error::from))
            {
                bytes = &bytes[written?..];
            }
        }
        Ok(())
    }

    /// Put the slave back to the idle speed if a client changed it; returns
    /// the rate the client had applied, if it differed.
    pub fn restore_idle_speed(&self) -> io::Result<Option<ClientRate>> {
        let fd = self.slave.as_raw_fd();
        if super::line::speed(fd)? == self.idle {
            return Ok(None);
        }
        let rate = ClientRate(super::line::read(fd)?.baud);
        super::line::set_speed(fd, self.idle)?;
        Ok(Some(rate))
    }

    /// What the client set on its end (speed, stop bits, flow control).
    pub fn line_settings(&self) -> io::Result<super::line::LineSettings> {
        super::line::read(self.slave.as_raw_fd())
    }

    /// Raw master fd, for diagnostics.
    pub fn master_fd(&self) -> i32 {
        self.master.get_ref().as_raw_fd()
    }
}

impl Drop for VirtualPort {
    fn drop(&mut self) {
        if let Some(link) = &self.link {
            // Only remove the link if it still points at our slave.
            if std::fs::read_link(link).is_ok_and(|target| target == self.path) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}

/// Point `link` at `target`, atomically replacing an existing symlink.
fn replace_symlink(target: &Path, link: &Path) -> Result<(), PtyError> {
    let fail = |source| PtyError::Symlink {
        path: link.to_path_buf(),
        source,
    };
    if let Ok(meta) = std::fs::symlink_metadata(link)
        && !meta.file_type().is_symlink()
    {
        return Err(PtyError::NotASymlink {
            path: link.to_path_buf(),
        });
    }
    let tmp = link.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(fail)?;
    std::fs::rename(&tmp, link).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(e)
    })
}
