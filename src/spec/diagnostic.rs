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

/// The most of a source line a snippet shows: a window around the error, `…` where the line
/// is cut. A spec with a 50 MB line gets an error of a few lines, not 100 MB of stderr.
pub const SNIPPET_WIDTH: usize = 100;
/// How much of the line before the error a cut window keeps.
const SNIPPET_BEFORE: usize = 40;
/// The longest message or hint shown; longer ones lose their middle.
pub const MESSAGE_WIDTH: usize = 300;

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
        let (shown, caret_at, width) = window(source_line, column - 1, width);
        let gutter = line.to_string().len();
        let snippet = format!(
            "{:gutter$} |\n{line} | {shown}\n{:gutter$} | {}{}",
            "",
            "",
            " ".repeat(caret_at),
            "^".repeat(width),
        );
        Diagnostic {
            file: file.to_string(),
            line,
            column,
            message: clip(&message, MESSAGE_WIDTH),
            hint: hint.map(|h| clip(&h, MESSAGE_WIDTH)),
            snippet,
        }
    }
}

/// The part of `line` a snippet shows, with the error at character `at` (`width` characters
/// long): the whole line when it is short, else [`SNIPPET_WIDTH`] characters around the error
/// with `…` where it is cut. Returns the text, the caret's column in it and the caret's width.
/// Tabs show as one space and other control characters as `�`, one character each, so the
/// caret stays under the character it points at.
fn window(line: &str, at: usize, width: usize) -> (String, usize, usize) {
    let total = line.chars().count();
    let (from, to) = if total <= SNIPPET_WIDTH {
        (0, total)
    } else {
        let to = (at.saturating_sub(SNIPPET_BEFORE) + SNIPPET_WIDTH).min(total);
        (to.saturating_sub(SNIPPET_WIDTH), to)
    };
    let mut shown = String::new();
    if from > 0 {
        shown.push('…');
    }
    shown.extend(line.chars().skip(from).take(to - from).map(|c| match c {
        '\t' => ' ',
        c if c.is_control() => '\u{FFFD}',
        c => c,
    }));
    if to < total {
        shown.push('…');
    }
    let caret_at = at.min(to) - from + usize::from(from > 0);
    let width = width.min(to.saturating_sub(at)).max(1);
    (shown, caret_at, width)
}

/// `text` if it is at most `max` characters long, else its start and end around a `…`.
pub fn clip(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_string();
    }
    let head = max * 3 / 4;
    let tail = max - head - 1;
    let mut out: String = text.chars().take(head).collect();
    out.push('…');
    out.extend(text.chars().skip(total - tail));
    out
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
/// The offsets at which the lines of a text start: the line of an offset by binary search.
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    /// 1-based line and column (in characters) of `offset` in `text`, as [`line_column`].
    pub fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }
}

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
    closest(written, known).map(|k| format!("did you mean `{k}`?"))
}

/// The known name closest to what was written, if one is close enough to be a typo of it.
pub fn closest<'k>(written: &str, known: &[&'k str]) -> Option<&'k str> {
    let length = written.chars().count();
    known
        .iter()
        .filter_map(|k| {
            let allowed = (k.len() / 3).max(2);
            // The distance is at least the difference in length: a 50 MB key is no typo,
            // and comparing it character by character would take minutes.
            if length.abs_diff(k.chars().count()) > allowed {
                return None;
            }
            let distance = edit_distance(written, k);
            (distance <= allowed).then_some((distance, *k))
        })
        .min()
        .map(|(_, k)| k)
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

