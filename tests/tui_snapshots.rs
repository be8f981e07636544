//! The console drawn into ratatui's TestBackend from a fixed model:
//! every pane at 80×24 (tabs) and the whole screen at 120×40, overlays,
//! traffic renderings, and the colours and attributes of states. Clock
//! times are redacted (they depend on the local time zone).

mod common;

use common::fixture;
use labdeck::tui::keys::{KeyChord, Keymap};
use labdeck::tui::{App, Glyphs, Msg, Overlay, Pane, Theme, ViewContext, view};
use labdeck_core::bus::Event;
use labdeck_core::device::ValueUpdate;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::{Color, Modifier};
use tokio::time::Instant;

fn model(size: (u16, u16)) -> App {
    let base = Instant::now();
    let (setup, data) = fixture::sample(base, 0);
    let mut app = App::new(setup, Keymap::default(), "default", fixture::at(base, 5.0));
    app.size = size;
    // A ramp, so the sparklines have something to draw: the first
    // snapshot, then each property's value as the events bring them.
    let at = |i: i64| fixture::at(base, 3.0 + i as f64 * 0.1);
    let mut first = data.clone();
    first.devices[0].properties = fixture::pump_properties(300, at(0));
    app.sync(first);
    for i in 1..12 {
        for p in fixture::pump_properties(300 + i * 10, at(i)) {
            let update = ValueUpdate {
                name: p.def.name.clone(),
                t: at(i),
                value: p.value,
                state: p.state,
            };
            app.update(Msg::Event(Box::new(Event::Property {
                device: "pump1".into(),
                update,
            })));
        }
    }
    for chunk in fixture::traffic(base, 6) {
        app.update(Msg::Event(Box::new(Event::Traffic(chunk))));
    }
    app.now = fixture::at(base, 5.0);
    app
}

fn draw(app: &App, theme: &Theme) -> Terminal<TestBackend> {
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    let ctx = ViewContext {
        theme,
        glyphs: Glyphs { unicode: true },
        logs: None,
    };
    terminal.draw(|f| view(app, &ctx, f)).unwrap();
    terminal
}

fn snapshot(name: &str, app: &App) {
    let terminal = draw(app, &Theme::load("default", false).unwrap());
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}",
        "yyyy-mm-dd hh:mm:ss.uuuuuu",
    );
    settings.add_filter(r"\d\d:\d\d:\d\d\.\d\d\d", "hh:mm:ss.mmm");
    settings.add_filter(r"\d\d:\d\d:\d\d", "hh:mm:ss");
    // A clock half covered by a popup.
    settings.add_filter(r"\d\d:\d\d:\d", "hh:mm:s");
    settings.bind(|| insta::assert_snapshot!(name, terminal.backend()));
}

fn key(app: &mut App, text: &str) {
    let chord: KeyChord = text.parse().unwrap();
    app.update(Msg::Key(chord));
}

/// Type text into whatever has the keyboard, a key per character.
fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let name = if c == ' ' {
            "space".to_string()
        } else {
            c.to_string()
        };
        key(app, &name);
    }
}

#[test]
fn whole_screen_at_120x40() {
    snapshot("screen_120x40", &model((120, 40)));
}

#[test]
fn every_pane_as_a_tab_at_80x24() {
    for pane in Pane::ALL {
        let mut app = model((80, 24));
        app.focus = pane;
        snapshot(&format!("pane_80x24_{pane:?}").to_lowercase(), &app);
    }
}

#[test]
fn traffic_renderings() {
    let mut app = model((100, 30));
    app.focus = Pane::Traffic;
    snapshot("traffic_hex", &app);
    key(&mut app, "h");
    snapshot("traffic_decoded", &app);
    key(&mut app, "T");
    key(&mut app, "x");
    snapshot("traffic_decoded_delta_tx_only", &app);
}

#[test]
fn overlays() {
    let mut app = model((80, 24));
    key(&mut app, "?");
    snapshot("overlay_help", &app);
    type_text(&mut app, "ack");
    snapshot("overlay_help_filtered", &app);

    let mut app = model((80, 24));
    key(&mut app, "f");
    key(&mut app, "j");
    snapshot("overlay_faults", &app);

    let mut app = model((80, 24));
    key(&mut app, ":");
    type_text(&mut app, "fault pump-sim h");
    key(&mut app, "tab");
    snapshot("overlay_palette", &app);

    let mut app = model((80, 24));
    key(&mut app, "q");
    assert!(
        matches!(app.overlay, Some(Overlay::Confirm(_))),
        "busy links make quit ask"
    );
    snapshot("overlay_confirm_quit", &app);
}

