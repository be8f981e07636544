//! Configuration: the shipped example and demo parse; each kind of mistake
//! gives an error with file, line and column (snapshots of the messages).

use labdeck_core::config::{self, ConfigOrigin, DriverSpec, SimulatorKind, TransportSpec};
use labdeck_core::link::Parity;
use labdeck_core::sim::turbovac::Profile;

/// Every problem labdeck reports for a file: the core's sections and the
/// console's.
fn errors(text: &str) -> String {
    match labdeck::tui::settings::parse(text, &ConfigOrigin::File("lab.toml".into())) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_example_config_parses_with_every_key() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"))
        .unwrap();
    let config = config::parse(&text, ConfigOrigin::File("config.example.toml".into())).unwrap();
    assert_eq!(config.simulators.len(), 2);
    let SimulatorKind::Turbovac(sim) = &config.simulators[0].kind else {
        panic!("turbovac simulator expected");
    };
    assert_eq!(sim.pump.profile, Profile::Realistic);
    let SimulatorKind::Electrometer(em) = &config.simulators[1].kind else {
        panic!("electrometer simulator expected");
    };
    assert_eq!(
        (em.host.as_str(), em.port, em.terminator.as_slice()),
        ("127.0.0.1", 0, &b"\n"[..])
    );
    let TransportSpec::Virtual {
        simulator,
        settings,
    } = &config.links[0].transport
    else {
        panic!("virtual link expected");
    };
    assert_eq!(simulator, "pump-sim");
    assert_eq!((settings.baud, settings.parity), (19200, Parity::Even));
    assert_eq!(config.links[0].retry.cap.as_secs_f64(), 5.0);
    assert_eq!(config.links[0].retry.base.as_secs_f64(), 0.5);
    let DriverSpec::Turbovac(driver) = &config.devices[0].driver else {
        panic!("turbovac driver expected");
    };
    assert_eq!(driver.poll_interval.as_secs_f64(), 0.5);
    assert!(matches!(
        &config.links[1].transport,
        TransportSpec::SimulatedTcp { simulator } if simulator == "em-sim"
    ));
    let DriverSpec::Electrometer(em) = &config.devices[1].driver else {
        panic!("electrometer driver expected");
    };
    assert_eq!(em.fetch_timeout.as_secs_f64(), 30.0);
}

#[test]
fn the_embedded_demo_is_a_pump_on_a_virtual_port_and_an_electrometer_on_tcp() {
    let config = config::parse(config::DEMO, ConfigOrigin::Demo).unwrap();
    assert_eq!(config.simulators.len(), 2);
    assert_eq!(config.devices[1].driver.name(), "electrometer");
    assert_eq!(config.links[1].transport.kind(), "tcp");
    assert!(matches!(
        config.links[0].transport,
        TransportSpec::Virtual { .. }
    ));
    assert_eq!(config.devices[0].driver.name(), "turbovac");
    // The pump driver's serial settings apply to its link by default.
    let TransportSpec::Virtual { settings, .. } = &config.links[0].transport else {
        unreachable!()
    };
    assert_eq!(settings.summary(), "19200 8E1");
}

#[test]
fn syntax_error() {
    insta::assert_snapshot!(errors("[console]\ntheme = \"dark\n"));
}

#[test]
fn wrong_type() {
    insta::assert_snapshot!(errors(
        "[[link]]\nname = \"a\"\ntype = \"serial\"\npath = \"/dev/ttyS0\"\nbaud = \"fast\"\n"
    ));
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(errors(
        "[[device]]\nname = \"p\"\ndriver = \"turbovac\"\nlink = \"x\"\npoll = 1\n"
    ));
}

#[test]
fn unknown_references() {
    insta::assert_snapshot!(errors(
        r#"
[[simulator]]
name = "pump-sim"
type = "turbovac"

[[link]]
name = "pump-port"
type = "virtual"
simulator = "pump-sin"

[[device]]
name = "pump1"
driver = "turbovac"
link = "pump-prot"
"#
    ));
}

#[test]
fn duplicates_and_shared_links() {
    insta::assert_snapshot!(errors(
        r#"
[[link]]
name = "port"
type = "tcp"
address = "127.0.0.1:4001"

[[link]]
name = "port"
type = "tcp"
address = "127.0.0.1:4002"

[[device]]
name = "a"
driver = "turbovac"
link = "port"

[[device]]
name = "b"
driver = "turbovac"
link = "port"
"#
    ));
}

#[test]
fn kinds_and_keys_that_do_not_fit() {
    insta::assert_snapshot!(errors(
        r#"
[[simulator]]
name = "s"
type = "teapot"

[[link]]
name = "usb"
type = "usb"

[[link]]
name = "net"
type = "tcp"
address = "localhost"
baud = 9600

[[link]]
name = "tty"
type = "serial"

[[device]]
name = "d"
driver = "espresso"
link = "net"
"#
    ));
}

