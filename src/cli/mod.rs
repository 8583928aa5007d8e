//! The command line: clap types, and one file per command. Commands never see AWS types; they
//! get a `Provider`, the spec and the region from [`Settings`], resolved once before they run,
//! and end with an [`Error`] that [`render`] shows.

/// `println!` for what a command shows on stdout, except that a reader who went away
/// (`rehearsal status | head`) ends the output, not the command: nothing panics because a pipe
/// closed, and an apply never stops half-way for it. Results only; progress goes to stderr.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `print!` for stdout, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

mod apply;
mod approve;
mod check;
mod destroy;
mod graph;
mod import;
mod init;
mod make;
mod output;
mod plan;
mod promote;
mod provider;
mod reap;
mod refresh;
mod release_op;
mod report;
mod revisions;
mod rollback;
mod rules;
mod settings;
mod snapshot;
mod status;
mod targeting;
mod team;
mod validate;

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

pub use crate::Error;
pub use make::{MakeTarget, TARGET_ENV as MAKE_TARGET_ENV};
pub use provider::ENV_VAR as PROVIDER_ENV;
pub use report::{MAX_LINE, Placement, note, render};
pub use settings::{Colors, ProviderChoice, Region, RegionSource, Settings};

pub use crate::exit;

#[derive(Debug, Parser)]
#[command(
    name = "rehearsal",
    version,
    about = "Plan, apply and provably destroy release environments on AWS",
    long_about = "rehearsal clones production into a temporary pre-release environment from a \
                  declarative spec (environments/NAME.toml), shows a plan against live AWS, \
                  applies it in dependency order, and tears everything the environment owns down again.",
    after_help = "Examples:\n  rehearsal validate prerelease\n  rehearsal plan prerelease --var server_version=3.2.0\n  \
                  rehearsal apply plans/prerelease.plan.json\n  rehearsal destroy prerelease\n\n\
                  Environment: AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL as for \
                  every AWS tool; \
                  REHEARSAL_VAR_<name> sets a spec variable; REHEARSAL_PROVIDER=fake:STATE.json runs \
                  against an in-memory cloud kept in a file (for trying rehearsal without AWS); NO_COLOR."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Show logs on stderr (-v: info, -vv: debug, -vvv: trace, including AWS SDK calls).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Where environment specs live.
    #[arg(
        long,
        global = true,
        default_value = "environments",
        env = "REHEARSAL_ENVIRONMENTS"
    )]
    pub environments: PathBuf,
    /// The AWS region [default: AWS_REGION, else AWS_DEFAULT_REGION, else the spec's region; a
    /// saved plan keeps its own].
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// The project, when no spec says it (`destroy` and `status` from tags alone; `reap` only
    /// this project's environments) [default: the spec's `project`].
    #[arg(long, global = true)]
    pub project: Option<String>,
    /// How long a command that changes AWS waits for the environment's lock, e.g. 5m
    /// [default: 0, refuse at once and say who holds it].
    #[arg(long, global = true, value_name = "DURATION", value_parser = team::parse_lock_timeout)]
    pub lock_timeout: Option<std::time::Duration>,
}

