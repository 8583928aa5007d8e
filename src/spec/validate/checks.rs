//! `[checks.NAME]`: validated like resources (positions, references), kept as templates whose
//! `${kind.name.attr}` references are filled in from the live environment when they run.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::refs::{self, Reference};
use super::schema::RawSpec;
use super::{SpecError, Validator, duration, plain_value};
use crate::checks::{Check, DEFAULT_INTERVAL, DEFAULT_TIMEOUT, Probe};
use crate::model::{Address, EnvId, SourceAddress};
use crate::spec::SourceSpec;

impl Validator<'_> {
    pub(super) fn checks(
        &self,
        raw: &RawSpec,
        vars: &BTreeMap<String, String>,
        env: &EnvId,
        declared: &BTreeSet<Address>,
        sources: &BTreeMap<SourceAddress, SourceSpec>,
    ) -> Result<Vec<Check>, SpecError> {
        let mut out = vec![];
        for (name, raw_check) in &raw.checks {
            let path = ["checks", name.as_str()];
            if !super::valid_name(&name.replace('_', "-")) {
                return Err(self.error(
                    self.span(&path),
                    format!("`{name}` is not a valid check name"),
                    Some(
                        "use lowercase letters, digits and underscores, starting with a letter"
                            .into(),
                    ),
                ));
            }
            let referenced = self.check_references(&path, declared, sources, vars, false)?;
            if let Some(source) = referenced.iter().find_map(|r| match r {
                Reference::Source { source, .. } => Some(source),
                _ => None,
            }) {
                return Err(self.error(
                    self.span(&path),
                    format!("check `{name}` reads {source}"),
                    Some(
                        "a check looks at what this environment created: refer to one of its \
                         resources, like ${ec2_instance.server.private_ip}"
                            .into(),
                    ),
                ));
            }
            if referenced.contains(&Reference::CountIndex) {
                return Err(self.error(
                    self.span(&path),
                    format!("check `{name}` uses ${{count.index}}"),
                    Some("count.index is known in a resource declared with count = N; a check refers to one copy, like ${ec2_instance.server[0].private_ip}".into()),
                ));
            }
            let fill = |text: &str| -> String {
                match refs::interpolate(&Value::String(text.into()), &|r| plain_value(r, vars, env))
                {
                    Value::String(s) => s,
                    other => other.to_string(),
                }
            };
            let probe = match (&raw_check.http, &raw_check.command) {
                (Some(url), None) => {
                    let url = fill(url);
                    // A URL that starts with a resource's value is checked when it runs.
                    let scheme_ok = url.starts_with("${")
                        || ["http://", "https://"]
                            .iter()
                            .any(|s| url.to_ascii_lowercase().starts_with(s));
                    if !scheme_ok {
                        return Err(self.error(
                            self.span(&[&path[..], &["http"]].concat()),
                            format!("`{}` is not an http:// or https:// URL", url),
                            Some(
                                "write the whole URL, like \
                                 \"http://${ec2_instance.server.private_ip}:8080/ping\""
                                    .into(),
                            ),
                        ));
                    }
                    Probe::Http { url }
                }
                (None, Some(argv)) => {
                    if argv.first().is_none_or(|p| p.trim().is_empty()) {
                        return Err(self.error(
                            self.span(&[&path[..], &["command"]].concat()),
                            "the command is empty".into(),
                            Some(
                                "name the program first, then its arguments: \
                                 [\"scripts/migrations-done.sh\", \"${rds_instance.db.endpoint}\"]"
                                    .into(),
                            ),
                        ));
                    }
                    Probe::Command {
                        argv: argv.iter().map(|a| fill(a)).collect(),
                    }
                }
                _ => {
                    return Err(self.error(
                        self.span(&path),
                        format!("check `{name}` needs exactly one of `http` or `command`"),
                        Some(
                            "http = \"https://...\" must answer 2xx; command = [\"program\", \
                             \"arg\"] must exit 0 (it runs without a shell: for one, write \
                             [\"sh\", \"-c\", \"...\"])"
                                .into(),
                        ),
                    ));
                }
            };
            let duration_of = |key: &str, text: &Option<String>, default| match text {
                None => Ok(default),
                Some(text) => duration::parse_timeout(text).map_err(|message| {
                    self.error(
                        self.span(&[&path[..], &[key]].concat()),
                        message,
                        Some("write a duration like \"10m\" or \"15s\"".into()),
                    )
                }),
            };
            let timeout = duration_of("timeout", &raw_check.timeout, DEFAULT_TIMEOUT)?;
            let interval = duration_of("interval", &raw_check.interval, DEFAULT_INTERVAL)?;
            if interval > timeout {
                return Err(self.error(
                    self.span(&[&path[..], &["interval"]].concat()),
                    format!(
                        "the interval ({}s) is longer than the timeout ({}s): the check would be \
                         tried once",
                        interval.as_secs(),
                        timeout.as_secs()
                    ),
                    Some("make the interval shorter than the timeout".into()),
                ));
            }
            out.push(Check {
                name: name.clone(),
                probe,
                timeout_secs: timeout.as_secs(),
                interval_secs: interval.as_secs(),
                location: self.location(&path),
            });
        }
        Ok(out)
    }
}
