//! The fake production the example specs copy from: what `scripts/seed_production.py` seeds
//! into the emulator, as the fake cloud's sources.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{FakeCloud, FakeSource};
use crate::model::SourceKind;

impl FakeCloud {
    /// The fake production the example specs copy from.
    pub fn production(region: &str) -> FakeCloud {
        let obj = |v: Value| v.as_object().cloned().unwrap_or_default();
        let source = |kind, key: &str, cluster: Option<&str>, tags: &[(&str, &str)], attributes| {
            FakeSource {
                region: region.to_string(),
                kind,
                key: key.to_string(),
                cluster: cluster.map(str::to_string),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                attributes,
                unusable: BTreeMap::new(),
            }
        };
        FakeCloud {
            sources: vec![
                source(
                    SourceKind::Ec2Instance,
                    "i-0a1b2c3d4e5f60001",
                    None,
                    &[("Name", "production-server"), ("Environment", "production")],
                    obj(json!({
                        "id": "i-0a1b2c3d4e5f60001", "image": "ami-04681a1dbd79675a5",
                        "subnet": "subnet-0prod0001", "vpc": "vpc-0prod0001",
                        "security_groups": ["sg-0prodserver1"], "instance_type": "t3.medium",
                        "private_ip": "10.0.1.10", "key_name": "production", "state": "running",
                        "instance_profile": "arn:aws:iam::000000000000:instance-profile/production-server",
                        "metadata_options": {"http_tokens": "required", "hop_limit": 2,
                            "http_endpoint": "enabled", "instance_metadata_tags": "disabled"},
                        "monitoring": true, "ebs_optimized": true,
                        "volumes": [{"device": "/dev/xvda", "size": 30, "type": "gp3", "iops": 3000,
                            "throughput": 125, "delete_on_termination": true}]
                    })),
                ),
                source(
                    SourceKind::RdsInstance,
                    "production-db",
                    None,
                    &[],
                    obj(json!({
                        "identifier": "production-db",
                        "arn": format!("arn:aws:rds:{region}:000000000000:db:production-db"),
                        "engine": "postgres", "engine_version": "15.4", "instance_class": "db.t3.medium",
                        "endpoint": format!("production-db.fake.{region}.rds.amazonaws.com"), "port": 5432,
                        "subnet_group": "production-db-subnets", "security_groups": ["sg-0proddb0001"],
                        "parameter_group": "default.postgres15", "status": "available"
                    })),
                ),
                source(
                    SourceKind::EcsCluster,
                    "production",
                    None,
                    &[],
                    obj(json!({"name": "production", "status": "ACTIVE",
                        "arn": format!("arn:aws:ecs:{region}:000000000000:cluster/production")})),
                ),
                source(
                    SourceKind::EcsService,
                    "server",
                    Some("production"),
                    &[],
                    obj(
                        json!({"name": "server", "cluster": "production", "desired_count": 1,
                        "arn": format!("arn:aws:ecs:{region}:000000000000:service/production/server"),
                        "task_definition": format!("arn:aws:ecs:{region}:000000000000:task-definition/server:1")}),
                    ),
                ),
                source(
                    SourceKind::EcsTaskDefinition,
                    "server",
                    None,
                    &[],
                    obj(
                        json!({"family": "server", "revision": 1, "image": "example/openchs-server:3.0.0",
                        "arn": format!("arn:aws:ecs:{region}:000000000000:task-definition/server:1"),
                        "definition": production_task_definition(region)}),
                    ),
                ),
            ],
            resources: BTreeMap::new(),
            next_id: 1,
            client_tokens: BTreeMap::new(),
            images: BTreeMap::new(),
            subnets_without_egress: Default::default(),
            counters: BTreeMap::new(),
        }
    }
}

/// Production's server task definition, as `scripts/seed_production.py` registers it and the
/// AWS provider reads it back (the `definition` a clone copies).
fn production_task_definition(region: &str) -> Value {
    json!({
        "cpu": "512", "memory": "1024", "network_mode": "awsvpc",
        "requires_compatibilities": ["FARGATE"],
        "execution_role_arn": "arn:aws:iam::000000000000:role/production-server-execution",
        "task_role_arn": "arn:aws:iam::000000000000:role/production-server-task",
        "runtime_platform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "volumes": [{"name": "uploads"}],
        "containers": [{
            "name": "server", "image": "example/openchs-server:3.0.0", "cpu": 0, "essential": true,
            "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
            "environment": {"DATABASE_HOST": "production-db.production.internal",
                            "JAVA_OPTS": "-Xmx768m", "MAIL_ENABLED": "true"},
            "secrets": [{"name": "DATABASE_PASSWORD",
                "valueFrom": format!("arn:aws:ssm:{region}:000000000000:parameter/production/db-password")}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/production-server", "awslogs-region": region,
                "awslogs-stream-prefix": "server"}},
            "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:8080/ping || exit 1"],
                "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 120},
            "mountPoints": [{"sourceVolume": "uploads", "containerPath": "/var/uploads", "readOnly": false}],
            "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}]
        }]
    })
}
