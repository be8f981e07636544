//! The `lsst` dialect: byte-compatible with the LSST electrometer mock
//! (`lsst.ts.electrometer.MockServer`), Keithley and Keysight brands.
//!
//! A line is split on `;` and the last piece dropped, so only units that
//! are followed by `;` run. Each unit is stripped, gets its `;` back and is
//! matched, case-sensitively and anchored at the start, against a table of
//! regular expressions in order. Replies are canned; the measurement mode
//! is the only state. An unknown unit makes the Keithley mock drop the
//! client (after the replies so far); the Keysight mock ignores it.
//!
//! One deliberate deviation: the LSST control software sends four commands
//! the Keithley mock does not know (`*CLS;`, `:trig:sour TIM;`,
//! `:trig:coun INF;`, `:sens:CURR:nplc:auto ON;`). They are accepted here
//! unless `strict` asks for the mock's exact behaviour.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// Which LSST mock to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Brand {
    #[default]
    Keithley,
    Keysight,
}

impl Brand {
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "keithley" => Some(Self::Keithley),
            "keysight" => Some(Self::Keysight),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Keithley => "keithley",
            Self::Keysight => "keysight",
        }
    }

    /// Line terminator, both ways.
    pub fn terminator(self) -> &'static [u8] {
        match self {
            Self::Keithley => b"\r",
            Self::Keysight => b"\r\n",
        }
    }

    /// Keithley decodes strict UTF-8 (a bad byte drops the client);
    /// Keysight decodes latin-1.
    pub fn latin1(self) -> bool {
        self == Self::Keysight
    }

    /// Sent when a client connects.
    pub fn greeting(self) -> Option<&'static str> {
        match self {
            Self::Keithley => None,
            Self::Keysight => Some("something"),
        }
    }
}

/// What a matched unit does.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// A set-command: nothing is sent.
    Accept,
    /// Set the measurement mode from capture group 1.
    SetMode,
    /// Answer a constant.
    Reply(&'static str),
    /// Answer `<mode>:1`.
    Mode,
    /// Answer the canned buffer.
    Data,
    /// A query the mock never answers.
    Silent,
}

struct Rule {
    pattern: Regex,
    action: Action,
}

const X: &str = "(CURR|CHAR|VOLT|RES)";

const KEITHLEY_IDN: &str = "KEITHLEY INSTRUMENTS INC.,MODEL 6517B,4096271,A13/700X";
const KEYSIGHT_IDN: &str = "Keysight INSTRUMENTS INC.,MODEL 6517B,4096271,A13/700X";

