//! The one place an error becomes what the user reads: the `error:` line, a spec diagnostic's
//! snippet, `hint:` lines, and their colours. Everything else hands it an [`Error`].

use crate::Error;
use crate::plan::render::Style;
use crate::spec::diagnostic::clip;

/// Where an error is shown.
#[derive(Debug, Clone, Copy)]
pub enum Placement<'a> {
    /// What ended the command, on stderr: `error: ...`, then the snippet and hints.
    Command,
    /// One entry of a list (a failed step in a summary, a leftover): `lead` then the message;
    /// the lines after it (snippet, hints) are indented by `indent` spaces.
    Item { lead: &'a str, indent: usize },
}

/// The most characters a line of an error's message or a hint shows: values quoted in it
/// (a name, a look-up, what serde could not read) can be megabytes long.
pub const MAX_LINE: usize = 1_000;

/// Render `error`, without a trailing newline.
pub fn render(error: &Error, at: Placement, style: Style) -> String {
    if let Error::Arguments(e) = error {
        // clap's own rendering: its message, tips and usage line, in its own styles.
        let text = e.render();
        let text = if style.color {
            text.ansi().to_string()
        } else {
            text.to_string()
        };
        return text.trim_end().to_string();
    }
    let (first, indent) = match at {
        Placement::Command => (format!("{}: ", style.paint("error", "1;31")), 0),
        Placement::Item { lead, indent } => (lead.to_string(), indent),
    };
    let pad = " ".repeat(indent);
    let mut out = first;
    for (i, line) in error.to_string().lines().enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(&clip(line, MAX_LINE));
    }
    if let Some(snippet) = error.snippet() {
        for line in snippet.lines() {
            out.push('\n');
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    for hint in error.hints() {
        for line in hint.lines() {
            out.push('\n');
            out.push_str(&pad);
            let line = clip(line, MAX_LINE);
            out.push_str(&format!("{}: {line}", style.paint("hint", "1;36")));
        }
    }
    out
}

/// A `note:` line: something the user should know that is not an error (where a setting
/// came from, what a command falls back to).
pub fn note(text: &str, style: Style) -> String {
    format!("{}: {text}", style.paint("note", "1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::StepError;
    use crate::provider::ProviderError;

    const PLAIN: Style = Style { color: false };

    fn denied() -> Error {
        StepError::Provider(ProviderError::AccessDenied {
            action: "ecs:CreateCluster".into(),
            message: "not authorized".into(),
        })
        .into()
    }

    #[test]
    fn an_error_that_ends_a_command_has_its_hints_on_lines_of_their_own() {
        assert_eq!(
            render(&denied(), Placement::Command, PLAIN),
            "error: access denied for ecs:CreateCluster: not authorized\n\
             hint: grant `ecs:CreateCluster` to the credentials in use (see the IAM policy in \
             README.md), or pick other credentials with AWS_PROFILE"
        );
    }

    #[test]
    fn an_item_s_hints_are_indented_under_it() {
        let at = Placement::Item {
            lead: "  FAILED   + ecs_cluster.main: ",
            indent: 11,
        };
        let shown = render(&denied(), at, PLAIN);
        assert_eq!(
            shown.lines().collect::<Vec<_>>(),
            [
                "  FAILED   + ecs_cluster.main: access denied for ecs:CreateCluster: not authorized",
                "           hint: grant `ecs:CreateCluster` to the credentials in use (see the IAM \
                 policy in README.md), or pick other credentials with AWS_PROFILE"
            ]
        );
    }

    #[test]
    fn a_long_value_in_an_error_is_cut_in_the_middle() {
        let long: Error = StepError::Provider(ProviderError::NotFound {
            what: format!("ecs_cluster {}", "x".repeat(1_000_000)),
        })
        .into();
        let shown = render(&long, Placement::Command, PLAIN);
        let first = shown.lines().next().unwrap();
        assert_eq!(first.chars().count(), "error: ".len() + MAX_LINE);
        assert!(first.contains("xxx…xxx"), "{first}");
        assert!(shown.len() < 2 * MAX_LINE, "{} bytes", shown.len());
    }

    #[test]
    fn colour_only_when_asked() {
        let shown = render(&denied(), Placement::Command, Style { color: true });
        assert!(shown.starts_with("\x1b[1;31merror\x1b[0m: access denied"));
        assert!(shown.contains("\n\x1b[1;36mhint\x1b[0m: grant"));
        assert!(!render(&denied(), Placement::Command, PLAIN).contains('\x1b'));
    }
}
