//! Checks: the pre-release is created, and then the spec says what must be true of it ("the
//! server answers", "the migrations ran"). Stories through the CLI against the fake cloud,
//! with a real HTTP server on loopback and real programs.

#[cfg(feature = "aws")]
use std::io::{BufRead, BufReader, Write};
#[cfg(feature = "aws")]
use std::net::TcpListener;
#[cfg(feature = "aws")]
use std::sync::{Arc, Mutex};

use crate::project::{PRERELEASE_OWNS, Project};

/// An HTTP server on loopback that answers each request with the next status of `statuses`
/// (the last one from then on) and records the request lines it was sent.
#[cfg(feature = "aws")]
struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

#[cfg(feature = "aws")]
impl Server {
    fn answering(statuses: &[u16]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(vec![]));
        let seen = requests.clone();
        let statuses = statuses.to_vec();
        std::thread::spawn(move || {
            for (i, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    header.clear();
                }
                seen.lock().unwrap().push(request_line.trim().to_string());
                let status = statuses[i.min(statuses.len() - 1)];
                let body = if status == 200 {
                    "ok".to_string()
                } else {
                    format!("starting: flyway migration {i} of 3")
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Server { port, requests }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn with_checks(project: &Project, checks: &str) {
    let spec = project.read("environments/prerelease.toml");
    project.write("environments/prerelease.toml", &format!("{spec}\n{checks}"));
}

#[cfg(feature = "aws")]
#[test]
fn apply_waits_for_the_server_to_answer_and_says_so() {
    let project = Project::new();
    let server = Server::answering(&[503, 200]);
    with_checks(
        &project,
        &format!(
            r#"
[checks.server_started]
http = "http://127.0.0.1:{}/ping?db=${{rds_instance.db.endpoint}}"
interval = "1s"
timeout = "1m"
"#,
            server.port
        ),
    );
    project
        .rehearsal(&["plan", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("Then these checks must pass, each retried until its timeout:")
        .stdout_has("check.server_started: GET http://127.0.0.1:");
    project
        .rehearsal(&["apply", "plans/prerelease.plan.json", "--auto-approve"])
        .run()
        .exits(0)
        .stdout_has("Checking prerelease (1 check, each retried for up to 1m)...")
        .stdout_has("passed   check.server_started: GET http://127.0.0.1:")
        .stdout_has(": answered 200 OK (2 attempts, ");
    // The check asked with the database's endpoint, read from what was created.
    let endpoint = project
        .cloud()
        .resources
        .values()
        .find(|r| r.kind == rehearsal::model::ResourceKind::RdsInstance && r.id == "prerelease-db")
        .and_then(|r| r.attributes.get("endpoint")?.as_str().map(String::from))
        .expect("the database has an endpoint");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[1], format!("GET /ping?db={endpoint} HTTP/1.1"));
}

/// The shipped pre-release's own check, as `make demo` runs it: its server stood in for by a
/// local one (the project copies specs without their checks, since no test cloud runs servers).
#[cfg(feature = "aws")]
#[test]
fn the_shipped_check_asks_the_server_under_test_for_ping() {
    let project = Project::new();
    project.write(
        "environments/prerelease.toml",
        &crate::support::shipped_text("prerelease"),
    );
    let server = Server::answering(&[200]);
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .env(
            "REHEARSAL_VAR_server_url",
            &format!("http://127.0.0.1:{}", server.port),
        )
        .run()
        .exits(0)
        .stdout_has("Checking prerelease (1 check, each retried for up to 15m)...")
        .stdout_has("passed   check.server_started: GET http://127.0.0.1:");
    assert_eq!(server.requests(), ["GET /ping HTTP/1.1"]);
}

#[test]
fn a_failed_check_fails_the_apply_with_its_output_and_leaves_the_environment() {
    let project = Project::new();
    with_checks(
        &project,
        r#"
[checks.migrations]
command = ["/bin/sh", "-c", "echo 'V41 applied'; echo 'V42__add_index failed: lock timeout' >&2; exit 3"]
interval = "1s"
timeout = "2s"
"#,
    );
    let failed = project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(6)
        .stdout_has("FAILED   check.migrations: /bin/sh -c echo")
        .stdout_has("exited with status 3 (2 attempts, ")
        .stdout_has("           | V41 applied\n           | V42__add_index failed: lock timeout")
        .stderr_has("error: 1 of 1 check of prerelease failed: migrations")
        .stderr_has("prerelease is left as it is, for you to look at");
    // Nothing was torn down: that is for the user to ask.
    assert_eq!(
        project.owned_by("prerelease"),
        PRERELEASE_OWNS,
        "{}",
        failed.show()
    );
}

#[test]
fn check_runs_the_checks_alone_once_the_cause_is_fixed() {
    let project = Project::new();
    with_checks(
        &project,
        r#"
[checks.migrations]
command = ["/bin/sh", "-c", "test -f migrations-done || { echo 'still migrating'; exit 1; }"]
interval = "1s"
timeout = "1s"
"#,
    );
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(6)
        .stdout_has("| still migrating");
    project.write("migrations-done", "");
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(0)
        .stdout_has("passed   check.migrations: /bin/sh -c test -f migrations-done")
        .stdout_has("exited with status 0 (1 attempt, ");
}

#[test]
fn a_check_of_what_does_not_exist_yet_says_to_apply_first() {
    let project = Project::new();
    with_checks(
        &project,
        r#"
[checks.db]
command = ["/bin/true", "${rds_instance.db.endpoint}"]
"#,
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .stdout_has(
            "FAILED   check.db: /bin/true ${rds_instance.db.endpoint}: \
             `${rds_instance.db.endpoint}` is not known: rds_instance.db does not exist; apply first",
        );
}

#[test]
fn check_without_checks_in_the_spec_says_how_to_declare_one() {
    Project::new()
        .rehearsal(&["check", "production"])
        .run()
        .exits(1)
        .stderr_has("error: production declares no checks")
        .stderr_has("[checks.server_started] http = \"http://...\"");
}

#[cfg(feature = "aws")]
#[test]
fn a_server_that_is_not_listening_is_named_with_the_reason() {
    let project = Project::new();
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    with_checks(
        &project,
        &format!(
            "[checks.server_started]\nhttp = \"http://127.0.0.1:{port}/ping\"\ninterval = \"1s\"\ntimeout = \"1s\"\n"
        ),
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .stdout_has("FAILED   check.server_started: GET http://127.0.0.1:")
        .stdout_has("cannot connect: Connection refused");
}

#[test]
fn a_check_is_declared_with_one_probe_and_sensible_durations() {
    for (check, error, hint) in [
        (
            "[checks.both]\nhttp = \"http://x\"\ncommand = [\"true\"]\n",
            "check `both` needs exactly one of `http` or `command`",
            "it runs without a shell",
        ),
        (
            "[checks.web]\nhttp = \"prerelease.example.com/ping\"\n",
            "`prerelease.example.com/ping` is not an http:// or https:// URL",
            "write the whole URL",
        ),
        (
            "[checks.web]\nhttp = \"http://${source.ec2_instance.prod_server.private_ip}/\"\n",
            "check `web` reads source.ec2_instance.prod_server",
            "a check looks at what this environment created",
        ),
        (
            "[checks.web]\nhttp = \"http://x/\"\ninterval = \"5m\"\ntimeout = \"1m\"\n",
            "the interval (300s) is longer than the timeout (60s)",
            "make the interval shorter than the timeout",
        ),
        (
            "[checks.empty]\ncommand = []\n",
            "the command is empty",
            "name the program first",
        ),
    ] {
        let project = Project::new();
        with_checks(&project, check);
        project
            .rehearsal(&["validate", "prerelease"])
            .run()
            .exits(1)
            .stderr_has("error: environments/prerelease.toml:")
            .stderr_has(error)
            .stderr_has(hint);
    }
}

// --- What a person reads while a check waits, and when it fails (issue 15, items 6 and 7) ------

#[test]
fn a_check_says_each_failed_attempt_as_it_waits() {
    let project = Project::new();
    with_checks(
        &project,
        r#"
[checks.migrations]
command = ["/bin/sh", "-c", "echo 'V42 still running'; exit 1"]
interval = "1s"
timeout = "3s"
"#,
    );
    let failed = project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(6)
        .stderr_has(
            "check.migrations: attempt 1 failed: exited with status 1; next try in 1s (gives up in 3s)\n",
        )
        .stderr_has("check.migrations: attempt 2 failed: exited with status 1; next try in 1s (gives up in 2s)\n");
    // One line per attempt that is tried again; the last one is the result, on stdout.
    let retries = failed.stderr.matches("check.migrations: attempt ").count();
    let attempts: usize = failed
        .stdout
        .split("exited with status 1 (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the result counts its attempts\n{}", failed.show()));
    assert_eq!(retries, attempts - 1, "{}", failed.show());
    assert!(
        !failed.stdout.contains("attempt 1 failed"),
        "{}",
        failed.show()
    );
}

#[test]
fn apply_skip_checks_runs_none_and_says_so() {
    let project = Project::new();
    with_checks(
        &project,
        "[checks.migrations]\ncommand = [\"/bin/false\"]\n",
    );
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--auto-approve",
            "--skip-checks",
            "--parallelism",
            "1",
        ])
        .run()
        .exits(0)
        .snapshot("apply-skip-checks");
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve", "--skip-checks"])
        .run()
        .exits(0)
        .stdout_has("Nothing to apply.\nNot run (--skip-checks): 1 check of the spec; `rehearsal check prerelease` runs it.\n");
}

/// Each way a check can fail, as the person at the terminal reads it: the result on stdout, the
/// attempts on stderr, the error and its hints.
#[test]
fn check_failure_a_command_that_exits_non_zero() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    with_checks(
        &project,
        r#"
[checks.migrations]
command = ["/bin/sh", "-c", "echo 'V41 applied'; echo 'V42__add_index failed: lock timeout' >&2; exit 3"]
interval = "1s"
timeout = "2s"
"#,
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .snapshot("check-a-command-that-exits-non-zero");
}

#[test]
fn check_failure_of_what_does_not_exist_yet() {
    let project = Project::new();
    with_checks(
        &project,
        "[checks.db]\ncommand = [\"/bin/true\", \"${rds_instance.db.endpoint}\"]\n",
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .snapshot("check-of-what-does-not-exist-yet");
}

#[test]
fn check_failure_a_service_ecs_rolled_back() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let mut cloud = project.cloud();
    assert!(cloud.roll_back_next_deployment(
        "server",
        &[
            "(service server) has reached a steady state.",
            "(service server) rolling back to deployment ecs-svc/1111.",
            "(service server) (deployment ecs-svc/2222) deployment failed: tasks failed to start.",
        ]
    ));
    project.set_cloud(&cloud);
    project
        .rehearsal(&[
            "apply",
            "prerelease",
            "--var",
            "server_version=3.2.0",
            "--auto-approve",
        ])
        .run()
        .exits(4);
    project
        .rehearsal(&["check", "prerelease", "--var", "server_version=3.2.0"])
        .run()
        .exits(6)
        .snapshot("check-a-service-ecs-rolled-back");
}

#[cfg(feature = "aws")]
#[test]
fn check_failure_a_server_that_answers_an_error() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let server = Server::answering(&[503]);
    with_checks(
        &project,
        &format!(
            "[checks.server_started]\nhttp = \"http://127.0.0.1:{}/ping\"\ninterval = \"1s\"\ntimeout = \"2s\"\n",
            server.port
        ),
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .snapshot("check-a-server-that-answers-an-error");
}

#[cfg(feature = "aws")]
#[test]
fn check_failure_nothing_listening() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    with_checks(
        &project,
        &format!(
            "[checks.server_started]\nhttp = \"http://127.0.0.1:{port}/ping\"\ninterval = \"1s\"\ntimeout = \"2s\"\n"
        ),
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .snapshot("check-nothing-listening");
}

#[cfg(feature = "aws")]
#[test]
fn check_failure_a_server_that_never_answers() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    // It accepts the connection (the kernel does, from the backlog) and says nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    with_checks(
        &project,
        &format!(
            "[checks.server_started]\nhttp = \"http://127.0.0.1:{port}/ping\"\ninterval = \"1s\"\ntimeout = \"2s\"\n"
        ),
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .snapshot("check-a-server-that-never-answers");
    drop(listener);
}

/// The shipped check's name resolves nowhere until the environment's DNS does: here a name that
/// resolves nowhere ever (`.invalid`, RFC 6761).
#[cfg(feature = "aws")]
#[test]
fn check_failure_a_name_that_resolves_nowhere() {
    let project = Project::new();
    project
        .rehearsal(&["apply", "prerelease", "--auto-approve"])
        .run()
        .exits(0);
    with_checks(
        &project,
        "[checks.server_started]\nhttp = \"http://prerelease.example.invalid:8080/ping\"\ninterval = \"1s\"\ntimeout = \"2s\"\n",
    );
    project
        .rehearsal(&["check", "prerelease"])
        .run()
        .exits(6)
        .snapshot("check-a-name-that-resolves-nowhere");
}
