//! A project checkout as a release engineer (or CI) has one, and the `rehearsal` binary run in
//! it: a fluent runner in the style of casey/just's test builder, so a CLI test reads like the
//! story it tells:
//!
//! ```ignore
//! project
//!     .rehearsal(&["plan", "prerelease"])
//!     .env("REHEARSAL_VAR_server_version", "3.2.0")
//!     .run()
//!     .exits(0)
//!     .stdout_has("Plan: 9 to create");
//! ```
//!
//! or pins everything the user sees, exit code, stdout and stderr together, as an `insta`
//! snapshot: `.run().snapshot("plan-prerelease")` (see [`Outcome::snapshot`]).
//!
//! A project talks to one cloud: the fake one kept in `cloud.json` in the project directory
//! (`REHEARSAL_PROVIDER=fake:PATH`, the CLI tests), or an AWS endpoint (the emulator tests).
//! Either way the binary runs with no terminal, `NO_COLOR=1`, and nothing from the environment
//! of the machine running the tests (no `AWS_REGION`, no `REHEARSAL_VAR_...`).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rehearsal::provider::fake::FakeCloud;
use serde_json::Value;
use tempfile::TempDir;

/// What the applied pre-release owns: the nine resources of its spec, and the volume its server
/// launched with.
pub const PRERELEASE_OWNS: usize = 10;

/// A project directory: a copy of `environments/`, `plans/` once something is planned, and
/// the cloud it talks to.
/// Where the project keeps its release version (the shipped specs' `from_file`).
pub const RELEASE_FILE: &str = "server/version/minor_version";

pub struct Project {
    dir: TempDir,
    cloud: Cloud,
}

enum Cloud {
    /// The fake cloud in `<project>/cloud.json`, seeded with production on first use.
    Fake,
    /// An AWS API at this endpoint (a private emulator, or a fault proxy in front of one).
    Endpoint(String),
}

impl Project {
    /// A project whose commands talk to the fake cloud kept in `cloud.json`.
    pub fn new() -> Project {
        Project::with(Cloud::Fake)
    }

    /// A project whose commands talk to the AWS API at `endpoint`, with test credentials and
    /// nothing from the host's AWS configuration.
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub fn against(endpoint: &str) -> Project {
        Project::with(Cloud::Endpoint(endpoint.to_string()))
    }

    fn with(cloud: Cloud) -> Project {
        let dir = tempfile::tempdir().expect("tempdir");
        let environments = dir.path().join("environments");
        std::fs::create_dir(&environments).unwrap();
        for entry in std::fs::read_dir(crate::support::environments_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                std::fs::write(
                    environments.join(path.file_name().unwrap()),
                    without_checks(&text),
                )
                .unwrap();
            }
        }
        // The release version where the checklist keeps it, which the shipped specs read.
        std::fs::create_dir_all(dir.path().join("server/version")).unwrap();
        std::fs::write(dir.path().join(RELEASE_FILE), "3.1.0\n").unwrap();
        Project { dir, cloud }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    /// `rehearsal ARGS...`, to be run in the project directory.
    pub fn rehearsal(&self, args: &[&str]) -> Run<'_> {
        Run {
            project: self,
            args: args.iter().map(|a| a.to_string()).collect(),
            env: vec![],
            file_size_limit: None,
            at: None,
        }
    }

    pub fn write(&self, relative: &str, text: &str) {
        std::fs::write(self.path(relative), text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
    }

    /// Replace text in `environments/SPEC.toml`, as a person editing it would. The text must
    /// be there: an edit that silently does nothing would make a test pass for the wrong reason.
    #[track_caller]
    pub fn edit(&self, spec: &str, from: &str, to: &str) {
        let relative = format!("environments/{spec}.toml");
        let text = self.read(&relative);
        assert!(text.contains(from), "{spec}.toml has no `{from}`");
        self.write(&relative, &text.replacen(from, to, 1));
    }

    /// What the fake cloud holds now.
    pub fn cloud(&self) -> FakeCloud {
        serde_json::from_str(&self.read("cloud.json")).expect("a fake cloud state file")
    }

    /// Replace what the fake cloud holds, as if AWS changed under rehearsal.
    pub fn set_cloud(&self, cloud: &FakeCloud) {
        self.write("cloud.json", &serde_json::to_string_pretty(cloud).unwrap());
    }

    /// How many resources in the fake cloud carry an environment's tag.
    /// (The applied pre-release owns [`PRERELEASE_OWNS`].)
    pub fn owned_by(&self, env: &str) -> usize {
        self.cloud()
            .resources
            .values()
            .filter(|r| r.tags.get("rehearsal:env").map(String::as_str) == Some(env))
            .count()
    }
}

