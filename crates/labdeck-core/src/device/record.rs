//! Recording a task: one CSV file per task, a line per sample written in
//! one call as it comes (a killed process leaves a file that ends at the
//! last complete sample), and a JSON sidecar with what ran and how it
//! ended, rewritten atomically.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Local};
use serde::Serialize;

use super::Value;
use super::task::{Column, TaskSpec, TaskState};

/// The sidecar's contents.
#[derive(Debug, Clone, Serialize)]
struct Sidecar {
    task: String,
    id: u64,
    device: String,
    driver: String,
    technique: String,
    /// The job it ran in.
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<String>,
    params: std::collections::BTreeMap<String, Value>,
    sampling_interval: f64,
    max_duration: f64,
    started: String,
    ended: Option<String>,
    state: TaskState,
    reason: Option<String>,
    samples: u64,
    expected_samples: u64,
    columns: Vec<Column>,
    data_file: String,
    /// The NetCDF file beside the CSV, when one is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    netcdf_file: Option<String>,
    extra_files: Vec<String>,
}

#[derive(Debug)]
pub struct Recorder {
    csv: File,
    csv_path: PathBuf,
    sidecar_path: PathBuf,
    meta: Sidecar,
    stem: PathBuf,
    #[cfg(feature = "netcdf")]
    netcdf: Option<super::netcdf::NetcdfFile>,
}

/// Keep file names portable: letters, digits, `-`, `_`, `.`.
pub fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A CSV field, quoted when it has to be.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Plain decimals for everyday magnitudes, exponent form for the rest
/// (`1.2`, `800`, `1.503299e-9`); always the shortest exact text.
fn number(v: f64) -> String {
    let magnitude = v.abs();
    if v == 0.0 || (1e-3..1e9).contains(&magnitude) {
        v.to_string()
    } else {
        format!("{v:e}")
    }
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None => String::new(),
        Some(Value::Number(v)) => number(*v),
        Some(Value::Bool(b)) => u8::from(*b).to_string(),
        Some(Value::Text(t)) => field(t),
    }
}

impl Recorder {
    /// Create `<dir>/<time>-<device>-<task>.csv` with its header row and
    /// the sidecar beside it (and the `.nc` beside them with `netcdf`).
    pub fn create(
        dir: &Path,
        driver: &str,
        id: u64,
        spec: &TaskSpec,
        columns: &[Column],
        started: DateTime<Local>,
        netcdf: bool,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let base = format!(
            "{}-{}-{}",
            started.format("%Y%m%dT%H%M%S"),
            file_safe(&spec.device),
            file_safe(&spec.name)
        );
        // Never overwrite an earlier recording.
        let (stem, mut csv) = (1..)
            .map(|n| match n {
                1 => dir.join(&base),
                n => dir.join(format!("{base}-{n}")),
            })
            .find_map(|stem| {
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(stem.with_extension("csv"));
                match file {
                    Ok(file) => Some(Ok((stem, file))),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => None,
                    Err(e) => Some(Err(e)),
                }
            })
            .expect("an unused file name")?;
        let mut header = String::from("uts,task");
        for column in columns {
            header.push(',');
            header.push_str(&field(&column.header()));
        }
        header.push('\n');
        csv.write_all(header.as_bytes())?;
        let csv_path = stem.with_extension("csv");
        let meta = Sidecar {
            task: spec.name.clone(),
            id,
            device: spec.device.clone(),
            driver: driver.to_string(),
            technique: spec.technique.clone(),
            job: spec.job.as_ref().map(|j| j.name.clone()),
            params: spec.params.clone(),
            sampling_interval: spec.sampling_interval.as_secs_f64(),
            max_duration: spec.max_duration.as_secs_f64(),
            started: started.to_rfc3339(),
            ended: None,
            state: TaskState::Running,
            reason: None,
            samples: 0,
            expected_samples: spec.expected_samples(),
            columns: columns.to_vec(),
            data_file: csv_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            netcdf_file: None,
            extra_files: Vec::new(),
        };
        #[cfg_attr(not(feature = "netcdf"), allow(unused_mut))]
        let mut recorder = Self {
            csv,
            sidecar_path: stem.with_extension("json"),
            csv_path,
            meta,
            stem,
            #[cfg(feature = "netcdf")]
            netcdf: None,
        };
        if netcdf {
            recorder.create_netcdf()?;
        }
        recorder.write_sidecar()?;
        Ok(recorder)
    }