/// Spec variables, shared by the commands that read a spec.
#[derive(Debug, Args, Clone, Default)]
pub struct VarArgs {
    /// Set a spec variable: --var server_version=3.2.0 (repeatable; beats REHEARSAL_VAR_<name>).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = crate::spec::parse_var_arg)]
    pub vars: Vec<(String, String)>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a spec: syntax, keys, types, references, cycles.
    #[command(after_help = "Example:\n  rehearsal validate prerelease")]
    Validate {
        /// Environment name (environments/NAME.toml) or path to a spec.
        env: String,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Diff a spec against live AWS and save the plan.
    #[command(
        after_help = "Examples:\n  rehearsal plan prerelease --var server_version=3.2.0\n  \
                            rehearsal plan prerelease --detailed-exitcode   # 0 no changes, 2 changes, 1 error, 64 usage\n  \
                            rehearsal plan prerelease --json | jq .summary\n  \
                            rehearsal plan prerelease --target ecs_service.server   # it and what it needs\n  \
                            rehearsal plan staging --allow-destroy ecs_service.server   # protected: consent to a delete"
    )]
    Plan(plan::PlanArgs),
    /// Render a saved plan.
    #[command(after_help = "Example:\n  rehearsal show plans/prerelease.plan.json")]
    Show {
        /// A plan file written by `rehearsal plan`.
        plan: PathBuf,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Carry out a saved plan, or plan an environment and apply it after confirmation.
    #[command(
        after_help = "Examples:\n  rehearsal apply plans/prerelease.plan.json\n  \
                            rehearsal apply prerelease                 # plans, shows, asks\n  \
                            rehearsal apply prerelease --auto-approve  # for CI\n  \
                            rehearsal apply prerelease --exclude dns_record.server   # and what depends on it\n  \
                            rehearsal apply production --override-window \"restore the login fix\"   # outside [window]"
    )]
    Apply(apply::ApplyArgs),
    /// Sign a saved plan off: an environment whose spec says `approvals = N` applies it only
    /// once N people other than the one applying it approved it.
    #[command(
        after_help = "Examples:\n  rehearsal approve plans/production.plan.json --comment \"reviewed 3.2.0\"\n  \
                            rehearsal approve plans/production.plan.json --auto-approve   # CI, as the reviewer"
    )]
    Approve(approve::ApproveArgs),
    /// Run the spec's checks against the environment as it is now (apply runs them too).
    #[command(
        after_help = "Example:\n  rehearsal check prerelease   # 0 all passed, 6 a check failed"
    )]
    Check(check::CheckArgs),
    /// Print the plan's dependency graph as DOT, with the ordered steps as comments.
    #[command(
        after_help = "Example:\n  rehearsal graph prerelease | dot -Tsvg > plan.svg\n  rehearsal graph prerelease --steps"
    )]
    Graph(graph::GraphArgs),
    /// Show what runs where: every environment of the project in one table, or what one owns.
    #[command(
        after_help = "Examples:\n  rehearsal status              # every environment: what runs, created, expires, last change\n  \
                            rehearsal status --json | jq '.environments[] | {name, services}'\n  \
                            rehearsal status prerelease   # what one environment owns, resource by resource"
    )]
    Status(status::StatusArgs),
    /// List the task-definition revisions an environment keeps, newest first, and which runs.
    #[command(
        after_help = "Examples:\n  rehearsal revisions staging\n  rehearsal revisions staging --json"
    )]
    Revisions(revisions::RevisionsArgs),
    /// Take a service back to the revision that ran before the last deploy (a plan, shown,
    /// then carried out).
    #[command(after_help = "Examples:\n  rehearsal rollback staging\n  \
                            rehearsal rollback staging server --auto-approve\n  \
                            rehearsal rollback staging --out plans/staging.rollback.json   # review, then `rehearsal apply` it")]
    Rollback(rollback::RollbackArgs),
    /// Give a protected environment's services the images another ran before its latest bump
    /// (a plan, shown, then carried out).
    #[command(
        after_help = "Examples:\n  rehearsal promote --from staging --to production\n  \
                            rehearsal promote --from staging --to production --pick current --auto-approve\n  \
                            rehearsal promote --from staging --to production --pick 4 --out plans/production.promote.json"
    )]
    Promote(promote::PromoteArgs),
    /// Delete everything an environment owns (found by its tags) and prove it is gone.
    #[command(after_help = "Examples:\n  rehearsal destroy prerelease --dry-run\n  \
                            rehearsal destroy prerelease --auto-approve\n  \
                            rehearsal destroy prerelease --region eu-west-1   # spec file missing or broken\n  \
                            rehearsal destroy prerelease --target ecs_cluster.main   # and what depends on it; the rest stays")]
    Destroy(destroy::DestroyArgs),
    /// Take a safety snapshot of each database an environment names, and wait until available.
    #[command(
        after_help = "Examples:\n  rehearsal snapshot production --reason \"before 3.2.0\"\n  \
                            rehearsal snapshot prerelease --auto-approve   # for CI"
    )]
    Snapshot(snapshot::SnapshotArgs),
    /// Replace a long-lived environment's database by a restore of a fresh snapshot of
    /// production's, keeping a snapshot of the copy it replaces.
    #[command(after_help = "Examples:\n  rehearsal refresh uat db\n  \
                            rehearsal refresh uat rds_instance.db --latest --auto-approve\n  \
                            rehearsal refresh uat db --out plans/uat.refresh.json   # review, then `rehearsal apply` it")]
    Refresh(refresh::RefreshArgs),
    /// Destroy every expired ephemeral environment in a region (a dry run unless --execute).
    #[command(
        after_help = "Example (a scheduled CI job):\n  rehearsal reap --region eu-west-1 --execute --auto-approve"
    )]
    Reap(reap::ReapArgs),
    /// Take an object rehearsal did not create into a protected environment (an administrator's
    /// one-time step).
    #[command(
        after_help = "Examples:\n  rehearsal import production ecs_service.server production/server\n  \
                            rehearsal import production ecs_task_definition.server server\n  \
                            rehearsal import production rds_instance.db production-db --auto-approve"
    )]
    Import(import::ImportArgs),
    /// Write a protected environment's spec from what is live, and import it.
    #[command(after_help = "Example (an administrator, once):\n  \
                            rehearsal init production-live --from-live --project openchs --region eu-west-1 \\\n    \
                            --service production/server --task-definition server --db production-db")]
    Init(init::InitArgs),
    /// Remove an environment's lock whose holder is gone (its id is in the refusal).
    #[command(
        after_help = "Example:\n  rehearsal force-unlock production 3f9c2a1b7d4e --auto-approve"
    )]
    ForceUnlock(team::ForceUnlockArgs),
    /// Show the journal: who changed what, when, with which plan, and how it ended.
    #[command(after_help = "Examples:\n  rehearsal history production\n  \
                            rehearsal history --json | jq '.[0]'")]
    History(team::HistoryArgs),
    /// Stop every change of an environment until it is resumed (CI's scheduled deploys too).
    #[command(
        after_help = "Example:\n  rehearsal pause production --reason \"incident 42: no deploys\""
    )]
    Pause(team::PauseArgs),
    /// Allow changes of a paused environment again.
    #[command(after_help = "Example:\n  rehearsal resume production")]
    Resume(team::ResumeArgs),
    /// Print shell completions.
    #[command(
        after_help = "Example:\n  rehearsal completions bash > /etc/bash_completion.d/rehearsal"
    )]
    Completions { shell: clap_complete::Shell },
}

