use super::*;
use crate::sim::electrometer::model::{ReadingModel, Signal};

fn meter() -> Instrument {
    Instrument::new(ReadingModel::new(Signal::default(), 50.0, 3))
}

fn ask(m: &mut Instrument, line: &str) -> Option<String> {
    m.handle_line(line, 1.0)
}

fn error(m: &mut Instrument) -> String {
    ask(m, ":SYST:ERR?").unwrap()
}

#[test]
fn identity_and_case_insensitive_long_and_short_forms() {
    let mut m = meter();
    assert_eq!(ask(&mut m, "*IDN?").as_deref(), Some(IDN));
    assert_eq!(ask(&mut m, "*idn?").as_deref(), Some(IDN));
    ask(&mut m, ":SENSe:CURRent:RANGe 2e-9");
    assert_eq!(
        ask(&mut m, ":sens:curr:rang?").as_deref(),
        Some("+2.000000E-09")
    );
    assert_eq!(ask(&mut m, "curr:rang:auto?").as_deref(), Some("0"));
    assert_eq!(error(&mut m), "0,\"No error\"");
}

#[test]
fn compound_headers_and_root_reset() {
    let mut m = meter();
    // NPLC continues under SENS:CURR; :SYST starts again at the root.
    let answer = ask(
        &mut m,
        ":SENS:CURR:RANG 2e-6;NPLC 5;:SYST:ZCH ON;:SENS:CURR:NPLC?;RANG?",
    );
    assert_eq!(answer.as_deref(), Some("+5.000000E+00;+2.000000E-06"));
    assert_eq!(ask(&mut m, ":SYST:ZCH?").as_deref(), Some("1"));
}

#[test]
fn queries_on_one_line_answer_on_one_line() {
    let mut m = meter();
    assert_eq!(
        ask(&mut m, "*IDN?;:SYST:ERR?"),
        Some(format!("{IDN};0,\"No error\""))
    );
}

#[test]
fn errors_go_to_the_queue_and_nothing_is_answered_for_them() {
    let mut m = meter();
    assert_eq!(ask(&mut m, ":BOGus:HEADer 1"), None);
    assert_eq!(error(&mut m), "-113,\"Undefined header\"");
    assert_eq!(ask(&mut m, ":SENS:CURR:NPLC 50"), None);
    assert_eq!(error(&mut m), "-222,\"Data out of range\"");
    assert_eq!(ask(&mut m, ":SENS:CURR:NPLC fast"), None);
    assert_eq!(error(&mut m), "-104,\"Data type error\"");
    assert_eq!(ask(&mut m, "SENS::CURR"), None);
    assert_eq!(error(&mut m), "-102,\"Syntax error\"");
    assert_eq!(ask(&mut m, ":TRAC:DATA?"), None);
    assert_eq!(error(&mut m), "-230,\"Data corrupt or stale\"");
    assert_eq!(ask(&mut m, ":READ 5"), None);
    assert_eq!(
        error(&mut m),
        "-113,\"Undefined header\"",
        "READ has no set form"
    );
    assert_eq!(error(&mut m), "0,\"No error\"");
}

#[test]
fn the_queue_overflows_to_minus_350_and_cls_clears_it() {
    let mut m = meter();
    for _ in 0..15 {
        ask(&mut m, ":NOPE");
    }
    assert_eq!(ask(&mut m, ":SYST:ERR:COUN?").as_deref(), Some("10"));
    let all = ask(&mut m, ":SYST:ERR:ALL?").unwrap();
    assert!(all.ends_with("-350,\"Queue overflow\""), "{all}");
    ask(&mut m, ":NOPE;*CLS");
    assert_eq!(error(&mut m), "0,\"No error\"");
}

#[test]
fn numeric_keywords() {
    let mut m = meter();
    ask(&mut m, ":SENS:CURR:NPLC MAX");
    assert_eq!(
        ask(&mut m, ":SENS:CURR:NPLC?").as_deref(),
        Some("+1.000000E+01")
    );
    ask(&mut m, ":SENS:CURR:NPLC MIN");
    assert_eq!(
        ask(&mut m, ":SENS:CURR:NPLC?").as_deref(),
        Some("+1.000000E-02")
    );
    ask(&mut m, ":SENS:CURR:NPLC DEF");
    assert_eq!(
        ask(&mut m, ":SENS:CURR:NPLC?").as_deref(),
        Some("+1.000000E+00")
    );
    ask(&mut m, ":TRIG:COUN INF");
    assert_eq!(ask(&mut m, ":TRIG:COUN?").as_deref(), Some("+9.900000E+37"));
}

