//! What keeping a task's state in the store costs: one state change kept
//! (an upsert in its own SQLite transaction, WAL, synchronous=NORMAL)
//! against one sample written to the task's CSV (one `write` of a line),
//! the cost the recording already pays per sample. Both on the same
//! filesystem, interleaved in rounds.
//!
//! `cargo bench --bench task_store [-- ROUNDS]` (default 10 rounds of 200
//! of each).

use std::time::{Duration, Instant};

use chrono::Local;
use labdeck_core::device::{Recorder, TaskJournal, TaskState, Value};
use labdeck_core::store::Store;

/// Writes of each kind per round.
const EACH: usize = 200;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (store, _) = Store::open(dir.path()).expect("the store opens");
    let base = tokio::time::Instant::now();
    let mut task = labdeck_core::testing::tasks(base)[1].clone();
    let columns = task.columns.clone();
    let mut recorder = Recorder::create(
        dir.path(),
        "turbovac",
        task.id,
        &task.spec,
        &columns,
        Local::now(),
        false,
    )
    .expect("a recording");
    let values: Vec<Option<Value>> = vec![Some(Value::Number(800.0)), Some(Value::Number(795.5))];

    // Warm-up.
    for i in 0..50 {
        recorder.row(f64::from(i), &values).unwrap();
        store.task("pump1", &task);
    }
    let (mut rows, mut kept) = (Vec::new(), Vec::new());
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let mut round_rows = Vec::with_capacity(EACH);
        let mut round_kept = Vec::with_capacity(EACH);
        let row = |out: &mut Vec<Duration>, recorder: &mut Recorder| {
            for i in 0..EACH {
                let start = Instant::now();
                recorder.row(i as f64, &values).unwrap();
                out.push(start.elapsed());
            }
        };
        let keep = |out: &mut Vec<Duration>, task: &mut labdeck_core::device::TaskSnapshot| {
            for i in 0..EACH {
                task.state = if i % 2 == 0 {
                    TaskState::Running
                } else {
                    TaskState::Paused
                };
                task.samples = i as u64;
                let start = Instant::now();
                store.task("pump1", task);
                out.push(start.elapsed());
            }
        };
        // The order alternates so drift favours neither.
        if round % 2 == 0 {
            row(&mut round_rows, &mut recorder);
            keep(&mut round_kept, &mut task);
        } else {
            keep(&mut round_kept, &mut task);
            row(&mut round_rows, &mut recorder);
        }
        let ratio = median(&mut round_kept).as_secs_f64() / median(&mut round_rows).as_secs_f64();
        ratios.push(ratio);
        rows.extend(round_rows);
        kept.extend(round_kept);
    }
    let show = |name: &str, samples: &[Duration]| {
        println!(
            "{name:<28} median {:>8.1} µs  p90 {:>8.1} µs  p99 {:>8.1} µs  ({} samples)",
            percentile(samples, 0.5).as_secs_f64() * 1e6,
            percentile(samples, 0.9).as_secs_f64() * 1e6,
            percentile(samples, 0.99).as_secs_f64() * 1e6,
            samples.len()
        );
    };
    show("CSV row (baseline)", &rows);
    show("state change kept", &kept);
    ratios.sort_by(f64::total_cmp);
    println!(
        "state change / CSV row: median {:.1}× (rounds {:.1}–{:.1}×)",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
}
