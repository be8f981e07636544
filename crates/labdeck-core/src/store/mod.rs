//! The task store: the queue, every task's and job's state and the files
//! they write, kept in SQLite (`<data-dir>/labdeck.sqlite`, write-ahead
//! log) and updated in one transaction at each change. Each process that
//! opens it is a run; a run that ended without saying so (a crash,
//! `kill -9`) is found at the next open: its running tasks become
//! `interrupted` (their sidecars too), and what it had not started yet is
//! offered for resumption.
//!
//! SQLite because a half-written change must never be seen: its journal
//! makes each transaction all or nothing across a kill, and one file
//! with a schema is easy to inspect (`sqlite3 labdeck.sqlite`).

mod recover;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

pub use recover::{InterruptedJob, Recovery, Resumable, ResumableTask};

use crate::device::{TaskJournal, TaskSnapshot};
use crate::jobs::{JobJournal, JobSnapshot};

/// The store's file in the data directory.
pub const FILE_NAME: &str = "labdeck.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the task store {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot create the data directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("task store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("task store: a record that does not read back: {0}")]
    Json(#[from] serde_json::Error),
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    started TEXT NOT NULL,
    ended TEXT,
    -- running | stopped | crashed
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    run INTEGER NOT NULL REFERENCES runs(id),
    device TEXT NOT NULL,
    id INTEGER NOT NULL,
    job INTEGER,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT,
    file TEXT,
    samples INTEGER NOT NULL,
    updated TEXT NOT NULL,
    resumed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run, device, id)
);
CREATE TABLE IF NOT EXISTS jobs (
    run INTEGER NOT NULL REFERENCES runs(id),
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    method TEXT,
    state TEXT NOT NULL,
    reason TEXT,
    snapshot TEXT NOT NULL,
    updated TEXT NOT NULL,
    resumed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run, id)
);
";

/// Cloneable handle to the open store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Mutex<Connection>,
    run: i64,
    path: PathBuf,
}

fn now() -> String {
    chrono::Local::now().to_rfc3339()
}

impl Store {
    /// Open (or create) the store in `dir`, begin a run, and recover the
    /// runs that crashed.
    pub fn open(dir: &Path) -> Result<(Self, Recovery), StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let open = |path: &Path| -> rusqlite::Result<Connection> {
            let db = Connection::open(path)?;
            db.busy_timeout(Duration::from_secs(5))?;
            db.pragma_update(None, "journal_mode", "WAL")?;
            // Committed is on disk once the OS has it: a killed process
            // loses nothing it committed.
            db.pragma_update(None, "synchronous", "NORMAL")?;
            db.execute_batch(SCHEMA)?;
            Ok(db)
        };
        let mut db = open(&path).map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        let pid = std::process::id();
        db.execute(
            "INSERT INTO runs (pid, started, state) VALUES (?1, ?2, 'running')",
            params![pid, now()],
        )?;
        let run = db.last_insert_rowid();
        let recovery = recover::crashed_runs(&mut db, run)?;
        let store = Self {
            inner: Arc::new(Inner {
                db: Mutex::new(db),
                run,
                path,
            }),
        };
        Ok((store, recovery))
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// This process's run.
    pub fn run(&self) -> i64 {
        self.inner.run
    }

    /// The run ended cleanly: what it left unended was cancelled by the
    /// stop (its devices cancel their tasks as they stop; a job may not
    /// have had the time to say so).
    pub fn close(&self) {
        let close = || -> rusqlite::Result<()> {
            let mut db = self.db();
            let tx = db.transaction()?;
            let why = "labdeck stopped";
            tx.execute(
                "UPDATE tasks SET state = 'cancelled', reason = COALESCE(reason, ?1)
                 WHERE run = ?2 AND state IN ('queued', 'running', 'paused')",
                params![why, self.inner.run],
            )?;
            tx.execute(
                "UPDATE jobs SET state = 'cancelled', reason = COALESCE(reason, ?1)
                 WHERE run = ?2 AND state IN ('queued', 'running')",
                params![why, self.inner.run],
            )?;
            tx.execute(
                "UPDATE runs SET ended = ?1, state = 'stopped' WHERE id = ?2",
                params![now(), self.inner.run],
            )?;
            tx.commit()
        };
        if let Err(e) = close() {
            tracing::warn!("task store: cannot close the run: {e}");
        }
    }

    /// What earlier runs left unfinished and nobody resumed yet.
    pub fn resumable(&self) -> Result<Resumable, StoreError> {
        recover::resumable(&self.db())
    }

    /// Work of an earlier run was queued again: not offered again.
    pub fn mark_resumed(&self, work: &Resumable) -> Result<(), StoreError> {
        let mut db = self.db();
        let tx = db.transaction()?;
        for job in &work.jobs {
            tx.execute(
                "UPDATE jobs SET resumed = 1 WHERE run = ?1 AND id = ?2",
                params![job.run, job.id],
            )?;
        }
        for task in &work.tasks {
            tx.execute(
                "UPDATE tasks SET resumed = 1 WHERE run = ?1 AND device = ?2 AND id = ?3",
                params![task.run, task.device, task.id],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves a connection that is
        // still whole (SQLite rolls back an open transaction).
        self.inner
            .db
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn save_task(&self, device: &str, task: &TaskSnapshot) -> Result<(), StoreError> {
        let spec = serde_json::to_string(&task.spec)?;
        self.db().execute(
            "INSERT INTO tasks (run, device, id, job, name, spec, state, reason, file, samples, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (run, device, id) DO UPDATE SET
                state = excluded.state, reason = excluded.reason, file = excluded.file,
                samples = excluded.samples, updated = excluded.updated",
            params![
                self.inner.run,
                device,
                task.id,
                task.spec.job.as_ref().map(|j| j.id),
                task.spec.name,
                spec,
                task.state.as_str(),
                task.reason,
                task.file.as_ref().map(|f| f.display().to_string()),
                task.samples,
                now(),
            ],
        )?;
        Ok(())
    }

    fn save_job(&self, job: &JobSnapshot) -> Result<(), StoreError> {
        let snapshot = serde_json::to_string(job)?;
        self.db().execute(
            "INSERT INTO jobs (run, id, name, method, state, reason, snapshot, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (run, id) DO UPDATE SET
                state = excluded.state, reason = excluded.reason,
                snapshot = excluded.snapshot, updated = excluded.updated",
            params![
                self.inner.run,
                job.id,
                job.name,
                job.method.as_ref().map(|m| m.display().to_string()),
                job.state.as_str(),
                job.reason,
                snapshot,
                now(),
            ],
        )?;
        Ok(())
    }

    /// A job's state as kept, for tests and `labdeck` itself.
    pub fn job_state(&self, run: i64, id: u64) -> Result<Option<String>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT state FROM jobs WHERE run = ?1 AND id = ?2",
                params![run, id],
                |row| row.get(0),
            )
            .optional()?)
    }
}

impl TaskJournal for Store {
    fn task(&self, device: &str, task: &TaskSnapshot) {
        if let Err(e) = self.save_task(device, task) {
            tracing::warn!("{device}: task '{}' not kept: {e}", task.spec.name);
        }
    }
}

impl JobJournal for Store {
    fn job(&self, job: &JobSnapshot) {
        if let Err(e) = self.save_job(job) {
            tracing::warn!("job '{}' not kept: {e}", job.name);
        }
    }
}
