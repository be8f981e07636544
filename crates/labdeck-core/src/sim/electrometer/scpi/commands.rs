//! The 6517B commands the `scpi` dialect knows, in the manual's notation.

use std::sync::LazyLock;

use crate::protocol::scpi::Pattern;

/// A command, independent of the form it was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmd {
    Function,
    Range,
    RangeAuto,
    Nplc,
    NplcAuto,
    Aperture,
    ApertureAuto,
    Digits,
    MedianState,
    MedianRank,
    AverageState,
    AverageCount,
    AverageControl,
    Latest,
    Error,
    ErrorAll,
    ErrorCount,
    ZeroCheck,
    ZeroCorrect,
    ZeroAcquire,
    LineSync,
    Preset,
    Version,
    LineFrequency,
    StatusPreset,
    MeasurementEnable,
    MeasurementEvent,
    TraceClear,
    TracePoints,
    TraceActual,
    TraceFeed,
    TraceControl,
    TraceData,
    TraceElements,
    TriggerSource,
    TriggerCount,
    TriggerTimer,
    TriggerDelay,
    Initiate,
    InitiateContinuous,
    Abort,
    Read,
    Fetch,
    Measure,
    Configure,
    FormatElements,
    FormatData,
    SourceVoltage,
    SourceRange,
    SourceRangeAuto,
    SourceLimit,
    SourceLimitState,
    SourceMeterConnect,
    CurrentLimitResistor,
    Output,
    Display,
}

/// Which forms a command has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forms {
    Both,
    QueryOnly,
    SetOnly,
}

const FUNCTIONS: &str = "{CURRent|CHARge|VOLTage|RESistance}";

fn table() -> Vec<(String, Cmd, Forms)> {
    use Cmd::*;
    use Forms::*;
    let sense = |rest: &str| format!("[:SENSe]:{FUNCTIONS}[:DC]:{rest}");
    vec![
        ("[:SENSe]:FUNCtion".into(), Function, Both),
        (sense("RANGe[:UPPer]"), Range, Both),
        (sense("RANGe:AUTO"), RangeAuto, Both),
        (sense("NPLCycles"), Nplc, Both),
        (sense("NPLCycles:AUTO"), NplcAuto, Both),
        (sense("APERture"), Aperture, Both),
        (sense("APERture:AUTO"), ApertureAuto, Both),
        (sense("DIGits"), Digits, Both),
        (sense("MEDian[:STATe]"), MedianState, Both),
        (sense("MEDian:RANK"), MedianRank, Both),
        (sense("AVERage[:STATe]"), AverageState, Both),
        (sense("AVERage:COUNt"), AverageCount, Both),
        (sense("AVERage:TCONtrol"), AverageControl, Both),
        ("[:SENSe]:DATA[:LATest]".into(), Latest, QueryOnly),
        (":SYSTem:ERRor[:NEXT]".into(), Error, QueryOnly),
        (":SYSTem:ERRor:ALL".into(), ErrorAll, QueryOnly),
        (":SYSTem:ERRor:COUNt".into(), ErrorCount, QueryOnly),
        (":STATus:QUEue[:NEXT]".into(), Error, QueryOnly),
        (":SYSTem:ZCHeck[:STATe]".into(), ZeroCheck, Both),
        (":SYSTem:ZCORrect[:STATe]".into(), ZeroCorrect, Both),
        (":SYSTem:ZCORrect:ACQuire".into(), ZeroAcquire, SetOnly),
        (":SYSTem:LSYNc[:STATe]".into(), LineSync, Both),
        (":SYSTem:PRESet".into(), Preset, SetOnly),
        (":SYSTem:VERSion".into(), Version, QueryOnly),
        (":SYSTem:LFRequency".into(), LineFrequency, QueryOnly),
        (":STATus:PRESet".into(), StatusPreset, SetOnly),
        (":STATus:MEASurement:ENABle".into(), MeasurementEnable, Both),
        (
            ":STATus:MEASurement[:EVENt]".into(),
            MeasurementEvent,
            QueryOnly,
        ),
        (":TRACe:CLEar".into(), TraceClear, SetOnly),
        (":TRACe:POINts".into(), TracePoints, Both),
        (":TRACe:POINts:ACTual".into(), TraceActual, QueryOnly),
        (":TRACe:FEED".into(), TraceFeed, Both),
        (":TRACe:FEED:CONTrol".into(), TraceControl, Both),
        (":TRACe:DATA".into(), TraceData, QueryOnly),
        (":TRACe:ELEMents".into(), TraceElements, Both),
        (":TRIGger[:SEQuence]:SOURce".into(), TriggerSource, Both),
        (":TRIGger[:SEQuence]:COUNt".into(), TriggerCount, Both),
        (":TRIGger[:SEQuence]:TIMer".into(), TriggerTimer, Both),
        (":TRIGger[:SEQuence]:DELay".into(), TriggerDelay, Both),
        (":INITiate[:IMMediate]".into(), Initiate, SetOnly),
        (":INITiate:CONTinuous".into(), InitiateContinuous, Both),
        (":ABORt".into(), Abort, SetOnly),
        (":READ".into(), Read, QueryOnly),
        (":FETCh".into(), Fetch, QueryOnly),
        (format!(":MEASure[:{FUNCTIONS}]"), Measure, QueryOnly),
        (format!(":CONFigure[:{FUNCTIONS}]"), Configure, SetOnly),
        (":FORMat:ELEMents".into(), FormatElements, Both),
        (":FORMat[:DATA]".into(), FormatData, Both),
        (
            ":SOURce:VOLTage[:LEVel][:IMMediate][:AMPLitude]".into(),
            SourceVoltage,
            Both,
        ),
        (":SOURce:VOLTage:RANGe".into(), SourceRange, Both),
        (":SOURce:VOLTage:RANGe:AUTO".into(), SourceRangeAuto, Both),
        (
            ":SOURce:VOLTage:LIMit[:AMPLitude]".into(),
            SourceLimit,
            Both,
        ),
        (":SOURce:VOLTage:LIMit:STATe".into(), SourceLimitState, Both),
        (":SOURce:VOLTage:MCONnect".into(), SourceMeterConnect, Both),
        (
            ":SOURce:CURRent:RLIMit[:STATe]".into(),
            CurrentLimitResistor,
            Both,
        ),
        (":OUTPut[:STATe]".into(), Output, Both),
        (":DISPlay:ENABle".into(), Display, Both),
    ]
}

