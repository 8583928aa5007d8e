//! What a command runs with besides its own arguments, decided once before it runs (as uv
//! resolves its settings): where specs live, the region, the provider and colour. Commands ask
//! [`Settings`]; none reads the process environment for these on its own.
//!
//! The region rule is the AWS CLI's, with the spec in the place of its config file:
//! `--region`, then `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the spec's `region`. When the
//! region used is not the spec's, a `note:` line says where it came from. A saved plan is data:
//! it applies in the region it was made for, whatever the environment says.

use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{GlobalArgs, VarArgs, provider, report};
use crate::Error;
use crate::model::EnvId;
use crate::plan::Plan;
use crate::plan::render::Style;
use crate::provider::Provider;
use crate::spec::{self, Spec, VariableInputs};

/// Where the region came from, when it is not the spec's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionSource {
    Flag,
    AwsRegion,
    AwsDefaultRegion,
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionSource::Flag => "--region",
            RegionSource::AwsRegion => "AWS_REGION",
            RegionSource::AwsDefaultRegion => "AWS_DEFAULT_REGION",
        })
    }
}

/// A region given on the command line or in the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub name: String,
    pub from: RegionSource,
}

/// Which cloud commands talk to: `REHEARSAL_PROVIDER`, `aws` unless set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderChoice {
    Aws,
    /// The fake cloud kept in this file (`fake:PATH`).
    Fake(PathBuf),
}

/// Colour on each stream: only on a terminal, and never with `NO_COLOR` set to anything
/// (https://no-color.org).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Colors {
    pub stdout: bool,
    pub stderr: bool,
}

impl Colors {
    pub fn detect() -> Colors {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Colors {
            stdout: !no_color && std::io::stdout().is_terminal(),
            stderr: !no_color && std::io::stderr().is_terminal(),
        }
    }

    /// For what goes to stdout: plans, summaries, lists.
    pub fn stdout(&self) -> Style {
        Style { color: self.stdout }
    }

    /// For what goes to stderr: errors, hints, notes, logs.
    pub fn stderr(&self) -> Style {
        Style { color: self.stderr }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Where environment specs live (`--environments`).
    pub environments: PathBuf,
    /// `--region`, `AWS_REGION` or `AWS_DEFAULT_REGION`; none means the spec's.
    pub region: Option<Region>,
    /// `--project`: needed only where no spec says it.
    pub project: Option<String>,
    pub provider: ProviderChoice,
    pub colors: Colors,
    /// "Now", read once: what the change window (`[window]`) is judged at.
    pub now: jiff::Timestamp,
    /// `--lock-timeout`: how long to wait for an environment's lock.
    pub lock_timeout: std::time::Duration,
    /// `REHEARSAL_TEAM_TABLE`: the team's table where no spec names one.
    pub team_table: Option<String>,
}

impl Settings {
    /// Settings from the command line and the process environment.
    pub fn resolve(global: &GlobalArgs, colors: Colors) -> Result<Settings, Error> {
        Settings::from_env(global, colors, |name| std::env::var(name).ok())
    }