/// A hint for the TOML parser's and serde's messages: "unknown field `x`, expected one of `a`,
/// `b`" gets a "did you mean"; a wrong type gets an example of the right one; whatever else
/// they say, a pointer to the spec format. Every located error has a hint.
pub fn hint_for_serde_message(message: &str) -> String {
    if let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    {
        let written = rest.split('`').next().unwrap_or("");
        let expected: Vec<&str> = rest.split('`').skip(2).step_by(2).collect();
        return did_you_mean(written, &expected).unwrap_or_else(|| {
            if expected.is_empty() {
                "remove it: this table takes no keys here".to_string()
            } else {
                format!("remove it, or use one of: {}", expected.join(", "))
            }
        });
    }
    if message.contains("is one value, and a list belongs here") {
        return "a string that is exactly one reference keeps its value's type: a list of security \
                groups stays a list; put one value in brackets"
            .into();
    }
    if message.contains("expected a list of strings, or one reference to a list") {
        return "write a list in brackets, [\"sg-1\", \"${security_group.server.id}\"], or one \
                reference that is the whole list"
            .into();
    }
    if message.starts_with("missing field") {
        return "add it: see the spec reference in README.md".into();
    }
    if message.starts_with("duplicate key") {
        return "a key is set once per table and a [table] is written once: remove this one, \
                or merge it into the first"
            .into();
    }
    if message.starts_with("integer number overflowed") {
        return "integers are 64-bit: at most 9223372036854775807".into();
    }
    if message.starts_with("floating-point number overflowed") {
        return "this number is too large; the spec's numbers are counts and sizes, written \
                as integers like 1024"
            .into();
    }
    if message.starts_with("invalid type") || message.starts_with("wanted ") {
        return "check the value's type: strings are quoted, numbers and booleans are not".into();
    }
    if message.contains("expected") || message.contains("invalid") {
        return "this is not valid TOML here; see https://toml.io for the syntax".into();
    }
    "see the spec format in README.md, and https://toml.io for the syntax".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_index_agrees_with_counting_lines() {
        let text = "a = 1\n\nnamé = \"x\"\r\nlast";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() + 3 {
            assert_eq!(
                index.line_column(text, offset),
                line_column(text, offset),
                "at {offset}"
            );
        }
    }

    #[test]
    fn underlines_the_span_on_its_line() {
        let text = "a = 1\nbad = \"x\"\n";
        let d = Diagnostic::new("f.toml", text, 6..9, "nope".into(), Some("fix".into()));
        assert_eq!((d.line, d.column), (2, 1));
        assert_eq!(d.to_string(), "f.toml:2:1: nope");
        assert_eq!(d.snippet, "  |\n2 | bad = \"x\"\n  | ^^^");
    }

    #[test]
    fn a_long_line_shows_a_window_around_the_error_with_the_caret_under_it() {
        let text = format!("a = \"{}\" + 1\n", "x".repeat(5000));
        let at = text.find('+').unwrap();
        let d = Diagnostic::new("f.toml", &text, at..at + 1, "nope".into(), None);
        assert_eq!((d.line, d.column), (1, at + 1));
        let lines: Vec<&str> = d.snippet.lines().collect();
        let shown = lines[1].strip_prefix("1 | ").unwrap();
        assert_eq!(shown, format!("…{}\" + 1", "x".repeat(SNIPPET_WIDTH - 5)));
        let caret = lines[2].strip_prefix("  | ").unwrap();
        assert_eq!(
            caret.len(),
            shown.chars().position(|c| c == '+').unwrap() + 1
        );
        assert!(caret.ends_with(" ^"));

        // In the middle of the line: cut on both sides, the error near the start of the window.
        let text = format!("{}!{}", "a".repeat(3000), "b".repeat(3000));
        let d = Diagnostic::new("f.toml", &text, 3000..6001, "nope".into(), None);
        let lines: Vec<&str> = d.snippet.lines().collect();
        let shown = lines[1].strip_prefix("1 | ").unwrap();
        assert_eq!(shown.chars().count(), SNIPPET_WIDTH + 2);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        let caret = lines[2].strip_prefix("  | ").unwrap();
        let column = shown.chars().position(|c| c == '!').unwrap();
        assert_eq!(
            caret,
            format!("{}{}", " ".repeat(column), "^".repeat(SNIPPET_WIDTH - 40))
        );
    }

    #[test]
    fn long_messages_lose_their_middle() {
        let long = format!(
            "invalid type: string \"{}\", expected i64",
            "x".repeat(10_000)
        );
        let d = Diagnostic::new("f.toml", "a = 1", 0..1, long, Some("y".repeat(1000)));
        assert_eq!(d.message.chars().count(), MESSAGE_WIDTH);
        assert!(d.message.starts_with("invalid type: string \"xxx"));
        assert!(d.message.ends_with("xxx\", expected i64"));
        assert_eq!(d.hint.unwrap().chars().count(), MESSAGE_WIDTH);
    }

    #[test]
    fn tabs_and_control_characters_keep_the_caret_in_place() {
        let text = "a =\t\u{1b}[31m x";
        let d = Diagnostic::new("f.toml", text, 10..11, "nope".into(), None);
        assert_eq!(d.snippet, "  |\n1 | a = \u{FFFD}[31m x\n  |           ^");
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
