//! Every committed fuzz input (`fuzz/corpus/TARGET/`, and the inputs that
//! once crashed a target, `fuzz/regressions/TARGET/`) through the same
//! checks as the fuzz targets, on stable: a decoder that regresses fails
//! here without a nightly toolchain.

#[path = "../fuzz/bodies.rs"]
mod bodies;
#[path = "../fuzz/command_body.rs"]
mod command_body;

use std::path::Path;

type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 8] = [
    ("uss_framer", bodies::uss_framer),
    ("scpi_message", bodies::scpi_message),
    ("scpi_lines", bodies::scpi_lines),
    ("keithley_reading", bodies::keithley_reading),
    ("indi_stream", bodies::indi_stream),
    ("indi_number", bodies::indi_number),
    ("config", bodies::config),
    ("command", command_body::command),
];

fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries.filter_map(|e| Some(e.ok()?.path())).collect()
}

#[test]
fn every_committed_fuzz_input_replays_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, body) in TARGETS {
        let corpus = inputs(&root.join("corpus").join(target));
        assert!(!corpus.is_empty(), "no corpus for {target}");
        for path in corpus
            .iter()
            .chain(&inputs(&root.join("regressions").join(target)))
        {
            let data = std::fs::read(path).unwrap();
            let outcome = std::panic::catch_unwind(|| body(&data));
            assert!(outcome.is_ok(), "{target}: {} fails", path.display());
        }
    }
}