/// Run a parsed command with its settings; the exit code on success.
pub async fn run(command: Command, settings: &Settings) -> Result<u8, Error> {
    let style = settings.colors.stdout();
    match command {
        Command::Validate { env, vars } => validate::run(settings, &env, vars),
        Command::Plan(args) => plan::run(settings, args, style).await,
        Command::Show { plan, json } => plan::show(&plan, json, style),
        Command::Apply(args) => apply::run(settings, args, style).await,
        Command::Approve(args) => approve::run(settings, args, style).await,
        Command::Check(args) => check::run(settings, args, style).await,
        Command::Graph(args) => graph::run(settings, args).await,
        Command::Status(args) => status::run(settings, args).await,
        Command::Revisions(args) => revisions::run(settings, args).await,
        Command::Rollback(args) => rollback::run(settings, args, style).await,
        Command::Promote(args) => promote::run(settings, args, style).await,
        Command::Destroy(args) => destroy::run(settings, args, style).await,
        Command::Snapshot(args) => snapshot::run(settings, args, style).await,
        Command::Refresh(args) => refresh::run(settings, args, style).await,
        Command::Reap(args) => reap::run(settings, args, style).await,
        Command::Import(args) => import::run(settings, args, style).await,
        Command::Init(args) => init::run(settings, args, style).await,
        Command::ForceUnlock(args) => team::force_unlock(settings, args).await,
        Command::History(args) => team::history(settings, args, style).await,
        Command::Pause(args) => team::pause(settings, args).await,
        Command::Resume(args) => team::resume(settings, args).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "rehearsal",
                &mut std::io::stdout(),
            );
            Ok(exit::SUCCESS)
        }
    }
}