    /// Settings from the command line and the environment variables `var` returns. An empty
    /// variable counts as unset.
    pub fn from_env(
        global: &GlobalArgs,
        colors: Colors,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, Error> {
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let given = [
            (global.region.clone(), RegionSource::Flag),
            (var("AWS_REGION"), RegionSource::AwsRegion),
            (var("AWS_DEFAULT_REGION"), RegionSource::AwsDefaultRegion),
        ];
        let region = given
            .into_iter()
            .find_map(|(name, from)| Some(Region { name: name?, from }));
        let provider = match var(provider::ENV_VAR) {
            None => ProviderChoice::Aws,
            Some(value) if value == "aws" => ProviderChoice::Aws,
            Some(value) => match value.strip_prefix("fake:") {
                Some(path) if !path.is_empty() => ProviderChoice::Fake(PathBuf::from(path)),
                _ => return Err(Error::UnknownProvider { value }),
            },
        };
        let team_table = var(crate::team::TABLE_ENV);
        if let Some(table) = &team_table {
            crate::team::check_table_name(table)
                .map_err(|message| Error::TeamTableEnv { message })?;
        }
        Ok(Settings {
            environments: global.environments.clone(),
            region,
            project: global.project.clone(),
            provider,
            colors,
            now: jiff::Timestamp::now(),
            lock_timeout: global.lock_timeout.unwrap_or_default(),
            team_table,
        })
    }

    /// Print a `note:` line on stderr.
    pub fn note(&self, text: &str) {
        eprintln!("{}", report::note(text, self.colors.stderr()));
    }

    /// The spec `env` names (`environments/ENV.toml`, or a path), with variables from `--var`
    /// and `REHEARSAL_VAR_<name>`, in the region the rule picks.
    pub fn load_spec(&self, env: &str, vars: &VarArgs) -> Result<Spec, Error> {
        let path = self.spec_path(env);
        let inputs = VariableInputs::from_process(vars.vars.clone())?;
        Ok(self.in_region(self.noted(spec::load(&path, &inputs)?)))
    }

    /// The spec of an environment read for what it owns, not for a release (`revisions`,
    /// `snapshot`, `rollback`, `refresh`, and the environment `promote` takes images from): a
    /// release version from a file that is not there leaves its variable `unread` instead of
    /// refusing; one given with --var or REHEARSAL_VAR_ counts as usual.
    pub fn load_spec_for_what_it_owns(&self, env: &str, vars: &VarArgs) -> Result<Spec, Error> {
        let path = self.spec_path(env);
        let inputs = VariableInputs::for_what_it_owns(vars.vars.clone())?;
        Ok(self.in_region(self.noted(spec::load(&path, &inputs)?)))
    }

    /// The spec, after printing what loading it noted.
    fn noted(&self, spec: Spec) -> Spec {
        for warning in &spec.warnings {
            self.note(warning);
        }
        spec
    }

    pub fn spec_path(&self, env: &str) -> PathBuf {
        spec::spec_path(&self.environments, env)
    }

    /// The spec moved to the region given on the command line or in the environment, if one
    /// was, with a note saying so.
    fn in_region(&self, mut spec: Spec) -> Spec {
        if let Some(region) = &self.region
            && region.name != spec.env.region
        {
            self.note(&format!(
                "using region {} from {}, not the spec's {}",
                region.name, region.from, spec.env.region
            ));
            spec.env.region = region.name.clone();
        }
        spec
    }

    /// The environment `destroy` and `status` act on: from its spec when that is readable,
    /// else from the name alone (what it owns is found by its tags) in the region given.
    pub fn environment(&self, name: &str) -> Result<(EnvId, Option<Spec>), Error> {
        let path = self.spec_path(name);
        // What it owns is found by its tags: no release version is needed to destroy or list it.
        let inputs = VariableInputs::for_what_it_owns(vec![]);
        match inputs.and_then(|inputs| spec::load(&path, &inputs)) {
            Ok(spec) => {
                let spec = self.in_region(self.noted(spec));
                Ok((spec.env.clone(), Some(spec)))
            }
            Err(error) => {
                let env = env_name(&path, name);
                let Some(region) = &self.region else {
                    return Err(Error::NoSpecNoRegion { env, error });
                };
                let Some(project) = self.project.clone() else {
                    return Err(Error::NoSpecNoProject { env, error });
                };
                self.note(&format!(
                    "cannot use {} ({error}); working from tags alone in {} (from {})",
                    path.display(),
                    region.name,
                    region.from
                ));
                Ok((
                    EnvId {
                        project,
                        name: env,
                        region: region.name.clone(),
                    },
                    None,
                ))
            }
        }
    }

    /// The region for a command without a spec (`reap`).
    pub fn region_without_spec(&self) -> Result<&Region, Error> {
        self.region.as_ref().ok_or(Error::NoRegion)
    }

    /// A saved plan applies in the region it was made for. `--region` naming another is
    /// refused; another region in the environment is only noted.
    pub fn check_plan_region(&self, plan: &Plan) -> Result<(), Error> {
        let planned = &plan.env.region;
        match &self.region {
            Some(region) if region.name != *planned => match region.from {
                RegionSource::Flag => Err(Error::RegionWithSavedPlan {
                    given: region.name.clone(),
                    planned: planned.clone(),
                }),
                _ => {
                    self.note(&format!(
                        "applying in {planned}, where the plan was made: {} ({}) does not \
                         move a saved plan",
                        region.from, region.name
                    ));
                    Ok(())
                }
            },
            _ => Ok(()),
        }
    }

    /// A provider for `region`, as `REHEARSAL_PROVIDER` chose.
    pub async fn connect(&self, region: &str) -> Result<Arc<dyn Provider>, Error> {
        provider::connect(&self.provider, region).await
    }
}

/// The environment's name from its spec's path: `environments/prerelease.toml` → `prerelease`.
fn env_name(path: &Path, given: &str) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(given)
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn settings(flag: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, Error> {
        let global = GlobalArgs {
            verbose: 0,
            environments: PathBuf::from("environments"),
            region: flag.map(str::to_string),
            project: None,
            lock_timeout: None,
        };
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let colors = Colors {
            stdout: false,
            stderr: false,
        };
        Settings::from_env(&global, colors, |name| env.get(name).cloned())
    }

    fn region(flag: Option<&str>, env: &[(&str, &str)]) -> Option<(String, RegionSource)> {
        settings(flag, env)
            .unwrap()
            .region
            .map(|r| (r.name, r.from))
    }

    #[test]
    fn the_region_is_the_flag_then_aws_region_then_aws_default_region() {
        let both = [
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-west-2"),
        ];
        assert_eq!(
            region(Some("eu-central-1"), &both),
            Some(("eu-central-1".into(), RegionSource::Flag))
        );
        assert_eq!(
            region(None, &both),
            Some(("us-east-1".into(), RegionSource::AwsRegion))
        );
        assert_eq!(
            region(None, &both[1..]),
            Some(("us-west-2".into(), RegionSource::AwsDefaultRegion))
        );
        assert_eq!(region(None, &[]), None, "then the spec's");
    }

    #[test]
    fn an_empty_variable_is_unset() {
        let env = [("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "us-west-2")];
        assert_eq!(
            region(None, &env),
            Some(("us-west-2".into(), RegionSource::AwsDefaultRegion))
        );
    }

    #[test]
    fn the_provider_is_aws_unless_rehearsal_provider_names_a_fake_cloud() {
        let provider = |env: &[(&str, &str)]| settings(None, env).map(|s| s.provider);
        assert_eq!(provider(&[]).unwrap(), ProviderChoice::Aws);
        assert_eq!(
            provider(&[("REHEARSAL_PROVIDER", "aws")]).unwrap(),
            ProviderChoice::Aws
        );
        assert_eq!(
            provider(&[("REHEARSAL_PROVIDER", "fake:/tmp/cloud.json")]).unwrap(),
            ProviderChoice::Fake("/tmp/cloud.json".into())
        );
        for bad in ["gcp", "fake:"] {
            assert!(matches!(
                provider(&[("REHEARSAL_PROVIDER", bad)]),
                Err(Error::UnknownProvider { .. })
            ));
        }
    }
}
