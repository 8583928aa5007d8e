//! rehearsal run by one of the Makefile's targets (`make destroy-prerelease`): its hints name
//! what the person typing `make` can change, the make variables (`AUTO_APPROVE=1`,
//! `SERVER_VERSION=3.2.0`), and not only the flags those variables become.

/// Set by the Makefile for each target that runs rehearsal, to the target's name. (make's own
/// `MAKELEVEL` is not enough: another Makefile calling rehearsal has no `AUTO_APPROVE`.)
pub const TARGET_ENV: &str = "REHEARSAL_MAKE_TARGET";

/// The flags the Makefile builds from its variables: `APPROVE_FLAG` and `VAR_FLAGS`.
const FLAGS: &[(&str, &str)] = &[
    ("--auto-approve", "AUTO_APPROVE=1"),
    ("--var server_version=VALUE", "SERVER_VERSION=VALUE"),
    ("--var server_version", "SERVER_VERSION"),
];

/// The make target rehearsal runs under, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MakeTarget(pub String);

impl MakeTarget {
    pub fn from_env() -> Option<MakeTarget> {
        std::env::var(TARGET_ENV)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && !t.contains(char::is_whitespace))
            .map(MakeTarget)
    }

    /// `hint` as a person running this target reads it: each flag the Makefile sets from a
    /// variable is named by that variable, with the make command line that sets it.
    pub fn translate(&self, hint: &str) -> String {
        for (flag, variable) in FLAGS {
            if let Some(at) = find_flag(hint, flag) {
                let target = &self.0;
                return format!(
                    "{}{variable} (`make {target} {variable}`){}",
                    &hint[..at],
                    &hint[at + flag.len()..]
                );
            }
        }
        hint.to_string()
    }
}

/// Where `flag` stands as a whole word in `text`: not `--auto-approved`, not `--var
/// server_version_x`.
fn find_flag(text: &str, flag: &str) -> Option<usize> {
    text.match_indices(flag).map(|(at, _)| at).find(|&at| {
        text[at + flag.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '='))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_the_makefile_sets_is_named_by_its_variable() {
        let make = MakeTarget("destroy-prerelease".into());
        assert_eq!(
            make.translate(
                "review the plan, then run it from a terminal, or in CI pass --auto-approve"
            ),
            "review the plan, then run it from a terminal, or in CI pass AUTO_APPROVE=1 \
             (`make destroy-prerelease AUTO_APPROVE=1`)"
        );
        let make = MakeTarget("plan-prerelease-from-prod".into());
        assert_eq!(
            make.translate("pass --var server_version=VALUE, set REHEARSAL_VAR_server_version"),
            "pass SERVER_VERSION=VALUE (`make plan-prerelease-from-prod SERVER_VERSION=VALUE`), \
             set REHEARSAL_VAR_server_version"
        );
        // Other variables have no make variable: the flag stays.
        assert_eq!(
            make.translate("pass --var server_url=VALUE"),
            "pass --var server_url=VALUE"
        );
    }
}
