//! What a private moto server holds after the `rehearsal` binary ran against it (a
//! [`Project::against`](crate::project::Project::against) the emulator), read with the SDK
//! directly, not through rehearsal; and the fault-injecting proxy put in front of it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use aws_sdk_ec2::types::Filter;

use crate::emulator::{Emulator, Production};

/// What the emulator holds for an environment: `kind id` of everything tagged
/// `rehearsal:env = env` that is not gone (volumes included: one left behind bills), found
/// with the SDK directly.
pub async fn tagged(em: &Emulator, env: &str) -> Vec<String> {
    let config = em.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);
    let ecs = aws_sdk_ecs::Client::new(&config);
    let mut found = vec![];

    let instances = ec2
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rehearsal:env")
                .values(env)
                .build(),
        )
        .send()
        .await
        .expect("describe instances");
    for r in instances.reservations() {
        for i in r.instances() {
            let state = i
                .state()
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string())
                .unwrap_or_default();
            if state != "terminated" {
                found.push(format!(
                    "ec2 {} {state}",
                    i.instance_id().unwrap_or_default()
                ));
            }
        }
    }
    let volumes = ec2
        .describe_volumes()
        .filters(
            Filter::builder()
                .name("tag:rehearsal:env")
                .values(env)
                .build(),
        )
        .send()
        .await
        .expect("describe volumes");
    for v in volumes.volumes() {
        let state = v.state().map(|s| s.as_str()).unwrap_or_default();
        if state != "deleted" {
            found.push(format!(
                "volume {} {state}",
                v.volume_id().unwrap_or_default()
            ));
        }
    }
    let ours = |tags: &[aws_sdk_rds::types::Tag]| {
        tags.iter()
            .any(|t| t.key() == Some("rehearsal:env") && t.value() == Some(env))
    };
    for db in rds
        .describe_db_instances()
        .send()
        .await
        .expect("describe dbs")
        .db_instances()
    {
        if ours(db.tag_list()) {
            found.push(format!(
                "rds {}",
                db.db_instance_identifier().unwrap_or_default()
            ));
        }
    }
    let snapshots = rds
        .describe_db_snapshots()
        .snapshot_type("manual")
        .send()
        .await
        .expect("describe snapshots");
    for s in snapshots.db_snapshots() {
        if ours(s.tag_list()) {
            found.push(format!(
                "snapshot {}",
                s.db_snapshot_identifier().unwrap_or_default()
            ));
        }
    }
    let ecs_ours = |tags: &[aws_sdk_ecs::types::Tag]| {
        tags.iter()
            .any(|t| t.key() == Some("rehearsal:env") && t.value() == Some(env))
    };
    let clusters = ecs
        .list_clusters()
        .send()
        .await
        .expect("list clusters")
        .cluster_arns()
        .to_vec();
    if !clusters.is_empty() {
        let described = ecs
            .describe_clusters()
            .set_clusters(Some(clusters.clone()))
            .include(aws_sdk_ecs::types::ClusterField::Tags)
            .send()
            .await
            .expect("describe clusters");
        for c in described.clusters() {
            if ecs_ours(c.tags()) && c.status() == Some("ACTIVE") {
                found.push(format!("cluster {}", c.cluster_name().unwrap_or_default()));
            }
        }
    }
    for cluster in &clusters {
        let services = ecs
            .list_services()
            .cluster(cluster)
            .send()
            .await
            .expect("list services");
        if services.service_arns().is_empty() {
            continue;
        }
        let described = ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(services.service_arns().to_vec()))
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .expect("describe services");
        for s in described.services() {
            if ecs_ours(s.tags()) && s.status() != Some("INACTIVE") {
                found.push(format!("service {}", s.service_arn().unwrap_or_default()));
            }
        }
    }
    let task_definitions = ecs
        .list_task_definitions()
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await
        .expect("list task definitions");
    for arn in task_definitions.task_definition_arns() {
        let d = ecs
            .describe_task_definition()
            .task_definition(arn)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await
            .expect("describe task definition");
        if ecs_ours(d.tags()) {
            found.push(format!("task-definition {arn}"));
        }
    }
    let groups = ec2
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("tag:rehearsal:env")
                .values(env)
                .build(),
        )
        .send()
        .await
        .expect("describe security groups");
    for g in groups.security_groups() {
        found.push(format!(
            "security-group {}",
            g.group_id().unwrap_or_default()
        ));
    }
    // Records carry no tags: the owner records (`_rehearsal.<name>` TXT) naming the environment,
    // and the records they stand for.
    found.extend(dns_records(em, env).await);
    found.sort();
    found
}

