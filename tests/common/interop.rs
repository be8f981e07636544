//! Third-party clients for the interop tests: a Python that can import a
//! module (`LABDECK_PYTHON`, default `.venv/bin/python`) and the shared
//! interop scripts (`LABDECK_INTEROP`, default `../shared/interop`). When
//! one is missing the test is skipped with a message, unless
//! `LABDECK_REQUIRE_INTEROP` is set (`.ci/run` sets it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Tools {
    pub python: PathBuf,
    pub interop: PathBuf,
}

/// The tools, if `python` imports every module in `modules` and `script`
/// (unless empty) is among the interop scripts.
pub fn tools(what: &str, modules: &[&str], script: &str, install: &str) -> Option<Tools> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("LABDECK_PYTHON")
        .map_or_else(|| root.join(".venv/bin/python"), PathBuf::from);
    let interop = std::env::var_os("LABDECK_INTEROP")
        .map_or_else(|| root.join("../shared/interop"), PathBuf::from);
    let imports = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let importable = Command::new(&python)
        .args(["-c", &imports])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let missing = if !importable {
        Some(format!(
            "{} cannot import {}",
            python.display(),
            modules.join(", ")
        ))
    } else if !script.is_empty() && !interop.join(script).is_file() {
        Some(format!(
            "the interop scripts are missing ({})",
            interop.display()
        ))
    } else {
        None
    };
    if let Some(why) = missing {
        assert!(
            std::env::var_os("LABDECK_REQUIRE_INTEROP").is_none(),
            "{what} interop test required but {why}"
        );
        eprintln!("SKIPPED: {what} interop test: {why}; install with `{install}`");
        return None;
    }
    Some(Tools { python, interop })
}

/// Run to completion; success and everything printed.
pub fn run(mut command: Command) -> (bool, String) {
    let out = command.output().expect("run the check");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
