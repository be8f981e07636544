//! `labdeck rfc2217` in front of `labdeck sim turbovac`, as real processes
//! over a real socket: pyserial's `rfc2217://` client (settings
//! negotiated, a baud change on the open port, purges, data both ways),
//! and the telnet layer by hand (IAC escaping, answers to every command,
//! a malformed command ignored, a second client refused).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::process::Process;
use labdeck_protocol::rfc2217::{
    COM_PORT_OPTION, ComPort, IAC, SB, SE, TelnetDecoder, TelnetEvent, Verb, negotiate,
};
use labdeck_protocol::turbovac::{AccessCode, Telegram};

#[test]
fn pyserial_negotiates_settings_and_talks_to_the_pump_through_labdecks_server() {
    let Some(tools) = common::interop::tools(
        "pyserial",
        &["serial"],
        "turboctl_check.py",
        "python3 -m venv .venv && .venv/bin/pip install pyserial",
    ) else {
        return;
    };
    let sim = Process::start(&["sim", "turbovac", "--json"]);
    let server = Process::start(&["rfc2217", &sim.first, "--json"]);
    let mut check = Command::new(&tools.python);
    check
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/rfc2217_pyserial.py"
        ))
        .arg(&server.first);
    let (ok, out) = common::interop::run(check);
    assert!(ok && out.contains("OVERALL PASS"), "{out}");
    // The rates pyserial negotiated reached the simulator's port.
    assert!(sim.wait_for(|l| l.contains("client set the port to 19200 baud")));
    assert!(sim.wait_for(|l| l.contains("client set the port to 9600 baud")));
    assert!(server.wait_for(|l| l.contains("\"event\":\"client-gone\"")));
    let (events, _) = server.stop();
    assert!(
        events
            .iter()
            .any(|l| l.contains("\"baud\":9600") && l.contains("\"parity\":\"even\"")),
        "{events:?}"
    );
}

/// Everything the server sent until `until` holds, decoded.
fn read_until(
    socket: &mut TcpStream,
    decoder: &mut TelnetDecoder,
    until: impl Fn(&[TelnetEvent]) -> bool,
) -> Vec<TelnetEvent> {
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut events = Vec::new();
    let mut buf = [0u8; 512];
    while !until(&events) {
        let n = socket.read(&mut buf).expect("the server answers");
        assert!(n > 0, "the server closed; so far {events:?}");
        events.extend(decoder.push(&buf[..n]));
    }
    events
}

fn answered(events: &[TelnetEvent], command: &ComPort) -> bool {
    events.iter().any(|e| match e {
        TelnetEvent::Subnegotiation(COM_PORT_OPTION, payload) => {
            ComPort::parse(payload, true).is_ok_and(|c| c == *command)
        }
        _ => false,
    })
}