fn keithley_table() -> Vec<(String, Action)> {
    use Action::*;
    let x = |p: &str| p.replace('X', X);
    vec![
        (r"\*idn\?;".into(), Reply(KEITHLEY_IDN)),
        (r":sens:func\?;".into(), Mode),
        (r":sens:func '(CURR|CHAR|VOLT|RES)';".into(), SetMode),
        (x(r":sens:X:rang\?;"), Reply("0.1")),
        (x(r":sens:X:rang:auto (ON|OFF);"), Accept),
        (x(r":sens:X:rang .*;"), Accept),
        (x(r":sens:X:aper\?;"), Reply("0.01")),
        // The mock's typo: `VOlT`, so a voltage aperture is unknown.
        (r":sens:(CURR|CHAR|VOlT|RES):aper \d\.\d+;".into(), Accept),
        (x(r":sens:X:aper:auto (ON|OFF);"), Accept),
        (r":sens:CURR:aper:auto .*;".into(), Accept),
        (r":sens:curr:nplc .*;".into(), Accept),
        (r":sens:curr:nplc\?;".into(), Reply("5")),
        (r":syst:zch (ON|OFF);".into(), Accept),
        (r":syst:zcor (ON|OFF);".into(), Accept),
        (x(r":sens:X:(MED|AVER):stat (0|1);"), Accept),
        (x(r":sens:X:MED:stat\?;"), Reply("1")),
        (x(r":sens:X:AVER:stat\?;"), Reply("0")),
        (x(r":sens:X:AVER:move:stat\?;"), Silent),
        (r":syst:err\?;".into(), Reply("0, fine")),
        (r":trac:cle;".into(), Accept),
        (r":trac:elem TST, VSO, CURR;".into(), Accept),
        (r":trac:elem .*;".into(), Accept),
        (r":trac:elem\?;".into(), Reply("TST, CURR")),
        (r":trac:points 50000;".into(), Accept),
        (r":trig:count 50000;".into(), Accept),
        (r":trig:sour IMM;".into(), Accept),
        (r":trig:tim \d\.\d\d\d;".into(), Accept),
        (r":trac:feed:cont NEXT;".into(), Accept),
        (r":trac:feed:cont NEV;".into(), Accept),
        (r":init;".into(), Accept),
        (r":trac:data\?;".into(), Data),
        (r":sens:data:latest\?;".into(), Reply("0.001")),
        (r"TST:TYPE RTC;".into(), Accept),
        (r":syst:lsyn:stat (ON|OFF);".into(), Accept),
        (r":disp:enab (ON|OFF);".into(), Accept),
        (r":vsou:oper (ON|OFF);".into(), Accept),
        (r":vsou:oper\?;".into(), Reply("ON")),
        (r":sour:volt:lim:ampl 2;".into(), Accept),
        (r":sour:volt:lim:stat\?;".into(), Reply("2")),
        (r":sour:volt:rang 1;".into(), Accept),
        (r":sour:volt:rang\?;".into(), Reply("1")),
        (r":sour:volt:lev:imm:ampl 2;".into(), Accept),
        (r":sour:volt:lev:imm:ampl\?;".into(), Reply("2")),
        (r":sens:CURR:dig 7;".into(), Accept),
        (r"\*RST;".into(), Accept),
        (r":SENS:TOUT:SIGN 3;".into(), Accept),
        (r":SENS:TOUT:STAT (ON|OFF);".into(), Accept),
        (r":TRIG:ACQ:TOUT ON;".into(), Accept),
    ]
}

/// What the real control software sends and the Keithley mock rejects.
fn control_software_extras() -> Vec<(String, Action)> {
    vec![
        (r"\*CLS;".into(), Action::Accept),
        (r":trig:sour TIM;".into(), Action::Accept),
        (r":trig:coun INF;".into(), Action::Accept),
        (format!(r":sens:{X}:nplc:auto (ON|OFF);"), Action::Accept),
    ]
}

fn keysight_table() -> Vec<(String, Action)> {
    use Action::*;
    let x = |p: &str| p.replace('X', X);
    vec![
        (r"\*idn\?;".into(), Reply(KEYSIGHT_IDN)),
        (r":sens:func:on '(CURR|CHAR|VOLT|RES)';".into(), SetMode),
        (r":inp (on|off);".into(), Accept),
        (r":sens:func\?;".into(), Mode),
        (r":syst:err:next\?;".into(), Reply("0, fine")),
        (r":form:elem:sens\?;".into(), Reply("TST, ETEM, VSO, CURR")),
        (r":form:elem:sens .*;".into(), Accept),
        (r":sens:data:latest\?;".into(), Reply("0.001")),
        (r":sens:data\?;".into(), Data),
        (x(r":sens:X:AVER:mov:stat\?;"), Reply("0")),
        (x(r":sens:X:MED:stat\?;"), Reply("1")),
        (r":sens:res:man:vso:oper\?;".into(), Reply("ON")),
        (r":init:acq;".into(), Accept),
        (r"ABOR:ACQ;".into(), Accept),
        (r":TRIG:ACQ:TOUT ON;".into(), Accept),
        (r":trig:sour IMM;".into(), Accept),
    ]
}