    #[cfg(feature = "netcdf")]
    fn create_netcdf(&mut self) -> io::Result<()> {
        let path = self.stem.with_extension("nc");
        let meta = &self.meta;
        let header = super::netcdf::Header {
            task: &meta.task,
            id: meta.id,
            device: &meta.device,
            driver: &meta.driver,
            technique: &meta.technique,
            params: serde_json::to_string(&meta.params).unwrap_or_default(),
            sampling_interval: meta.sampling_interval,
            max_duration: meta.max_duration,
            started: &meta.started,
            job: meta.job.as_deref(),
        };
        let file = super::netcdf::NetcdfFile::create(&path, &header, &meta.columns)
            .map_err(io::Error::other)?;
        self.meta.netcdf_file = path.file_name().map(|n| n.to_string_lossy().into_owned());
        self.netcdf = Some(file);
        Ok(())
    }

    #[cfg(not(feature = "netcdf"))]
    #[allow(clippy::unused_self)]
    fn create_netcdf(&mut self) -> io::Result<()> {
        Err(io::Error::other(
            "this labdeck was built without NetCDF (cargo build --features netcdf)",
        ))
    }

    pub fn path(&self) -> &Path {
        &self.csv_path
    }

    /// One sample: Unix time, then a value per column, in one write.
    pub fn row(&mut self, uts: f64, values: &[Option<Value>]) -> io::Result<()> {
        let mut line = format!("{uts:.6},{}", field(&self.meta.task));
        for value in values {
            line.push(',');
            line.push_str(&cell(value.as_ref()));
        }
        line.push('\n');
        self.csv.write_all(line.as_bytes())?;
        self.meta.samples += 1;
        #[cfg(feature = "netcdf")]
        if let Some(file) = self.netcdf.as_mut() {
            file.row(uts, values).map_err(io::Error::other)?;
        }
        Ok(())
    }

    /// A further file beside the task's (e.g. an instrument buffer):
    /// `<stem>-<suffix>.csv`.
    pub fn extra(&mut self, suffix: &str, contents: &str) -> io::Result<PathBuf> {
        let mut name = self.stem.as_os_str().to_owned();
        name.push(format!("-{}.csv", file_safe(suffix)));
        let path = PathBuf::from(name);
        std::fs::write(&path, contents)?;
        if let Some(file) = path.file_name() {
            self.meta
                .extra_files
                .push(file.to_string_lossy().into_owned());
        }
        Ok(path)
    }

    /// Record how the task ended.
    pub fn finish(mut self, state: TaskState, reason: Option<&str>) -> io::Result<()> {
        self.csv.flush()?;
        self.meta.state = state;
        self.meta.reason = reason.map(str::to_string);
        self.meta.ended = Some(Local::now().to_rfc3339());
        #[cfg(feature = "netcdf")]
        if let Some(file) = self.netcdf.take() {
            let ended = self.meta.ended.clone().unwrap_or_default();
            file.finish(state, reason, &ended)
                .map_err(io::Error::other)?;
        }
        self.write_sidecar()
    }

    fn write_sidecar(&self) -> io::Result<()> {
        let text = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let tmp = self.sidecar_path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(tmp, &self.sidecar_path)
    }
}

