//! How many AWS requests each command makes, as the number of servers grows: the shipped
//! pre-release spec with its server block repeated N times (N = 1, 20, 100), run by the
//! `rehearsal` binary against moto behind the counting proxy (`scripts/fault_proxy.py`, with
//! no faults), which counts every request by operation.
//!
//! `make bench` runs `cargo test --bench requests -- --bench` (the dev profile: the AWS SDK
//! is built once for the tests already). Without `--bench` (as `cargo test --all-targets`
//! runs it) it is a smoke run at N = 1 that still checks the counts are sane.
//! `BENCH_OPERATIONS=1` prints each command's requests by operation too.
//!
//! Terraform's figures for the same environment at N = 20 (issue 11: apply 267, destroy 294)
//! are the yardstick: rehearsal aims at a third of them or less.

#[allow(dead_code)]
#[path = "../tests/it/emulator.rs"]
mod emulator;
// The emulator puts the realism layer's ECS part in front of moto (moto's services never
// finish deploying): its proxy lives with the emulator tests' helpers.
#[allow(dead_code)]
#[path = "../tests/it/against_emulator.rs"]
mod against_emulator;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use emulator::{Emulator, REGION};

/// Terraform at N = 20 servers (issue 11).
const TERRAFORM_APPLY_20: u64 = 267;
const TERRAFORM_DESTROY_20: u64 = 294;

/// The counting proxy in front of the emulator, stopped on drop.
struct Proxy {
    child: Child,
    port: u16,
    endpoint: String,
}

