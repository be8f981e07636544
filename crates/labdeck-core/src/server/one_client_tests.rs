use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

async fn server(max_line: usize) -> OneClientServer {
    OneClientServer::bind(ServerConfig {
        max_line,
        terminator: b"\n".to_vec(),
        ..ServerConfig::default()
    })
    .await
    .unwrap()
}

/// Read until EOF or nothing for 300 ms.
async fn drain(stream: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(0)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

#[tokio::test]
async fn port_zero_reports_the_bound_port_on_loopback() {
    let s = server(100).await;
    assert_eq!(s.local_addr().ip().to_string(), "127.0.0.1");
    assert_ne!(s.local_addr().port(), 0);
    assert!(!s.connected());
    assert!(!s.should_be_connected());
}

#[tokio::test]
async fn lines_json_and_exact_reads() {
    let mut s = server(100).await;
    let mut client = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    assert!(s.connected() && s.should_be_connected());
    client.write_all(b"hello\n{\"a\":1}\nABCDE").await.unwrap();
    assert_eq!(s.read_str().await.unwrap(), "hello");
    let value: serde_json::Value = s.read_json().await.unwrap();
    assert_eq!(value["a"], 1);
    assert_eq!(s.readexactly(3).await.unwrap(), b"ABC");
    s.write_json(&serde_json::json!({"ok": true}))
        .await
        .unwrap();
    s.write_str("bye").await.unwrap();
    let mut buf = [0u8; 64];
    let n = client.read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"{\"ok\":true}\nbye\n");
}

#[tokio::test]
async fn a_second_client_is_accepted_and_closed_the_first_is_untouched() {
    let mut s = server(100).await;
    let mut first = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    let mut second = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Rejected(_)));
    let (bytes, closed) = drain(&mut second).await;
    assert!(bytes.is_empty() && closed, "the newcomer reads EOF");
    first.write_all(b"still here\n").await.unwrap();
    assert_eq!(s.read_str().await.unwrap(), "still here");
    assert_eq!(s.watch().borrow().rejected, 1);
}

#[tokio::test]
async fn an_overlong_line_drops_the_client_and_the_server_keeps_listening() {
    let mut s = server(64).await;
    let mut client = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    client.write_all(&[b'x'; 200]).await.unwrap();
    match s.next_event().await {
        ServerEvent::Disconnected(reason) => {
            assert!(reason.contains("more than 64 bytes"), "{reason}");
        }
        other => panic!("expected a drop, got {other:?}"),
    }
    assert!(!s.connected() && !s.should_be_connected());
    let (_, closed) = drain(&mut client).await;
    assert!(closed);
    let _next = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
}

#[tokio::test]
async fn a_lost_client_is_noticed_and_should_be_connected_says_so() {
    let mut s = server(100).await;
    let client = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    drop(client);
    assert!(matches!(s.next_event().await, ServerEvent::Disconnected(_)));
    assert!(!s.connected());
    assert!(s.should_be_connected(), "lost, not closed on purpose");
}

#[tokio::test]
async fn close_client_keeps_listening_close_refuses() {
    let mut s = server(100).await;
    let mut client = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    s.close_client().await;
    assert!(!s.should_be_connected());
    assert!(drain(&mut client).await.1);
    let _again = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    s.close().await;
    assert!(!s.listening());
    let refused = TcpStream::connect(s.local_addr()).await;
    assert_eq!(
        refused.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    s.reopen().await.unwrap();
    let _back = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    assert!(matches!(s.write_str("x").await, Ok(())));
}

#[tokio::test]
async fn encodings() {
    assert!(Encoding::Utf8.decode(b"\xff\xfe").is_err());
    assert_eq!(Encoding::Latin1.decode(b"\xff").unwrap(), "ÿ");
    assert_eq!(Encoding::Latin1.encode("ÿ").unwrap(), b"\xff");
    assert!(Encoding::Latin1.encode("€").is_err());
    let mut s = server(100).await;
    assert!(matches!(
        s.write_str("x").await,
        Err(ServerError::NotConnected)
    ));
}

#[tokio::test]
async fn any_line_end_accepts_cr_lf_and_crlf() {
    let mut s = OneClientServer::bind(ServerConfig {
        any_line_end: true,
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let mut client = TcpStream::connect(s.local_addr()).await.unwrap();
    assert!(matches!(s.next_event().await, ServerEvent::Connected(_)));
    client.write_all(b"a\rb\nc\r").await.unwrap();
    client.write_all(b"\n\r\nd\r\n").await.unwrap();
    let mut lines = Vec::new();
    for _ in 0..4 {
        lines.push(s.read_str().await.unwrap());
    }
    assert_eq!(lines, ["a", "b", "c", "d"]);
}
