//! A clean shutdown closes every pty fd: the simulator's master and held
//! slave, and the driver's open slave. Alone in its binary so no other test
//! opens ptys meanwhile.

mod common;

use common::*;
use labdeck_core::connection::StateKind;

fn pty_fds() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd")
        .expect("procfs")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .map(|target| target.display().to_string())
        .filter(|target| target.starts_with("/dev/pts/") || target == "/dev/ptmx")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_leaves_no_pty_fds_open() {
    let before = pty_fds();
    let link = std::env::temp_dir().join(format!("labdeck-fd-test-{}", std::process::id()));
    let config = pump_config("compat", "").replace(
        "ramp-rate = 1000.0",
        &format!("ramp-rate = 1000.0\nlink = \"{}\"", link.display()),
    );
    let runtime = start(&config).await;
    let hub = runtime.hub().clone();
    wait_state(&hub, "port", StateKind::Connected).await;
    wait_responding(&hub, "pump", "pump online").await;
    let during = pty_fds();
    assert!(
        during.len() >= before.len() + 3,
        "master, held slave, driver's slave: {during:?}"
    );
    assert!(
        std::fs::symlink_metadata(&link).is_ok(),
        "symlink exists while running"
    );
    // Hang up and come back once, so reopened ports are covered too.
    assert!(run(&hub, "fault sim hang-up on").await.ok);
    wait_state(&hub, "port", StateKind::Recovering).await;
    assert!(run(&hub, "fault sim hang-up off").await.ok);
    wait_state(&hub, "port", StateKind::Connected).await;
    wait_responding(&hub, "pump", "pump online again").await;

    runtime.shutdown().await.expect("clean shutdown");
    drop(hub);
    assert_eq!(pty_fds(), before, "pty fds left open after shutdown");
    assert!(std::fs::symlink_metadata(&link).is_err(), "symlink removed");
}