#[test]
fn readings_carry_status_and_unit_and_follow_form_elem() {
    let mut m = meter();
    let r = ask(&mut m, ":READ?").unwrap();
    let parts: Vec<&str> = r.split(',').collect();
    assert_eq!(parts.len(), 3, "{r}");
    assert!(parts[0].ends_with("NADC"), "{r}");
    assert!(
        parts[1].ends_with("secs") && parts[2].ends_with("RDNG#"),
        "{r}"
    );
    ask(&mut m, ":FORM:ELEM READ");
    let r = ask(&mut m, ":MEAS:VOLT?").unwrap();
    assert!(r.ends_with("NVDC") && !r.contains(','), "{r}");
    assert_eq!(ask(&mut m, ":SENS:FUNC?").as_deref(), Some("\"VOLT:DC\""));
    ask(&mut m, ":SYST:ZCH ON");
    assert_eq!(ask(&mut m, ":READ?").as_deref(), Some("+9.910000E+37ZVDC"));
    ask(
        &mut m,
        ":SYST:ZCH OFF;:SENS:FUNC 'CURR';:SENS:CURR:RANG 2e-12",
    );
    assert_eq!(ask(&mut m, ":READ?").as_deref(), Some("+9.900000E+37OADC"));
    assert_eq!(ask(&mut m, ":FETC?").as_deref(), Some("+9.900000E+37OADC"));
}

#[test]
fn the_buffer_fills_over_time_after_init_and_sets_the_status_byte() {
    let mut m = meter();
    // pymeasure's buffer sequence.
    m.handle_line("*RST;:stat:pres;:*CLS;", 0.0);
    m.handle_line(":STAT:PRES;*CLS;*SRE 1;:STAT:MEAS:ENAB 512;", 0.0);
    m.handle_line(":TRAC:CLEAR;", 0.0);
    m.handle_line(":TRAC:POIN 5", 0.0);
    m.handle_line(":TRAC:FEED SENSE;:TRAC:FEED:CONT NEXT;", 0.0);
    m.handle_line(":INIT", 0.0);
    // 1 PLC at 50 Hz: one reading every 20 ms.
    assert_eq!(m.handle_line(":TRAC:POIN:ACT?", 0.05).as_deref(), Some("3"));
    assert_eq!(m.handle_line("*STB?", 0.05).as_deref(), Some("0"));
    assert_eq!(m.handle_line(":TRAC:POIN:ACT?", 1.0).as_deref(), Some("5"));
    assert_eq!(m.handle_line("*STB?", 1.0).as_deref(), Some("65"));
    let data = m.handle_line(":FORM:DATA ASCII;:TRAC:DATA?", 1.0).unwrap();
    let values: Vec<f64> = data.split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(values.len(), 5);
    assert!(values.iter().all(|v| (v - 1e-9).abs() < 1e-10), "{data}");
    assert_eq!(
        m.handle_line("SYST:ERR?", 1.0).as_deref(),
        Some("0,\"No error\"")
    );
}

#[test]
fn timer_and_bus_triggers() {
    let mut m = meter();
    m.handle_line(":TRAC:CLE;:TRAC:POIN 100;:TRAC:FEED:CONT NEXT;:TRIG:SOUR TIM;:TRIG:TIM 0.5;:TRIG:COUN 3;:INIT", 0.0);
    assert_eq!(
        m.handle_line(":TRAC:POIN:ACT?", 10.0).as_deref(),
        Some("3"),
        "count limits"
    );
    m.handle_line(
        ":TRAC:CLE;:TRAC:FEED:CONT NEXT;:TRIG:SOUR BUS;:TRIG:COUN INF;:INIT",
        10.0,
    );
    assert_eq!(m.handle_line(":TRAC:POIN:ACT?", 20.0).as_deref(), Some("0"));
    m.handle_line("*TRG;*TRG", 20.0);
    assert_eq!(m.handle_line(":TRAC:POIN:ACT?", 20.0).as_deref(), Some("2"));
    m.handle_line(":ABOR;*TRG", 20.0);
    assert_eq!(m.handle_line(":TRAC:POIN:ACT?", 20.0).as_deref(), Some("2"));
}

#[test]
fn a_long_idle_acquisition_costs_little() {
    let mut m = meter();
    m.handle_line(":SENS:CURR:NPLC 0.01;:INIT", 0.0);
    // A day at 2 kHz without a buffer to feed: only the newest reading.
    let started = std::time::Instant::now();
    let r = m.handle_line(":SENS:DATA:LAT?", 86_400.0).unwrap();
    assert!(started.elapsed() < std::time::Duration::from_millis(200));
    assert!(r.contains("RDNG#"), "{r}");
}

#[test]
fn source_and_misc_commands() {
    let mut m = meter();
    assert_eq!(
        ask(
            &mut m,
            ":SOUR:VOLT:LEV 20;:SOUR:VOLT?;:SOUR:VOLT:RANG 1000;:SOUR:VOLT:RANG?;OUTPUT ON;OUTPUT?"
        ),
        Some("+2.000000E+01;+1.000000E+03;1".into())
    );
    ask(
        &mut m,
        ":SOUR:VOLT:LIM 10;:SOUR:VOLT:LIM:STAT ON;:SOUR:VOLT 50",
    );
    assert_eq!(error(&mut m), "-222,\"Data out of range\"");
    assert_eq!(
        ask(
            &mut m,
            ":DISP:ENAB OFF;:DISP:ENAB?;:SYST:LSYN:STAT ON;:SYST:LSYN?"
        )
        .as_deref(),
        Some("0;1")
    );
    assert_eq!(
        ask(&mut m, "*ESR?").as_deref(),
        Some("16"),
        "execution error bit"
    );
    assert_eq!(ask(&mut m, "*OPC?").as_deref(), Some("1"));
}
