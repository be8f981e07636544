//! The `lsst` dialect against the LSST mock's golden vectors
//! (`tests/data/{keithley,keysight}_lsst.jsonl`, captured from the verbatim
//! Python mock): replayed in file order against one freshly started
//! `labdeck sim electrometer`, a new connection per entry.

mod common;

use std::io::Write;
use std::time::Duration;

use common::electrometer::{EmProcess, receive};

/// The commands the LSST control software sends that the Keithley mock
/// rejects; by default labdeck accepts them (documented deviation).
const ACCEPTED_BY_DEFAULT: &[&str] = &[
    "*CLS;\r",
    ":trig:sour TIM;\r",
    ":trig:coun INF;\r",
    ":sens:CURR:nplc:auto ON;\r",
];

/// How long a silent, open connection is watched for stray bytes.
const QUIET: Duration = Duration::from_millis(150);

struct Vector {
    request: Vec<u8>,
    response: Expected,
    closed: bool,
    on_connect: Option<Vec<u8>>,
}

enum Expected {
    Exact(Vec<u8>),
    /// Abbreviated in the file: total length, first and last bytes.
    Long {
        total: usize,
        head: Vec<u8>,
        tail: Vec<u8>,
    },
}

impl Expected {
    fn len(&self) -> usize {
        match self {
            Self::Exact(bytes) => bytes.len(),
            Self::Long { total, .. } => *total,
        }
    }

    fn check(&self, got: &[u8], what: &str) {
        match self {
            Self::Exact(bytes) => assert_eq!(
                String::from_utf8_lossy(got),
                String::from_utf8_lossy(bytes),
                "{what}"
            ),
            Self::Long { total, head, tail } => {
                assert_eq!(got.len(), *total, "{what}: length");
                assert!(got.starts_with(head), "{what}: head");
                assert!(got.ends_with(tail), "{what}: tail");
            }
        }
    }
}

/// The file's strings hold raw bytes as latin-1 characters.
fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1"))
        .collect()
}

fn expected(text: &str) -> Expected {
    let Some((head, rest)) = text.split_once("...<") else {
        return Expected::Exact(latin1(text));
    };
    let (count, tail) = rest.split_once(" bytes total>...").expect("abbreviation");
    Expected::Long {
        total: count.parse().expect("byte count"),
        head: latin1(head),
        tail: latin1(tail),
    }
}

fn load(file: &str) -> Vec<Vector> {
    let path = format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            Vector {
                request: latin1(v["request"].as_str().unwrap()),
                response: expected(v["response"].as_str().unwrap()),
                closed: v["closed"].as_bool().unwrap(),
                on_connect: v["on_connect"].as_str().map(latin1),
            }
        })
        .collect()
}

fn replay(args: &[&str], file: &str, lenient: bool) {
    let sim = EmProcess::start(args);
    for (i, v) in load(file).iter().enumerate() {
        let request = String::from_utf8_lossy(&v.request).to_string();
        let what = format!("vector {} {request:?}", i + 1);
        let deviation = lenient && ACCEPTED_BY_DEFAULT.contains(&request.as_str());
        let mut stream = sim.connect();
        if let Some(greeting) = &v.on_connect {
            let got = receive(&mut stream, greeting.len(), Duration::ZERO, common::LIMIT);
            assert_eq!(&got.bytes, greeting, "{what}: greeting");
        }
        stream.write_all(&v.request).unwrap();
        let got = receive(&mut stream, v.response.len(), QUIET, common::LIMIT);
        if deviation {
            assert!(
                got.bytes.is_empty() && !got.closed,
                "{what}: accepted silently"
            );
            continue;
        }
        v.response.check(&got.bytes, &what);
        if v.closed && !got.closed {
            // The close follows the reply; give it the full limit.
            let rest = receive(&mut stream, usize::MAX, Duration::ZERO, common::LIMIT);
            assert!(rest.closed && rest.bytes.is_empty(), "{what}: closed");
        } else {
            assert_eq!(got.closed, v.closed, "{what}: closed");
        }
    }
}

#[test]
fn keithley_strict_matches_every_vector() {
    replay(
        &["--dialect", "lsst", "--strict"],
        "keithley_lsst.jsonl",
        false,
    );
}

#[test]
fn keithley_default_accepts_the_control_software_commands() {
    replay(&["--dialect", "lsst"], "keithley_lsst.jsonl", true);
}

#[test]
fn keysight_matches_every_vector() {
    replay(
        &["--dialect", "lsst", "--brand", "keysight"],
        "keysight_lsst.jsonl",
        false,
    );
}

#[test]
fn lsst_mode_persists_across_connections_and_a_second_client_is_turned_away() {
    let sim = EmProcess::start(&["--dialect", "lsst"]);
    let mut first = sim.connect();
    first.write_all(b":sens:func 'VOLT';\r").unwrap();
    let mut second = sim.connect();
    let turned_away = receive(&mut second, 1, Duration::ZERO, common::LIMIT);
    assert!(turned_away.closed && turned_away.bytes.is_empty());
    first.write_all(b":sens:func?;\r").unwrap();
    let got = receive(&mut first, 7, QUIET, common::LIMIT);
    assert_eq!(got.bytes, b"VOLT:1\r");
    drop(first);
    let mut third = sim.connect();
    third.write_all(b":sens:func?;\r").unwrap();
    let got = receive(&mut third, 7, QUIET, common::LIMIT);
    assert_eq!(got.bytes, b"VOLT:1\r", "the mode survives the reconnect");
}