fn compile(table: Vec<(String, Action)>) -> Vec<Rule> {
    table
        .into_iter()
        .map(|(pattern, action)| Rule {
            // `^`: Python's `re.match` is anchored at the start only.
            pattern: Regex::new(&format!("^(?:{pattern})")).expect("valid LSST pattern"),
            action,
        })
        .collect()
}

static KEITHLEY: LazyLock<Vec<Rule>> = LazyLock::new(|| compile(keithley_table()));
static KEITHLEY_EXTRAS: LazyLock<Vec<Rule>> = LazyLock::new(|| compile(control_software_extras()));
static KEYSIGHT: LazyLock<Vec<Rule>> = LazyLock::new(|| compile(keysight_table()));

/// The Keithley buffer: 4000 lines of `+0.01DC 0.33`, whatever the scan.
static KEITHLEY_DATA: LazyLock<String> = LazyLock::new(|| "+0.01DC 0.33\n".repeat(4000));

/// The Keysight buffer: 1000 lines of 125 bytes.
static KEYSIGHT_DATA: LazyLock<String> = LazyLock::new(|| {
    let line = format!(
        "-1.200000E-11,+1.102000E-02,-1.000000E-11,+2.111700E-02,{}-1.400000E-11,+3.125200E-02,-1.300000E-11,+4.136600E-02\n",
        " ".repeat(13)
    );
    line.repeat(1000)
});

/// The outcome of one line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LsstOutcome {
    /// Lines to send, in order, without terminators.
    pub replies: Vec<String>,
    /// Drop the client after the replies (an unknown unit, Keithley).
    pub close: Option<String>,
}

/// The LSST mock device. One per server, so the mode survives reconnects.
#[derive(Debug, Clone)]
pub struct LsstDevice {
    brand: Brand,
    strict: bool,
    mode: &'static str,
}

impl LsstDevice {
    /// `strict` reproduces the Keithley mock exactly, including the
    /// commands of the control software it rejects.
    pub fn new(brand: Brand, strict: bool) -> Self {
        Self {
            brand,
            strict,
            mode: "CURR",
        }
    }

    pub fn brand(&self) -> Brand {
        self.brand
    }

    pub fn strict(&self) -> bool {
        self.strict
    }

    /// The measurement mode: `CURR`, `CHAR`, `VOLT` or `RES`.
    pub fn mode(&self) -> &'static str {
        self.mode
    }

    fn rule(&self, unit: &str) -> Option<(&'static Rule, Option<String>)> {
        let tables: &[&'static [Rule]] = match (self.brand, self.strict) {
            (Brand::Keysight, _) => &[&KEYSIGHT],
            (Brand::Keithley, true) => &[&KEITHLEY],
            (Brand::Keithley, false) => &[&KEITHLEY, &KEITHLEY_EXTRAS],
        };
        tables.iter().flat_map(|t| t.iter()).find_map(|rule| {
            let captures = rule.pattern.captures(unit)?;
            Some((rule, captures.get(1).map(|m| m.as_str().to_string())))
        })
    }

    /// Handle one decoded line (terminator already stripped).
    pub fn handle_line(&mut self, line: &str) -> LsstOutcome {
        let mut outcome = LsstOutcome::default();
        if self.brand == Brand::Keysight {
            outcome.replies.push(py_strip(line).to_string());
        }
        let mut units: Vec<&str> = line.split(';').collect();
        units.pop();
        for raw in units {
            let unit = format!("{};", py_strip(raw));
            let Some((rule, group)) = self.rule(&unit) else {
                match self.brand {
                    Brand::Keithley => {
                        outcome.close = Some(format!("unknown command {unit:?}"));
                        return outcome;
                    }
                    Brand::Keysight => {
                        tracing::debug!("lsst keysight: ignoring unknown command {unit:?}");
                        continue;
                    }
                }
            };
            match rule.action {
                Action::Accept | Action::Silent => {}
                Action::SetMode => {
                    if let Some(mode) = group.as_deref().and_then(mode_name) {
                        self.mode = mode;
                    }
                }
                Action::Reply(text) => outcome.replies.push(text.to_string()),
                Action::Mode => outcome.replies.push(format!("{}:1", self.mode)),
                Action::Data => outcome.replies.push(match self.brand {
                    Brand::Keithley => KEITHLEY_DATA.clone(),
                    Brand::Keysight => KEYSIGHT_DATA.clone(),
                }),
            }
        }
        outcome
    }
}

