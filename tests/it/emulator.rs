//! A private AWS emulator per test: moto's server on a free loopback port, killed when the test
//! ends, and a fake production seeded into it by `scripts/seed_production.py`.
//!
//! Each test gets its own server because tests run in parallel and moto's state is global to a
//! server. Providers reach it through `AwsProvider::connect_with_endpoint`, never through
//! process-wide variables like `AWS_ENDPOINT_URL`, for the same reason.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rehearsal::aws::AwsProvider;
use serde::Deserialize;

pub const REGION: &str = "eu-west-1";

/// How long moto may take to answer after it is started.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `moto_server`, stopped on drop, behind the ECS part of the realistic layer.
///
/// moto's ECS services never finish deploying (`rolloutState` stays IN_PROGRESS, no task ever
/// runs), and rehearsal waits, as on AWS, until a service's rollout has COMPLETED. So every
/// emulator is reached through `scripts/aws_realism.py` with only its ECS behaviour on, at
/// time scale 0: deployments complete at once, as an instant AWS would. Everything else is
/// moto as it is. Tests that want AWS's pace put a realistic proxy in front of this one.
pub struct Emulator {
    child: Child,
    port: u16,
    /// What rehearsal and the tests talk to: the ECS layer in front of moto.
    endpoint: String,
    _ecs_layer: crate::against_emulator::FaultProxy,
    /// moto's log and its request recording.
    _dir: tempfile::TempDir,
}

/// What `scripts/seed_production.py` made.
#[derive(Debug, Clone, Deserialize)]
pub struct Production {
    pub vpc_id: String,
    pub subnet_id: String,
    pub security_groups: ProductionGroups,
    pub ami_id: String,
    pub instance_id: String,
    pub db_identifier: String,
    pub db_subnet_group: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub service_arn: String,
    /// The private hosted zone `example.com`.
    pub hosted_zone_id: String,
    /// production-igw, on the VPC.
    pub internet_gateway_id: String,
    /// production-nat, in the public subnet.
    pub nat_gateway_id: String,
    /// production-private: the route table of production's subnets, 0.0.0.0/0 to the NAT gateway.
    pub private_route_table_id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProductionGroups {
    pub server: String,
    pub db: String,
}

fn append_to(path: &Path) -> Stdio {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open moto's log file");
    Stdio::from(file)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// One HTTP/1.0 request to the loopback port: the status and the body, if anything answered.
fn http(port: u16, method: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    http_with(port, method, path, "")
}

fn http_with(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, Vec<u8>)> {
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut answer = vec![];
    stream.read_to_end(&mut answer).ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..split]);
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, answer[split + 4..].to_vec()))
}

/// One API call moto recorded: the action's name and the request's parameters as sent.
#[derive(Debug, Clone)]
pub struct RecordedCall {
    pub action: String,
    pub body: String,
    /// The request's URL: a REST call (Route 53) names what it reads in its path.
    pub url: String,
}

/// The Route 53 action a REST request is, by its method and path.
fn rest_action(method: &str, url: &str) -> Option<String> {
    let path = url.split("://").nth(1).unwrap_or(url);
    let path = &path[path.find('/')?..];
    let path = path.split('?').next()?;
    let action = match (method, path) {
        ("GET", p) if p.ends_with("/hostedzonesbyname") => "ListHostedZonesByName",
        ("GET", p) if p.ends_with("/hostedzone") => "ListHostedZones",
        ("POST", p) if p.ends_with("/hostedzone") => "CreateHostedZone",
        ("GET", p) if p.ends_with("/rrset") || p.ends_with("/rrset/") => "ListResourceRecordSets",
        ("POST", p) if p.ends_with("/rrset") || p.ends_with("/rrset/") => {
            "ChangeResourceRecordSets"
        }
        ("GET", p) if p.contains("/change/") => "GetChange",
        _ => return Some(format!("{method} {path}")),
    };
    Some(action.to_owned())
}

impl RecordedCall {
    fn parse(line: &str) -> Option<RecordedCall> {
        let record: serde_json::Value = serde_json::from_str(line).ok()?;
        let raw = record["body"].as_str().unwrap_or_default();
        let body = if record["body_encoded"].as_bool() == Some(true) {
            String::from_utf8_lossy(&aws_smithy_types::base64::decode(raw).ok()?).into_owned()
        } else {
            raw.to_owned()
        };
        // JSON protocols (ECS) name the action in a header, query protocols (EC2, RDS) in the body.
        let headers = record["headers"].as_object()?;
        let target = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
            .and_then(|(_, v)| v.as_str());
        let action = match target {
            Some(target) => target.rsplit('.').next()?.to_owned(),
            None => match body
                .split('&')
                .find_map(|pair| pair.strip_prefix("Action="))
            {
                Some(action) => action.to_owned(),
                // REST protocols (Route 53) name the action by method and path.
                None => rest_action(record["method"].as_str()?, record["url"].as_str()?)?,
            },
        };
        let url = record["url"].as_str().unwrap_or_default().to_owned();
        Some(RecordedCall { action, body, url })
    }
}

