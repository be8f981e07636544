//! `labdeck serve --listen` as a real daemon and the clients of its
//! control socket as real processes: `ctl` and `status` against the live
//! lab, a second daemon refused, a stale socket taken over, and peers that
//! speak garbage or another version answered and dropped.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::console::Console;
use common::serve::Serve;
use nix::sys::signal::Signal;

fn daemon(socket: &Path) -> Serve {
    let serve = Serve::start(
        &common::pump_config("compat", ""),
        &["--listen", socket.to_str().unwrap()],
    );
    let deadline = Instant::now() + common::LIMIT;
    while UnixStream::connect(socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    serve
}

fn labdeck(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .args(args)
        .output()
        .expect("run labdeck")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn socket_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("run/lab.sock")
}

#[test]
fn ctl_and_status_talk_to_the_live_lab() {
    let dir = tempfile::tempdir().unwrap();
    let socket = socket_in(&dir);
    let mut serve = daemon(&socket);
    let s = socket.to_str().unwrap();
    let deadline = Instant::now() + common::LIMIT;
    loop {
        let status = text(&labdeck(&["ctl", "--socket", s, "status"]));
        if status.contains("responding") && !status.contains("not responding") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pump never answered: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The daemon's events, as `serve --json` prints them.
    let (mut follower, _stdin, lines) = common::spawn_with_lines(
        Command::new(env!("CARGO_BIN_EXE_labdeck")).args(["attach", "--json", s]),
        "labdeck attach --json",
    );
    let deadline = Instant::now() + common::LIMIT;
    while !text(&labdeck(&["ctl", "--socket", s, "clients"])).contains("json of") {
        assert!(Instant::now() < deadline, "attach --json never attached");
        std::thread::sleep(Duration::from_millis(50));
    }
    let on = labdeck(&["ctl", "--socket", s, "pump", "pump", "on"]);
    assert!(on.status.success(), "{}", text(&on));
    assert!(text(&on).contains("pump switched on"), "{}", text(&on));
    // The daemon's audit trail names who did it, and the follower sees it.
    serve.expect("audit    attached #");
    serve.expect("ctl of");
    let deadline = Instant::now() + common::LIMIT;
    loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("attach --json printed no audit event");
        if line.contains(r#""event":"audit""#) {
            assert!(line.contains("ctl of"), "{line}");
            let _: serde_json::Value = serde_json::from_str(&line).unwrap();
            break;
        }
    }
    let _ = follower.kill();
    let _ = follower.wait();
    let refused = labdeck(&["ctl", "--socket", s, "frobnicate"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(
        text(&refused).contains("unknown command"),
        "{}",
        text(&refused)
    );
    let status = labdeck(&["status", "--socket", s]);
    assert!(status.status.success(), "{}", text(&status));
    let status = text(&status);
    assert!(status.contains("daemon pid"), "{status}");
    assert!(status.contains("status of"), "{status}");
    assert!(status.contains("nobody holds control"), "{status}");
    // Nobody at a path: said so, with what to do.
    let missing = dir.path().join("nothing.sock");
    let none = labdeck(&["ctl", "--socket", missing.to_str().unwrap(), "status"]);
    assert!(!none.status.success());
    assert!(
        text(&none).contains("no labdeck daemon at"),
        "{}",
        text(&none)
    );
    serve.send("quit");
    assert!(serve.wait().success());
    assert!(!socket.exists(), "the socket goes with the daemon");
}

#[test]
fn a_second_daemon_is_refused_and_a_stale_socket_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let socket = socket_in(&dir);
    let first = daemon(&socket);
    let s = socket.to_str().unwrap();
    let config = first.path().join("lab.toml");
    let second = labdeck(&["serve", "--config", config.to_str().unwrap(), "--listen", s]);
    assert!(!second.status.success());
    assert!(
        text(&second).contains("another labdeck daemon is serving"),
        "{}",
        text(&second)
    );
    // Killed, the daemon leaves its socket behind; the next one takes it.
    first.signal(Signal::SIGKILL);
    drop(first);
    assert!(socket.exists());
    let _next = daemon(&socket);
    let status = labdeck(&["ctl", "--socket", s, "status"]);
    assert!(status.status.success(), "{}", text(&status));
}

/// One length-delimited frame.
fn frame(stream: &mut UnixStream, body: &[u8]) {
    stream
        .write_all(&u32::try_from(body.len()).unwrap().to_be_bytes())
        .unwrap();
    stream.write_all(body).unwrap();
}

fn read_frame(stream: &mut UnixStream) -> String {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).unwrap();
    String::from_utf8(body).unwrap()
}

fn closed(stream: &mut UnixStream) -> bool {
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).is_ok()
}

