//! A task's samples as NetCDF beside its CSV (cargo feature `netcdf`,
//! over the system's libnetcdf): the classic 64-bit-offset format, a
//! record dimension `uts` (Unix time, CF units, so xarray decodes it to
//! dates), a `float64` variable per column with its unit in `units`, and
//! global attributes for what ran and how it ended.
//!
//! Classic rather than NetCDF-4: its records are appended and the record
//! count in the header is only moved forward at a flush, so a killed
//! process leaves a file that opens and holds every sample up to the last
//! flush ([`FLUSH_EVERY`]). A NetCDF-4 (HDF5) file killed mid-write may
//! not open at all.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Value;
use super::task::{Column, TaskState};

/// At most this much of samples is lost when the process is killed.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The coordinate: one record per sample.
const UTS: &str = "uts";

/// What a NetCDF file says of its task at the start.
#[derive(Debug, Clone)]
pub struct Header<'a> {
    pub task: &'a str,
    pub id: u64,
    pub device: &'a str,
    pub driver: &'a str,
    pub technique: &'a str,
    /// The parameters as JSON.
    pub params: String,
    pub sampling_interval: f64,
    pub max_duration: f64,
    pub started: &'a str,
    pub job: Option<&'a str>,
}

pub struct NetcdfFile {
    file: netcdf::FileMut,
    path: PathBuf,
    /// Variable name per column.
    names: Vec<String>,
    /// Columns that had text: kept in the CSV only.
    text: Vec<bool>,
    rows: usize,
    synced: Instant,
}

impl std::fmt::Debug for NetcdfFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetcdfFile")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// A NetCDF error with the file it concerns.
fn failed(path: &Path, e: impl std::fmt::Display) -> String {
    format!("{}: {e}", path.display())
}

/// A name NetCDF takes: letters, digits, `_`, `-`, `.`, not first a digit.
fn variable_name(column: &str) -> String {
    let mut name = super::file_safe(column);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    if name == UTS {
        name.push('_');
    }
    name
}

