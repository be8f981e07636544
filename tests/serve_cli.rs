//! `labdeck serve` as a real process: events on stdout, commands on stdin,
//! clean exit on `quit` and on SIGTERM/SIGINT.

mod common;

use common::serve::Serve;

fn start(args: &[&str]) -> Serve {
    Serve::start(&common::pump_config("compat", ""), args)
}

#[test]
fn serve_prints_events_and_answers_commands() {
    // Every update, so the short acceleration phase cannot be throttled away.
    let mut serve = start(&["--all-updates"]);
    serve.expect("link     port: connecting -> connected (opened /dev/pts/");
    serve.send("pump pump on");
    serve.expect("ok: pump switched on");
    // Into the audit trail, with who asked and how it ended.
    serve.expect(
        r#"audit    serve: {"request":"power","device":"pump","on":true,"force":false}: done"#,
    );
    serve.expect("property pump.motion = accelerating [Ok]");
    serve.send("fault sim no-reply on");
    serve.expect("fault    sim: no-reply on");
    serve.expect("link     port: connected -> recovering (link lost: no reply within 0.3 s");
    serve.expect("ALARM    port (link): no reply within 0.3 s");
    serve.send("fault sim no-reply off");
    serve.expect("link     port: connecting -> connected");
    // Once the link stays up, the alarm clears.
    serve.expect("cleared  port (link): no reply within 0.3 s");
    serve.send("frobnicate");
    serve.expect("error: unknown command \"frobnicate\" (try 'help')");
    serve.send("quit");
    serve.expect("ok: quit");
    assert!(serve.wait().success());
}

#[test]
fn serve_speaks_json_lines() {
    let mut serve = start(&["--json"]);
    let line = serve.expect("\"event\":\"transition\"");
    let value: serde_json::Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(value["connection"], "port");
    serve.send("get pump.nothing");
    let line = serve.expect("\"event\":\"reply\"");
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["ok"], false);
    // The refusal, typed: what it is and what the device knows.
    assert_eq!(value["error"]["error"], "unknown-attr");
    assert_eq!(value["error"]["attr"], "nothing");
    assert!(
        value["error"]["known"]
            .as_array()
            .is_some_and(|k| !k.is_empty())
    );
    serve.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(serve.wait().success());
}

#[test]
fn ctrl_c_shuts_down_cleanly() {
    let mut serve = start(&[]);
    serve.expect("-> connected");
    serve.signal(nix::sys::signal::Signal::SIGINT);
    serve.expect("port: connected -> torn-down (teardown requested)");
    assert!(serve.wait().success());
}

#[test]
fn the_console_options_work_without_run() {
    // Not on a terminal, the console refuses to start; but it got as far
    // as that: the options were taken, not refused as unknown.
    for args in [&["--theme", "light"][..], &["run", "--theme", "light"][..]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_labdeck"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("needs a terminal"), "{args:?}: {stderr}");
    }
    // Console options do not mix with another subcommand.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .args(["--theme", "light", "check"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
