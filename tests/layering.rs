//! The architecture, checked: the core knows no screen, the wire formats
//! know no runtime and no other labdeck crate (by the resolved dependency
//! graph, as `cargo tree -e normal` shows it), and inside the core every
//! import points down the layers the README names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every package reachable from `root` through normal (not dev, not
/// build) dependencies, by name.
fn normal_closure(metadata: &serde_json::Value, root: &str) -> BTreeSet<String> {
    let packages = metadata["packages"].as_array().expect("packages");
    let name_of = |id: &str| -> String {
        packages
            .iter()
            .find(|p| p["id"] == id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or("?")
            .to_string()
    };
    let nodes = metadata["resolve"]["nodes"].as_array().expect("resolve");
    let root_id = packages
        .iter()
        .find(|p| p["name"] == root)
        .and_then(|p| p["id"].as_str())
        .expect("root package")
        .to_string();
    let mut seen = BTreeSet::new();
    let mut todo = vec![root_id];
    while let Some(id) = todo.pop() {
        let Some(node) = nodes.iter().find(|n| n["id"] == id.as_str()) else {
            continue;
        };
        for dep in node["deps"].as_array().into_iter().flatten() {
            let normal = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null());
            let dep_id = dep["pkg"].as_str().unwrap_or_default().to_string();
            if normal && seen.insert(name_of(&dep_id)) {
                todo.push(dep_id);
            }
        }
    }
    seen
}

/// The host's target triple: the graph is the one built here.
fn host() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("a host line")
        .to_string()
}

fn metadata() -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

#[test]
fn the_core_knows_no_screen_and_the_wire_formats_no_runtime() {
    let metadata = metadata();
    let core = normal_closure(&metadata, "labdeck-core");
    for screen in ["ratatui", "crossterm", "tui-logger"] {
        assert!(!core.contains(screen), "labdeck-core depends on {screen}");
    }
    let protocol = normal_closure(&metadata, "labdeck-protocol");
    let forbidden: Vec<&String> = protocol
        .iter()
        .filter(|p| p.starts_with("tokio") || p.starts_with("labdeck"))
        .collect();
    assert!(
        forbidden.is_empty(),
        "labdeck-protocol depends on {forbidden:?}"
    );
    // And the front ends do reach the core through its crate.
    assert!(normal_closure(&metadata, "labdeck").contains("labdeck-core"));
}

/// The core's modules, bottom up. A module may use those of a lower rank
/// (and its own); `testing` is for tests and may use anything.
const LAYERS: &[(&str, u8)] = &[
    ("time", 0),
    ("publish", 0),
    ("error", 0),
    ("alarm", 1),
    ("link", 2),
    ("capture", 3),
    ("connection", 3),
    ("rfc2217", 3),
    ("server", 3),
    ("sniff", 3),
    ("sim", 4),
    ("device", 4),
    ("config", 5),
    ("jobs", 5),
    ("request", 5),
    ("audit", 6),
    ("store", 6),
    ("bus", 7),
    ("hub", 8),
    ("timeline", 9),
    ("runtime", 10),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn inside_the_core_imports_point_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/labdeck-core/src");
    let rank: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let module = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .map(|m| m.trim_end_matches(".rs"))
            .unwrap_or_default();
        let Some(&own) = rank.get(module) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for (at, _) in code.match_indices("crate::") {
                let used: String = code[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if used == module || used == "testing" || used == "protocol" {
                    continue;
                }
                match rank.get(used.as_str()) {
                    Some(&r) if r < own => {}
                    _ => wrong.push(format!(
                        "{}:{}: {module} uses crate::{used}",
                        relative.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports pointing up or sideways:\n{}",
        wrong.join("\n")
    );
}
