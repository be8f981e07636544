//! The headless front ends and their stdout: one that closes after the
//! first line (`| head -1`) or stays open unread never stops the process
//! from working, never makes it panic, and SIGTERM still ends it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn labdeck(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("labdeck starts")
}

/// The first stdout line, and stdout itself.
fn first_line(child: &mut Child) -> (String, BufReader<std::process::ChildStdout>) {
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    (line.trim().to_string(), stdout)
}

/// SIGTERM, then its exit status within a few seconds; and its stderr.
fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    kill(Pid::from_raw(child.id().cast_signed()), Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "SIGTERM did not end it");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stderr)
}

fn ask(stream: &mut TcpStream, query: &[u8]) -> Vec<u8> {
    stream.write_all(query).unwrap();
    let mut reply = Vec::new();
    let mut buf = [0u8; 256];
    while !reply.ends_with(b"\n") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed without an answer");
        reply.extend_from_slice(&buf[..n]);
    }
    reply
}

#[test]
fn a_stdout_closed_after_the_first_line_is_not_a_crash() {
    for args in [&["sim", "electrometer"][..], &["sim", "turbovac"]] {
        let mut child = labdeck(args);
        let (first, stdout) = first_line(&mut child);
        assert!(!first.is_empty(), "{args:?}: no first line");
        drop(stdout);
        // Replies to commands now go nowhere.
        let stdin = child.stdin.as_mut().unwrap();
        for _ in 0..20 {
            writeln!(stdin, "faults").unwrap();
        }
        std::thread::sleep(Duration::from_millis(500));
        assert!(child.try_wait().unwrap().is_none(), "{args:?}: exited");
        let (status, stderr) = terminate(child);
        assert!(status.success(), "{args:?}: {status}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_stdout_nobody_reads_does_not_stop_the_simulator() {
    let mut child = labdeck(&["sim", "electrometer", "--traffic"]);
    let (address, stdout) = first_line(&mut child);
    let mut client = TcpStream::connect(&address).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // Each exchange prints two traffic lines: far more than a pipe holds.
    for _ in 0..5000 {
        assert!(ask(&mut client, b"*IDN?\n").starts_with(b"KEITHLEY"));
    }
    let (status, stderr) = terminate(child);
    assert!(status.success(), "{status}\n{stderr}");
    drop(stdout);
}
