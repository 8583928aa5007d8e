//! EC2 clones of production's server.

use std::collections::BTreeMap;

use rehearsal::engine::wait;
use rehearsal::model::tags;
use rehearsal::provider::{DeleteOutcome, DeletePolicy, Provider};
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_clone_round_trips_updates_and_terminates() {
    let w = world().await;
    let p = &w.provider;
    let user_data =
        "#!/bin/bash\necho 'SERVER_VERSION=3.2.0' >> /etc/openchs/env\nsystemctl restart openchs\n";
    let req = request(
        "ec2_instance.server",
        json!({
            "clone_of": w.production.instance_id,
            "instance_type": "t3.small",
            "user_data": user_data,
            "tags": {"Name": "prerelease-server"},
        }),
    );
    let ready = create_ready(p, &req, "ec2_instance.server").await;
    assert_eq!(ready.status, "running");
    let live = observed(p, "ec2_instance.server").await.expect("observed");
    assert_round_trip(&req, &live);
    // Resolved from the source: production's image, subnet and security groups.
    assert_eq!(live.attributes["image"], json!(w.production.ami_id));
    assert_eq!(live.attributes["subnet"], json!(w.production.subnet_id));
    assert_eq!(
        live.attributes["security_groups"],
        json!([w.production.security_groups.server])
    );
    assert!(live.attributes["private_ip"].is_string());
    assert_eq!(live.attributes["state"], json!("running"));

    let raw = w
        .ec2
        .describe_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    let instance = &raw.reservations()[0].instances()[0];
    let raw_tags: BTreeMap<_, _> = instance
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    assert_eq!(raw_tags.get(tags::ENV), Some(&ENV));
    assert_eq!(raw_tags.get("Name"), Some(&"prerelease-server"));
    assert_eq!(
        raw_tags.get("rehearsal:input:clone_of"),
        Some(&w.production.instance_id.as_str())
    );
    assert!(!raw_tags.contains_key("Environment"));

    // Instance type: stop, modify, start, each step reported.
    let mut desired = req.attributes.clone();
    desired.insert("instance_type".into(), json!("t3.medium"));
    desired.insert("tags".into(), json!({"Name": "prerelease-server-2"}));
    let (update_op, progress) = op("ec2_instance.server");
    let changed = vec!["instance_type".to_owned(), "tags".to_owned()];
    let updating = p
        .update(&update_op, &live, &desired, &changed)
        .await
        .expect("update");
    let updated = wait::until_ready(p, &update_op, &updating)
        .await
        .expect("running again");
    assert_eq!(updated.status, "running");
    let messages = progress.messages();
    for step in [
        "stopping",
        "stopped",
        "changing type to t3.medium",
        "starting",
        "running",
    ] {
        assert!(
            messages.iter().any(|m| m.ends_with(step)),
            "no `{step}` in {messages:?}"
        );
    }
    let after = observed(p, "ec2_instance.server").await.unwrap();
    assert_round_trip(
        &CreateRequest {
            attributes: desired,
            ..req.clone()
        },
        &after,
    );
    let raw = w
        .ec2
        .describe_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.reservations()[0].instances()[0]
            .instance_type()
            .map(|t| t.as_str()),
        Some("t3.medium")
    );

    // Terminate; gone from observe; a second delete and a delete of an unknown id are fine.
    let (del_op, _) = op("ec2_instance.server");
    assert_eq!(
        p.delete(&del_op, &after, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    wait::until_gone(p, &del_op, &after)
        .await
        .expect("terminated");
    let raw = w
        .ec2
        .describe_instances()
        .instance_ids(&live.id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        raw.reservations()[0].instances()[0]
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str()),
        Some("terminated")
    );
    assert!(observed(p, "ec2_instance.server").await.is_none());
    assert_eq!(
        p.delete(&del_op, &after, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    let unknown = LiveResource {
        id: "i-0123456789abcdef0".into(),
        ..after.clone()
    };
    assert_eq!(
        p.delete(&del_op, &unknown, &DeletePolicy::default())
            .await
            .unwrap(),
        DeleteOutcome::Accepted
    );
    wait::until_gone(p, &del_op, &unknown)
        .await
        .expect("unknown counts as gone");

    w.assert_production_untouched().await;
}