fn data(events: &[TelnetEvent]) -> Vec<u8> {
    events
        .iter()
        .filter_map(|e| match e {
            TelnetEvent::Data(d) => Some(d.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn the_telnet_layer_answers_every_command_and_refuses_a_second_client() {
    let sim = Process::start(&["sim", "turbovac", "--json"]);
    let server = Process::start(&["rfc2217", &sim.first, "--json"]);
    let mut socket = TcpStream::connect(&server.first).unwrap();
    let mut decoder = TelnetDecoder::new();
    let events = read_until(&mut socket, &mut decoder, |e| {
        e.contains(&TelnetEvent::Negotiate(Verb::Will, COM_PORT_OPTION))
    });
    assert!(
        events.contains(&TelnetEvent::Negotiate(Verb::Do, 0)),
        "{events:?}"
    );

    // Our WILL is answered once with DO; a repeated one is not answered.
    let mut hello = negotiate(Verb::Will, COM_PORT_OPTION).to_vec();
    hello.extend(negotiate(Verb::Will, COM_PORT_OPTION));
    hello.extend(ComPort::SetBaudRate(4800).encode(false));
    hello.extend(ComPort::SetBaudRate(0).encode(false));
    hello.extend(ComPort::SetStopSize(2).encode(false));
    hello.extend(ComPort::PurgeData(3).encode(false));
    hello.extend([IAC, SB, COM_PORT_OPTION, 1, 0, IAC, SE]); // a baud rate of 1 byte
    hello.extend(ComPort::Signature(Vec::new()).encode(false));
    socket.write_all(&hello).unwrap();
    let events = read_until(&mut socket, &mut decoder, |e| {
        e.iter()
            .any(|e| matches!(e, TelnetEvent::Subnegotiation(44, p) if p.first() == Some(&100)))
    });
    let dos = events
        .iter()
        .filter(|e| **e == TelnetEvent::Negotiate(Verb::Do, COM_PORT_OPTION))
        .count();
    assert_eq!(dos, 1, "{events:?}");
    for command in [
        ComPort::SetBaudRate(4800),
        ComPort::SetStopSize(2),
        ComPort::PurgeData(3),
    ] {
        assert!(
            answered(&events, &command),
            "{command:?} unanswered: {events:?}"
        );
    }
    let rates = events
        .iter()
        .filter(|e| matches!(e, TelnetEvent::Subnegotiation(44, p) if p.first() == Some(&101)))
        .count();
    assert_eq!(rates, 2, "the request for the current rate is answered too");
    let signature = events.iter().find_map(|e| match e {
        TelnetEvent::Subnegotiation(44, p) if p.first() == Some(&100) => {
            Some(String::from_utf8_lossy(&p[1..]).into_owned())
        }
        _ => None,
    });
    assert!(
        signature
            .as_deref()
            .is_some_and(|s| s.starts_with("labdeck ")),
        "{signature:?}"
    );
    assert!(server.wait_for(|l| l.contains("bad-command")));
    assert!(sim.wait_for(|l| l.contains("client set the port to 4800 baud")));

    // Data both ways: a telegram and its reply, 255s escaped on the wire.
    let query = Telegram::query(0x0400, AccessCode::Write32, 24, 0, 0x0000_00ff).encode();
    let mut wire = Vec::new();
    for b in query {
        wire.push(b);
        if b == IAC {
            wire.push(IAC);
        }
    }
    assert!(wire.len() > query.len(), "the query holds a 255");
    socket.write_all(&wire).unwrap();
    let events = read_until(&mut socket, &mut decoder, |e| data(e).len() >= 24);
    let reply = data(&events);
    assert!(Telegram::decode(&reply[..24]).is_ok(), "{reply:02x?}");

    // A second client is told and closed; the first keeps its port.
    let mut second = TcpStream::connect(&server.first).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut text = String::new();
    let _ = second.read_to_string(&mut text);
    assert!(text.contains("in use"), "{text:?}");
    let status = Telegram::query(0x0400, AccessCode::None, 0, 0, 0).encode();
    socket.write_all(&status).unwrap();
    let events = read_until(&mut socket, &mut decoder, |e| data(e).len() >= 24);
    assert!(Telegram::decode(&data(&events)[..24]).is_ok());
}

/// A pump driver on an `rfc2217` link to `address`, fast retries.
fn pump_over(address: &str) -> String {
    format!(
        r#"
[[link]]
name = "port"
type = "rfc2217"
address = "{address}"

[link.retry]
base = 0.05
cap = 0.2

[[device]]
name = "pump"
driver = "turbovac"
link = "port"
poll-interval = 0.05
reply-timeout = 0.5
"#
    )
}

/// Debian's ser2net on 127.0.0.1, `telnet(rfc2217)` in front of `device`;
/// stopped (SIGTERM, by its PID) on drop.
struct Ser2net {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Ser2net {
    fn start(device: &str) -> Option<Self> {
        if Command::new("ser2net").arg("-v").output().is_err() {
            assert!(
                std::env::var_os("LABDECK_REQUIRE_INTEROP").is_none(),
                "ser2net required but not found"
            );
            eprintln!("SKIPPED: the ser2net part: install ser2net (Debian package ser2net)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = common::free_port();
        let config = dir.path().join("ser2net.yaml");
        std::fs::write(
            &config,
            format!(
                "%YAML 1.1\n---\nconnection: &pump\n  accepter: telnet(rfc2217),tcp,127.0.0.1,{port}\n  connector: serialdev,{device},9600n81,local\n"
            ),
        )
        .unwrap();
        let child = Command::new("ser2net")
            .arg("-n")
            .arg("-u")
            .arg("-c")
            .arg(&config)
            .arg("-P")
            .arg(dir.path().join("ser2net.pid"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start ser2net");
        let deadline = std::time::Instant::now() + common::LIMIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "ser2net does not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // That probe was a client: let ser2net close the port again.
        std::thread::sleep(Duration::from_millis(300));
        Some(Self {
            child,
            port,
            _dir: dir,
        })
    }
}

impl Drop for Ser2net {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pump_driver_reaches_its_pump_through_ser2net_and_sets_its_rate() {
    let sim = Process::start(&["sim", "turbovac", "--json"]);
    let Some(ser2net) = Ser2net::start(&sim.first) else {
        return;
    };
    let runtime = common::start(&pump_over(&format!("127.0.0.1:{}", ser2net.port))).await;
    common::wait_state(
        runtime.hub(),
        "port",
        labdeck_core::connection::StateKind::Connected,
    )
    .await;
    common::wait_responding(runtime.hub(), "pump", "the pump to answer through ser2net").await;
    let snapshot = runtime.hub().device("pump").unwrap().snapshot();
    assert!(
        common::prop(&snapshot, "frequency").is_some(),
        "{snapshot:?}"
    );
    runtime.shutdown().await.unwrap();
    // ser2net applied the driver's 19200 (8E1) to the simulator's port.
    assert!(sim.wait_for(|l| l.contains("client set the port to 19200 baud")));
}

/// A server that relays data to `device` and answers every COM port
/// command but purges, which it never answers (labgrid#1779).
fn forgetful_server(device: String) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let port = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&device)
            .unwrap();
        let mut attrs = nix::sys::termios::tcgetattr(&port).unwrap();
        nix::sys::termios::cfmakeraw(&mut attrs);
        nix::sys::termios::tcsetattr(&port, nix::sys::termios::SetArg::TCSANOW, &attrs).unwrap();
        let mut port_out = port.try_clone().unwrap();
        let mut client_out = client.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut port = port;
            let mut buf = [0u8; 256];
            while let Ok(n) = port.read(&mut buf) {
                if n == 0
                    || client_out
                        .write_all(&labdeck_protocol::rfc2217::escape(&buf[..n]))
                        .is_err()
                {
                    break;
                }
            }
        });
        let mut decoder = TelnetDecoder::new();
        let mut buf = [0u8; 256];
        while let Ok(n) = client.read(&mut buf) {
            if n == 0 {
                break;
            }
            for event in decoder.push(&buf[..n]) {
                match event {
                    TelnetEvent::Data(data) => port_out.write_all(&data).unwrap(),
                    TelnetEvent::Subnegotiation(COM_PORT_OPTION, payload) => {
                        match ComPort::parse(&payload, false) {
                            Ok(ComPort::PurgeData(_)) | Err(_) => {}
                            Ok(command) => client.write_all(&command.encode(true)).unwrap(),
                        }
                    }
                    _ => {}
                }
            }
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_a_purge_does_not_hang_the_link() {
    let sim = Process::start(&["sim", "turbovac", "--json"]);
    let address = forgetful_server(sim.first.clone());
    let started = std::time::Instant::now();
    let runtime = common::start(&pump_over(&address.to_string())).await;
    common::wait_responding(
        runtime.hub(),
        "pump",
        "the pump to answer without the purge",
    )
    .await;
    let took = started.elapsed();
    // Opening waited for the purge's answer at most ANSWER_WAIT, then went on.
    assert!(took >= labdeck_core::rfc2217::ANSWER_WAIT, "{took:?}");
    let connection = runtime.hub().connection("port").unwrap().snapshot();
    assert_eq!(
        connection.state,
        labdeck_core::connection::StateKind::Connected
    );
    runtime.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_server_exposes_a_simulators_port_and_a_driver_reaches_it() {
    let port = common::free_port();
    // The lab serves its simulator over RFC 2217, and its own pump driver
    // reaches the pump through that server.
    let text = format!(
        r#"
[[simulator]]
name = "sim"
type = "turbovac"

[[rfc2217]]
name = "remote"
simulator = "sim"
port = {port}
{}"#,
        pump_over(&format!("127.0.0.1:{port}"))
    );
    let runtime = common::start(&text).await;
    let hub = runtime.hub();
    common::wait_responding(hub, "pump", "the pump to answer over RFC 2217").await;
    // The server's own tap saw the driver's telegrams, both ways.
    let tap = hub.tap("remote").expect("the server's tap").clone();
    common::wait_until("traffic both ways", || {
        let c = tap.counters();
        c.tx_bytes >= 24 && c.rx_bytes >= 24
    })
    .await;
    runtime.shutdown().await.unwrap();
}