impl NetcdfFile {
    /// Create `path` (never over an existing file) with the coordinate,
    /// a variable per column and the header.
    pub fn create(path: &Path, header: &Header<'_>, columns: &[Column]) -> Result<Self, String> {
        let options = netcdf::Options::_64BIT_OFFSET | netcdf::Options::NOCLOBBER;
        let mut file = netcdf::create_with(path, options).map_err(|e| failed(path, e))?;
        let mut names = Vec::new();
        let define = |file: &mut netcdf::FileMut, names: &mut Vec<String>| {
            file.add_unlimited_dimension(UTS)?;
            let mut uts = file.add_variable::<f64>(UTS, &[UTS])?;
            uts.put_attribute("units", "seconds since 1970-01-01 00:00:00")?;
            uts.put_attribute("calendar", "standard")?;
            uts.put_attribute("long_name", "time of the sample (Unix time)")?;
            for column in columns {
                let name = variable_name(&column.name);
                let mut var = file.add_variable::<f64>(&name, &[UTS])?;
                var.put_attribute("long_name", column.name.as_str())?;
                if let Some(unit) = &column.unit {
                    var.put_attribute("units", unit.as_str())?;
                }
                var.put_attribute("_FillValue", f64::NAN)?;
                names.push(name);
            }
            file.add_attribute("Conventions", "CF-1.8")?;
            file.add_attribute("title", format!("labdeck task '{}'", header.task))?;
            file.add_attribute("task", header.task)?;
            // Classic NetCDF has no 64-bit integers.
            file.add_attribute("task_id", i32::try_from(header.id).unwrap_or(i32::MAX))?;
            file.add_attribute("device", header.device)?;
            file.add_attribute("driver", header.driver)?;
            file.add_attribute("technique", header.technique)?;
            file.add_attribute("parameters", header.params.as_str())?;
            file.add_attribute("sampling_interval", header.sampling_interval)?;
            file.add_attribute("max_duration", header.max_duration)?;
            file.add_attribute("started", header.started)?;
            file.add_attribute("job", header.job.unwrap_or(""))?;
            file.add_attribute("state", TaskState::Running.as_str())?;
            file.add_attribute("ended", "")?;
            file.add_attribute("reason", "")?;
            file.add_attribute("source", concat!("labdeck ", env!("CARGO_PKG_VERSION")))?;
            file.enddef()?;
            file.sync()
        };
        define(&mut file, &mut names).map_err(|e| failed(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            text: vec![false; names.len()],
            names,
            rows: 0,
            synced: Instant::now(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One sample; flushed when the last flush is [`FLUSH_EVERY`] ago.
    pub fn row(&mut self, uts: f64, values: &[Option<Value>]) -> Result<(), String> {
        let at = [self.rows];
        let mut put = |name: &str, value: f64| -> netcdf::Result<()> {
            match self.file.variable_mut(name) {
                Some(mut var) => var.put_value(value, at),
                None => Err(format!("no variable {name}").into()),
            }
        };
        put(UTS, uts).map_err(|e| failed(&self.path, e))?;
        for (i, value) in values.iter().enumerate().take(self.names.len()) {
            let number = match value {
                Some(Value::Number(v)) => *v,
                Some(Value::Bool(b)) => f64::from(u8::from(*b)),
                Some(Value::Text(_)) => {
                    self.text[i] = true;
                    f64::NAN
                }
                None => f64::NAN,
            };
            put(&self.names[i], number).map_err(|e| failed(&self.path, e))?;
        }
        self.rows += 1;
        if self.synced.elapsed() >= FLUSH_EVERY {
            self.file.sync().map_err(|e| failed(&self.path, e))?;
            self.synced = Instant::now();
        }
        Ok(())
    }

    /// How the task ended, in the header; then the file is closed.
    pub fn finish(
        mut self,
        state: TaskState,
        reason: Option<&str>,
        ended: &str,
    ) -> Result<(), String> {
        let text = std::mem::take(&mut self.text);
        let names = std::mem::take(&mut self.names);
        let path = self.path.clone();
        let mut end = || -> netcdf::Result<()> {
            self.file.redef()?;
            ending(&mut self.file, state.as_str(), reason.unwrap_or(""), ended)?;
            for (name, _) in names.iter().zip(&text).filter(|(_, text)| **text) {
                if let Some(mut var) = self.file.variable_mut(name) {
                    var.put_attribute("comment", "text values: see the CSV (NaN here)")?;
                }
            }
            self.file.enddef()
        };
        end().map_err(|e| failed(&path, e))?;
        self.file.close().map_err(|e| failed(&path, e))
    }
}

fn ending(
    file: &mut netcdf::FileMut,
    state: &str,
    reason: &str,
    ended: &str,
) -> netcdf::Result<()> {
    file.add_attribute("state", state)?;
    file.add_attribute("reason", reason)?;
    file.add_attribute("ended", ended)?;
    Ok(())
}

/// After a crash: the file says `interrupted`, with `reason`. Its
/// samples (up to the last flush) are not touched.
pub fn mark_interrupted(path: &Path, reason: &str) -> Result<(), String> {
    let mut file = netcdf::append(path).map_err(|e| failed(path, e))?;
    let mut mark = || -> netcdf::Result<()> {
        file.redef()?;
        ending(&mut file, TaskState::Interrupted.as_str(), reason, "")?;
        file.enddef()
    };
    mark().map_err(|e| failed(path, e))?;
    file.close().map_err(|e| failed(path, e))
}

/// One task's part of a job file: its group name and its own file.
pub struct JobPart<'a> {
    pub group: String,
    pub file: &'a Path,
}

/// A job's file: NetCDF-4 with one group per task, each a copy of the
/// task's own file (its `uts`, variables and attributes), and the job's
/// attributes at the top. Written once, when the job has ended.
pub fn write_job_file(
    path: &Path,
    attrs: &[(&str, String)],
    parts: &[JobPart<'_>],
) -> Result<(), String> {
    let options = netcdf::Options::NETCDF4 | netcdf::Options::NOCLOBBER;
    let mut out = netcdf::create_with(path, options).map_err(|e| failed(path, e))?;
    let mut write = || -> netcdf::Result<()> {
        for (key, value) in attrs {
            out.add_attribute(key, value.as_str())?;
        }
        for part in parts {
            let task = netcdf::open(part.file)?;
            let group = &part.group;
            out.add_group(group)?;
            let rows = task.variable(UTS).map_or(0, |v| v.len());
            out.add_dimension(&format!("{group}/{UTS}"), rows)?;
            for attr in task.attributes() {
                out.group_mut(group)?
                    .ok_or("the group just added")?
                    .add_attribute(attr.name(), attr.value()?)?;
            }
            for var in task.variables() {
                let name = var.name();
                let values = var.get_values::<f64, _>(..)?;
                let mut copy = out.add_variable::<f64>(&format!("{group}/{name}"), &[UTS])?;
                for attr in var.attributes() {
                    copy.put_attribute(attr.name(), attr.value()?)?;
                }
                copy.put_values(&values, ..)?;
            }
        }
        Ok(())
    };
    write().map_err(|e| failed(path, e))?;
    out.close().map_err(|e| failed(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_netcdf_takes() {
        assert_eq!(variable_name("frequency"), "frequency");
        assert_eq!(variable_name("rate [Hz/s]"), "rate__Hz_s_");
        assert_eq!(variable_name("2nd"), "_2nd");
        assert_eq!(variable_name("uts"), "uts_");
    }

    #[test]
    fn samples_units_and_the_ending_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.nc");
        let header = Header {
            task: "spin-up",
            id: 3,
            device: "pump1",
            driver: "turbovac",
            technique: "ramp",
            params: r#"{"setpoint":800}"#.into(),
            sampling_interval: 0.5,
            max_duration: 2.0,
            started: "2026-12-03T10:00:00+00:00",
            job: Some("pump-down"),
        };
        let columns = [
            Column::new("frequency", Some("Hz")),
            Column::new("motion", None),
        ];
        let mut file = NetcdfFile::create(&path, &header, &columns).unwrap();
        assert!(
            NetcdfFile::create(&path, &header, &columns).is_err(),
            "never over a file"
        );
        file.row(
            1.5,
            &[Some(Value::Number(10.0)), Some(Value::Text("up".into()))],
        )
        .unwrap();
        file.row(2.0, &[Some(Value::Number(20.0)), None]).unwrap();
        file.finish(TaskState::Completed, None, "2026-12-03T10:00:02+00:00")
            .unwrap();

        let file = netcdf::open(&path).unwrap();
        let uts = file.variable("uts").unwrap();
        assert_eq!(uts.get_values::<f64, _>(..).unwrap(), [1.5, 2.0]);
        let frequency = file.variable("frequency").unwrap();
        assert_eq!(frequency.get_values::<f64, _>(..).unwrap(), [10.0, 20.0]);
        let unit = frequency.attribute_value("units").unwrap().unwrap();
        assert_eq!(String::try_from(unit).unwrap(), "Hz");
        let state = file.attribute("state").unwrap().value().unwrap();
        assert_eq!(String::try_from(state).unwrap(), "completed");
        let motion = file.variable("motion").unwrap();
        assert!(motion.attribute("comment").is_some());
        drop(file);

        mark_interrupted(&path, "killed").unwrap();
        let file = netcdf::open(&path).unwrap();
        let state = file.attribute("state").unwrap().value().unwrap();
        assert_eq!(String::try_from(state).unwrap(), "interrupted");
        assert_eq!(file.variable("uts").unwrap().len(), 2);
    }
}
