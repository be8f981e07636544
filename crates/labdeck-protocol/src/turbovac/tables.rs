//! Error codes and warning bits (`data/turbovac/errors.csv`,
//! `data/turbovac/warnings.csv`), whose names double as UI text.

use std::collections::BTreeMap;
use std::sync::LazyLock;

fn parse_names(csv: &str) -> BTreeMap<u16, String> {
    csv.lines()
        .skip(1)
        .filter_map(|line| {
            let cols = split_csv_line(line);
            Some((cols.first()?.parse().ok()?, cols.get(1)?.clone()))
        })
        .collect()
}

static ERRORS: LazyLock<BTreeMap<u16, String>> =
    LazyLock::new(|| parse_names(include_str!("../../data/turbovac/errors.csv")));
static WARNINGS: LazyLock<BTreeMap<u16, String>> =
    LazyLock::new(|| parse_names(include_str!("../../data/turbovac/warnings.csv")));

/// Name of a pump error code (P171), if it is a known one.
pub fn error_name(code: u16) -> Option<&'static str> {
    ERRORS.get(&code).map(String::as_str)
}

/// Name of a warning bit of P227, if it is a known one.
pub fn warning_name(bit: u8) -> Option<&'static str> {
    WARNINGS.get(&u16::from(bit)).map(String::as_str)
}

/// The set bits of a P227 value with their names.
pub fn warnings_in(word: u16) -> Vec<(u8, &'static str)> {
    (0..16u8)
        .filter(|bit| word & (1 << bit) != 0)
        .map(|bit| (bit, warning_name(bit).unwrap_or("unknown warning")))
        .collect()
}

/// Split one CSV line (RFC 4180 quoting, no embedded newlines).
pub(super) fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Text of a parameter error number (PWE of an AK 7 reply), as turboctl
/// prints it.
pub fn param_error_name(code: u32) -> &'static str {
    match code {
        0 => "Invalid parameter number",
        1 => "Parameter cannot be changed",
        2 => "Min/max error",
        3 => "Index error",
        5 => "Access mode doesn't match parameter",
        18 => "Other error",
        102 => "Parameter is being saved to nonvolatile memory",
        _ => "unknown parameter error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_complete() {
        assert_eq!(ERRORS.len(), 60);
        assert_eq!(WARNINGS.len(), 10);
        assert_eq!(
            error_name(5),
            Some(
                "Converter temperature error. Overtemperature at the power output stage or within the frequency converter."
            )
        );
        assert!(error_name(117).unwrap().contains("Motor current error"));
        assert_eq!(warnings_in(0b1000_0000_0001).len(), 2);
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(split_csv_line(r#"a,"b,c","d""e""#), ["a", "b,c", "d\"e"]);
    }
}
