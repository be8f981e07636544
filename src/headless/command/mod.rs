//! The text command language of `serve`, `sim` (on stdin) and the
//! console's palette: a line becomes a typed Hub [`Request`], and the
//! typed outcome or refusal becomes one `ok: …` / `error: …` reply. One
//! module per family of commands, each with its parsing and its words.

mod actions;
mod lab;
mod links;
mod props;
mod queue;
mod send;
mod tasks;

use serde::Serialize;

use labdeck_core::hub::{Hub, HubError, HubResult, Origin, Outcome, Request};

pub use queue::describe as describe_job;
pub use send::unescape;
pub use tasks::describe;

/// One line of the language.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Request(Request),
    Help,
    Quit,
}

/// A line the language does not accept, with the usage that applies.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Usage lines, also the palette's completion source and `help`.
pub const USAGE: &[(&str, &str)] = &[
    ("status", "connections, devices and simulators at a glance"),
    ("faults [SIM]", "list a simulator's faults and their state"),
    (
        "fault [SIM] FAULT on|off|toggle|VALUE",
        "switch a simulator fault",
    ),
    (
        "pump [--force] DEVICE on|off|reset",
        "switch the pump (--force: also while a task controls it) or reset its error",
    ),
    ("connect NAME", "connect a link (or a device's link)"),
    ("disconnect NAME", "disconnect; stops recovery too"),
    ("teardown NAME", "release a link for good"),
    ("retry NAME", "retry a recovering link now"),
    (
        "set [--force] DEVICE.ATTR VALUE",
        "write a device attribute (--force: also one a running task controls)",
    ),
    ("get DEVICE.ATTR", "read a device attribute"),
    (
        "props DEVICE [TEXT]",
        "list a device's properties (those whose name, label or group contains TEXT)",
    ),
    ("read DEVICE PNU [INDEX]", "read a pump parameter"),
    ("write DEVICE PNU VALUE [INDEX]", "write a pump parameter"),
    (
        "scan DEVICE [POINTS] [INTERVAL_S]",
        "start a buffered electrometer scan",
    ),
    (
        "fetch DEVICE [FILE.csv]",
        "read the electrometer's buffer (:TRAC:DATA?)",
    ),
    (
        "scpi DEVICE TEXT",
        "send raw SCPI; a query's answer is shown",
    ),
    (
        "do DEVICE ACTION [ARG…]",
        "any driver action (e.g. do em1 clear, do em1 stop)",
    ),
    (
        "task DEVICE TECHNIQUE [PARAM=VALUE…] [interval=S] duration=S [name=NAME] [link-timeout=S]",
        "queue a task, e.g. task pump1 ramp setpoint=800 rate=50 interval=0.5 duration=30",
    ),
    (
        "cancel DEVICE [TASK]",
        "cancel the running task, or a queued one (#id or name)",
    ),
    ("tasks [DEVICE]", "queued, running and recent tasks"),
    (
        "load FILE",
        "queue the tasks and jobs of a method file (TOML [[task]] and [[job]] lists)",
    ),
    ("jobs", "waiting, running and recent jobs with their tasks"),
    (
        "pause [after]",
        "pause every queue now (the running task stops sampling, the device stays as it is), or after the current task",
    ),
    (
        "resume",
        "resume paused queues and tasks, and queue again what a crashed run left unstarted",
    ),
    (
        "stop-after",
        "let the running tasks end, then cancel what waits (jobs too)",
    ),
    (
        "abort",
        "cancel every task and job now and put the devices in their safe state",
    ),
    ("status DEVICE", "a device's status report"),
    ("measure DEVICE", "read a device's live values now"),
    (
        "safe DEVICE",
        "cancel its running task and put it in its safe state",
    ),
    (
        "estop DEVICE",
        "emergency stop: cancel all its tasks, safe state",
    ),
    (
        "send LINK hex BYTES… | send LINK text [--eol=cr|lf|crlf] TEXT",
        "send bytes as they are (text takes \\n \\r \\xNN escapes); the answer is shown",
    ),
    (
        "macro NAME [stop]",
        "run a [[macro]] (start a periodic one), or stop it",
    ),
    ("macros", "the configured macros"),
    (
        "record [FILE] | record stop",
        "log every frame of every link to FILE (or a new dated file) from now on; FILE.pcapng: as pcapng for Wireshark",
    ),
    (
        "capture LINK FILE.pcapng | capture LINK stop",
        "capture one link's traffic to a pcapng file for Wireshark from now on",
    ),
    ("help", "this list"),
    ("quit", "stop"),
];

/// The usage of a verb as the refusal of a line that misuses it.
fn usage(verb: &str) -> UsageError {
    let line = USAGE
        .iter()
        .find(|(u, _)| u.split_whitespace().next() == Some(verb))
        .map_or(verb, |(u, _)| u);
    UsageError(format!("usage: {line}"))
}

