//! NetCDF output (cargo feature `netcdf`): the file of a real task on the
//! pump simulator, opened by Python's xarray (units, coordinate and
//! attributes checked); and the file of a `serve` killed mid-task opens
//! with every sample up to the last flush, and says `interrupted` after
//! the next start. Run with `cargo test --features netcdf --test netcdf`.
#![cfg(feature = "netcdf")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use labdeck_core::device::TaskState;
use serde_json::Value;

const INSTALL: &str = "python3 -m venv .venv && .venv/bin/pip install xarray netCDF4";

/// What xarray sees of `nc`, or `None` when xarray is missing here.
fn xarray(nc: &Path) -> Option<Value> {
    xarray_group(nc, None)
}

/// What xarray sees of a group of `nc` (the top without one).
fn xarray_group(nc: &Path, group: Option<&str>) -> Option<Value> {
    let tools = common::interop::tools("xarray", &["xarray", "netCDF4"], "", INSTALL)?;
    let mut check = Command::new(&tools.python);
    check
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/interop/netcdf_xarray.py"
        ))
        .arg(nc)
        .args(group);
    let (ok, out) = common::interop::run(check);
    assert!(ok, "xarray could not open {}:\n{out}", nc.display());
    Some(serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}")))
}

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == extension))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ramps_netcdf_opens_in_xarray_with_units_and_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "\n[tasks]\ndata-dir = \"{}\"\nnetcdf = true\n",
        dir.path().display()
    );
    let runtime = start(&pump_config("realistic", &extra)).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    let reply = run(
        hub,
        "task pump ramp setpoint=900 rate=1000 interval=0.1 duration=1.5 name=spin-up",
    )
    .await;
    assert!(reply.ok, "{reply}");
    wait_device(hub, "pump", "the ramp ended", |d| {
        d.tasks.iter().any(|t| t.state.is_terminal())
    })
    .await;
    let task = hub.device("pump").unwrap().snapshot().tasks[0].clone();
    assert_eq!(task.state, TaskState::Completed, "{task:?}");
    runtime.shutdown().await.unwrap();

    let nc = files(dir.path(), "nc");
    assert_eq!(nc.len(), 1, "{nc:?}");
    let sidecar: Value = serde_json::from_str(
        &std::fs::read_to_string(task.file.as_ref().unwrap().with_extension("json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        sidecar["netcdf_file"],
        nc[0].file_name().unwrap().to_str().unwrap()
    );
    let Some(seen) = xarray(&nc[0]) else {
        return;
    };
    assert_eq!(seen["samples"], task.samples);
    assert_eq!(seen["coords"], serde_json::json!(["uts"]));
    assert_eq!(seen["uts_dtype"], "datetime64[ns]", "{seen}");
    assert_eq!(seen["uts_units"], "seconds since 1970-01-01 00:00:00");
    let vars = &seen["variables"];
    assert_eq!(vars["frequency"]["units"], "Hz", "{seen}");
    assert_eq!(vars["temperature"]["units"], "°C", "{seen}");
    assert!(
        vars["frequency"]["last"].as_f64().unwrap() > 800.0,
        "{seen}"
    );
    let attrs = &seen["attrs"];
    for (key, value) in [
        ("device", "pump"),
        ("driver", "turbovac"),
        ("technique", "ramp"),
        ("task", "spin-up"),
        ("state", "completed"),
        ("reason", ""),
    ] {
        assert_eq!(attrs[key], value, "{key}: {seen}");
    }
    assert!(
        attrs["parameters"]
            .as_str()
            .unwrap()
            .contains("\"setpoint\"")
    );
    assert_eq!(attrs["sampling_interval"], 0.1);
    assert!(attrs["ended"].as_str().is_some_and(|e| !e.is_empty()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_netcdf_has_a_group_per_task() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "\n[tasks]\ndata-dir = \"{}\"\nnetcdf = true\n",
        dir.path().display()
    );
    let runtime = start(&pump_config("realistic", &extra)).await;
    let hub = runtime.hub();
    wait_responding(hub, "pump", "pump online").await;
    let method = dir.path().join("job.toml");
    std::fs::write(
        &method,
        r#"
[[job]]
name = "spin"
[[job.task]]
name = "spin-up"
device = "pump"
technique = "ramp"
sampling_interval = 0.1
max_duration = 1.5
params = { setpoint = 900, rate = 1000 }
[[job.task]]
name = "hold"
device = "pump"
technique = "monitor"
sampling_interval = 0.1
max_duration = 0.5
"#,
    )
    .unwrap();
    assert!(run(hub, &format!("load {}", method.display())).await.ok);
    wait_until("the job to end", || {
        hub.jobs().snapshots().iter().any(|j| j.state.is_terminal())
    })
    .await;
    let job = hub.jobs().snapshots()[0].clone();
    assert_eq!(job.state, TaskState::Completed, "{job:?}");
    let file = job.file.clone().expect("a job file");
    runtime.shutdown().await.unwrap();
    let Some(top) = xarray_group(&file, None) else {
        return;
    };
    assert_eq!(top["attrs"]["job"], "spin");
    assert_eq!(top["attrs"]["state"], "completed");
    assert_eq!(top["attrs"]["tasks"], "spin-up hold");
    let spin = xarray_group(&file, Some("spin-up")).unwrap();
    assert_eq!(spin["samples"], 15);
    assert_eq!(spin["uts_dtype"], "datetime64[ns]");
    assert_eq!(spin["variables"]["frequency"]["units"], "Hz");
    assert_eq!(spin["attrs"]["technique"], "ramp");
    let hold = xarray_group(&file, Some("hold")).unwrap();
    assert_eq!(hold["samples"], 5);
    assert_eq!(hold["attrs"]["state"], "completed");
}

fn serve(dir: &Path, extra: &[&str]) -> std::process::Child {
    let config = dir.join("lab.toml");
    let tasks = "\n[tasks]\nnetcdf = true\n";
    std::fs::write(&config, pump_config("compat", tasks)).unwrap();
    let method = dir.join("method.toml");
    std::fs::write(
        &method,
        "[[task]]\nname = \"long\"\ndevice = \"pump\"\ntechnique = \"monitor\"\nsampling_interval = 0.05\nmax_duration = 600\n",
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_labdeck"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--method")
        .arg(&method)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start labdeck serve")
}

#[test]
fn a_killed_tasks_netcdf_opens_with_the_samples_up_to_the_last_flush() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut child = serve(dir.path(), &[]);
    // Past two flushes (one a second).
    let deadline = Instant::now() + LIMIT;
    let csv = loop {
        let rows = files(&data, "csv")
            .into_iter()
            .find(|p| std::fs::read_to_string(p).is_ok_and(|t| t.lines().count() > 50));
        if let Some(csv) = rows {
            break csv;
        }
        assert!(Instant::now() < deadline, "no samples recorded");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(1200));
    child.kill().unwrap();
    child.wait().unwrap();
    let rows = std::fs::read_to_string(&csv).unwrap().lines().count() - 1;
    let nc = csv.with_extension("nc");
    if let Some(seen) = xarray(&nc) {
        let samples = seen["samples"].as_u64().unwrap() as usize;
        // Every sample but those since the last flush (one second's worth
        // at 20 a second, and the one being written).
        assert!(
            samples <= rows && samples + 21 >= rows && samples > 50,
            "{samples} samples in the NetCDF, {rows} in the CSV"
        );
        assert_eq!(seen["attrs"]["state"], "running");
    }
    // The next start marks both files interrupted; the samples stay.
    let mut next = serve(dir.path(), &[]);
    let deadline = Instant::now() + LIMIT;
    let meta = loop {
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(csv.with_extension("json")).unwrap())
                .unwrap();
        if meta["state"] == "interrupted" {
            break meta;
        }
        assert!(Instant::now() < deadline, "not marked: {meta}");
        std::thread::sleep(Duration::from_millis(20));
    };
    next.kill().unwrap();
    next.wait().unwrap();
    assert_eq!(meta["samples"], rows);
    if let Some(seen) = xarray(&nc) {
        assert_eq!(seen["attrs"]["state"], "interrupted");
        assert!(seen["samples"].as_u64().unwrap() > 50);
    }
}
