//! Run the benchmark inside a network namespace that has only loopback,
//! because indiserver always binds 0.0.0.0.

use std::process::Command;

const INSIDE: &str = "LABDECK_BENCH_NETNS";

/// `Some(Ok(()))`: we are inside the namespace. `Some(Err(why))`: no
/// namespace could be made; run here without indiserver. `None`: the run
/// inside the namespace has finished and reported; exit.
pub fn enter() -> Option<Result<(), String>> {
    if std::env::var_os(INSIDE).is_some() {
        return Some(Ok(()));
    }
    let name = format!("labdeck-bench-{}", std::process::id());
    let ip = |args: &[&str]| {
        Command::new("ip")
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !ip(&["netns", "add", &name]) {
        return Some(Err(
            "`ip netns add` failed (needs root); indiserver binds 0.0.0.0".into(),
        ));
    }
    let result = (|| {
        if !ip(&["-n", &name, "link", "set", "lo", "up"]) {
            return Err("cannot bring up lo in the namespace".to_string());
        }
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let status = Command::new("ip")
            .args(["netns", "exec", &name])
            .arg(exe)
            .args(std::env::args().skip(1))
            .env(INSIDE, &name)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            eprintln!("the run inside {name} failed: {status}");
        }
        Ok(())
    })();
    ip(&["netns", "del", &name]);
    match result {
        Ok(()) => None,
        Err(why) => Some(Err(why)),
    }
}
