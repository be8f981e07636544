//! The real binary in a pseudo-terminal, its screen parsed with vt100:
//! the demo console end to end, and escape sequences from a device that
//! must leave the screen intact.

use std::io::{Read, Write};
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const LIMIT: Duration = Duration::from_secs(20);

/// Records what the program asked the terminal for besides drawing.
#[derive(Default)]
struct Recorder {
    titles: Vec<String>,
    bells: usize,
}

impl vt100::Callbacks for Recorder {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles
            .push(String::from_utf8_lossy(title).into_owned());
    }

    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }
}

struct Console {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<Mutex<vt100::Parser<Recorder>>>,
    dir: tempfile::TempDir,
}

impl Console {
    fn start(rows: u16, cols: u16) -> Self {
        Self::start_with(rows, cols, "xterm-256color")
    }

    fn start_with(rows: u16, cols: u16, term: &str) -> Self {
        Self::start_args(rows, cols, term, &[])
    }

    /// The demo with `args`; its INDI server on a free port, so consoles
    /// started side by side do not compete for 7624 (the loser would
    /// rightly raise an alarm).
    fn start_args(rows: u16, cols: u16, term: &str, args: &[&str]) -> Self {
        let mut all = vec!["--indi-port", "0"];
        all.extend_from_slice(args);
        Self::spawn(rows, cols, term, &all)
    }

    fn spawn(rows: u16, cols: u16, term: &str, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_labdeck"));
        cmd.args(args);
        cmd.cwd(dir.path());
        cmd.env("TERM", term);
        cmd.env("LANG", "C.UTF-8");
        cmd.env("XDG_CONFIG_HOME", dir.path());
        cmd.env("XDG_DATA_HOME", dir.path());
        cmd.env("XDG_STATE_HOME", dir.path());
        cmd.env("XDG_STATE_HOME", dir.path());
        cmd.env_remove("NO_COLOR");
        let child = pty.slave.spawn_command(cmd).expect("spawn labdeck");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let writer = pty.master.take_writer().unwrap();
        let screen = Arc::new(Mutex::new(vt100::Parser::new_with_callbacks(
            NonZeroU16::new(rows).unwrap(),
            NonZeroU16::new(cols).unwrap(),
            0,
            Recorder::default(),
        )));
        let sink = screen.clone();
        // Keep draining, or the child blocks on a full pty.
        std::thread::spawn(move || {
            let _master = pty.master;
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().process(&buf[..n]);
            }
        });
        Self {
            child,
            writer,
            screen,
            dir,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Wait until the screen shows `needle` (one needle at a time: a frame
    /// can be half drawn when sampled).
    fn wait_for(&self, needle: &str) {
        self.wait_for_within(needle, LIMIT);
    }

    fn wait_for_within(&self, needle: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self.contents().contains(needle) {
                return;
            }
            assert!(
                Instant::now() <= deadline,
                "screen never showed {needle:?}; it shows:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until a row of one pane has `words` in this order (columns
    /// are as wide as their cells and come and go with the width, so
    /// spacing and the columns between vary).
    fn wait_for_row(&self, words: &[&str]) {
        let deadline = Instant::now() + LIMIT;
        while !self.has_row(words) {
            assert!(
                Instant::now() <= deadline,
                "no row with {words:?}; the screen shows:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn has_row(&self, words: &[&str]) -> bool {
        let border = |c: char| ('\u{2500}'..='\u{257f}').contains(&c);
        self.contents()
            .lines()
            .flat_map(|line| line.split(border).map(str::to_string).collect::<Vec<_>>())
            .any(|pane_row| {
                let mut row = pane_row
                    .split(|c: char| c.is_whitespace() || c == '▸')
                    .filter(|w| !w.is_empty());
                words.iter().all(|word| row.any(|w| w == *word))
            })
    }

    fn press(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).unwrap();
        self.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(60));
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader take the last bytes (terminal restore).
                std::thread::sleep(Duration::from_millis(200));
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "labdeck did not exit:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

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
