//! AWS's lifecycles, read from `src/provider/lifecycles.toml`: the one table the fake provider,
//! the emulator's realistic mode and the benchmark all follow.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use crate::model::ResourceKind;

const TABLE: &str = include_str!("../provider/lifecycles.toml");

/// One phase of a transition: AWS reports `state` for about `seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Phase(pub String, pub u64);

impl Phase {
    pub fn state(&self) -> &str {
        &self.0
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.1)
    }
}

/// The states one kind passes through on AWS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lifecycle {
    /// From the create call to `ready`.
    pub create: Vec<Phase>,
    /// The state in which the resource is usable.
    pub ready: String,
    /// From a modify call back to `ready`.
    #[serde(default)]
    pub modify: Vec<Phase>,
    /// From the delete call to gone.
    pub delete: Vec<Phase>,
    /// The state AWS keeps reporting for a while once it is gone (`terminated`, `INACTIVE`).
    #[serde(default)]
    pub gone: Option<String>,
    #[serde(default)]
    pub stop: Vec<Phase>,
    #[serde(default)]
    pub stopped: Option<String>,
    #[serde(default)]
    pub start: Vec<Phase>,
    #[serde(default)]
    pub reboot: Vec<Phase>,
    /// States it never recovers from.
    #[serde(default)]
    pub failed: Vec<String>,
    /// States a wait ends in, which a later change can leave (a failed rollout).
    #[serde(default)]
    pub stuck: Vec<String>,
    /// States in which AWS deletes it only without a final snapshot.
    #[serde(default)]
    pub no_final_snapshot: Vec<String>,
}

/// How long AWS takes to be consistent with itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    pub not_found_after_create: u64,
    pub tagging_lag: u64,
    pub client_token_memory: u64,
}

#[derive(Debug, Deserialize)]
struct Table {
    consistency: Consistency,
    #[serde(flatten)]
    kinds: BTreeMap<String, Lifecycle>,
}

fn table() -> &'static Table {
    static PARSED: OnceLock<Table> = OnceLock::new();
    PARSED.get_or_init(|| toml::from_str(TABLE).expect("src/provider/lifecycles.toml is valid"))
}

/// The lifecycle of a kind on AWS.
pub fn lifecycle(kind: ResourceKind) -> &'static Lifecycle {
    table()
        .kinds
        .get(kind.as_str())
        .unwrap_or_else(|| panic!("src/provider/lifecycles.toml has no [{kind}]"))
}

pub fn consistency() -> &'static Consistency {
    &table().consistency
}

/// Words every kind uses once a delete was accepted.
const GOING: [&str; 3] = ["deleting", "deleted", "deprovisioning"];

impl Lifecycle {
    fn is(a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }

    pub fn is_ready(&self, status: &str) -> bool {
        Self::is(status, &self.ready)
    }

    /// Already being removed by AWS, or removed and still listed.
    pub fn is_going_away(&self, status: &str) -> bool {
        GOING.iter().any(|g| Self::is(status, g))
            || self.delete.iter().any(|p| Self::is(status, p.state()))
            || self.gone.as_deref().is_some_and(|g| Self::is(status, g))
    }

    /// Removed, though AWS may still list it.
    pub fn is_gone(&self, status: &str) -> bool {
        Self::is(status, "deleted") || self.gone.as_deref().is_some_and(|g| Self::is(status, g))
    }

    pub fn is_failed(&self, status: &str) -> bool {
        self.failed.iter().any(|f| Self::is(status, f))
    }

    /// A wait for it ends here, though it is not lost (see `stuck`).
    pub fn is_stuck(&self, status: &str) -> bool {
        self.stuck.iter().any(|f| Self::is(status, f))
    }

    /// AWS cannot take a final snapshot of it in this state.
    pub fn no_final_snapshot(&self, status: &str) -> bool {
        self.no_final_snapshot.iter().any(|f| Self::is(status, f))
    }

    pub fn is_stopped(&self, status: &str) -> bool {
        self.stopped.as_deref().is_some_and(|s| Self::is(status, s))
    }

    /// How long AWS takes from the create call to ready.
    pub fn create_duration(&self) -> Duration {
        self.create.iter().map(Phase::duration).sum()
    }

    pub fn delete_duration(&self) -> Duration {
        self.delete.iter().map(Phase::duration).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_every_kind_and_nothing_else() {
        for kind in ResourceKind::ALL {
            let l = lifecycle(*kind);
            assert!(!l.ready.is_empty());
            assert!(
                !l.is_going_away(&l.ready),
                "{kind}: ready is not going away"
            );
            assert!(!l.is_failed(&l.ready));
        }
        for name in table().kinds.keys() {
            assert!(
                name.parse::<ResourceKind>().is_ok(),
                "[{name}] is not a resource kind"
            );
        }
        assert!(consistency().client_token_memory >= 86_400);
    }

    #[test]
    fn states_are_classified_as_aws_names_them() {
        let db = lifecycle(ResourceKind::RdsInstance);
        assert!(db.is_failed("incompatible-restore"));
        assert!(db.is_going_away("deleting"));
        assert!(!db.is_going_away("backing-up"));
        assert_eq!(db.create_duration(), Duration::from_secs(600));
        let server = lifecycle(ResourceKind::Ec2Instance);
        assert!(server.is_going_away("shutting-down"));
        assert!(server.is_gone("terminated"));
        assert!(server.is_stopped("stopped"));
        assert!(lifecycle(ResourceKind::EcsService).is_going_away("DRAINING"));
    }
}
