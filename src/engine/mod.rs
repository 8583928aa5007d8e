//! The engine: what turns a plan into changes and proves a teardown, with no AWS in it. It
//! reads the kinds' descriptions (`kinds`) and talks to AWS only through a `provider`.
//!
//! - [`workflow`]: the commands' shared road: observe, plan, re-check a saved plan;
//! - [`graph`]: a plan as an ordered DAG of steps (petgraph);
//! - [`wait`]: waiting for AWS, one bounded poller for every kind;
//! - [`ownership`]: what proves a resource is an environment's, before anything touches it;
//! - [`destroy`]: an environment's destroy plan, from its tags alone;
//! - [`import`]: what rehearsal did not create, taken into a protected environment;
//! - [`snapshot`]: safety snapshots of the databases an environment names, as a plan;
//! - [`status`]: what runs where, every environment's row from one scan per region;
//! - [`rollback`]: the revisions an environment keeps, and the plan back to the one before.
//!
//! The executor that carries plans out is `apply`; the plan itself is `plan`.

pub mod destroy;
pub mod graph;
pub mod import;
pub mod ownership;
pub mod promote;
pub mod refresh;
pub mod rollback;
pub mod snapshot;
pub mod status;
pub mod wait;
pub mod workflow;
