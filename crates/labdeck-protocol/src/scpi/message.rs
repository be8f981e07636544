//! Program messages: a line of `;`-separated units, each a header (a
//! common command such as `*IDN?` or a path such as `:SENS:CURR:RANG`)
//! followed by `,`-separated parameters.

use super::ScpiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Header {
    /// `*IDN?`, `*RST` (a leading `:` before `*` is tolerated).
    Common { name: String, query: bool },
    /// `:SENS:CURR:RANG?`; `absolute` when it starts at the root.
    Path {
        absolute: bool,
        nodes: Vec<String>,
        query: bool,
    },
}

impl Header {
    pub fn is_query(&self) -> bool {
        match self {
            Self::Common { query, .. } | Self::Path { query, .. } => *query,
        }
    }
}

/// One parameter, as written (quotes kept, whitespace trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param(pub String);

/// A numeric parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberArg {
    Value(f64),
    Min,
    Max,
    Default,
    Up,
    Down,
    Infinity,
}

impl Param {
    pub fn number(&self) -> Result<NumberArg, ScpiError> {
        let text = self.0.trim();
        Ok(match text.to_ascii_uppercase().as_str() {
            "MIN" | "MINIMUM" => NumberArg::Min,
            "MAX" | "MAXIMUM" => NumberArg::Max,
            "DEF" | "DEFAULT" => NumberArg::Default,
            "UP" => NumberArg::Up,
            "DOWN" => NumberArg::Down,
            "INF" | "INFINITY" | "9.9E37" | "+9.9E37" => NumberArg::Infinity,
            _ => NumberArg::Value(
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or(ScpiError::DATA_TYPE)?,
            ),
        })
    }

    /// A plain number (no MIN/MAX/DEF).
    pub fn value(&self) -> Result<f64, ScpiError> {
        match self.number()? {
            NumberArg::Value(v) => Ok(v),
            _ => Err(ScpiError::DATA_TYPE),
        }
    }

    pub fn boolean(&self) -> Result<bool, ScpiError> {
        match self.0.trim().to_ascii_uppercase().as_str() {
            "ON" | "1" => Ok(true),
            "OFF" | "0" => Ok(false),
            other => other
                .parse::<f64>()
                .map(|v| v.round() != 0.0)
                .map_err(|_| ScpiError::DATA_TYPE),
        }
    }

    /// Character data, upper-cased (`IMM`, `NEXT`).
    pub fn word(&self) -> Result<String, ScpiError> {
        let text = self.0.trim();
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(ScpiError::DATA_TYPE);
        }
        Ok(text.to_ascii_uppercase())
    }

    /// A quoted string's contents.
    pub fn string(&self) -> Result<String, ScpiError> {
        let text = self.0.trim();
        for quote in ['\'', '"'] {
            if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote))
                && text.len() >= 2
            {
                return Ok(inner.replace(&format!("{quote}{quote}"), &quote.to_string()));
            }
        }
        Err(ScpiError::DATA_TYPE)
    }
}

/// One message unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub header: Header,
    pub params: Vec<Param>,
}

/// Split at `separator` outside quotes.
fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, c) if c == separator => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

fn header(text: &str) -> Result<Header, ScpiError> {
    let (body, query) = match text.strip_suffix('?') {
        Some(body) => (body, true),
        None => (text, false),
    };
    let (absolute, body) = match body.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, body),
    };
    if let Some(name) = body.strip_prefix('*') {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ScpiError::SYNTAX);
        }
        return Ok(Header::Common {
            name: name.to_ascii_uppercase(),
            query,
        });
    }
    let nodes: Vec<String> = body.split(':').map(str::to_string).collect();
    let valid = |n: &String| {
        let mut chars = n.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric())
    };
    if !nodes.iter().all(valid) {
        return Err(ScpiError::SYNTAX);
    }
    Ok(Header::Path {
        absolute,
        nodes,
        query,
    })
}

/// Parse a program message into its units; empty units (a trailing `;`)
/// are skipped. Each unit parses or fails on its own.
pub fn parse_units(line: &str) -> Vec<Result<Unit, ScpiError>> {
    split_outside_quotes(line, ';')
        .into_iter()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|unit| {
            let (head, rest) = match unit.find(char::is_whitespace) {
                Some(i) => (&unit[..i], unit[i..].trim()),
                None => (unit, ""),
            };
            let header = header(head)?;
            let params = if rest.is_empty() {
                Vec::new()
            } else {
                let params: Vec<Param> = split_outside_quotes(rest, ',')
                    .into_iter()
                    .map(|p| Param(p.trim().to_string()))
                    .collect();
                if params.iter().any(|p| p.0.is_empty()) {
                    return Err(ScpiError::SYNTAX);
                }
                params
            };
            Ok(Unit { header, params })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path(absolute: bool, nodes: &[&str], query: bool) -> Header {
        Header::Path {
            absolute,
            nodes: nodes.iter().map(std::string::ToString::to_string).collect(),
            query,
        }
    }

    #[test]
    fn units_headers_and_parameters() {
        let units: Vec<Unit> = parse_units("*IDN?;:SENS:CURR:RANG 2e-09;NPLC 1 ; :FUNC 'CURR';")
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            units[0].header,
            Header::Common {
                name: "IDN".into(),
                query: true
            }
        );
        assert_eq!(
            units[1].header,
            path(true, &["SENS", "CURR", "RANG"], false)
        );
        assert_eq!(units[1].params[0].value(), Ok(2e-9));
        assert_eq!(units[2].header, path(false, &["NPLC"], false));
        assert_eq!(units[3].params[0].string(), Ok("CURR".into()));
        assert_eq!(units.len(), 4);
    }

    #[test]
    fn odd_but_valid_forms() {
        let unit = parse_units(":*CLS").remove(0).unwrap();
        assert_eq!(
            unit.header,
            Header::Common {
                name: "CLS".into(),
                query: false
            }
        );
        let unit = parse_units(":TRAC:ELEM TST, VSO, CURR").remove(0).unwrap();
        assert_eq!(unit.params.len(), 3);
        let unit = parse_units(":SENS:FUNC 'a;b'").remove(0).unwrap();
        assert_eq!(unit.params[0].string(), Ok("a;b".into()));
    }

    #[test]
    fn parameter_types() {
        assert_eq!(Param("MAX".into()).number(), Ok(NumberArg::Max));
        assert_eq!(Param("def".into()).number(), Ok(NumberArg::Default));
        assert_eq!(Param("INF".into()).number(), Ok(NumberArg::Infinity));
        assert_eq!(Param("abc".into()).number(), Err(ScpiError::DATA_TYPE));
        assert_eq!(Param("ON".into()).boolean(), Ok(true));
        assert_eq!(Param("0".into()).boolean(), Ok(false));
        assert_eq!(Param("maybe".into()).boolean(), Err(ScpiError::DATA_TYPE));
        assert_eq!(Param("imm".into()).word(), Ok("IMM".into()));
        assert_eq!(Param("CURR".into()).string(), Err(ScpiError::DATA_TYPE));
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(parse_units("SENS::CURR")[0], Err(ScpiError::SYNTAX));
        assert_eq!(parse_units("*1DN?")[0], Err(ScpiError::SYNTAX));
        assert_eq!(parse_units(":TRAC:ELEM A,,B")[0], Err(ScpiError::SYNTAX));
        assert_eq!(parse_units("#$%")[0], Err(ScpiError::SYNTAX));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_fails_without_panicking(text in ".{0,80}") {
            let _ = parse_units(&text);
        }
    }
}
