//! Chained labdecks, each a real `labdeck serve` process: A serves the
//! demo, B attaches A (`[[indi.remote]]`) and serves its devices again,
//! C attaches B. A set from C reaches A's pump; a client of C snoops A's
//! pump through two hops; A going away leaves B and C running. Two
//! labdecks attaching each other refuse the devices that come back.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::serve::Serve;

/// A labdeck that attaches `remote` at `port` and serves INDI on `serve_on`.
fn chained(name: &str, port: u16, serve_on: u16) -> Serve {
    let config = format!(
        "[[indi.remote]]\nname = \"{name}\"\naddress = \"127.0.0.1:{port}\"\nretry = {{ base = 0.1, cap = 0.5 }}\n\n[indi.server]\nport = {serve_on}\n"
    );
    Serve::start(&config, &[])
}

/// A raw INDI client: what it sent and everything it has received.
struct Peer {
    stream: TcpStream,
    seen: String,
}

impl Peer {
    fn connect(port: u16, hello: &str) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        stream.write_all(hello.as_bytes()).unwrap();
        Self {
            stream,
            seen: String::new(),
        }
    }

    /// Read until what arrived since `from` contains every needle; where
    /// the last one ends.
    fn wait_for(&mut self, from: usize, needles: &[&str]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 8192];
        loop {
            let tail = &self.seen[from.min(self.seen.len())..];
            if let Some(end) = find_all(tail, needles) {
                return from + end;
            }
            assert!(
                Instant::now() < deadline,
                "never received {needles:?}; got:\n{}",
                &self.seen[self.seen.len().saturating_sub(3000)..]
            );
            match self.stream.read(&mut buf) {
                Ok(0) => panic!("the server closed the connection"),
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(_) => {}
            }
        }
    }
}

/// Where the needles all occur in order, the end of the last.
fn find_all(text: &str, needles: &[&str]) -> Option<usize> {
    let mut at = 0;
    for needle in needles {
        at += text[at..].find(needle)? + needle.len();
    }
    Some(at)
}

/// The labdecks the first route received names.
fn route_path(seen: &str) -> &str {
    let path = seen.split("name=\"PATH\"").nth(1).unwrap();
    path[path.find('>').unwrap() + 1..path.find("</defText>").unwrap()].trim()
}

#[test]
fn three_labdecks_in_a_chain() {
    let mut a = Serve::launch(&[], None, &["--indi-port", "0"]);
    let port_a = a.indi_port();
    a.expect("pump-port: connecting -> connected");
    let mut b = chained("lab-a", port_a, 0);
    let port_b = b.indi_port();
    let mut c = chained("lab-b", port_b, 0);
    let port_c = c.indi_port();

    // A client of C snoops A's pump setpoint, two labdecks away.
    let mut snooper = Peer::connect(
        port_c,
        "<getProperties version=\"1.7\" device=\"pump1\" name=\"SETPOINT\"/>",
    );
    snooper.wait_for(0, &["<defNumberVector device=\"pump1\" name=\"SETPOINT\""]);

    // The route names A, B and C, A first.
    let mut route = Peer::connect(
        port_c,
        "<getProperties version=\"1.7\" device=\"pump1\" name=\"LABDECK_ROUTE\"/>",
    );
    route.wait_for(
        0,
        &["name=\"LABDECK_ROUTE\"", "name=\"PATH\"", "</defText>"],
    );
    let path = route_path(&route.seen);
    assert_eq!(path.split_whitespace().count(), 3, "route {path:?}");

    // C's console device for B shows A's pump; a set there reaches A.
    c.retry(
        "get lab-b.pump1.SETPOINT.SETPOINT",
        "lab-b.pump1.SETPOINT.SETPOINT = ",
    );
    let sent = snooper.seen.len();
    c.send("set lab-b.pump1.SETPOINT.SETPOINT 950");
    a.retry("get pump1.setpoint", "pump1.setpoint = 950 Hz");
    // … and the snooper hears the change A's pump reports.
    snooper.wait_for(
        sent,
        &["<setNumberVector device=\"pump1\" name=\"SETPOINT\"", "950"],
    );

    // A goes away: B and C keep running and say the pump is gone.
    let seen = snooper.seen.len();
    drop(a);
    snooper.wait_for(seen, &["<delProperty device=\"pump1\""]);
    b.retry("status", "lab-a");
    c.retry("status", "lab-b");
}

#[test]
fn two_labdecks_attaching_each_other_refuse_the_loop() {
    let (port_a, port_b) = (common::free_port(), common::free_port());
    let extra = format!(
        "\n[[indi.remote]]\nname = \"lab-b\"\naddress = \"127.0.0.1:{port_b}\"\nretry = {{ base = 0.1, cap = 0.5 }}\n\n[indi.server]\nport = {port_a}\n"
    );
    let mut a = Serve::start(&common::pump_config("realistic", &extra), &[]);
    let mut b = chained("lab-a", port_a, port_b);
    a.indi_port();
    b.indi_port();

    // B serves A's pump again; A, seeing it come back, refuses it.
    a.expect("pump refused: a loop");
    // A's own pump is served once by A, as A's.
    let mut client = Peer::connect(
        port_a,
        "<getProperties version=\"1.7\" device=\"pump\" name=\"LABDECK_ROUTE\"/>",
    );
    let end = client.wait_for(0, &["name=\"LABDECK_ROUTE\"", "</defTextVector>"]);
    std::thread::sleep(Duration::from_millis(500));
    client.wait_for(end, &[]);
    assert_eq!(
        client.seen.matches("name=\"LABDECK_ROUTE\"").count(),
        1,
        "{}",
        client.seen
    );
    let path = route_path(&client.seen);
    assert_eq!(path.split_whitespace().count(), 1, "route {path:?}");
    // And both keep running.
    a.retry("status", "pump");
    b.retry("status", "lab-a");
}