/// The DNS records an environment owns, in every hosted zone: one entry per owner record
/// (`_rehearsal.<name>` TXT naming the environment) with the record it stands for,
/// `dns prerelease.example.com. A 10.0.1.5`, or `dns prerelease.example.com. (owner only)`.
pub async fn dns_records(em: &Emulator, env: &str) -> Vec<String> {
    let route53 = aws_sdk_route53::Client::new(&em.sdk_config().await);
    let mut found = vec![];
    let zones = route53
        .list_hosted_zones()
        .send()
        .await
        .expect("list hosted zones");
    for zone in zones.hosted_zones() {
        let sets = route53
            .list_resource_record_sets()
            .hosted_zone_id(zone.id())
            .send()
            .await
            .expect("list record sets");
        let sets = sets.resource_record_sets();
        for owner in sets.iter().filter(|s| {
            s.name().starts_with("_rehearsal.")
                && s.resource_records()
                    .iter()
                    .any(|r| r.value().contains(&format!("\"rehearsal:env={env}\"")))
        }) {
            let name = &owner.name()["_rehearsal.".len()..];
            let records: Vec<String> = sets
                .iter()
                .filter(|s| s.name() == name && s.r#type().as_str() != "TXT")
                .map(|record| {
                    let values: Vec<&str> = record
                        .resource_records()
                        .iter()
                        .map(|r| r.value())
                        .collect();
                    format!("{} {}", record.r#type().as_str(), values.join(","))
                })
                .collect();
            if records.is_empty() {
                found.push(format!("dns {name} (owner only)"));
            } else {
                found.push(format!("dns {name} {}", records.join(" ")));
            }
        }
    }
    found
}

/// Production as AWS describes it: the server, the database, the cluster, the service and the
/// task definition. Compared before and after, it proves rehearsal never touched a source.
pub async fn production(em: &Emulator, prod: &Production) -> String {
    let config = em.sdk_config().await;
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let rds = aws_sdk_rds::Client::new(&config);
    let ecs = aws_sdk_ecs::Client::new(&config);
    let server = ec2
        .describe_instances()
        .instance_ids(&prod.instance_id)
        .send()
        .await
        .expect("server");
    let db = rds
        .describe_db_instances()
        .db_instance_identifier(&prod.db_identifier)
        .send()
        .await
        .expect("db");
    let db_tags = rds
        .list_tags_for_resource()
        .resource_name(db.db_instances()[0].db_instance_arn().unwrap_or_default())
        .send()
        .await
        .expect("db tags");
    let cluster = ecs
        .describe_clusters()
        .clusters(&prod.cluster_arn)
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .expect("cluster");
    let service = ecs
        .describe_services()
        .cluster(&prod.cluster_arn)
        .services(&prod.service_arn)
        .send()
        .await
        .expect("service");
    let task = ecs
        .describe_task_definition()
        .task_definition(&prod.task_definition_arn)
        .send()
        .await
        .expect("task");
    // Tables the SDK keeps in a HashMap print in any order: taken out and printed sorted.
    let mut task = task.task_definition().cloned();
    let mut log_options = vec![];
    for c in task
        .iter_mut()
        .flat_map(|t| t.container_definitions.iter_mut().flatten())
    {
        if let Some(log) = c.log_configuration.as_mut() {
            let options = log.options.take().unwrap_or_default();
            log_options.push(options.into_iter().collect::<BTreeMap<_, _>>());
        }
    }
    // The response items, not the responses: those carry per-request ids.
    let described = format!(
        "{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}",
        server.reservations(),
        db.db_instances(),
        db_tags.tag_list(),
        cluster.clusters(),
        service.services(),
        task,
        log_options
    );
    // moto computes this one from the clock on every describe; it is not a change to production.
    described
        .lines()
        .scan(false, |skip, line| {
            let volatile = line.trim_start().starts_with("latest_restorable_time:");
            let keep = !volatile && !*skip;
            *skip = volatile;
            Some(keep.then_some(line))
        })
        .flatten()
        .collect::<Vec<_>>()
        .join("\n")
}

/// Production now is production before, or the lines that differ.
#[track_caller]
pub fn assert_unchanged(before: &str, after: &str) {
    let changed: Vec<String> = before
        .lines()
        .zip(after.lines())
        .filter(|(b, a)| b != a)
        .map(|(b, a)| format!("- {}\n+ {}", b.trim(), a.trim()))
        .collect();
    assert!(
        changed.is_empty() && before.lines().count() == after.lines().count(),
        "production changed:\n{}",
        changed.join("\n")
    );
}

/// The proxy in front of an emulator (`scripts/fault_proxy.py`), stopped on drop: it throttles
/// a share of the requests, holds each one for a while like a real API, and in realistic mode
/// behaves as AWS does where moto does not (`scripts/aws_realism.py`).
pub struct FaultProxy {
    child: Child,
    pub endpoint: String,
}

/// How the proxy behaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Proxying {
    /// Share of the AWS requests answered with throttling or a 503.
    pub fault_rate: f64,
    /// How long every forwarded request is held.
    pub delay_ms: u32,
    /// Realistic mode at this fraction of AWS's durations (`None`: moto as it is).
    pub realism: Option<f64>,
}

/// AWS's lifecycles at a hundredth of their durations: a restore takes 6 s instead of 10
/// minutes, which keeps the realistic stories to about a minute each.
pub const REALISTIC: f64 = 0.01;

impl FaultProxy {
    pub fn start(upstream: &str, how: Proxying) -> FaultProxy {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/fault_proxy.py");
        let mut command =
            Command::new(std::env::var("EMULATOR_PYTHON").unwrap_or_else(|_| "python3".into()));
        command
            .arg(script)
            .args([
                "--upstream",
                upstream,
                "--port",
                "0",
                "--seed",
                "11",
                "--max-seconds",
                "1800",
            ])
            .args([
                "--fault-rate",
                &how.fault_rate.to_string(),
                "--delay-ms",
                &how.delay_ms.to_string(),
            ]);
        if let Some(scale) = how.realism {
            command.args(["--realism", "--time-scale", &scale.to_string()]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the fault proxy starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut first)
            .expect("its URL");
        assert!(
            first.starts_with("http://127.0.0.1:"),
            "the proxy printed {first:?}"
        );
        FaultProxy {
            child,
            endpoint: first.trim().to_string(),
        }
    }

    /// POST a JSON body to one of the realistic layer's control endpoints
    /// (`/__proxy/realism/force`, ...); panics unless it answers 200.
    pub fn control(&self, path: &str, body: &serde_json::Value) {
        let out = Command::new("python3")
            .args([
                "-c",
                "import sys,urllib.request\n\
                 r=urllib.request.Request(sys.argv[1],data=sys.argv[2].encode(),method='POST',\
                 headers={'Content-Type':'application/json'})\n\
                 print(urllib.request.urlopen(r).status)",
            ])
            .arg(format!("{}{path}", self.endpoint))
            .arg(body.to_string())
            .output()
            .expect("control");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "200",
            "{path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Requests seen and faults injected so far.
    pub fn stats(&self) -> (u64, u64) {
        let out = Command::new("python3")
            .args(["-c", "import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1]).read().decode())"])
            .arg(format!("{}/__proxy/stats", self.endpoint))
            .output()
            .expect("stats");
        let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats are JSON");
        (
            stats["aws_requests"].as_u64().unwrap_or(0),
            stats["faults"]["total"].as_u64().unwrap_or(0),
        )
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