impl Proxy {
    fn start(upstream: &str) -> Proxy {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fault_proxy.py");
        let python = std::env::var("EMULATOR_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let mut child = Command::new(python)
            .arg(script)
            .args(["--upstream", upstream, "--port", "0", "--fault-rate", "0"])
            .args(["--max-seconds", "1200"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the counting proxy starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut first)
            .expect("the proxy prints its URL");
        let endpoint = first.trim().to_owned();
        let port = endpoint
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the proxy printed {first:?}"));
        Proxy {
            child,
            port,
            endpoint,
        }
    }

    fn control(&self, method: &str, path: &str) -> serde_json::Value {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("reach the proxy");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
    }

    fn reset(&self) {
        self.control("POST", "/__proxy/reset-stats");
    }

    /// AWS requests since the last reset, in all and by operation.
    fn counted(&self) -> Counted {
        let stats = self.control("GET", "/__proxy/stats");
        Counted {
            total: stats["aws_requests"]
                .as_u64()
                .expect("stats count requests"),
            by_operation: stats["by_operation"]
                .as_object()
                .map(|ops| {
                    ops.iter()
                        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Default, Clone)]
struct Counted {
    total: u64,
    by_operation: BTreeMap<String, u64>,
}

/// The shipped pre-release spec with its server block repeated: `server` and `server2..N`.
fn spec_with_servers(n: usize) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prerelease.toml"),
    )
    .expect("the shipped pre-release spec");
    // Without its checks: they ask the server under test, which moto does not run (and they
    // cost no AWS request).
    let shipped = match shipped.find("\n# --- Checks") {
        Some(at) => shipped[..=at].to_string(),
        None => shipped,
    };
    let header = "[resources.ec2_instance.server]";
    let start = shipped.find(header).expect("a server block");
    let rest = &shipped[start + header.len()..];
    let end = rest
        .find("\n[")
        .map_or(shipped.len(), |i| start + header.len() + i + 1);
    let block = &shipped[start..end];
    let mut out = String::from(&shipped[..end]);
    for k in 2..=n {
        out.push_str(&block.replacen(header, &format!("[resources.ec2_instance.server{k}]"), 1));
    }
    out.push_str(&shipped[end..]);
    out
}

struct Project {
    dir: tempfile::TempDir,
    endpoint: String,
}

impl Project {
    fn new(endpoint: &str, servers: usize) -> Project {
        let dir = tempfile::tempdir().expect("a project directory");
        std::fs::create_dir_all(dir.path().join("environments")).unwrap();
        std::fs::create_dir_all(dir.path().join("plans")).unwrap();
        // The release version where the spec reads it (`from_file`).
        std::fs::create_dir_all(dir.path().join("server/version")).unwrap();
        std::fs::write(dir.path().join("server/version/minor_version"), "3.1.0\n").unwrap();
        std::fs::write(
            dir.path().join("environments/prerelease.toml"),
            spec_with_servers(servers),
        )
        .unwrap();
        Project {
            dir,
            endpoint: endpoint.to_owned(),
        }
    }

    /// Run `rehearsal ARGS`; its exit code must be `expected`.
    fn run(&self, args: &[&str], expected: i32) {
        let out = Command::new(env!("CARGO_BIN_EXE_rehearsal"))
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .output()
            .expect("run rehearsal");
        assert_eq!(
            out.status.code(),
            Some(expected),
            "rehearsal {}:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn plan_path(&self) -> PathBuf {
        self.dir.path().join("plans/prerelease.plan.json")
    }
}

/// One environment's life at N servers: requests per command.
struct Row {
    servers: usize,
    plan: Counted,
    apply: Counted,
    replan: Counted,
    destroy: Counted,
}

fn measure(proxy: &Proxy, servers: usize) -> Row {
    let project = Project::new(&proxy.endpoint, servers);
    let plan_file = project.plan_path();
    let plan_file = plan_file.to_str().expect("a UTF-8 path");
    let counted = |args: &[&str], expected: i32| {
        proxy.reset();
        project.run(args, expected);
        proxy.counted()
    };
    let plan = counted(&["plan", "prerelease", "--out", plan_file], 0);
    let apply = counted(&["apply", plan_file], 0);
    // 0: no changes.
    let replan = counted(&["plan", "prerelease", "--detailed-exitcode"], 0);
    let destroy = counted(&["destroy", "prerelease", "--auto-approve"], 0);
    Row {
        servers,
        plan,
        apply,
        replan,
        destroy,
    }
}

fn ratio(value: u64, terraform: u64) -> String {
    format!("{:.2}", value as f64 / terraform as f64)
}

fn print(rows: &[Row]) {
    println!(
        "AWS requests per command (pre-release clone with N servers, counted at a proxy in front of moto)"
    );
    println!(
        "{:>10} | {:>12} | {:>6} | {:>20} | {:>7}",
        "N servers", "plan (empty)", "apply", "re-plan (no changes)", "destroy"
    );
    for r in rows {
        println!(
            "{:>10} | {:>12} | {:>6} | {:>20} | {:>7}",
            r.servers, r.plan.total, r.apply.total, r.replan.total, r.destroy.total
        );
    }
    if let Some(r) = rows.iter().find(|r| r.servers == 20) {
        println!(
            "vs Terraform at N = 20: apply {} / {TERRAFORM_APPLY_20} = {}, destroy {} / {TERRAFORM_DESTROY_20} = {} (target: at most 0.33)",
            r.apply.total,
            ratio(r.apply.total, TERRAFORM_APPLY_20),
            r.destroy.total,
            ratio(r.destroy.total, TERRAFORM_DESTROY_20),
        );
    }
    if std::env::var_os("BENCH_OPERATIONS").is_some() {
        for r in rows {
            for (command, counted) in [
                ("plan", &r.plan),
                ("apply", &r.apply),
                ("re-plan", &r.replan),
                ("destroy", &r.destroy),
            ] {
                println!("N={} {command}: {}", r.servers, counted.total);
                for (op, n) in &counted.by_operation {
                    println!("    {n:>5}  {op}");
                }
            }
        }
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let sizes: &[usize] = if full { &[1, 20, 100] } else { &[1] };
    let started = Instant::now();
    let em = Emulator::start();
    em.seed_production();
    let proxy = Proxy::start(em.endpoint());
    let rows: Vec<Row> = sizes.iter().map(|n| measure(&proxy, *n)).collect();
    print(&rows);
    println!("({:.0} s)", started.elapsed().as_secs_f64());

    // Sane counts: every command asked AWS something, and a re-plan costs the same at any N.
    for r in &rows {
        for c in [&r.plan, &r.apply, &r.replan, &r.destroy] {
            assert!(c.total > 0, "a command made no requests at N={}", r.servers);
        }
        assert!(
            r.apply.total > r.plan.total,
            "apply makes what plan only reads"
        );
        assert_eq!(
            r.replan
                .by_operation
                .get("ec2:DescribeInstanceAttribute")
                .copied()
                .unwrap_or(0),
            0,
            "a re-plan reads no user data back"
        );
    }
    let replans: Vec<u64> = rows.iter().map(|r| r.replan.total).collect();
    assert!(
        replans.windows(2).all(|w| w[0] == w[1]),
        "re-plan requests grow with N: {replans:?}"
    );
}
