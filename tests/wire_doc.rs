//! Every JSON example in docs/wire.md is what the types read and write:
//! it parses as its type and serialises back to the same JSON.

use labdeck::daemon::wire::{FromDaemon, ToDaemon};
use labdeck_core::bus::Event;
use labdeck_core::error::HubError;
use labdeck_core::hub::{Outcome, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

const DOC: &str = include_str!("../docs/wire.md");

/// The doc's fenced blocks tagged `json KIND`, with their line numbers.
fn examples() -> Vec<(usize, &'static str, String)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, &str, String)> = None;
    for (n, line) in DOC.lines().enumerate() {
        match (&mut open, line.strip_prefix("```json ")) {
            (None, Some(kind)) => open = Some((n + 1, kind.trim(), String::new())),
            (Some(_), _) if line.starts_with("```") => out.extend(open.take()),
            (Some((_, _, body)), _) => body.push_str(line),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "docs/wire.md: an unclosed block");
    out
}

/// `json` read as `T` and written again; the same JSON or the reason.
fn same_after_round_trip<T: Serialize + DeserializeOwned>(json: &Value) -> Result<(), String> {
    let typed: T = serde_json::from_value(json.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    if &back == json {
        Ok(())
    } else {
        Err(format!("written back as\n{back}"))
    }
}

/// serve's reply: its own frame around an outcome or an error.
fn reply(json: &Value) -> Result<(), String> {
    let frame = json.as_object().ok_or("not an object")?;
    let mut keys: Vec<&str> = frame.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let ok = frame["ok"].as_bool().ok_or("ok is not a boolean")?;
    if frame["event"] != "reply" || !frame["text"].is_string() {
        return Err("a reply has event \"reply\" and a text".into());
    }
    match (ok, keys.as_slice()) {
        (true, ["event", "ok", "outcome", "text"]) => {
            same_after_round_trip::<Outcome>(&frame["outcome"])
        }
        (false, ["error", "event", "ok", "text"]) => {
            same_after_round_trip::<HubError>(&frame["error"])
        }
        (_, ["event", "ok", "text"]) => Ok(()),
        _ => Err(format!("unexpected fields {keys:?} for ok = {ok}")),
    }
}

#[test]
fn every_example_in_the_wire_doc_is_what_the_types_read_and_write() {
    let examples = examples();
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for (line, kind, body) in &examples {
        *kinds.entry(kind).or_default() += 1;
        let checked = serde_json::from_str::<Value>(body)
            .map_err(|e| e.to_string())
            .and_then(|json| match *kind {
                "request" => same_after_round_trip::<Request>(&json),
                "outcome" => same_after_round_trip::<Outcome>(&json),
                "error" => same_after_round_trip::<HubError>(&json),
                "event" => same_after_round_trip::<Event>(&json),
                "reply" => reply(&json),
                "to-daemon" => same_after_round_trip::<ToDaemon>(&json),
                "from-daemon" => same_after_round_trip::<FromDaemon>(&json),
                other => Err(format!("unknown kind {other:?}")),
            });
        if let Err(why) = checked {
            failures.push(format!("docs/wire.md:{line} ({kind}): {why}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // The doc keeps an example of every kind.
    for kind in ["request", "outcome", "error", "event", "reply"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} example"
        );
    }
}

#[test]
fn a_renamed_field_fails_the_check() {
    let json: Value =
        serde_json::from_str(r#"{"request": "power", "device": "pump1", "switch_on": true}"#)
            .unwrap();
    assert!(same_after_round_trip::<Request>(&json).is_err());
    let json: Value = serde_json::from_str(
        r#"{"error": "read-only", "device": "pump1", "attr": "frequency", "extra": 1}"#,
    )
    .unwrap();
    assert!(same_after_round_trip::<HubError>(&json).is_err());
}