#[test]
fn electrometer_mistakes() {
    insta::assert_snapshot!(errors(
        r#"
[[simulator]]
name = "em"
type = "electrometer"
dialect = "gpib"
port = 70000
profile = "realistic"
brand = "keysight"
terminator = "|"

[[simulator]]
name = "pump"
type = "turbovac"
port = 5025

[[link]]
name = "a"
type = "tcp"
simulator = "pump"

[[link]]
name = "b"
type = "virtual"
simulator = "em"

[[link]]
name = "c"
type = "tcp"
simulator = "em"
address = "127.0.0.1:5025"

[[device]]
name = "d"
driver = "electrometer"
link = "a"
terminator = ";"
fetch-timeout = 0
"#
    ));
}

#[test]
fn the_data_rate_is_bounded_by_the_frame_rate() {
    let origin = ConfigOrigin::File("lab.toml".into());
    let (_, low) = labdeck::tui::settings::parse("[console]\nframe-rate = 2\n", &origin).unwrap();
    assert_eq!((low.frame_rate, low.data_rate), (2, 2));
    let error = errors("[console]\nframe-rate = 10\ndata-rate = 11\n");
    assert!(error.contains("lab.toml:3:13"), "{error}");
    assert!(error.contains("data-rate must be 1..=10"), "{error}");
}

#[test]
fn values_out_of_range() {
    insta::assert_snapshot!(errors(
        r#"
[console]
frame-rate = 0

[logging]
level = "loud"

[retry]
base = -1
factor = 0.5

[[simulator]]
name = "s"
type = "turbovac"
profile = "compat"
wire-timing = true
ramp-rate = 0

[[link]]
name = "l"
type = "virtual"
simulator = "s"
data-bits = 9
parity = "mark"

[[device]]
name = "d"
driver = "turbovac"
link = "l"
poll-interval = 0
reply-timeout = 0.5
alarm-after = 0
"#
    ));
}

#[test]
fn long_poll_interval_would_let_the_pump_switch_off() {
    let text = "[[link]]\nname = \"l\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\n\
                [[device]]\nname = \"d\"\ndriver = \"turbovac\"\nlink = \"l\"\npoll-interval = 12\n";
    let message = errors(text);
    assert!(
        message.contains("lab.toml:9:17: poll-interval above 5 s"),
        "{message}"
    );
}

/// `labdeck check` on a file: exit code and stderr.
fn check_file(contents: &[u8]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lab.toml");
    std::fs::write(&path, contents).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Durations no timer can be armed with, or that overflow a deadline,
/// are errors with their place, never a panic or a fault at run time.
#[test]
fn durations_are_checked_where_they_are_read() {
    let (code, stderr) = check_file(
        br#"
[[simulator]]
name = "s"
type = "turbovac"
auto-off = 1e300

[[simulator]]
name = "e"
type = "electrometer"
write-timeout = 1e300

[[link]]
name = "l"
type = "virtual"
simulator = "s"
[link.retry]
cap = 1e308
open-timeout = 1e30
stable-after = 1e19

[[device]]
name = "p"
driver = "turbovac"
link = "l"
poll-interval = 1e300
reply-timeout = 1e19

[[link]]
name = "t"
type = "tcp"
simulator = "e"

[[device]]
name = "m"
driver = "electrometer"
link = "t"
poll-interval = 1e-12
"#,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for expected in [
        "lab.toml:5:12: auto-off must be 0.001..=86400 seconds, found 1e300",
        "lab.toml:10:17: write-timeout must be 0.001..=86400 seconds",
        "lab.toml:17:7: cap must be 0.001..=86400 seconds, found 1e308",
        "lab.toml:18:16: open-timeout must be 0.001..=86400 seconds",
        "lab.toml:19:16: stable-after must be 0..=86400 seconds, found 1e19",
        "lab.toml:25:17: poll-interval must be 0.001..=86400 seconds",
        "lab.toml:26:17: reply-timeout must be 0.001..=86400 seconds",
        "lab.toml:37:17: poll-interval must be 0.001..=86400 seconds, found 1e-12",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in\n{stderr}"
        );
    }
}

#[test]
fn a_file_that_is_not_utf8_is_refused_with_its_place() {
    let (code, stderr) = check_file(b"[console]\nframe-rate = 30\ntheme = \"d\xe9faut\"\n");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("lab.toml:3:11: not UTF-8: byte 0xe9 at offset 36"),
        "{stderr}"
    );
}

#[test]
fn check_command_reports_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[device]]\nname = \"p\"\ndriver = \"turbovac\"\nlink = \"nowhere\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("bad.toml:4:8: unknown link \"nowhere\" for device \"p\"; none are defined"),
        "{stderr}"
    );
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .args(["check", "--config", "/nonexistent/labdeck.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("cannot read config file /nonexistent/labdeck.toml")
    );
}

#[test]
fn check_command_prints_the_demo_summary_without_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .arg("check")
        .current_dir(dir.path())
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("config: <embedded demo> (valid)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("pump1            turbovac      on pump-port"),
        "{stdout}"
    );
    assert!(
        stdout.contains("em1              electrometer  on em-tcp"),
        "{stdout}"
    );
}