#[test]
fn garbage_and_other_versions_are_answered_and_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let socket = socket_in(&dir);
    let _serve = daemon(&socket);

    let mut garbage = UnixStream::connect(&socket).unwrap();
    frame(&mut garbage, b"\xff\xfe<hello/>");
    let answer = read_frame(&mut garbage);
    assert!(answer.contains(r#""frame":"refused""#), "{answer}");
    assert!(answer.contains("not a labdeck frame"), "{answer}");
    assert!(closed(&mut garbage));

    let mut old = UnixStream::connect(&socket).unwrap();
    frame(
        &mut old,
        br#"{"frame":"hello","version":99,"peer":{"kind":"console","user":"x","pid":1,"tty":null},"control":false,"events":false}"#,
    );
    let answer = read_frame(&mut old);
    assert!(
        answer.contains("protocol version 99; this daemon speaks version 1"),
        "{answer}"
    );
    assert!(closed(&mut old));

    let mut early = UnixStream::connect(&socket).unwrap();
    frame(&mut early, br#"{"frame":"take-control"}"#);
    assert!(read_frame(&mut early).contains("the first frame must be hello"));

    // And the daemon still serves the next client.
    let status = labdeck(&["ctl", "--socket", socket.to_str().unwrap(), "status"]);
    assert!(status.status.success(), "{}", text(&status));
}

fn attach(socket: &Path) -> Console {
    Console::spawn(
        40,
        120,
        "xterm-256color",
        &["attach", socket.to_str().unwrap()],
    )
}

/// The samples the daemon's running task has taken, from `ctl tasks`.
fn samples(socket: &str) -> u64 {
    let tasks = text(&labdeck(&["ctl", "--socket", socket, "tasks"]));
    let line = tasks
        .lines()
        .find(|l| l.contains("running"))
        .unwrap_or_else(|| panic!("no running task: {tasks}"));
    let taken = line
        .split_whitespace()
        .find_map(|w| w.split_once('/'))
        .unwrap_or_else(|| panic!("no samples in {line}"));
    taken.0.parse().unwrap()
}

#[test]
fn consoles_attach_detach_and_the_lab_runs_on() {
    let dir = tempfile::tempdir().unwrap();
    let socket = socket_in(&dir);
    let mut serve = daemon(&socket);
    let s = socket.to_str().unwrap();

    // The first console holds control and drives the lab.
    let mut first = attach(&socket);
    first.wait_for("labdeck @lab.sock control");
    first.wait_for("Properties: pump (turbovac, responding)");
    first.press(b":fault sim delay 5\r");
    first.wait_for("sim: fault delay on");
    let faults = text(&labdeck(&["ctl", "--socket", s, "faults", "sim"]));
    assert!(faults.contains("delay on (5"), "{faults}");
    first.press(b":task pump monitor interval=0.1 duration=120\r");
    first.wait_for_row(&["running", "pump", "monitor"]);

    // Killed like a dropped SSH session: the task runs on in the daemon.
    first.kill(Signal::SIGHUP);
    let before = samples(s);
    std::thread::sleep(Duration::from_millis(600));
    assert!(samples(s) > before, "the task stopped with its console");

    // Attached again: the same task, still running.
    let mut second = attach(&socket);
    second.wait_for_row(&["running", "pump", "monitor"]);
    second.wait_for("labdeck @lab.sock control");

    // A third console watches; its writes are refused until it takes control.
    let mut third = attach(&socket);
    third.wait_for("labdeck @lab.sock watching");
    third.press(b"o");
    third.wait_for("read-only: 'power' refused");
    third.press(b":control take\r");
    third.wait_for("Take it? Its writes are refused from then on.");
    third.press(b"y");
    third.wait_for("labdeck @lab.sock control");
    second.wait_for("labdeck @lab.sock watching");
    let clients = text(&labdeck(&["ctl", "--socket", s, "clients"]));
    assert!(clients.contains("3 client(s) attached"), "{clients}");
    assert_eq!(clients.matches("[control]").count(), 1, "{clients}");

    // SIGKILL too leaves the lab as it was.
    second.kill(Signal::SIGKILL);
    third.press(b":detach\r");
    assert!(third.wait_exit().success());
    // A console whose daemon goes away says so and ends.
    let mut last = attach(&socket);
    last.wait_for("labdeck @lab.sock control");
    let before = samples(s);
    std::thread::sleep(Duration::from_millis(600));
    assert!(samples(s) > before);
    serve.send("quit");
    last.wait_for("detached: the daemon closed the connection");
    last.wait_for("the daemon is stopping");
    assert!(!last.wait_exit().success());
}

/// `ctl status` until the daemon at `socket` answers.
fn wait_answering(socket: &str, extra: &[&str]) {
    let deadline = Instant::now() + common::LIMIT;
    loop {
        let mut args = vec!["ctl", "--socket", socket];
        args.extend_from_slice(extra);
        args.push("status");
        if labdeck(&args).status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the daemon at {socket} never answered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_daemon_on_tcp_loopback_and_one_that_wants_a_token() {
    let open = format!("tcp:127.0.0.1:{}", common::free_port());
    let first = Serve::start(&common::pump_config("compat", ""), &["--listen", &open]);
    wait_answering(&open, &[]);
    let clients = text(&labdeck(&["ctl", "--socket", &open, "clients"]));
    assert!(
        clients.contains("ctl of") && clients.contains("from 127.0.0.1:"),
        "{clients}"
    );

    // A token: without it or with another, refused; with it, served.
    let token = first.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let wrong = first.path().join("wrong");
    std::fs::write(&wrong, "guess\n").unwrap();
    let locked = format!("tcp:127.0.0.1:{}", common::free_port());
    let _second = Serve::start(
        &common::pump_config("compat", ""),
        &["--listen", &locked, "--token-file", token.to_str().unwrap()],
    );
    wait_answering(&locked, &["--token-file", token.to_str().unwrap()]);
    for extra in [vec![], vec!["--token-file", wrong.to_str().unwrap()]] {
        let mut args = vec!["ctl", "--socket", locked.as_str()];
        args.extend(extra);
        args.push("status");
        let refused = labdeck(&args);
        assert!(!refused.status.success());
        assert!(
            text(&refused).contains("needs its token"),
            "{}",
            text(&refused)
        );
    }

    // Off loopback without a token: refused before anything is bound.
    let config = first.path().join("lab.toml");
    let exposed = labdeck(&[
        "serve",
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "tcp:0.0.0.0:9",
    ]);
    assert!(!exposed.status.success());
    assert!(
        text(&exposed).contains("is not a loopback address"),
        "{}",
        text(&exposed)
    );
}
