//! The real binary in a pseudo-terminal, its screen parsed with vt100:
//! the demo console end to end, and escape sequences from a device that
//! must leave the screen intact.

mod common;

use std::time::Duration;

use common::console::Console;

#[test]
fn demo_console_faults_recovery_help_and_quit() {
    let mut console = Console::start(40, 120);
    console.wait_for("● connected");
    console.wait_for("Rotor frequency");
    // Fault menu of the pump simulator; "no reply" is the first fault.
    console.press(b"f");
    console.wait_for("Faults of pump-sim");
    console.press(b"\r");
    console.wait_for("[ON]  no-reply");
    console.press(b"\x1b");
    console.wait_for("↻ recovering");
    console.wait_for("1 ALARM");
    console.wait_for("NEW");
    // Switch it off again: the link comes back by itself.
    console.press(b"f");
    console.wait_for("[ON]  no-reply");
    console.press(b" ");
    console.wait_for("[off] no-reply");
    console.press(b"\x1b");
    console.wait_for("● connected");
    // Help, generated from the keymap, filtered by typing.
    console.press(b"?");
    console.wait_for("Keys (type to filter");
    console.press(b"fault");
    console.wait_for("fault menu of the selected simulator");
    console.press(b"\x1b");
    // Quit asks first while links are connected.
    console.press(b"q");
    console.wait_for("Quit anyway? (y / n)");
    console.press(b"y");
    let status = console.wait_exit();
    assert!(status.success(), "exit status {status:?}");
    let parser = console.screen.lock().unwrap();
    assert!(!parser.screen().alternate_screen(), "alternate screen left");
    assert!(!parser.screen().hide_cursor(), "cursor shown again");
}