#[test]
fn indi_server_remotes_and_snoops() {
    let text = r#"
[[link]]
name = "sky-link"
type = "tcp"
address = "127.0.0.1:7000"

[[device]]
name = "pump"
driver = "turbovac"
link = "sky-link"
snoop = ["sky:Weather Simulator.WEATHER_STATUS"]

[indi.server]
port = 7630
max-clients = 3

[[indi.remote]]
name = "sky"
address = "127.0.0.1:7624"
blobs = "Also"
"#;
    let config = config::parse(text, ConfigOrigin::File("/lab/lab.toml".into())).unwrap();
    let server = config.indi_server.as_ref().unwrap();
    assert_eq!(
        (server.host.as_str(), server.port, server.max_clients),
        ("127.0.0.1", 7630, 3)
    );
    let remote = config.devices.iter().find(|d| d.name == "sky").unwrap();
    let DriverSpec::Indi(cfg) = &remote.driver else {
        panic!("indi driver expected");
    };
    assert_eq!(cfg.blobs, labdeck_protocol::indi::BlobMode::Also);
    assert!(cfg.blob_dir.ends_with("blobs/sky"));
    assert!(matches!(
        &config.links.iter().find(|l| l.name == "sky").unwrap().transport,
        TransportSpec::Tcp { address } if address == "127.0.0.1:7624"
    ));
    let pump = &config.devices[0];
    assert_eq!(
        (
            pump.snoop[0].remote.as_str(),
            pump.snoop[0].device.as_str(),
            pump.snoop[0].vector.as_str()
        ),
        ("sky", "Weather Simulator", "WEATHER_STATUS")
    );
    // Off when absent, or when enabled = false.
    let off = config::parse("[indi.server]\nenabled = false\n", ConfigOrigin::Demo).unwrap();
    assert!(off.indi_server.is_none());
    assert!(
        config::parse("", ConfigOrigin::Demo)
            .unwrap()
            .indi_server
            .is_none()
    );
}

#[test]
fn indi_mistakes() {
    insta::assert_snapshot!(errors(
        r#"
[[link]]
name = "sky"
type = "tcp"
address = "127.0.0.1:7000"

[[device]]
name = "pump"
driver = "turbovac"
link = "sky"
snoop = ["weather:Weather.STATUS", "no-dot"]

[indi.server]
port = 70000
max-clients = 0
queue-mb = 1
blob-queue-mb = 4

[[indi.remote]]
name = "sky"
address = "localhost"
blobs = "sometimes"
"#
    ));
}

#[test]
fn rfc2217_links_take_an_address_and_serial_settings_and_links_a_capture() {
    let text = r#"
[[link]]
name = "remote"
type = "rfc2217"
address = "127.0.0.1:3001"
parity = "odd"
capture = "remote.pcapng"

[[device]]
name = "pump"
driver = "turbovac"
link = "remote"
"#;
    let config = config::parse(text, ConfigOrigin::File("/lab/lab.toml".into())).unwrap();
    let TransportSpec::Rfc2217 { address, settings } = &config.links[0].transport else {
        panic!("{:?}", config.links[0].transport);
    };
    assert_eq!(address, "127.0.0.1:3001");
    // The driver's 19200 with the link's own parity.
    assert_eq!((settings.baud, settings.parity), (19_200, Parity::Odd));
    assert_eq!(
        config.links[0].capture.as_deref(),
        Some(std::path::Path::new("/lab/remote.pcapng"))
    );
    insta::assert_snapshot!(errors(
        r#"
[[link]]
name = "a"
type = "rfc2217"
path = "/dev/ttyUSB0"

[[link]]
name = "b"
type = "rfc2217"
address = "nowhere"
"#
    ));
}

#[test]
fn sniff_links_and_rfc2217_servers_mistakes() {
    insta::assert_snapshot!(errors(
        r#"
[[simulator]]
name = "sim"
type = "turbovac"

[[link]]
name = "port"
type = "virtual"
simulator = "sim"

[[link]]
name = "sniffed"
type = "sniff"
path = "/dev/ttyUSB0"
address = "127.0.0.1:4001"
decode = "xml"

[[link]]
name = "tcp"
type = "tcp"
address = "127.0.0.1:4002"
pty-link = "/tmp/x"

[[device]]
name = "pump"
driver = "turbovac"
link = "sniffed"

[[rfc2217]]
name = "remote"
simulator = "sim"
port = 2217

[[rfc2217]]
name = "remote2"
path = "/dev/ttyUSB1"
port = 2217
"#
    ));
}

#[test]
fn netcdf_output_needs_a_labdeck_built_with_it() {
    let text = "[tasks]\nnetcdf = true\n";
    let parsed = config::parse(text, ConfigOrigin::File("lab.toml".into()));
    if cfg!(feature = "netcdf") {
        assert!(parsed.unwrap().tasks.netcdf);
    } else {
        let message = parsed.unwrap_err().to_string();
        assert!(
            message.contains("lab.toml:2:10") && message.contains("built without NetCDF"),
            "{message}"
        );
    }
    let off = config::parse("[tasks]\nnetcdf = false\n", ConfigOrigin::Demo).unwrap();
    assert!(!off.tasks.netcdf);
}
