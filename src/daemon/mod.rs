//! `labdeck serve --listen`: the lab as a daemon that outlives any
//! terminal, and the clients that talk to it over its control socket
//! (`attach`, `ctl`, `status`). The socket carries the Hub's typed API as
//! length-delimited JSON frames (`wire`).

pub mod changes;
pub mod client;
pub mod clients;
pub mod server;
pub mod socket;
pub mod wire;

pub use client::{Client, ClientError, Remote, Welcome, connect, connect_to, this_peer};
pub use clients::{ClientInfo, Clients, Limits, Stats};
pub use server::serve;
pub use socket::{Endpoint, Listener, SocketError, default_path};

/// `labdeck ctl`: one line of the command language to the daemon at
/// `endpoint`; its reply, and whether it succeeded.
pub async fn ctl(
    endpoint: &Endpoint,
    token: Option<String>,
    line: &str,
) -> Result<(bool, String), ClientError> {
    let (client, _, _) = connect_to(endpoint, token, this_peer("ctl"), false, false).await?;
    client.line(line).await
}

/// `labdeck status`: whether a daemon serves `endpoint`, what, and who is
/// attached (as the daemon reports it).
pub async fn status(endpoint: &Endpoint, token: Option<String>) -> Result<String, ClientError> {
    let (client, welcome, _) =
        connect_to(endpoint, token, this_peer("status"), false, false).await?;
    let (_, clients) = client.line("clients").await?;
    Ok(format!(
        "daemon pid {} serving {} on {endpoint}\n{clients}",
        welcome.pid, welcome.lab
    ))
}
