//! Consent for what cannot be undone, as the engine decides it (`rules::consent`): which of a
//! plan's actions need it, what it records, and how routine retention is counted.

use super::*;
use rehearsal::rules::consent::{self, Destructions};

fn staging_at(version: &str) -> rehearsal::spec::Spec {
    SpecFile::write("staging", &shipped_text("staging")).load_with(&[("server_version", version)])
}

#[tokio::test]
async fn a_protected_delete_needs_consent_and_an_ephemeral_one_does_not() {
    let provider = production();
    converge(provider.clone(), &staging_at("3.1.0")).await;
    let text = shipped_text("staging");
    let without_service = text
        .split("[resources.ecs_service.server]")
        .next()
        .unwrap()
        .to_string();
    let spec = SpecFile::write("staging", &without_service).load();
    let plan = plan_for(provider.as_ref(), &spec).await;

    let refused = consent::check(&plan, &[]).expect_err("a delete in staging needs consent");
    assert_eq!(refused.missing.len(), 1);
    assert_eq!(refused.missing[0].address, addr("ecs_service.server"));
    assert_eq!(
        refused.hint(),
        "if that is meant, pass --allow-destroy ecs_service.server; if not, change the spec \
         back so that the plan keeps it"
    );
    let given = consent::check(&plan, &[addr("ecs_service.server")]).expect("consented");
    let plan = plan.with_consent(given);
    assert_eq!(plan.consent, [addr("ecs_service.server")]);
    // The consent is sealed into the plan: what `apply PLAN` reads needs nothing more.
    assert!(rehearsal::plan::integrity::check(&plan).is_empty());
    assert_eq!(
        consent::check(&plan, &[]),
        Ok(vec![addr("ecs_service.server")])
    );

    // The same delete in an ephemeral environment asks nothing.
    let mut ephemeral = plan.clone();
    ephemeral.protected = false;
    ephemeral.consent.clear();
    assert_eq!(consent::check(&ephemeral, &[]), Ok(vec![]));
}

#[tokio::test]
async fn revisions_beyond_keep_revisions_are_counted_as_retention_and_need_no_consent() {
    let provider = production();
    for version in ["3.1.0", "3.2.0", "3.3.0"] {
        converge(provider.clone(), &staging_at(version)).await;
    }
    let plan = plan_for(provider.as_ref(), &staging_at("3.4.0")).await;
    assert!(plan.protected);
    assert_eq!(consent::needed(&plan).len(), 0, "{:#?}", labels(&plan));
    assert_eq!(
        Destructions::of(&plan),
        Destructions {
            total: 1,
            holding_data: 0,
            retention: 1
        }
    );
}
