//! Servers cloned from production's, through the `rehearsal` binary against the emulator: the
//! clone is production's server (instance profile, metadata options, monitoring, EBS settings,
//! volumes, key pair), what production lost since its launch is a plan error, and what a plan,
//! an apply and a destroy ask of AWS does not grow one request per server.

use std::process::Command;

use aws_sdk_ec2::types::{Filter, Instance};

use crate::emulator::{Emulator, REGION, RecordedCall};
use crate::project::Project;

/// A production server launched the way a team that cares launches one, made with boto3 as
/// the project's seeding script makes production: an instance profile, IMDSv2 only with a hop
/// limit for containers, tags in the metadata, detailed monitoring, EBS optimisation, a key
/// pair, a 30 GiB gp3 root and a 100 GiB gp3 data volume that outlives it.
struct Configured {
    instance_id: String,
    image: String,
    profile_arn: String,
}

const CONFIGURE: &str = r#"
import json, sys, boto3
kw = dict(endpoint_url=sys.argv[1], region_name=sys.argv[2],
          aws_access_key_id="testing", aws_secret_access_key="testing")
ec2, iam = boto3.client("ec2", **kw), boto3.client("iam", **kw)
iam.create_role(RoleName="production-server", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
    "Principal": {"Service": "ec2.amazonaws.com"}}]}))
profile = iam.create_instance_profile(InstanceProfileName="production-server")["InstanceProfile"]
iam.add_role_to_instance_profile(InstanceProfileName="production-server", RoleName="production-server")
ec2.create_key_pair(KeyName="production-key")
subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
image = "ami-04681a1dbd79675a5"
run = ec2.run_instances(
    ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.medium", KeyName="production-key",
    SubnetId=subnet, IamInstanceProfile={"Arn": profile["Arn"]}, Monitoring={"Enabled": True},
    EbsOptimized=True,
    MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 2,
                     "HttpEndpoint": "enabled", "InstanceMetadataTags": "enabled"},
    BlockDeviceMappings=[
        {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 30, "VolumeType": "gp3",
                                            "DeleteOnTermination": True}},
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 100, "VolumeType": "gp3",
                                           "DeleteOnTermination": False}}],
    TagSpecifications=[{"ResourceType": "instance",
                        "Tags": [{"Key": "Name", "Value": "configured-server"}]}])
print(json.dumps({"instance_id": run["Instances"][0]["InstanceId"], "image": image,
                  "profile_arn": profile["Arn"]}))
"#;

fn python(script: &str, args: &[&str]) -> serde_json::Value {
    let python = std::env::var("EMULATOR_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let out = Command::new(python)
        .args(["-c", script])
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn configure_production_server(em: &Emulator) -> Configured {
    let made = python(CONFIGURE, &[em.endpoint(), REGION]);
    Configured {
        instance_id: made["instance_id"].as_str().unwrap().to_owned(),
        image: made["image"].as_str().unwrap().to_owned(),
        profile_arn: made["profile_arn"].as_str().unwrap().to_owned(),
    }
}

/// The configured server has an instance profile: its clones keep it, by name.
const KEEPS_PROFILE: &str = "keep_from_production = [\"instance_profile\"]\n";

/// `environments/NAME.toml`: `servers` clones of the server tagged `Name = source`.
fn fleet_spec(name: &str, source: &str, servers: usize, extra: &str) -> String {
    let mut spec = format!(
        "[environment]\nproject = \"openchs\"\nname = \"{name}\"\nregion = \"{REGION}\"\n\
         lifecycle = \"ephemeral\"\n\n\
         [sources.ec2_instance.prod_server]\ntags = {{ Name = \"{source}\" }}\n"
    );
    for k in 1..=servers {
        spec.push_str(&format!(
            "\n[resources.ec2_instance.server{k}]\n\
             clone_of = \"${{source.ec2_instance.prod_server.id}}\"\n\
             instance_type = \"t3.small\"\n\
             user_data = \"\"\"\n#!/bin/bash\necho 'SERVER={k}' >> /etc/openchs/env\n\"\"\"\n{extra}"
        ));
    }
    spec
}

async fn ec2(em: &Emulator) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&em.sdk_config().await)
}

