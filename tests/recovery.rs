//! Crash recovery with real processes: `labdeck serve --method` killed
//! with SIGKILL in the middle of a job; the next start says the job was
//! interrupted, the partial file is complete up to its last line and its
//! sidecar says `interrupted`, and `--resume` runs the tasks not started.
//! And the store survives SIGKILL at random moments.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// `labdeck serve` on the pump simulator with a method; `extra` args.
fn serve(dir: &Path, method: &str, extra: &[&str]) -> Child {
    let config = dir.join("lab.toml");
    std::fs::write(&config, pump_config("compat", "")).unwrap();
    let method_file = dir.join("method.toml");
    std::fs::write(&method_file, method).unwrap();
    Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--method")
        .arg(&method_file)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start labdeck serve")
}

/// The CSV of task `name` in `data`, once it has `rows` samples.
fn wait_rows(data: &Path, name: &str, rows: usize) -> PathBuf {
    let deadline = Instant::now() + LIMIT;
    loop {
        let found = std::fs::read_dir(data).ok().and_then(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                p.extension().is_some_and(|e| e == "csv")
                    && p.to_string_lossy().contains(name)
                    && std::fs::read_to_string(p).is_ok_and(|t| t.lines().count() > rows)
            })
        });
        if let Some(csv) = found {
            return csv;
        }
        assert!(Instant::now() < deadline, "no {rows} samples of {name}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn sidecar(csv: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(csv.with_extension("json")).unwrap()).unwrap()
}

/// Every line ends, and every data line has the header's fields.
fn complete_rows(csv: &Path) -> usize {
    let text = std::fs::read_to_string(csv).unwrap();
    assert!(text.ends_with('\n'), "last line incomplete: {text:?}");
    let mut lines = text.lines();
    let fields = lines.next().unwrap().split(',').count();
    lines
        .inspect(|l| assert_eq!(l.split(',').count(), fields, "{l:?}"))
        .count()
}

const JOB: &str = r#"
[[job]]
name = "watch-three"
[[job.task]]
name = "first"
device = "pump"
technique = "monitor"
sampling_interval = 0.05
max_duration = 0.3
[[job.task]]
name = "long"
device = "pump"
technique = "monitor"
sampling_interval = 0.05
max_duration = 600
[[job.task]]
name = "after"
device = "pump"
technique = "monitor"
sampling_interval = 0.05
max_duration = 0.3
"#;

#[test]
fn a_job_killed_mid_task_is_interrupted_and_resume_runs_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = serve(dir.path(), JOB, &[]);
    let long = wait_rows(&data, "long", 10);
    child.kill().unwrap();
    child.wait().unwrap();
    let rows_at_kill = complete_rows(&long);
    assert_eq!(
        sidecar(&long)["state"],
        "running",
        "nothing ran after the kill"
    );

    // The next start: the job is reported interrupted, the rest resumed.
    let out = serve(dir.path(), JOB, &["--resume"])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("task 'long' on pump was interrupted"),
        "{stdout}"
    );
    assert!(
        stdout.contains("job 'watch-three' (run 1) was interrupted: 1 task(s) not started"),
        "{stdout}"
    );
    assert!(
        stdout.contains("interrupted job 'watch-three' resumed as #1 with the 1 task(s)"),
        "{stdout}"
    );
    // The partial file is as it was, its sidecar says interrupted.
    assert_eq!(complete_rows(&long), rows_at_kill);
    let meta = sidecar(&long);
    assert_eq!(meta["state"], "interrupted");
    assert_eq!(meta["samples"], rows_at_kill);
    assert!(
        meta["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("labdeck stopped while it ran (run 1")),
        "{meta}"
    );
    // The first task's record is untouched; the resumed one ran, once.
    let csvs: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    let named = |name: &str| {
        csvs.iter()
            .filter(|p| p.to_string_lossy().contains(&format!("-pump-{name}")))
            .collect::<Vec<_>>()
    };
    assert_eq!(named("first").len(), 1, "{csvs:?}");
    assert_eq!(sidecar(named("first")[0])["state"], "completed");
    assert_eq!(
        named("long").len(),
        1,
        "the interrupted task is not run again"
    );
    let after = named("after");
    assert_eq!(after.len(), 1, "{csvs:?}");
    assert_eq!(sidecar(after[0])["state"], "completed");
    assert_eq!(complete_rows(after[0]), 6);

    // Resumed once: a third start has nothing to resume and runs the method.
    let again = serve(
        dir.path(),
        JOB.replace("600", "0.3").as_str(),
        &["--resume"],
    )
    .wait_with_output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(!stdout.contains("was interrupted"), "{stdout}");
    assert!(stdout.contains("1 job(s) queued"), "{stdout}");
}

fn wait_until_blocking(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A different moment each time, without a random-number crate.
fn moments(count: usize) -> Vec<Duration> {
    let mut seed = u64::from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos(),
    ) | 1;
    (0..count)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            Duration::from_millis(seed % 800)
        })
        .collect()
}

#[test]
fn the_store_survives_sigkill_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    // Many short tasks (within the queue limit of 32): the store is
    // written several times a second.
    let method = (0..30)
        .map(|i| {
            let name = format!("t{i}");
            ["[[task]]\nname = \"", &name, "\"\ndevice = \"pump\"\ntechnique = \"monitor\"\nsampling_interval = 0.02\nmax_duration = 0.06\n\n"].concat()
        })
        .collect::<String>();
    let store = dir.path().join("data").join("labdeck.sqlite");
    let kills = moments(6);
    for (n, moment) in kills.iter().enumerate() {
        let mut child = serve(dir.path(), &method, &[]);
        // From when this run is in the store.
        wait_until_blocking("the run in the store", || {
            rusqlite::Connection::open(&store)
                .and_then(|db| {
                    db.query_row("SELECT count(*) FROM runs", [], |r| r.get::<_, i64>(0))
                })
                .is_ok_and(|runs| runs == n as i64 + 1)
        });
        std::thread::sleep(*moment);
        child.kill().unwrap();
        child.wait().unwrap();
        let db = rusqlite::Connection::open(&store).expect("the store opens");
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok", "after kill {n} at {moment:?}");
        let runs: i64 = db
            .query_row("SELECT count(*) FROM runs", [], |row| row.get(0))
            .unwrap();
        assert_eq!(runs, n as i64 + 1);
        // Every kept spec reads back as a task.
        let mut specs = db.prepare("SELECT spec FROM tasks").unwrap();
        for spec in specs.query_map([], |row| row.get::<_, String>(0)).unwrap() {
            let spec: labdeck_core::device::TaskSpec =
                serde_json::from_str(&spec.unwrap()).expect("a whole spec");
            assert_eq!(spec.device, "pump");
        }
    }
    // Each start found the run before it crashed; the next open finds the
    // last one. Then every killed run is crashed and nothing is running.
    let (store, recovery) =
        labdeck_core::store::Store::open(&dir.path().join("data")).expect("the store opens");
    assert_eq!(recovery.runs, [kills.len() as i64]);
    drop(store);
    let db = rusqlite::Connection::open(dir.path().join("data").join("labdeck.sqlite")).unwrap();
    let crashed: i64 = db
        .query_row(
            "SELECT count(*) FROM runs WHERE state = 'crashed'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(crashed, kills.len() as i64);
    let running: i64 = db
        .query_row(
            "SELECT count(*) FROM tasks WHERE state IN ('running', 'paused')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(running, 0);
}
