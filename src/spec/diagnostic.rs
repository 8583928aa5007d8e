//! Spec errors a person can act on: `file:line:column`, the message, the line with the
//! offending span underlined, and a hint. `cli::render` shows them, like every other error.

use std::fmt;
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
    /// The source line and the underline under it.
    pub snippet: String,
}

impl Diagnostic {
    pub fn new(
        file: &str,
        text: &str,
        span: Range<usize>,
        message: String,
        hint: Option<String>,
    ) -> Self {
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let (line, column) = line_column(text, start);
        let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let line_end = text[start..]
            .find('\n')
            .map(|i| start + i)
            .unwrap_or(text.len());
        let source_line = text[line_start..line_end].trim_end_matches('\r');
        let end = floor_char_boundary(text, span.end.clamp(start, line_end));
        let width = text[start..end].chars().count().max(1);
        let gutter = line.to_string().len();
        let snippet = format!(
            "{:gutter$} |\n{line} | {source_line}\n{:gutter$} | {}{}",
            "",
            "",
            " ".repeat(column - 1),
            "^".repeat(width),
        );
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            message,
            hint,
            snippet,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// Length of the opening quote of a TOML string token (`"`, `'`, or `"""` plus its newline).
pub fn quote_len(token: &str) -> usize {
    for q in ["\"\"\"", "'''"] {
        if let Some(rest) = token.strip_prefix(q) {
            return q.len()
                + if rest.starts_with("\r\n") {
                    2
                } else {
                    usize::from(rest.starts_with('\n'))
                };
        }
    }
    usize::from(token.starts_with('"') || token.starts_with('\''))
}

/// "did you mean `x`?" when a known name is close to what was written.
pub fn did_you_mean(written: &str, known: &[&str]) -> Option<String> {
    known
        .iter()
        .map(|k| (edit_distance(written, k), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min()
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// A hint for serde's messages: "unknown field `x`, expected one of `a`, `b`" gets a
/// "did you mean"; a wrong type gets an example of the right one.
pub fn hint_for_serde_message(message: &str) -> Option<String> {
    if let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    {
        let written = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        return Some(did_you_mean(written, &expected).unwrap_or_else(|| {
            if expected.is_empty() {
                "remove it: this table takes no keys here".to_string()
            } else {
                format!("remove it, or use one of: {}", expected.join(", "))
            }
        }));
    }
    if message.starts_with("missing field") {
        return Some("add it: see the spec reference in README.md".into());
    }
    if message.starts_with("invalid type") {
        return Some(
            "check the value's type: strings are quoted, numbers and booleans are not".into(),
        );
    }
    if message.contains("expected") || message.contains("invalid") {
        return Some("this is not valid TOML here; see https://toml.io for the syntax".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underlines_the_span_on_its_line() {
        let text = "a = 1\nbad = \"x\"\n";
        let d = Diagnostic::new("f.toml", text, 6..9, "nope".into(), Some("fix".into()));
        assert_eq!((d.line, d.column), (2, 1));
        assert_eq!(d.to_string(), "f.toml:2:1: nope");
        assert_eq!(d.snippet, "  |\n2 | bad = \"x\"\n  | ^^^");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("instnce_type", &["instance_type", "image"]).unwrap(),
            "did you mean `instance_type`?"
        );
        assert_eq!(did_you_mean("zzz", &["instance_type"]), None);
    }
}
