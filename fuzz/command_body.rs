//! The command language (it lives with the front ends, so this target
//! alone builds the `labdeck` crate). Shared with `tests/fuzz_corpus.rs`.

pub fn command(data: &[u8]) {
    if let Ok(line) = std::str::from_utf8(data) {
        let _ = labdeck::headless::command::parse(line);
    }
}