#[test]
fn the_electrometer_is_live_and_its_faults_work_from_the_keyboard() {
    let mut console = Console::start(40, 120);
    console.wait_for("em-tcp");
    // Second connection: the electrometer's link, device and simulator.
    console.press(b"1j");
    console.wait_for("Properties: em1 (electrometer, responding)");
    console.wait_for("Reading status");
    console.press(b"f");
    console.wait_for("Faults of em-sim");
    let position = |console: &Console, id: &str| {
        let contents = console.contents();
        let menu: Vec<&str> = contents
            .lines()
            .filter(|l| l.contains("[off]") || l.contains("[ON]"))
            .collect();
        menu.iter()
            .position(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    // Listener down: the link fails to reconnect; up again: it recovers.
    let down = position(&console, "listener-down");
    console.press(&b"j".repeat(down));
    console.press(b"\r");
    console.wait_for("[ON]  listener-down");
    console.press(b"\x1b");
    // The link's row: recovering, its error the refused reconnect.
    console.wait_for_row(&["↻", "recovering", "em-tcp"]);
    console.wait_for("open failed: 127.0.0.1");
    console.press(b"f");
    console.wait_for("[ON]  listener-down");
    console.press(&b"j".repeat(down));
    console.press(b" ");
    console.wait_for("[off] listener-down");
    console.press(b"\x1b");
    console.wait_for("Properties: em1 (electrometer, responding)");
    // Overflow: the reading turns into a device alarm, and back.
    console.press(b"f");
    console.wait_for("Faults of em-sim");
    let overflow = position(&console, "overflow");
    console.press(&b"j".repeat(overflow));
    console.press(b"\r");
    console.wait_for("[ON]  overflow");
    console.press(b"\x1b");
    console.wait_for_row(&["Reading", "status", "overflow", "Alert"]);
    console.wait_for("1 ALARM");
    console.press(b"f");
    console.press(&b"j".repeat(overflow));
    console.press(b" ");
    console.wait_for("[off] overflow");
    console.press(b"\x1b");
    console.wait_for_row(&["Reading", "status", "normal", "Ok"]);
    console.press(b"qy");
    assert!(console.wait_exit().success());
}

#[test]
fn tasks_are_queued_watched_cancelled_and_recorded_from_the_console() {
    let mut console = Console::start(40, 120);
    console.wait_for("Properties: pump1 (turbovac, responding)");
    // A pump ramp from the palette, an electrometer measurement from the form.
    console.press(b":task pump1 ramp setpoint=800 rate=100 interval=0.2 duration=60\r");
    console.wait_for_row(&["running", "pump1", "ramp"]);
    console.press(b"t");
    console.wait_for("New task");
    // The form opens on the technique; Shift-Tab goes back to the device.
    console.press(b"\x1b[Z");
    console.press(&[0x7f; 5]); // pump1 -> em1
    console.press(b"em1\t");
    console.press(&[0x7f; 7]); // monitor -> measure
    console.press(b"measure\t\t");
    console.press(&[0x7f; 1]); // interval 1 -> 0.2
    console.press(b"0.2\t");
    console.press(&[0x7f; 2]); // duration 60 -> 1
    console.press(b"1\r");
    console.wait_for_row(&["completed", "em1", "measure"]);
    // The chart of the running ramp, then cancel it (asks first).
    console.press(b"5");
    console.wait_for("■ setpoint");
    console.press(b"g");
    console.press(b"x");
    console.wait_for("Cancel task #1 'ramp' on pump1?");
    console.press(b"y");
    console.wait_for_row(&["cancelled", "pump1", "ramp"]);
    console.press(b"qy");
    assert!(console.wait_exit().success());
    let data = console.dir.path().join("labdeck/data");
    let files: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let find = |suffix: &str| {
        let name = files
            .iter()
            .find(|f| f.ends_with(suffix))
            .unwrap_or_else(|| panic!("no *{suffix} in {files:?}"));
        std::fs::read_to_string(data.join(name)).unwrap()
    };
    assert!(
        find("-pump1-ramp.csv")
            .starts_with("uts,task,setpoint [Hz],frequency [Hz],temperature [°C]")
    );
    assert!(find("-pump1-ramp.json").contains("\"state\": \"cancelled\""));
    let measure = find("-em1-measure.csv");
    assert!(
        measure.starts_with("uts,task,reading [A],status\n"),
        "{measure}"
    );
    assert_eq!(measure.lines().count(), 6, "{measure}");
    assert!(find("-em1-measure.json").contains("\"state\": \"completed\""));
}

#[test]
fn escape_sequences_from_a_device_leave_the_screen_intact() {
    let mut console = Console::start(40, 120);
    console.wait_for("● connected");
    console.press(b"f");
    console.wait_for("Faults of pump-sim");
    // Down to "escapes".
    let position = {
        let contents = console.contents();
        let menu: Vec<&str> = contents.lines().filter(|l| l.contains("[off]")).collect();
        menu.iter()
            .position(|l| l.contains("escapes"))
            .expect("escapes fault listed")
    };
    console.press(&b"j".repeat(position));
    console.press(b"\r");
    console.wait_for("[ON]  escapes");
    console.press(b"\x1b");
    // The payload shows up, rendered harmlessly, in the traffic pane: as
    // hex, then decoded with control bytes by name. The filter keeps the
    // electrometer's polls out of the way.
    console.press(b"4/pwned\r");
    console.wait_for("RX ◀ pump-port 1b 5b 32 4a 1b 5b 48 1b 5d 30 3b");
    console.press(b"h");
    console.wait_for("Traffic (decoded)");
    console.wait_for("byte(s) not a telegram: <ESC");
    std::thread::sleep(Duration::from_millis(600));
    let parser = console.screen.lock().unwrap();
    let screen = parser.screen();
    let rows: Vec<String> = screen.rows(0, 120).collect();
    assert!(
        rows[0].starts_with(" labdeck"),
        "header intact: {:?}",
        rows[0]
    );
    assert!(
        rows[1].starts_with('┌') || rows[1].starts_with('┏'),
        "pane borders intact: {:?}",
        rows[1]
    );
    assert!(
        rows[39].starts_with(" p pause"),
        "hint bar intact: {:?}",
        rows[39]
    );
    // ESC[10;10H X would have printed X at row 10, column 10.
    assert_ne!(screen.cell(9, 9).map(vt100::Cell::contents), Some("X"));
    let recorder = parser.callbacks();
    assert!(
        recorder.titles.is_empty(),
        "window title changed: {:?}",
        recorder.titles
    );
    assert_eq!(recorder.bells, 0, "bell rang");
    drop(parser);
    console.press(b"q");
    console.press(b"y");
    assert!(console.wait_exit().success());
}

#[test]
fn the_linux_console_gets_ascii_glyphs() {
    let mut console = Console::start_with(24, 80, "linux");
    console.wait_for("* connected");
    console.press(b"4");
    console.wait_for("TX > pump-port");
    console.press(b"qy");
    assert!(console.wait_exit().success());
}

#[test]
fn a_pump_that_stops_answering_is_not_shown_as_up() {
    let mut console = Console::start(40, 120);
    console.wait_for("devices 2/2 responding");
    console.press(b":fault pump-sim no-reply on\r");
    // Within 3 s, and never green meanwhile on its row.
    console.wait_for_within("devices 1/2 responding", Duration::from_secs(3));
    console.wait_for("◌ not responding");
    console.press(b":fault pump-sim no-reply off\r");
    console.wait_for("devices 2/2 responding");
}

#[test]
fn a_ramp_on_a_pump_in_error_fails_with_the_reason() {
    let mut console = Console::start(40, 120);
    console.wait_for("Properties: pump1 (turbovac, responding)");
    console.press(b":fault pump-sim overtemp on\r");
    console.wait_for("error 5");
    console.press(b":task pump1 ramp setpoint=1100 rate=100 interval=0.1 duration=1\r");
    console.wait_for_row(&["failed", "pump1", "ramp"]);
    // The reason, whole in the task's details.
    console.press(b"5");
    console.press(b"\r");
    console.wait_for("in error 5");
}

#[test]
fn read_only_refuses_the_pump_switch_and_leaves_it_as_it_was() {
    let mut console = Console::start_args(40, 120, "xterm-256color", &["--read-only"]);
    console.wait_for("labdeck READ-ONLY");
    console.wait_for("Properties: pump1 (turbovac, responding)");
    console.press(b"o");
    console.wait_for("read-only: 'power' refused (started with --read-only)");
    // Monitoring goes on, the pump as it was.
    console.press(b":status\r");
    console.wait_for("pump1");
    assert!(
        console.has_row(&["Pump", "on", "off"]),
        "{}",
        console.contents()
    );
    // The palette line is kept for the next session.
    let history = console.dir.path().join("labdeck/history");
    let kept = std::fs::read_to_string(&history).unwrap_or_default();
    assert_eq!(kept, "status\n", "{}", history.display());
}

#[test]
fn a_telegram_sent_from_the_palette_shows_its_tx_and_the_reply() {
    let mut console = Console::start(40, 120);
    console.wait_for("devices 2/2 responding");
    // A read of P312, which no poll sends.
    console.press(
        b":send pump-port hex 02 16 00 11 38 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00 39\r",
    );
    console.wait_for("pump1: sent 24 byte(s)");
    console.wait_for("reply after");
    // The TX is in the traffic pane: search for its parameter bytes,
    // open the frame. (A key closes the reply box and does its job; Esc
    // right before another key would read as Alt+key.)
    // The newest hit is the reply (it echoes the parameter); n goes to
    // the request before it.
    console.press(b"4");
    console.wait_for("RX ◀ pump-port 02 16 00 11 38");
    console.press(b"s1138\r");
    console.wait_for("frame(s) match");
    console.press(b"\r");
    console.wait_for("RX (received)");
    console.wait_for("PNU 312");
    console.press(b"n\r");
    console.wait_for("TX (sent)");
    console.wait_for("PNU 312");
}