static COMMANDS: LazyLock<Vec<(Pattern, Cmd, Forms)>> = LazyLock::new(|| {
    table()
        .into_iter()
        .map(|(text, cmd, forms)| {
            let pattern = Pattern::parse(&text).unwrap_or_else(|e| panic!("command table: {e}"));
            (pattern, cmd, forms)
        })
        .collect()
});

/// A header resolved to its command and braced choices.
pub type Resolved = (Cmd, Vec<usize>, Forms);

/// The command a header's nodes name, with its braced choices.
pub fn resolve(nodes: &[String]) -> Option<Resolved> {
    COMMANDS
        .iter()
        .find_map(|(pattern, cmd, forms)| pattern.matches(nodes).map(|picks| (*cmd, picks, *forms)))
}

/// Headers seen before, resolved once: a client repeats the same few
/// headers, and matching walks the whole table.
#[derive(Debug, Clone, Default)]
pub struct ResolveCache {
    known: std::collections::HashMap<String, Option<Resolved>>,
}

/// Distinct headers remembered; a client sending endless garbage headers
/// only ever costs this much.
const CACHE_LIMIT: usize = 512;

impl ResolveCache {
    pub fn resolve(&mut self, nodes: &[String]) -> Option<Resolved> {
        let mut key = String::with_capacity(nodes.iter().map(|n| n.len() + 1).sum());
        for node in nodes {
            key.push_str(node);
            key.push(':');
        }
        key.make_ascii_uppercase();
        if let Some(hit) = self.known.get(&key) {
            return hit.clone();
        }
        let resolved = resolve(nodes);
        if self.known.len() >= CACHE_LIMIT {
            self.known.clear();
        }
        self.known.insert(key, resolved.clone());
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(text: &str) -> Vec<String> {
        text.split(':').map(String::from).collect()
    }

    #[test]
    fn the_table_parses_and_resolves_long_and_short_forms() {
        assert!(COMMANDS.len() > 50);
        assert_eq!(
            resolve(&nodes("SENS:CURR:RANG")).map(|r| r.0),
            Some(Cmd::Range)
        );
        assert_eq!(
            resolve(&nodes("sense:current:dc:range:upper")).map(|r| (r.0, r.1)),
            Some((Cmd::Range, vec![0]))
        );
        assert_eq!(
            resolve(&nodes("VOLT:NPLC")).map(|r| (r.0, r.1)),
            Some((Cmd::Nplc, vec![2]))
        );
        assert_eq!(
            resolve(&nodes("SYSTem:ERRor")).map(|r| r.0),
            Some(Cmd::Error)
        );
        assert_eq!(
            resolve(&nodes("TRAC:CLEAR")).map(|r| r.0),
            Some(Cmd::TraceClear)
        );
        assert_eq!(
            resolve(&nodes("trig:count")).map(|r| r.0),
            Some(Cmd::TriggerCount)
        );
        assert_eq!(resolve(&nodes("OUTPUT")).map(|r| r.0), Some(Cmd::Output));
        assert_eq!(
            resolve(&nodes("MEAS:VOLT")).map(|r| (r.0, r.1)),
            Some((Cmd::Measure, vec![2]))
        );
        assert_eq!(resolve(&nodes("BOGus:HEADer")), None);
    }
}