fn wait_until_up(child: &mut Child, port: u16, dir: &tempfile::TempDir) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status}); its log:\n{}", log_of(dir)));
        }
        if http(port, "GET", "/moto-api/").is_some_and(|(status, _)| status == 200) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no answer on port {port} within {}s; its log:\n{}",
                START_TIMEOUT.as_secs(),
                log_of(dir)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn log_of(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("moto.log")).unwrap_or_default()
}

impl Emulator {
    /// Start a fresh moto server and wait until it answers `GET /moto-api/`.
    pub fn start() -> Emulator {
        // `python3 -m moto.server` rather than the `moto_server` script: pip may put scripts
        // somewhere not on PATH, and the module is found wherever moto is importable.
        let python = std::env::var("EMULATOR_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        // The port is free when picked; should moto lose a race for it, try another.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let dir = tempfile::tempdir().expect("create a directory for moto's files");
            let log = dir.path().join("moto.log");
            std::fs::write(&log, "").expect("create moto's log");
            let child = Command::new(&python)
                .args([
                    "-m",
                    "moto.server",
                    "-H",
                    "127.0.0.1",
                    "-p",
                    &port.to_string(),
                ])
                .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
                .stdin(Stdio::null())
                .stdout(append_to(&log))
                .stderr(append_to(&log))
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {python} -m moto.server: {e}"));
            let mut child = child;
            if let Err(e) = wait_until_up(&mut child, port, &dir) {
                let _ = child.kill();
                let _ = child.wait();
                last_error = e;
                continue;
            }
            let layer = crate::against_emulator::FaultProxy::start(
                &format!("http://127.0.0.1:{port}"),
                crate::against_emulator::Proxying {
                    realism: Some(0.0),
                    ..Default::default()
                },
            );
            let layer_port: u16 = layer
                .endpoint
                .rsplit(':')
                .next()
                .and_then(|p| p.trim_end_matches('/').parse().ok())
                .expect("the layer's port");
            let only_ecs = r#"{"toggles": {"rds": false, "ec2": false, "ec2_not_found": false,
                "client_tokens": false, "ecs": true, "ecs_not_found": false,
                "tagging_lag": false, "sg_dependencies": false}, "route53_page_size": 300}"#;
            let answer = http_with(layer_port, "POST", "/__proxy/realism", only_ecs);
            assert!(
                matches!(answer, Some((200, _))),
                "the ECS layer took its settings: {answer:?}"
            );
            return Emulator {
                child,
                port,
                endpoint: layer.endpoint.clone(),
                _ecs_layer: layer,
                _dir: dir,
            };
        }
        panic!(
            "moto's server did not start: {last_error}\n\
             hint: run `make emulator-install` (or `scripts/emulator.sh install`)"
        );
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn moto_api(&self, method: &str, path: &str) -> Vec<u8> {
        match http(self.port, method, path) {
            Some((200, body)) => body,
            other => panic!(
                "{method} {path} on moto failed: {:?}",
                other.map(|(status, _)| status)
            ),
        }
    }

    /// Record every API call from now on (forgetting earlier ones).
    pub fn start_recording(&self) {
        self.moto_api("POST", "/moto-api/recorder/reset-recording");
        self.moto_api("POST", "/moto-api/recorder/start-recording");
    }

    /// Stop recording; the calls made since [`Emulator::start_recording`], in order.
    pub fn stop_recording(&self) -> Vec<RecordedCall> {
        self.moto_api("POST", "/moto-api/recorder/stop-recording");
        let recording = self.moto_api("GET", "/moto-api/recorder/download-recording");
        String::from_utf8_lossy(&recording)
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                RecordedCall::parse(line)
                    .unwrap_or_else(|| panic!("unreadable recorded call: {line}"))
            })
            .collect()
    }

    /// moto itself, without the ECS layer: for a realistic layer of a test's own in front.
    pub fn moto_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A provider that talks to this emulator only, with static test credentials.
    pub async fn provider(&self) -> AwsProvider {
        AwsProvider::connect_with_endpoint(REGION, self.endpoint())
            .await
            .expect("connect to the emulator")
    }

    /// Raw SDK configuration for moto itself (not the ECS layer), to check what it holds
    /// behind the provider's back.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.sdk_config_at(&format!("http://127.0.0.1:{}", self.port))
            .await
    }

    /// SDK configuration for what rehearsal talks to: ECS services as AWS shows them.
    pub async fn layer_sdk_config(&self) -> aws_config::SdkConfig {
        self.sdk_config_at(&self.endpoint).await
    }

    /// SDK configuration for another endpoint in front of this emulator (a realistic proxy).
    pub async fn sdk_config_at(&self, endpoint: &str) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await
    }

    /// Create the fake production with the project's seeding script.
    pub fn seed_production(&self) -> Production {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/seed_production.py");
        let python = std::env::var("EMULATOR_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let out = Command::new(&python)
            .arg(&script)
            .args(["--endpoint", &self.endpoint, "--region", REGION])
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap_or_else(|e| panic!("could not run {python} {}: {e}", script.display()));
        assert!(
            out.status.success(),
            "{} failed ({}):\n{}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{} printed something that is not its JSON summary ({e}):\n{}",
                script.display(),
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Exactly this child, by its handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