/// The environment's live instances, as the emulator holds them.
async fn clones(em: &Emulator, env: &str) -> Vec<Instance> {
    let out = ec2(em)
        .await
        .describe_instances()
        .filters(
            Filter::builder()
                .name("tag:rehearsal:env")
                .values(env)
                .build(),
        )
        .filters(
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .build(),
        )
        .send()
        .await
        .expect("describe instances");
    out.reservations()
        .iter()
        .flat_map(|r| r.instances().iter().cloned())
        .collect()
}

fn count(calls: &[RecordedCall], action: &str) -> usize {
    calls.iter().filter(|c| c.action == action).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_launches_with_productions_profile_metadata_monitoring_and_volumes() {
    let em = Emulator::start();
    em.seed_production();
    let prod = configure_production_server(&em);
    let project = Project::against(em.endpoint());
    project.write(
        "environments/fidelity.toml",
        &fleet_spec("fidelity", "configured-server", 1, KEEPS_PROFILE),
    );

    em.start_recording();
    project
        .rehearsal(&["plan", "fidelity"])
        .run()
        .exits(0)
        .stdout_has(&format!("instance_profile = {}", prod.profile_arn))
        .stdout_has("key_name = production-key")
        .stdout_has("monitoring = true")
        .stdout_has("ebs_optimized = true");
    project
        .rehearsal(&["apply", "plans/fidelity.plan.json"])
        .run()
        .exits(0);
    let calls = em.stop_recording();

    let found = clones(&em, "fidelity").await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let clone = &found[0];
    assert_ne!(clone.instance_id(), Some(prod.instance_id.as_str()));
    assert_eq!(clone.image_id(), Some(prod.image.as_str()));
    assert_eq!(clone.key_name(), Some("production-key"));
    assert_eq!(
        clone.iam_instance_profile().and_then(|p| p.arn()),
        Some(prod.profile_arn.as_str())
    );
    let metadata = clone.metadata_options().expect("metadata options");
    assert_eq!(metadata.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(metadata.http_put_response_hop_limit(), Some(2));
    assert_eq!(
        metadata.http_endpoint().map(|t| t.as_str()),
        Some("enabled")
    );
    assert_eq!(
        metadata.instance_metadata_tags().map(|t| t.as_str()),
        Some("enabled")
    );
    assert_eq!(
        clone
            .monitoring()
            .and_then(|m| m.state())
            .map(|s| s.as_str()),
        Some("enabled")
    );
    assert_eq!(clone.ebs_optimized(), Some(true));

    // Its volumes: production's sizes and types, on the same devices.
    let volumes = ec2(&em)
        .await
        .describe_volumes()
        .filters(
            Filter::builder()
                .name("attachment.instance-id")
                .values(clone.instance_id().unwrap())
                .build(),
        )
        .send()
        .await
        .expect("describe volumes");
    let mut held: Vec<(String, i32, String)> = volumes
        .volumes()
        .iter()
        .map(|v| {
            (
                v.attachments()[0].device().unwrap_or_default().to_owned(),
                v.size().unwrap_or_default(),
                v.volume_type()
                    .map(|t| t.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    held.sort();
    assert_eq!(
        held,
        [
            ("/dev/sdf".to_owned(), 100, "gp3".to_owned()),
            ("/dev/xvda".to_owned(), 30, "gp3".to_owned())
        ]
    );
    // moto keeps no IOPS or throughput from a launch's mapping (it makes its volumes without
    // them): what rehearsal asked for is in the call itself.
    let run = calls
        .iter()
        .find(|c| c.action == "RunInstances")
        .expect("a RunInstances");
    for sent in [
        "Ebs.Iops=3000",
        "IamInstanceProfile.Arn=",
        "MetadataOptions.HttpTokens=required",
        "Monitoring.Enabled=true",
    ] {
        assert!(run.body.contains(sent), "{sent} not in {}", run.body);
    }

    // What AWS holds reads back as what the plan asked for.
    project
        .rehearsal(&["plan", "fidelity", "--detailed-exitcode"])
        .run()
        .exits(0);
    // A spec's own value wins over production's, and a changed one replaces the server.
    project.edit(
        "fidelity",
        "instance_type = \"t3.small\"",
        "instance_type = \"t3.small\"\nmonitoring = false",
    );
    project
        .rehearsal(&["plan", "fidelity", "--detailed-exitcode"])
        .run()
        .exits(2)
        .stdout_has("monitoring changed true → false");

    project
        .rehearsal(&["destroy", "fidelity", "--auto-approve"])
        .run()
        .exits(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn productions_image_or_key_pair_gone_since_launch_is_a_plan_error_with_a_hint() {
    let em = Emulator::start();
    em.seed_production();
    let prod = configure_production_server(&em);
    let project = Project::against(em.endpoint());
    project.write(
        "environments/fidelity.toml",
        &fleet_spec("fidelity", "configured-server", 1, KEEPS_PROFILE),
    );
    let client = ec2(&em).await;
    client
        .delete_key_pair()
        .key_name("production-key")
        .send()
        .await
        .expect("delete the key pair");
    project
        .rehearsal(&["plan", "fidelity"])
        .run()
        .exits(1)
        .stderr_has("environments/fidelity.toml:10:1: ec2_instance.server1: `key_name` comes from source.ec2_instance.prod_server.key_name, but key pair production-key has been deleted since that server was launched")
        .stderr_has("hint: set `key_name` in [resources.ec2_instance.server1]");

    client
        .deregister_image()
        .image_id(&prod.image)
        .send()
        .await
        .expect("deregister the image");
    project.edit(
        "fidelity",
        "instance_type = \"t3.small\"",
        "instance_type = \"t3.small\"\nkey_name = \"another-key\"",
    );
    project
        .rehearsal(&["plan", "fidelity"])
        .run()
        .exits(1)
        .stderr_has(&format!(
            "`image` comes from source.ec2_instance.prod_server.image, but image {} has been deregistered since that server was launched",
            prod.image
        ))
        .stderr_has("hint: set `image` in [resources.ec2_instance.server1]");
    assert!(
        clones(&em, "fidelity").await.is_empty(),
        "nothing was launched"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replan_costs_the_same_for_one_server_or_five_and_destroy_terminates_them_at_once() {
    let em = Emulator::start();
    em.seed_production();
    let mut replans = vec![];
    for servers in [1, 5] {
        let project = Project::against(em.endpoint());
        project.write(
            "environments/fleet.toml",
            &fleet_spec("fleet", "production-server", servers, ""),
        );
        project
            .rehearsal(&["apply", "fleet", "--auto-approve"])
            .run()
            .exits(0);
        assert_eq!(clones(&em, "fleet").await.len(), servers);

        em.start_recording();
        project
            .rehearsal(&["plan", "fleet", "--detailed-exitcode"])
            .run()
            .exits(0);
        let calls = em.stop_recording();
        assert_eq!(count(&calls, "DescribeInstanceAttribute"), 0);
        replans.push(calls.len());
        if servers == 1 {
            // Compared by digest, a new user data is still a change, and says so.
            project.edit("fleet", "'SERVER=1'", "'SERVER=one'");
            project
                .rehearsal(&["plan", "fleet", "--detailed-exitcode"])
                .run()
                .exits(2)
                .stdout_has("because user_data changed: the spec's is not the one it was created with (sha256 ");
        }

        em.start_recording();
        project
            .rehearsal(&["destroy", "fleet", "--auto-approve"])
            .run()
            .exits(0);
        let calls = em.stop_recording();
        let terminations: Vec<&RecordedCall> = calls
            .iter()
            .filter(|c| c.action == "TerminateInstances")
            .collect();
        assert_eq!(terminations.len(), 1, "one call for {servers} servers");
        assert_eq!(
            terminations[0].body.matches("InstanceId.").count(),
            servers,
            "{}",
            terminations[0].body
        );
        assert_eq!(count(&calls, "DescribeInstanceAttribute"), 0);
        assert!(clones(&em, "fleet").await.is_empty());
    }
    assert_eq!(
        replans[0], replans[1],
        "re-plan requests at 1 and 5 servers"
    );
}
