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
    /// The states AWS keeps reporting for a while once it is gone (`terminated`, `INACTIVE`):
    /// one, or a list (a task definition is INACTIVE once deregistered, DELETE_IN_PROGRESS once
    /// deleted, and stays so while anything still refers to it).
    #[serde(default, deserialize_with = "one_or_many")]
    pub gone: Vec<String>,
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

/// `"INACTIVE"` or `["INACTIVE", "DELETE_IN_PROGRESS"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// How long AWS takes to be consistent with itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consistency {
    pub not_found_after_create: u64,
    pub tagging_lag: u64,
    pub client_token_memory: u64,
}

/// How long parts of a deleted resource outlive it (`[lingering]`): read by the emulator's
/// realistic mode; rehearsal waits the refusals they cause out, however long they last.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lingering {
    pub ecs_tasks_stopping: u64,
    pub ecs_task_network_interface: u64,
    pub rds_network_interface: u64,
    pub ecs_task_definition_delete_in_progress: u64,
}

/// How ECS's deployment circuit breaker stops and rolls back a deployment
/// (`[circuit_breaker]`): read by the emulator's realistic mode.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// Seconds into a deployment whose tasks fail before it is FAILED.
    pub failed_after: u64,
    /// Seconds the rollback deployment takes to complete.
    pub rollback: u64,
}

#[derive(Debug, Deserialize)]
struct Table {
    consistency: Consistency,
    lingering: Lingering,
    circuit_breaker: CircuitBreaker,
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

pub fn lingering() -> &'static Lingering {
    &table().lingering
}

pub fn circuit_breaker() -> &'static CircuitBreaker {
    &table().circuit_breaker
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
            || self.gone.iter().any(|g| Self::is(status, g))
    }

    /// Removed, though AWS may still list it.
    pub fn is_gone(&self, status: &str) -> bool {
        Self::is(status, "deleted") || self.gone.iter().any(|g| Self::is(status, g))
    }

    /// The state AWS reports first once it is gone, if it keeps listing it.
    pub fn gone_state(&self) -> Option<&str> {
        self.gone.first().map(String::as_str)
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
        // Measured in minutes on AWS: what rehearsal must wait out rather than give up on.
        assert!(lingering().ecs_task_network_interface >= 60);
        assert!(lingering().rds_network_interface >= 60);
        assert!(circuit_breaker().failed_after > 0 && circuit_breaker().rollback > 0);
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
        let revision = lifecycle(ResourceKind::EcsTaskDefinition);
        assert!(revision.is_gone("INACTIVE") && revision.is_gone("DELETE_IN_PROGRESS"));
        assert_eq!(revision.gone_state(), Some("INACTIVE"));
        assert!(!revision.is_going_away("ACTIVE"));
    }
}
