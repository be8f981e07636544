//! Debian's `indiserver` as a child process (inside the benchmark's
//! loopback-only namespace), with the raw flood driver or the telescope
//! simulator. A fresh server per run, on its own port and unix socket name.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use super::{Load, RoundTripPath, Server};

pub const ROUND_TRIPS: [RoundTripPath; 2] = [
    RoundTripPath {
        label: "indiserver + raw Python driver (VALUE)",
        server: Server::Indiserver,
        device: "flood",
        vector: "VALUE",
        member: "VALUE",
        others: &[],
        first: 100.0,
    },
    RoundTripPath {
        label: "indiserver + telescope (TELESCOPE_INFO)",
        server: Server::IndiserverTelescope,
        device: "Telescope Simulator",
        vector: "TELESCOPE_INFO",
        member: "TELESCOPE_APERTURE",
        others: &[
            ("TELESCOPE_FOCAL_LENGTH", "1000"),
            ("GUIDER_APERTURE", "50"),
            ("GUIDER_FOCAL_LENGTH", "200"),
        ],
        first: 100.0,
    },
];

/// Whether indiserver, its telescope simulator and python3 are here.
pub fn available() -> Result<(), String> {
    for program in ["indiserver", "indi_simulator_telescope", "python3"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            return Err(format!(
                "{program} not installed (apt-get install indi-bin)"
            ));
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
pub enum Driver {
    Flood(Load),
    Telescope,
}

static NEXT_PORT: AtomicU16 = AtomicU16::new(7700);

pub struct Running {
    pub addr: SocketAddr,
    child: Child,
    dir: PathBuf,
}

impl Running {
    pub fn start(driver: Driver) -> Self {
        let port = NEXT_PORT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("labdeck-indi-bench-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("run dir");
        let program = match driver {
            Driver::Telescope => "indi_simulator_telescope".to_string(),
            Driver::Flood(load) => {
                let rate = match load {
                    Load::Idle => 0,
                    Load::Paced(rate) => i64::from(rate),
                    Load::Flood => -1,
                };
                // indiserver starts drivers without arguments: a wrapper.
                let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/indi_flood_driver.py");
                let wrapper = dir.join("indi_flood");
                std::fs::write(
                    &wrapper,
                    format!("#!/bin/sh\nexec python3 {script} --rate {rate}\n"),
                )
                .expect("wrapper");
                std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod");
                wrapper.display().to_string()
            }
        };
        let log = std::fs::File::create(dir.join("indiserver.log")).expect("log");
        let child = Command::new("indiserver")
            // -v: it logs a client it cuts off for being too far behind.
            .args(["-v", "-p", &port.to_string(), "-u"])
            .arg(dir.join("socket"))
            .arg(&program)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("indiserver");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let running = Self { addr, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "indiserver did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the driver start and define its properties.
        std::thread::sleep(Duration::from_millis(300));
        running
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("indiserver.log")).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The drivers are indiserver's children: end them too, by PID.
        let pid = self.child.id();
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for child in children.split_whitespace() {
            if let Ok(child) = child.parse::<i32>() {
                // SAFETY: a plain kill(2) of a process this run started.
                unsafe { libc::kill(child, libc::SIGKILL) };
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
