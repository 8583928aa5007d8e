//! A team's rules for what may change an environment, as pure functions the commands that
//! change AWS call before they do: the change [`window`] (when), and [`consent`] for what
//! cannot be undone (what). Neither reads a clock or the command line: the caller passes "now"
//! and the flags, and gets back what to record (an override's reason, the consent given).

pub mod consent;
pub mod window;

use thiserror::Error;

pub use window::Window;

/// How a change got past the window: the caller records an override's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passage {
    /// The spec sets no window.
    NoWindow,
    Open,
    /// Closed, and `--override-window REASON` said why it goes ahead anyway.
    Overridden {
        reason: String,
    },
}

impl Passage {
    /// What the journal records of it: the reason given to go ahead outside the window.
    pub fn journaled(&self) -> Option<String> {
        match self {
            Passage::Overridden { reason } => Some(format!("--override-window: {reason}")),
            Passage::NoWindow | Passage::Open => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum WindowError {
    #[error(
        "the change window of {env} is closed: it is open {window}, and it is {now} there; \
         it next opens {next_opens}"
    )]
    Closed {
        env: String,
        window: String,
        now: String,
        next_opens: String,
    },
    #[error("cannot tell whether the change window of {env} ({window}) is open: {message}")]
    Unreadable {
        env: String,
        window: String,
        message: String,
    },
}

impl WindowError {
    pub fn hint(&self) -> String {
        match self {
            WindowError::Closed { .. } => "wait until it opens; in an emergency, pass \
                 --override-window \"REASON\" to go ahead anyway, saying why"
                .into(),
            WindowError::Unreadable { .. } => "install the system's time zone database \
                 (Debian: apt-get install tzdata), or pass --override-window \"REASON\""
                .into(),
        }
    }
}

/// Whether a change to `env` may go ahead at `now` under `window`: open, or closed and
/// overridden with a reason (returned for the caller to record), or refused.
pub fn gate(
    env: &str,
    window: Option<&Window>,
    now: jiff::Timestamp,
    override_reason: Option<&str>,
) -> Result<Passage, WindowError> {
    let Some(window) = window else {
        return Ok(Passage::NoWindow);
    };
    let closed = match window.verdict(now) {
        Ok(window::Verdict::Open) => return Ok(Passage::Open),
        Ok(window::Verdict::Closed { now, next_opens }) => WindowError::Closed {
            env: env.into(),
            window: window.to_string(),
            now: window::local(&now),
            next_opens: window::local(&next_opens),
        },
        Err(message) => WindowError::Unreadable {
            env: env.into(),
            window: window.to_string(),
            message,
        },
    };
    match override_reason {
        Some(reason) => Ok(Passage::Overridden {
            reason: reason.into(),
        }),
        None => Err(closed),
    }
}

/// What `plan` says when the window is closed: it still plans. `None` when open or unset.
pub fn closed_note(env: &str, window: Option<&Window>, now: jiff::Timestamp) -> Option<String> {
    gate(env, window, now, None).err().map(|e| e.to_string())
}

/// `--override-window` takes a reason that says something.
pub fn parse_reason(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        Err("say why the change cannot wait for the window: --override-window \"REASON\"".into())
    } else {
        Ok(text.trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mondays() -> Window {
        Window {
            days: vec![window::Day::Mon],
            opens: 9 * 60,
            closes: 10 * 60,
            time_zone: "UTC".into(),
        }
    }

    #[test]
    fn an_override_passes_a_closed_window_and_hands_back_its_reason() {
        // Friday 2026-12-04: closed.
        let friday: jiff::Timestamp = "2026-12-04T09:00:00Z".parse().unwrap();
        let w = mondays();
        assert!(matches!(
            gate("staging", Some(&w), friday, None),
            Err(WindowError::Closed { .. })
        ));
        assert_eq!(
            gate("staging", Some(&w), friday, Some("hotfix")),
            Ok(Passage::Overridden {
                reason: "hotfix".into()
            })
        );
        // Open, the reason is not needed and not recorded.
        let monday: jiff::Timestamp = "2026-12-07T09:30:00Z".parse().unwrap();
        assert_eq!(
            gate("staging", Some(&w), monday, Some("hotfix")),
            Ok(Passage::Open)
        );
        assert_eq!(gate("staging", None, friday, None), Ok(Passage::NoWindow));
    }

    #[test]
    fn a_reason_must_say_something() {
        assert!(parse_reason("   ").is_err());
        assert_eq!(parse_reason(" hotfix "), Ok("hotfix".into()));
    }
}