/// After a crash: the sidecar of the task recorded in `csv` says it was
/// interrupted, with `reason` and the complete samples the file holds
/// (the lines that end with a newline, less the header); the CSV itself
/// is left as it is. Those samples.
pub fn mark_interrupted(csv: &Path, reason: &str) -> io::Result<u64> {
    let bytes = std::fs::read(csv)?;
    let lines = bytes.split(|b| *b == b'\n').count() as u64 - 1;
    let samples = lines.saturating_sub(1);
    let sidecar = csv.with_extension("json");
    let text = std::fs::read_to_string(&sidecar)?;
    let mut meta: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| io::Error::other(e.to_string()))?;
    meta["state"] = serde_json::json!(TaskState::Interrupted.as_str());
    meta["reason"] = serde_json::json!(reason);
    meta["samples"] = serde_json::json!(samples);
    #[cfg(feature = "netcdf")]
    if let Some(name) = meta["netcdf_file"].as_str() {
        let nc = csv.with_file_name(name);
        if let Err(e) = super::netcdf::mark_interrupted(&nc, reason) {
            tracing::warn!("{e}: not marked interrupted");
        }
    }
    let text = serde_json::to_string_pretty(&meta).map_err(|e| io::Error::other(e.to_string()))?;
    let tmp = sidecar.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(tmp, &sidecar)?;
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn spec() -> TaskSpec {
        TaskSpec {
            name: "spin up".into(),
            device: "pump1".into(),
            technique: "ramp".into(),
            params: [("setpoint".to_string(), Value::from("800"))].into(),
            sampling_interval: Duration::from_millis(500),
            max_duration: Duration::from_secs(2),
            link_timeout: crate::device::DEFAULT_LINK_TIMEOUT,
            job: None,
        }
    }

    #[test]
    fn a_header_with_units_rows_and_a_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let columns = [
            Column::new("frequency", Some("Hz")),
            Column::new("motion", None),
        ];
        let mut r = Recorder::create(
            dir.path(),
            "turbovac",
            7,
            &spec(),
            &columns,
            Local::now(),
            false,
        )
        .unwrap();
        let path = r.path().to_path_buf();
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("-pump1-spin_up.csv")
        );
        r.row(
            1.5,
            &[Some(Value::Number(10.0)), Some(Value::Text("a, b".into()))],
        )
        .unwrap();
        r.row(2.0, &[None, Some(Value::Text("stopped".into()))])
            .unwrap();
        let extra = r.extra("buffer", "index,read\n0,1e-9\n").unwrap();
        r.finish(TaskState::Completed, None).unwrap();
        let csv = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            csv,
            "uts,task,frequency [Hz],motion\n1.500000,spin up,10,\"a, b\"\n2.000000,spin up,,stopped\n"
        );
        assert!(extra.exists());
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        assert_eq!(meta["state"], "completed");
        assert_eq!(meta["samples"], 2);
        assert_eq!(meta["expected_samples"], 4);
        assert_eq!(meta["params"]["setpoint"], "800");
        assert_eq!(meta["columns"][0]["unit"], "Hz");
        // A second task of the same name in the same second gets its own file.
        let again = Recorder::create(
            dir.path(),
            "turbovac",
            8,
            &spec(),
            &columns,
            Local::now(),
            false,
        )
        .unwrap();
        assert_ne!(again.path(), path);
    }

    #[test]
    fn an_interrupted_recording_keeps_its_rows_and_its_sidecar_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let columns = [Column::new("frequency", Some("Hz"))];
        let mut r = Recorder::create(
            dir.path(),
            "turbovac",
            1,
            &spec(),
            &columns,
            Local::now(),
            false,
        )
        .unwrap();
        for i in 0..3 {
            r.row(f64::from(i), &[Some(Value::Number(1.0))]).unwrap();
        }
        let path = r.path().to_path_buf();
        let before = std::fs::read(&path).unwrap();
        // The process dies: no finish.
        std::mem::forget(r);
        assert_eq!(mark_interrupted(&path, "killed").unwrap(), 3);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the data is not rewritten"
        );
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path.with_extension("json")).unwrap())
                .unwrap();
        assert_eq!(meta["state"], "interrupted");
        assert_eq!(meta["reason"], "killed");
        assert_eq!(meta["samples"], 3);
        assert_eq!(meta["task"], "spin up");
    }
}