#[test]
fn the_safety_questions_and_a_long_reply_at_both_sizes() {
    for (size, name) in [((80, 24), "80x24"), ((120, 40), "120x40")] {
        // Switching the pump asks first.
        let mut app = model(size);
        key(&mut app, "1");
        key(&mut app, "o");
        assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
        snapshot(&format!("confirm_pump_switch_{name}"), &app);

        // Attached while another console holds control: taking it asks.
        let mut app = model(size);
        app.update(Msg::Attachment(labdeck::tui::Attachment {
            socket: "/run/user/1000/labdeck/lab.sock".into(),
            holder: Some("console of ops (pid 4300, /dev/pts/2)".into()),
            yours: false,
        }));
        key(&mut app, ":");
        type_text(&mut app, "control take");
        key(&mut app, "enter");
        snapshot(&format!("confirm_take_control_{name}"), &app);
    }
    let mut app = model((120, 40));
    app.message = Some(
        (1..=60)
            .map(|i| format!("line {i}: a reply longer than the screen"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    key(&mut app, "down");
    snapshot("reply_scrolled_120x40", &app);
}

#[test]
fn tasks_pane_with_its_chart_and_the_task_editors() {
    // The running ramp is selected: its chart is drawn.
    let mut app = model((120, 40));
    key(&mut app, "5");
    snapshot("tasks_pane", &app);

    // A job, and the queue paused: a line for the job, its name on its
    // tasks, the mode in the title.
    let mut with_job = app.clone();
    let mut data = with_job.data.clone();
    let tag = labdeck_core::device::JobTag {
        id: 1,
        name: "pump-down".into(),
    };
    let pump = &mut data.devices[0];
    pump.queue = labdeck_core::device::QueueMode::Paused;
    let specs: Vec<_> = pump.tasks.iter().map(|t| t.spec.clone()).collect();
    for task in &mut pump.tasks {
        task.spec.job = Some(tag.clone());
    }
    let mut job = labdeck_core::jobs::JobSnapshot::new(
        1,
        labdeck_core::jobs::JobSpec {
            name: "pump-down".into(),
            tasks: specs,
            on_failure: labdeck_core::jobs::OnFailure::Stop,
            reset_at_end: true,
            method: None,
        },
    );
    job.state = labdeck_core::device::TaskState::Running;
    job.tasks[0].state = labdeck_core::device::TaskState::Completed;
    data.jobs = vec![job];
    with_job.sync(data);
    snapshot("tasks_pane_with_a_job", &with_job);

    // Cancel asks first.
    key(&mut app, "x");
    assert!(matches!(app.overlay, Some(Overlay::Confirm(_))));
    snapshot("tasks_cancel_confirm", &app);
    key(&mut app, "n");

    // The task form, with a mistake named before anything is sent.
    key(&mut app, "t");
    for _ in 0.."monitor".len() {
        key(&mut app, "backspace");
    }
    type_text(&mut app, "ramp");
    key(&mut app, "tab");
    type_text(&mut app, "setpoint=5000");
    key(&mut app, "enter");
    snapshot("task_form_refused", &app);

    // The attribute editor: the setpoint with its type and limits.
    let mut app = model((100, 30));
    key(&mut app, "3");
    key(&mut app, "j");
    key(&mut app, "j");
    key(&mut app, "e");
    for _ in 0..4 {
        key(&mut app, "backspace");
    }
    type_text(&mut app, "2500");
    key(&mut app, "enter");
    snapshot("attribute_editor_refused", &app);
}

#[test]
fn states_are_words_and_colours_and_no_color_keeps_attributes() {
    let app = model((120, 40));
    let buffer = |theme: &Theme| draw(&app, theme).backend().buffer().clone();
    let find = |buf: &ratatui::buffer::Buffer, needle: &str| {
        let area = buf.area;
        for y in 0..area.height {
            let row: String = (0..area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect();
            if let Some(col) = row.find(needle) {
                let x = row[..col].chars().count() as u16;
                return (x, y);
            }
        }
        panic!("{needle} not on screen");
    };
    let colours = buffer(&Theme::load("default", false).unwrap());
    let (x, y) = find(&colours, "● connected");
    assert_eq!(colours[(x + 2, y)].fg, Color::Green);
    let (x, y) = find(&colours, "↻ recovering");
    assert_eq!(colours[(x + 2, y)].fg, Color::Yellow);
    let (x, y) = find(&colours, "Busy");
    assert_eq!(colours[(x, y)].fg, Color::Yellow);

    let plain = buffer(&Theme::load("default", true).unwrap());
    for cell in plain.content() {
        assert!(
            matches!(cell.fg, Color::Reset),
            "colour {:?} with NO_COLOR",
            cell.fg
        );
        assert!(
            matches!(cell.bg, Color::Reset),
            "colour {:?} with NO_COLOR",
            cell.bg
        );
    }
    // Attributes still tell the selected row and the header apart.
    let (x, y) = find(&plain, "● connected");
    assert!(plain[(x, y)].modifier.contains(Modifier::REVERSED));
    assert!(plain[(2, 0)].modifier.contains(Modifier::REVERSED));
}

/// A remote INDI server's vectors: groups per remote device and group,
/// sexagesimal numbers, switches, a light, a BLOB note, a Busy vector.
#[test]
fn indi_remote_properties() {
    use labdeck_core::device::indi::{Tree, properties};
    use labdeck_protocol::indi::{Element, Message};
    let defs = [
        r#"<defSwitchVector device="Telescope Simulator" name="CONNECTION" label="Connection" group="Main Control" state="Ok" perm="rw" rule="OneOfMany"><defSwitch name="CONNECT" label="Connect">On</defSwitch><defSwitch name="DISCONNECT" label="Disconnect">Off</defSwitch></defSwitchVector>"#,
        r#"<defNumberVector device="Telescope Simulator" name="EQUATORIAL_EOD_COORD" label="Eq. Coordinates" group="Main Control" state="Busy" perm="rw"><defNumber name="RA" label="RA (hh:mm:ss)" format="%010.6m" min="0" max="24" step="0">6.7</defNumber><defNumber name="DEC" label="DEC (dd:mm:ss)" format="%010.6m" min="-90" max="90" step="0">-5.25</defNumber></defNumberVector>"#,
        r#"<defLightVector device="Weather Simulator" name="WEATHER_STATUS" label="Status" group="Parameters" state="Alert"><defLight name="WEATHER_RAIN" label="Rain">Alert</defLight></defLightVector>"#,
        r#"<defNumberVector device="CCD Simulator" name="CCD_EXPOSURE" label="Expose" group="Main Control" state="Idle" perm="rw"><defNumber name="CCD_EXPOSURE_VALUE" label="Duration (s)" format="%5.2f" min="0.01" max="3600" step="1">0.1</defNumber></defNumberVector>"#,
        r#"<defBLOBVector device="CCD Simulator" name="CCD1" label="Image Data" group="Image Info" state="Ok" perm="ro"><defBLOB name="CCD1" label="Image"/></defBLOBVector>"#,
    ];
    let mut tree = Tree::default();
    let mut props = Vec::new();
    for xml in defs {
        let Message::Vector(_, v) =
            Message::from_element(&Element::parse(xml.as_bytes()).unwrap()).unwrap()
        else {
            panic!("{xml}");
        };
        let mut remote = tree.define(v).clone();
        if remote.vector.head.name == "CCD1" {
            remote.blob_note = Some(
                "14400 B .fits → blobs/CCD_Simulator.CCD1.CCD1-20261121-101500-000.fits".into(),
            );
        }
        props.extend(properties(&remote));
    }
    let mut app = model((100, 20));
    let base = Instant::now();
    let (_, mut data) = fixture::sample(base, 0);
    data.devices[0].properties = props;
    data.devices[0].kind = labdeck_core::device::DeviceKind::Indi;
    app.sync(data);
    app.focus = Pane::Properties;
    snapshot("indi_remote_properties", &app);
}

/// A key that would do nothing right now is shown greyed out: the pump's
/// on/off key with a link that has no switchable device selected.
#[test]
fn hints_grey_out_where_they_do_not_apply() {
    let theme = Theme::load("default", false).unwrap();
    let style_of = |app: &App, needle: &str| {
        let terminal = draw(app, &theme);
        let buf = terminal.backend().buffer();
        let y = buf.area.height - 1;
        let row: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        let col = row
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} in {row:?}"));
        let x = row[..col].chars().count() as u16;
        buf[(x, y)].style()
    };
    let mut app = model((120, 40));
    app.focus = Pane::Properties;
    // The pump is selected: its on/off key works, like the editor's.
    assert_eq!(style_of(&app, "on/off"), style_of(&app, "edit"));
    // The TCP link has no device: nothing to switch, nothing to edit.
    app.focus = Pane::Connections;
    key(&mut app, "j");
    app.focus = Pane::Properties;
    assert_ne!(style_of(&app, "on/off"), style_of(&app, "help"));
    assert_eq!(style_of(&app, "on/off"), style_of(&app, "edit"));
}

#[test]
fn tab_bar_numbers_are_the_keys_that_open_them() {
    let mut app = model((80, 24));
    let terminal = draw(&app, &Theme::load("default", false).unwrap());
    let buffer = terminal.backend().buffer();
    let bar: String = (0..80)
        .map(|x| buffer[(x, 1)].symbol().to_string())
        .collect();
    let tabs: Vec<(String, String)> = bar
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0].len() == 1 && w[0].chars().all(|c| c.is_ascii_digit()))
        .map(|w| (w[0].to_string(), w[1].to_string()))
        .collect();
    assert_eq!(tabs.len(), Pane::ALL.len(), "tab bar: {bar}");
    for (number, name) in tabs {
        let pane = match name.as_str() {
            "Links" => Pane::Connections,
            "State" => Pane::StateMachine,
            "Props" => Pane::Properties,
            "Traffic" => Pane::Traffic,
            "Tasks" => Pane::Tasks,
            "Alarms" => Pane::Alarms,
            "Logs" => Pane::Logs,
            other => panic!("unknown tab {other} in {bar}"),
        };
        key(&mut app, &number);
        assert_eq!(app.focus, pane, "tab {number} {name}");
    }
}

#[test]
fn a_silent_device_and_an_acknowledged_alarm() {
    let mut app = model((120, 40));
    let mut data = app.data.clone();
    data.devices[0].liveness = labdeck_core::device::Liveness::NotResponding;
    app.sync(data);
    key(&mut app, "6");
    key(&mut app, "A");
    key(&mut app, "1");
    snapshot("silent_device_120x40", &app);
    app.size = (80, 24);
    snapshot("silent_device_80x24", &app);
}

#[test]
fn a_long_reply_scrolls_whole() {
    let mut app = model((80, 24));
    app.message = Some(
        (1..=60)
            .map(|i| format!("line {i}: a reply longer than the screen"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    for _ in 0..5 {
        key(&mut app, "down");
    }
    assert!(app.message.is_some(), "arrows scroll, they do not close");
    snapshot("reply_scrolled_80x24", &app);
    key(&mut app, "x");
    assert!(app.message.is_none());
}

#[test]
fn details_show_every_field_of_a_row() {
    let mut app = model((80, 24));
    key(&mut app, "5");
    key(&mut app, "i");
    let text = app.message.clone().unwrap();
    assert!(text.starts_with("task #"), "{text}");
    assert!(text.contains("  file        "), "{text}");
    snapshot("details_task_80x24", &app);
    key(&mut app, "esc");
    key(&mut app, "1");
    key(&mut app, "i");
    let text = app.message.clone().unwrap();
    assert!(text.starts_with("link pump-port"), "{text}");
    assert!(text.contains("device      pump1"), "{text}");
    key(&mut app, "esc");
    key(&mut app, "6");
    key(&mut app, "i");
    assert!(app.message.as_deref().unwrap().starts_with("alarm on scpi"));
}

#[test]
fn details_at_120x40_show_what_the_columns_cut() {
    let mut app = model((120, 40));
    key(&mut app, "1");
    key(&mut app, "down");
    key(&mut app, "enter");
    let text = app.message.clone().unwrap();
    assert!(text.starts_with("link scpi"), "{text}");
    snapshot("details_connection_120x40", &app);
    key(&mut app, "esc");
    // The pump's link again, then its status word, cut in its column and
    // whole in the popup.
    key(&mut app, "up");
    key(&mut app, "3");
    while app
        .property_list()
        .get(app.cursor(Pane::Properties))
        .is_some_and(|p| p.def.label != "Status word")
    {
        key(&mut app, "down");
    }
    key(&mut app, "enter");
    let text = app.message.clone().unwrap();
    assert!(text.contains("PROCESS|TURNING|PARAM"), "{text}");
    snapshot("details_property_120x40", &app);
}

#[test]
fn the_traffic_pane_opens_a_whole_frame_searches_and_wraps() {
    for size in [(80, 24), (120, 40)] {
        let mut app = model(size);
        key(&mut app, "4");
        // Enter on a pump reply: every byte, its request, the checksum.
        for _ in 0..2 {
            key(&mut app, "k");
        }
        key(&mut app, "enter");
        let text = app.message.clone().expect("a frame view");
        assert!(text.starts_with("frame ") && text.contains("RX"), "{text}");
        assert!(text.contains("BCC") && text.contains("reply to"), "{text}");
        snapshot(&format!("frame_view_{}x{}", size.0, size.1), &app);
        key(&mut app, "esc");
        // A search highlights, n goes to the hits; clock and delta both.
        key(&mut app, "s");
        type_text(&mut app, "7018");
        key(&mut app, "enter");
        key(&mut app, "T");
        key(&mut app, "T");
        key(&mut app, "z");
        snapshot(&format!("traffic_search_wrap_{}x{}", size.0, size.1), &app);
    }
    // g goes to the oldest row and the pane stays full below it.
    let mut app = model((120, 40));
    key(&mut app, "4");
    key(&mut app, "p");
    key(&mut app, "g");
    let screen = format!(
        "{:?}",
        draw(&app, &Theme::load("default", false).unwrap()).backend()
    );
    let rows = screen.matches("pump-port").count();
    assert!(rows > 4, "the pane is full below the oldest row: {screen}");
}

#[test]
fn the_palette_lists_every_candidate() {
    let mut app = model((80, 24));
    key(&mut app, ":");
    key(&mut app, "tab");
    let shown = format!(
        "{:?}",
        draw(&app, &Theme::load("default", false).unwrap()).backend()
    );
    for verb in ["connect", "estop", "quit", "send", "record"] {
        assert!(shown.contains(verb), "{verb} listed: {shown}");
    }
    snapshot("palette_every_verb_80x24", &app);
}

/// The screen as lines of text.
fn screen_text(app: &App) -> Vec<String> {
    let terminal = draw(app, &Theme::load("default", false).unwrap());
    let buffer = terminal.backend().buffer();
    let (w, h) = app.size;
    (0..h)
        .map(|y| (0..w).map(|x| buffer[(x, y)].symbol()).collect())
        .collect()
}

#[test]
fn columns_that_matter_come_first_and_nothing_is_cut_mid_value() {
    for size in [(80, 24), (100, 30), (120, 40), (200, 60)] {
        for pane in [Pane::Connections, Pane::Properties, Pane::Tasks] {
            let mut app = model(size);
            app.focus = pane;
            let screen = screen_text(&app).join("\n");
            // Limits are whole or not shown; headers are never cut.
            if screen.contains("750..") {
                assert!(screen.contains("750..1200"), "{size:?}:\n{screen}");
            }
            let headers = screen.split(['│', '┃', '\n']).filter(|s| {
                s.starts_with("group ") || s.starts_with(" state ") || s.starts_with("state     id")
            });
            for header in headers {
                assert!(!header.contains('…'), "{size:?}: cut header {header}");
            }
        }
    }
    let screen = screen_text(&model((120, 40)));
    let header = |first: &str| {
        screen
            .iter()
            .find(|l| l.contains(first))
            .cloned()
            .unwrap_or_default()
    };
    let connections = header(" state        link");
    assert!(
        connections.contains("retry") && connections.contains("last error"),
        "{connections}"
    );
    let tasks = header("state     id device name");
    assert!(tasks.contains("samples"), "{tasks}");
    // The failing link's error is on its row, not only in the details.
    assert!(screen.iter().any(|l| l.contains("#3 in 2.5s open failed")));
}
