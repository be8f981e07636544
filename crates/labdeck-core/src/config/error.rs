//! Configuration errors that name the file, line and column, quote the line
//! and underline the offending part.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use thiserror::Error;

/// One problem in a configuration text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The source line and the underlined part (column, width).
    pub excerpt: Option<(String, usize, usize)>,
}

impl ConfigError {
    /// An error at `span` of `text`.
    pub fn at(origin: &str, text: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        let start = span.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let end = span.end.clamp(start, line_end);
        let width = text[start..end].chars().count().max(1);
        Self {
            origin: origin.to_string(),
            line,
            column,
            message: message.into(),
            excerpt: Some((
                text[line_start..line_end]
                    .trim_end_matches('\r')
                    .to_string(),
                column,
                width,
            )),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}:{}:{}: {}",
            self.origin, self.line, self.column, self.message
        )?;
        if let Some((text, column, width)) = &self.excerpt {
            let gutter = self.line.to_string().len();
            let pad = " ".repeat(gutter);
            write!(
                f,
                "\n{pad} |\n{} | {text}\n{pad} | {}{}",
                self.line,
                " ".repeat(column - 1),
                "^".repeat(*width)
            )?;
        }
        Ok(())
    }
}

/// Every problem found in one configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Why a configuration could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(#[from] ConfigErrors),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_column() {
        let text = "a = 1\nlink = \"pump-lnk\"\n";
        let start = text.find("\"pump").unwrap();
        let err = ConfigError::at(
            "x.toml",
            text,
            start..start + 10,
            "unknown link \"pump-lnk\"",
        );
        assert_eq!((err.line, err.column), (2, 8));
        assert_eq!(
            err.to_string(),
            "error: x.toml:2:8: unknown link \"pump-lnk\"\n  |\n2 | link = \"pump-lnk\"\n  |        ^^^^^^^^^^"
        );
    }

    #[test]
    fn columns_count_characters() {
        let text = "unit = \"°C\" x";
        let start = text.find('x').unwrap();
        let err = ConfigError::at("f", text, start..start + 1, "m");
        assert_eq!(err.column, 13);
    }
}
