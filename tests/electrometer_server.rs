//! `labdeck sim electrometer` as a real process on a real socket, fed bad
//! input: every case ends in an SCPI error or a dropped client with a
//! logged reason, and the server goes on serving the next client.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::electrometer::{EmProcess, receive};

const QUIET: Duration = Duration::from_millis(200);

/// Send lines, read the answer to the last one (a query).
fn ask(stream: &mut TcpStream, text: &str) -> String {
    stream.write_all(text.as_bytes()).unwrap();
    let got = receive(stream, 1, QUIET, common::LIMIT);
    assert!(!got.closed, "connection closed after {text:?}");
    String::from_utf8(got.bytes).unwrap()
}

fn idn_works(sim: &EmProcess) {
    let mut client = sim.connect();
    let answer = ask(&mut client, "*IDN?\n");
    assert!(
        answer.starts_with("KEITHLEY INSTRUMENTS INC.,MODEL 6517B"),
        "{answer:?}"
    );
}

#[test]
fn malformed_numbers_unknown_headers_and_bad_bytes_are_scpi_errors() {
    let sim = EmProcess::start(&[]);
    let mut client = sim.connect();
    for (line, code) in [
        (":SENS:CURR:NPLC abc", "-104"),
        (":SENS:CURR:NPLC 100", "-222"),
        (":SENS:CURR:NPLC", "-109"),
        (":BOGus:HEADer 1", "-113"),
        ("*IDN", "-113"),
        ("\u{1}\u{7f}garbage?", "-102"),
    ] {
        let answer = ask(&mut client, &format!("{line}\n:SYST:ERR?\n"));
        assert!(answer.starts_with(code), "{line:?} gave {answer:?}");
    }
    client.write_all(b"\xff\xfe\xfd\n").unwrap();
    let answer = ask(&mut client, ":SYST:ERR?\n");
    assert_eq!(answer, "-101,\"Invalid character\"\n");
    // The link is still good.
    assert!(ask(&mut client, "*IDN?\n").starts_with("KEITHLEY"));
}

#[test]
fn an_overlong_line_drops_the_client_and_the_next_is_served() {
    let sim = EmProcess::start(&["--max-line", "1024"]);
    let mut client = sim.connect();
    let _ = client.write_all(&vec![b'A'; 5000]);
    let got = receive(&mut client, usize::MAX, Duration::ZERO, common::LIMIT);
    assert!(got.closed && got.bytes.is_empty());
    sim.expect_line("line of more than 1024 bytes");
    idn_works(&sim);
}

#[test]
fn a_half_line_then_a_disconnect_is_forgotten() {
    let sim = EmProcess::start(&[]);
    let mut client = sim.connect();
    client.write_all(b"*IDN").unwrap();
    drop(client);
    sim.expect_line("4 bytes of an unterminated line discarded");
    // Nothing of the half line leaks into the next client's session: a
    // lone `?` is a syntax error, not the end of `*IDN?`.
    let mut next = sim.connect();
    assert_eq!(ask(&mut next, "?\n:SYST:ERR?\n"), "-102,\"Syntax error\"\n");
}

#[test]
fn a_second_client_is_closed_at_once_and_the_first_is_untouched() {
    let sim = EmProcess::start(&[]);
    let mut first = sim.connect();
    assert!(ask(&mut first, "*IDN?\n").starts_with("KEITHLEY"));
    let mut second = sim.connect();
    let got = receive(&mut second, 1, Duration::ZERO, common::LIMIT);
    assert!(got.closed && got.bytes.is_empty(), "{got:?}");
    sim.expect_line("a client is already connected");
    assert!(ask(&mut first, "*IDN?\n").starts_with("KEITHLEY"));
}

#[test]
fn a_client_that_floods_queries_without_reading_is_dropped() {
    let sim = EmProcess::start(&["--write-timeout", "0.5"]);
    let client = sim.connect();
    let mut writer = client.try_clone().unwrap();
    // Far more replies than the socket buffers hold; never read.
    let flood = std::thread::spawn(move || {
        let chunk = "*IDN?\n".repeat(10_000);
        let deadline = Instant::now() + common::LIMIT;
        while Instant::now() < deadline {
            if writer.write_all(chunk.as_bytes()).is_err() {
                return true;
            }
        }
        false
    });
    sim.expect_line("has not read its replies");
    // The server closed its end: our writes fail from here on.
    assert!(flood.join().unwrap(), "writes kept succeeding");
    let mut rest = Vec::new();
    let mut client = client;
    client.set_read_timeout(Some(common::LIMIT)).unwrap();
    let _ = client.read_to_end(&mut rest);
    idn_works(&sim);
}

#[test]
fn the_lsst_dialect_drops_a_client_for_invalid_utf8_and_keeps_listening() {
    let sim = EmProcess::start(&["--dialect", "lsst"]);
    let mut client = sim.connect();
    client.write_all(b"\xff\xfe;\r").unwrap();
    let got = receive(&mut client, usize::MAX, Duration::ZERO, common::LIMIT);
    assert!(got.closed && got.bytes.is_empty());
    sim.expect_line("not valid UTF-8");
    let mut next = sim.connect();
    next.write_all(b"*idn?;\r").unwrap();
    let got = receive(&mut next, 55, QUIET, common::LIMIT);
    assert_eq!(
        got.bytes,
        b"KEITHLEY INSTRUMENTS INC.,MODEL 6517B,4096271,A13/700X\r"
    );
}

/// Clients that close and reconnect at once are each served: the close
/// of the previous one is seen before the next one is judged a second.
#[test]
fn back_to_back_clients_are_never_refused() {
    let sim = EmProcess::start(&[]);
    let mut refused = 0;
    for _ in 0..500 {
        let mut client = sim.connect();
        client.write_all(b"*IDN?\n").unwrap();
        let mut reply = Vec::new();
        let mut byte = [0u8; 256];
        while !reply.ends_with(b"\n") {
            match client.read(&mut byte) {
                Ok(0) | Err(_) => break,
                Ok(n) => reply.extend_from_slice(&byte[..n]),
            }
        }
        if !reply.starts_with(b"KEITHLEY") {
            refused += 1;
        }
    }
    assert_eq!(refused, 0, "{refused} of 500 back-to-back clients refused");
}
