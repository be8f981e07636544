//! Run the benchmark inside a network namespace that has only loopback,
//! because indiserver always binds 0.0.0.0.

use std::process::{Command, ExitStatus};

const INSIDE: &str = "LABDECK_BENCH_NETNS";

/// Where this process stands with the namespace.
pub enum Namespace {
    /// We are inside it: measure.
    Inside,
    /// None could be made; measure here, without indiserver.
    Unavailable(String),
    /// The run inside it has finished (and reported) with this status.
    Finished(ExitStatus),
}

pub fn enter() -> Namespace {
    if std::env::var_os(INSIDE).is_some() {
        return Namespace::Inside;
    }
    let name = format!("labdeck-bench-{}", std::process::id());
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ip(&["netns", "add", &name]) {
        return Namespace::Unavailable(
            "`ip netns add` failed (needs root); indiserver binds 0.0.0.0".into(),
        );
    }
    let result = (|| {
        if !ip(&["-n", &name, "link", "set", "lo", "up"]) {
            return Err("cannot bring up lo in the namespace".to_string());
        }
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        Command::new("ip")
            .args(["netns", "exec", &name])
            .arg(exe)
            .args(std::env::args().skip(1))
            .env(INSIDE, &name)
            .status()
            .map_err(|e| format!("cannot run inside {name}: {e}"))
    })();
    ip(&["netns", "del", &name]);
    match result {
        Ok(status) => {
            if !status.success() {
                eprintln!("the run inside {name} failed: {status}");
            }
            Namespace::Finished(status)
        }
        Err(why) => Namespace::Unavailable(why),
    }
}