/// What differs from one run of the same command line to the next, and its placeholder.
const FILTERS: &[(&str, &str)] = &[
    // RFC 3339: when a plan was made, when an environment expires.
    (
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
        "[TIME]",
    ),
    // The clock at the start of a progress line.
    (r"(?m)^\[\d{2}:\d{2}\] ", "[MM:SS] "),
    // A plan's id (a digest of its content, which holds times and ids).
    (r"\b[0-9a-f]{24}\b", "[PLAN-ID]"),
    // EC2 instance ids the fake cloud hands out (a counter) in the order creates reach it.
    (r"\bi-0{8}[0-9a-f]{9}\b", "i-[ID]"),
    // A final snapshot's name carries the time of the teardown.
    (r"-final-\d{8}t\d{6}\b", "-final-[STAMP]"),
    // A safety snapshot's identifier and address carry the time it was taken.
    (r"\d{8}([-_])\d{6}", "[STAMP]"),
    (r"rehearsal \d+\.\d+\.\d+\S*", "rehearsal [VERSION]"),
    // Other temporary directories (the project's own is `[PROJECT]`).
    (r"/tmp/\.tmp\w+", "[TEMP]"),
    // How long a check took and has left: whole seconds of a real clock.
    (r"(\(\d+ attempts?, )\d+s\)", "${1}[S]s)"),
    (r"gives up in [0-9dhms]+\)", "gives up in [T])"),
    // A loopback server's port, picked by the system.
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    // The resolver's words for a name it cannot find differ between systems.
    (
        r"(failed to lookup address information: )[A-Za-z ]+[a-z]",
        "${1}[NO SUCH NAME]",
    ),
];

/// One command line, built up fluently, then run.
pub struct Run<'a> {
    project: &'a Project,
    args: Vec<String>,
    env: Vec<(String, OsString)>,
    /// `ulimit -f`: no file may grow past this many blocks (512 bytes, or 1024 in bash).
    file_size_limit: Option<u32>,
    /// The time the binary reads from the system clock (libfaketime), `YYYY-MM-DD HH:MM:SS` UTC.
    at: Option<String>,
}

/// A time inside production's `[window]`: Thursday 2026-12-03, 11:00 in Maputo (CAT, UTC+2).
pub const IN_PRODUCTION_S_WINDOW: &str = "2026-12-03 09:00:00";

/// Where Debian's `faketime` package puts the preloaded library (`bash scripts/faketime.sh
/// install` installs it); the multi-threaded build, for tokio's threads.
const LIBFAKETIME: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
    "/usr/lib/faketime/libfaketimeMT.so.1",
];