/// The line after its first `words` words, inner spacing kept.
fn rest_after(line: &str, words: usize) -> String {
    let mut rest = line.trim_start();
    for _ in 0..words {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.trim_end().to_string()
}

/// Parse one line. Blank lines and `#` comments are `Ok(None)`.
pub fn parse(line: &str) -> Result<Option<Line>, UsageError> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let parsed = match words.as_slice() {
        ["help" | "?"] => Ok(Line::Help),
        ["quit" | "exit"] => Ok(Line::Quit),
        _ => lab::parse(&words)
            .or_else(|| links::parse(&words))
            .or_else(|| props::parse(&words, line))
            .or_else(|| actions::parse(&words, line))
            .or_else(|| tasks::parse(&words, line))
            .or_else(|| queue::parse(&words))
            .or_else(|| send::parse(&words, line))
            .unwrap_or_else(|| {
                Err(UsageError(format!(
                    "unknown command {:?} (try 'help')",
                    words[0]
                )))
            }),
    };
    parsed.map(Some)
}

pub use labdeck_core::time::parse_duration;

/// The help text.
pub fn help() -> String {
    let width = USAGE.iter().map(|(u, _)| u.len()).max().unwrap_or(0);
    USAGE
        .iter()
        .map(|(u, what)| format!("  {u:<width$}  {what}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A result as the text front ends show it, and what it was.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub ok: bool,
    /// One line, or several for lists.
    pub text: String,
    pub result: Option<HubResult>,
}

impl Reply {
    pub fn ok(text: impl Into<String>) -> Self {
        Self {
            ok: true,
            text: text.into(),
            result: None,
        }
    }

    pub fn fail(text: impl Into<String>) -> Self {
        Self {
            ok: false,
            text: text.into(),
            result: None,
        }
    }

    /// A Hub result in words.
    pub fn from_result(result: HubResult) -> Self {
        let (ok, text) = match &result {
            Ok(outcome) => (true, render(outcome)),
            Err(refusal) => (false, refusal.to_string()),
        };
        Self {
            ok,
            text,
            result: Some(result),
        }
    }

    /// `{"event":"reply","ok":…,"text":…,"outcome"|"error":{…}}`.
    pub fn to_json(&self) -> serde_json::Value {
        #[derive(Serialize)]
        struct Json<'a> {
            event: &'static str,
            ok: bool,
            text: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            outcome: Option<&'a Outcome>,
            #[serde(skip_serializing_if = "Option::is_none")]
            error: Option<&'a HubError>,
        }
        let (outcome, error) = match &self.result {
            Some(Ok(outcome)) => (Some(outcome), None),
            Some(Err(error)) => (None, Some(error)),
            None => (None, None),
        };
        serde_json::to_value(Json {
            event: "reply",
            ok: self.ok,
            text: &self.text,
            outcome,
            error,
        })
        .unwrap_or_default()
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = if self.ok { "ok" } else { "error" };
        write!(f, "{word}: {}", self.text)
    }
}

/// Parse and carry out one line from `origin` (for the audit trail);
/// `None` for blank lines and comments.
pub async fn execute(hub: &Hub, origin: Origin, line: &str) -> Option<Reply> {
    Some(match parse(line) {
        Ok(None) => return None,
        Ok(Some(Line::Help)) => Reply::ok(format!("commands:\n{}", help())),
        Ok(Some(Line::Quit)) => Reply::ok("quit"),
        Ok(Some(Line::Request(request))) => {
            Reply::from_result(hub.request_as(origin, request).await)
        }
        Err(e) => Reply::fail(e.to_string()),
    })
}

/// An outcome in words.
pub fn render(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status(status) => lab::status(status),
        Outcome::Faults { simulator, faults } => lab::faults(simulator, faults),
        Outcome::Fault { simulator, fault } => format!("{simulator}: fault {fault}"),
        Outcome::Connection { link, state } => format!("{link}: {state}"),
        Outcome::Property { device, property } => props::property(device, property),
        Outcome::Properties { device, properties } => props::properties(device, properties),
        Outcome::Tasks { tasks } => tasks::list(tasks),
        Outcome::MethodQueued { path, tasks, jobs } => format!(
            "{}: {} task(s) queued{}",
            path.display(),
            tasks.len(),
            queue::queued(jobs)
        ),
        Outcome::Jobs { jobs } => queue::jobs(jobs),
        Outcome::Queue(outcome) => queue::outcome(outcome),
        Outcome::Device { device, outcome } => actions::device(device, outcome),
        Outcome::Macro { name, outcome } => send::macro_outcome(name, outcome),
        Outcome::Macros { macros } => send::macros(macros),
        Outcome::Recording(status) => send::recording(status),
        Outcome::Capture(status) => send::capture(status),
    }
}

#[cfg(test)]
mod tests;
