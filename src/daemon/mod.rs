//! `labdeck serve --listen`: the lab as a daemon that outlives any
//! terminal, and the clients that talk to it over its control socket
//! (`attach`, `ctl`, `status`). The socket carries the Hub's typed API as
//! length-delimited JSON frames (`wire`).

pub mod changes;
pub mod client;
pub mod server;
pub mod socket;
pub mod wire;

use std::path::{Path, PathBuf};

pub use client::{Client, ClientError, Remote, Welcome, connect, this_peer};
pub use server::{ClientInfo, Clients, Limits, Stats, serve};
pub use socket::{Listener, SocketError, default_path};

use labdeck_core::config::ConfigOrigin;

/// Where to find a daemon: an explicit socket, else the default one of
/// the configuration that would be loaded.
pub fn socket_for(socket: Option<&Path>, origin: &ConfigOrigin) -> PathBuf {
    socket.map_or_else(|| default_path(origin), Path::to_path_buf)
}

/// `labdeck ctl`: one line of the command language to the daemon at
/// `path`; its reply, and whether it succeeded.
pub async fn ctl(path: &Path, line: &str) -> Result<(bool, String), ClientError> {
    let (client, _, _) = connect(path, this_peer("ctl"), false, false).await?;
    client.line(line).await
}

/// `labdeck status`: whether a daemon serves `path`, what, and who is
/// attached (as the daemon reports it).
pub async fn status(path: &Path) -> Result<String, ClientError> {
    let (client, welcome, _) = connect(path, this_peer("status"), false, false).await?;
    let (_, clients) = client.line("clients").await?;
    Ok(format!(
        "daemon pid {} serving {} on {}\n{clients}",
        welcome.pid,
        welcome.lab,
        path.display()
    ))
}