impl Run<'_> {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// An environment variable holding any bytes, UTF-8 or not.
    pub fn env_bytes(mut self, key: &str, value: &[u8]) -> Self {
        use std::os::unix::ffi::OsStringExt;
        self.env
            .push((key.into(), OsString::from_vec(value.to_vec())));
        self
    }

    /// Run it as on a full disk: writing a file past a few kilobytes fails (EFBIG), as writing
    /// past the end of a full disk does (ENOSPC). The plan of pre-release is about 10 KB.
    pub fn on_a_full_disk(mut self) -> Self {
        self.file_size_limit = Some(4);
        self
    }

    /// Run it as if the system clock said `utc` (`2026-12-04 09:00:00`), through libfaketime:
    /// the built binary reads its one "now" from the clock as in production, only the clock is
    /// set. The clock runs on from there; monotonic time (tokio's timers) is left alone.
    pub fn at(mut self, utc: &str) -> Self {
        self.at = Some(utc.into());
        self
    }

    fn command(&self) -> Command {
        let project = self.project;
        let binary = env!("CARGO_BIN_EXE_rehearsal");
        let mut cmd = match self.file_size_limit {
            None => Command::new(binary),
            Some(blocks) => {
                // Past the limit, the kernel sends SIGXFSZ; ignored, the write fails instead.
                let mut sh = Command::new("/bin/sh");
                sh.arg("-c")
                    .arg(format!(
                        "ulimit -f {blocks}; trap '' XFSZ; exec \"$0\" \"$@\""
                    ))
                    .arg(binary);
                sh
            }
        };
        cmd.args(&self.args)
            .current_dir(project.dir.path())
            .env_clear()
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        match &project.cloud {
            Cloud::Fake => {
                let state = project.path("cloud.json");
                cmd.env("REHEARSAL_PROVIDER", format!("fake:{}", state.display()));
            }
            Cloud::Endpoint(endpoint) => {
                cmd.env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("HOME", project.dir.path())
                    .env("AWS_ENDPOINT_URL", endpoint)
                    .env("AWS_ACCESS_KEY_ID", "testing")
                    .env("AWS_SECRET_ACCESS_KEY", "testing")
                    .env("AWS_EC2_METADATA_DISABLED", "true");
            }
        }
        if let Some(utc) = &self.at {
            let library = LIBFAKETIME
                .iter()
                .find(|path| std::path::Path::new(path).exists())
                .expect("libfaketime: install it with `bash scripts/faketime.sh install`");
            cmd.env("LD_PRELOAD", library)
                .env("FAKETIME", format!("@{utc}"))
                .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
                .env("TZ", "UTC");
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Run it with its stdout a pipe whose reader has gone (`rehearsal status | head`, once
    /// `head` has had its lines): its exit code and stderr.
    pub fn run_with_stdout_closed(self) -> (i32, String) {
        let mut child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the rehearsal binary runs");
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("it ends");
        (
            output.status.code().expect("exited, not killed"),
            String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        )
    }

    /// Start it, to run beside others; [`Started::wait`] ends it.
    pub fn start(self) -> Started {
        let child = self
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the rehearsal binary runs");
        Started {
            command: format!("rehearsal {}", self.args.join(" ")),
            project: self.project.dir.path().to_path_buf(),
            child,
        }
    }

    /// Run it to the end.
    pub fn run(self) -> Outcome {
        let output = self.command().output().expect("the rehearsal binary runs");
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}={} ", v.to_string_lossy()))
            .collect();
        Outcome {
            command: format!(
                "{}{}rehearsal {}",
                self.at
                    .as_ref()
                    .map(|utc| format!("faketime '@{utc}' "))
                    .unwrap_or_default(),
                env.concat(),
                self.args.join(" ")
            ),
            project: self.project.dir.path().to_path_buf(),
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }

    /// Start it and SIGKILL it as soon as a progress line contains `marker`. Returns whether
    /// it was killed (false: it finished before the marker showed).
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub fn kill_when(self, marker: &str) -> bool {
        let mut child: Child = self
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("rehearsal starts");
        let stderr = child.stderr.take().expect("piped");
        let mut killed = false;
        let mut seen = vec![];
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.contains(marker) {
                child.kill().expect("SIGKILL");
                killed = true;
                break;
            }
            seen.push(line);
        }
        let status = child.wait().expect("reaped");
        if !killed {
            // What it did instead, for the failed assertion that follows.
            eprintln!(
                "rehearsal ended ({status}) without showing `{marker}`; its stderr:\n{}",
                seen.join("\n")
            );
        }
        killed
    }
}

/// A command line running.
pub struct Started {
    command: String,
    project: PathBuf,
    child: Child,
}

impl Started {
    pub fn wait(self) -> Outcome {
        let output = self.child.wait_with_output().expect("it ends");
        Outcome {
            command: self.command,
            project: self.project,
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }
}

/// What the user sees: the exit code, stdout and stderr.
pub struct Outcome {
    /// The command line, with the variables the test set before it.
    pub command: String,
    project: PathBuf,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The whole outcome, as a failed assertion shows it.
    pub fn show(&self) -> String {
        format!(
            "$ {}\n[exit {}]\n--- stdout\n{}--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn exits(self, code: i32) -> Self {
        assert_eq!(self.code, code, "wrong exit code\n{}", self.show());
        self
    }

    #[track_caller]
    pub fn stdout_has(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.show()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(self, text: &str) -> Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.show()
        );
        self
    }

    /// On stdout or stderr: for stories where which stream says it does not matter.
    #[track_caller]
    #[cfg_attr(not(feature = "aws"), allow(dead_code))]
    pub fn shows(self, text: &str) -> Self {
        assert!(
            self.stdout.contains(text) || self.stderr.contains(text),
            "neither stdout nor stderr has {text:?}\n{}",
            self.show()
        );
        self
    }

    /// Pin the whole outcome, exit code, stdout and stderr, as the snapshot
    /// `tests/it/snapshots/cli__NAME.snap`:
    ///
    /// ```text
    /// $ rehearsal plan prerelease
    /// [exit 0]
    /// --- stdout
    /// ...
    /// --- stderr
    /// ...
    /// ```
    ///
    /// What changes from run to run is replaced by a placeholder: the project's temporary
    /// directory (`[PROJECT]`), timestamps (`[TIME]`), progress clocks (`[MM:SS]`), plan ids
    /// (`[PLAN-ID]`), the fake cloud's instance ids (`i-[ID]`) and rehearsal's version.
    /// A changed snapshot fails the test with a diff; `INSTA_UPDATE=always cargo test` (or
    /// `cargo insta review`) accepts the new output.
    ///
    /// Steps that run side by side report progress in any order: snapshot an `apply` or a
    /// `destroy` with `--parallelism 1`.
    #[track_caller]
    pub fn snapshot(self, name: &str) -> Self {
        let project = self.project.display().to_string();
        let shown = self.show().replace(&project, "[PROJECT]");
        let mut settings = insta::Settings::clone_current();
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        for (pattern, replacement) in FILTERS {
            settings.add_filter(pattern, *replacement);
        }
        settings.bind(|| insta::assert_snapshot!(format!("cli__{name}"), shown));
        self
    }

    /// stdout is exactly the golden file `tests/it/golden/NAME`, byte for byte. With
    /// `UPDATE_GOLDEN=1` the file is written from stdout instead (then review it with `git diff`).
    #[track_caller]
    pub fn stdout_is_golden(self, name: &str) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
            std::fs::write(&path, &self.stdout)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
            return self;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read the golden file {} ({e}): run with UPDATE_GOLDEN=1 to write it",
                path.display()
            )
        });
        if self.stdout != golden {
            let first = golden
                .lines()
                .zip(self.stdout.lines())
                .position(|(g, o)| g != o)
                .unwrap_or_else(|| golden.lines().count().min(self.stdout.lines().count()));
            panic!(
                "stdout differs from {} from line {}; if the new output is right, run with \
                 UPDATE_GOLDEN=1 and review the diff\n--- golden\n{golden}--- stdout\n{}",
                path.display(),
                first + 1,
                self.stdout
            );
        }
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.show()))
    }
}

/// A shipped spec without its checks: everything from the `# --- Checks` line on. The checks of
/// the shipped pre-release reach its server, which no test cloud runs.
fn without_checks(text: &str) -> String {
    match text.find("\n# --- Checks") {
        Some(at) => text[..=at].to_string(),
        None => text.to_string(),
    }
}