fn mode_name(text: &str) -> Option<&'static str> {
    ["CURR", "CHAR", "VOLT", "RES"]
        .into_iter()
        .find(|m| *m == text)
}

/// Python's `str.strip()`: Unicode whitespace plus the ASCII separators
/// `\x1c`–`\x1f`.
fn py_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keithley() -> LsstDevice {
        LsstDevice::new(Brand::Keithley, false)
    }

    #[test]
    fn per_query_reply_lines() {
        let mut d = keithley();
        let out = d.handle_line("*idn?;:sens:func?;:syst:err?;");
        assert_eq!(out.replies, [KEITHLEY_IDN, "CURR:1", "0, fine"]);
        assert_eq!(out.close, None);
    }

    #[test]
    fn only_units_followed_by_a_semicolon_run() {
        let mut d = keithley();
        assert_eq!(d.handle_line("*idn?"), LsstOutcome::default());
        assert_eq!(d.handle_line(" *idn?; ").replies, [KEITHLEY_IDN]);
        let out = d.handle_line("*idn?;;");
        assert_eq!(out.replies, [KEITHLEY_IDN]);
        assert!(out.close.is_some());
    }

    #[test]
    fn mode_is_the_only_state() {
        let mut d = keithley();
        d.handle_line(":sens:func 'CHAR';");
        assert_eq!(d.handle_line(":sens:func?;").replies, ["CHAR:1"]);
        assert!(d.handle_line(":sens:func CURR;").close.is_some());
        assert_eq!(d.mode(), "CHAR");
    }

    #[test]
    fn quirks_of_the_mock() {
        let mut d = keithley();
        assert!(d.handle_line(":sens:VOLT:aper 0.001000;").close.is_some());
        assert!(d.handle_line(":sens:CURR:aper 10.5;").close.is_some());
        assert!(d.handle_line(":sens:CURR:aper 0.001000;").close.is_none());
        assert!(d.handle_line(":sens:CURR:nplc?;").close.is_some());
        let silent = d.handle_line(":sens:CURR:AVER:move:stat?;");
        assert_eq!(silent, LsstOutcome::default());
        assert!(d.handle_line(":sour:volt:lev:imm:ampl 3;").close.is_some());
        let data = d.handle_line(":trac:data?;");
        assert_eq!(data.replies[0].len(), 52_000);
    }

    #[test]
    fn control_software_commands_are_accepted_unless_strict() {
        for line in [
            "*CLS;",
            ":trig:sour TIM;",
            ":trig:coun INF;",
            ":sens:CURR:nplc:auto ON;",
        ] {
            assert_eq!(
                keithley().handle_line(line),
                LsstOutcome::default(),
                "{line}"
            );
            let strict = LsstDevice::new(Brand::Keithley, true).handle_line(line);
            assert!(strict.close.is_some(), "{line}");
        }
    }

    #[test]
    fn keysight_echoes_and_ignores_unknown() {
        let mut d = LsstDevice::new(Brand::Keysight, false);
        assert_eq!(d.handle_line("BOGUS;").replies, ["BOGUS;"]);
        d.handle_line(":sens:func:on 'CHAR';:inp on;");
        assert_eq!(
            d.handle_line(":sens:func?;").replies,
            [":sens:func?;", "CHAR:1"]
        );
        let data = d.handle_line(":sens:data?;");
        assert_eq!(data.replies[1].len(), 125_000);
    }
}
