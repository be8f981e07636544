//! Command patterns in the manuals' notation: `[:SENSe]:CURRent:RANGe[:UPPer]`
//! with long and short forms (the upper-case part), optional nodes in
//! brackets and alternatives in braces (`{CURRent|VOLTage}`), matched
//! case-insensitively against a header's nodes.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad pattern {pattern:?}: {why}")]
pub struct PatternError {
    pub pattern: String,
    pub why: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Mnemonic {
    long: String,
    short: String,
}

impl Mnemonic {
    fn new(text: &str) -> Self {
        let short: String = text
            .chars()
            .take_while(|c| !c.is_ascii_lowercase())
            .collect();
        Self {
            long: text.to_ascii_uppercase(),
            short: short.to_ascii_uppercase(),
        }
    }

    fn matches(&self, token: &str) -> bool {
        token.eq_ignore_ascii_case(&self.long) || token.eq_ignore_ascii_case(&self.short)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Node {
    alternatives: Vec<Mnemonic>,
    optional: bool,
}

/// A parsed command pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    nodes: Vec<Node>,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let fail = |why| PatternError {
            pattern: text.to_string(),
            why,
        };
        let mut nodes = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let optional = rest.starts_with('[');
            if optional {
                let end = rest.find(']').ok_or_else(|| fail("unclosed ["))?;
                let inner = rest[1..end].trim_start_matches(':');
                nodes.push(
                    node(inner)
                        .ok_or_else(|| fail("bad optional node"))?
                        .optional(),
                );
                rest = &rest[end + 1..];
                continue;
            }
            rest = rest.strip_prefix(':').unwrap_or(rest);
            let end = rest.find([':', '[']).unwrap_or(rest.len());
            nodes.push(node(&rest[..end]).ok_or_else(|| fail("bad node"))?);
            rest = &rest[end..];
        }
        if nodes.iter().all(|n| n.optional) {
            return Err(fail("no required node"));
        }
        Ok(Self { nodes })
    }

    /// If `tokens` match, which alternative each braced node took (in
    /// order of the braced nodes).
    pub fn matches(&self, tokens: &[String]) -> Option<Vec<usize>> {
        let mut picks = Vec::new();
        walk(&self.nodes, tokens, &mut picks).then_some(picks)
    }
}

impl Node {
    fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

fn node(text: &str) -> Option<Node> {
    let text = text.trim();
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or(text);
    let alternatives: Vec<Mnemonic> = inner.split('|').map(Mnemonic::new).collect();
    if alternatives
        .iter()
        .any(|m| m.long.is_empty() || m.short.is_empty())
    {
        return None;
    }
    Some(Node {
        alternatives,
        optional: false,
    })
}

fn walk(nodes: &[Node], tokens: &[String], picks: &mut Vec<usize>) -> bool {
    let Some((node, rest)) = nodes.split_first() else {
        return tokens.is_empty();
    };
    let braced = node.alternatives.len() > 1;
    if let Some(token) = tokens.first()
        && let Some(i) = node.alternatives.iter().position(|m| m.matches(token))
    {
        let mark = picks.len();
        if braced {
            picks.push(i);
        }
        if walk(rest, &tokens[1..], picks) {
            return true;
        }
        picks.truncate(mark);
    }
    if node.optional {
        let mark = picks.len();
        if braced {
            picks.push(0);
        }
        if walk(rest, tokens, picks) {
            return true;
        }
        picks.truncate(mark);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Vec<String> {
        text.split(':').map(String::from).collect()
    }

    #[test]
    fn long_short_optional_and_alternatives() {
        let p =
            Pattern::parse("[:SENSe]:{CURRent|CHARge|VOLTage|RESistance}:RANGe[:UPPer]").unwrap();
        assert_eq!(p.matches(&tokens("SENS:CURR:RANG")), Some(vec![0]));
        assert_eq!(
            p.matches(&tokens("sense:voltage:range:upper")),
            Some(vec![2])
        );
        assert_eq!(p.matches(&tokens("CHAR:RANG")), Some(vec![1]));
        assert_eq!(
            p.matches(&tokens("SENS:CURRE:RANG")),
            None,
            "neither long nor short"
        );
        assert_eq!(p.matches(&tokens("SENS:CURR")), None);
        let e = Pattern::parse(":SYSTem:ERRor[:NEXT]").unwrap();
        assert_eq!(e.matches(&tokens("SYST:ERR")), Some(vec![]));
        assert_eq!(e.matches(&tokens("system:error:next")), Some(vec![]));
        let m = Pattern::parse(":MEASure[:{CURRent|VOLTage}]").unwrap();
        assert_eq!(m.matches(&tokens("MEAS")), Some(vec![0]));
        assert_eq!(m.matches(&tokens("MEAS:VOLT")), Some(vec![1]));
    }

    #[test]
    fn bad_patterns() {
        assert!(Pattern::parse("[:SENSe").is_err());
        assert!(Pattern::parse("[:SENSe]").is_err());
        assert!(Pattern::parse(":{|}").is_err());
    }
}
