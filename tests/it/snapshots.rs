//! What the user reads, pinned with `insta`: a change to rendering shows up as a reviewable
//! snapshot diff (`cargo insta review`), not as a silent drift.

use std::path::Path;
use std::sync::Arc;

use rehearsal::plan::render::{Style, human};
use rehearsal::provider::fake::FakeProvider;
use rehearsal::spec::{self, SpecError, VariableInputs};

use crate::support::{
    REGION, converge, plan_for, prerelease_edited, report, shipped, shipped_text,
};

const PLAIN: Style = Style { color: false };

#[tokio::test]
async fn the_plan_for_a_fresh_prerelease() {
    let provider = FakeProvider::with_production(REGION);
    let plan = plan_for(&provider, &shipped("prerelease")).await;
    insta::assert_snapshot!(human(&plan, PLAIN));
}

#[tokio::test]
async fn the_plan_for_a_bigger_server_and_a_new_database_snapshot() {
    let provider = Arc::new(FakeProvider::with_production(REGION));
    converge(provider.clone(), &shipped("prerelease")).await;
    let edited = prerelease_edited(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.large\"",
    );
    let text = std::fs::read_to_string(&edited.path).unwrap().replace(
        "identifier = \"prerelease-from-prod\"",
        "identifier = \"prerelease-from-prod-2\"",
    );
    std::fs::write(&edited.path, text).unwrap();
    let plan = plan_for(provider.as_ref(), &edited.load()).await;
    insta::assert_snapshot!(human(&plan, PLAIN));
}

#[test]
fn a_misspelt_key_in_the_spec() {
    let text = shipped_text("prerelease").replace("instance_class =", "instance_clas =");
    let Err(SpecError::Invalid(d)) = spec::parse(
        Path::new("environments/prerelease.toml"),
        &text,
        &VariableInputs::default(),
    ) else {
        panic!("a misspelt key is an error");
    };
    insta::assert_snapshot!(report(SpecError::Invalid(d)));
}
