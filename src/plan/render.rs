//! Plans for people: one block per change with its symbol and reason. The plan holds its
//! decisions as data ([`Reason`]); every sentence is made here.

use std::fmt::Write;

use serde_json::Value;

use super::{ActionKind, AttributeChange, FieldChange, PathStep, Plan, PlannedAction, Reason};
use crate::kinds::isolation::Decision;
use crate::model::input_digest;
use crate::rules::consent;
use crate::spec::refs::{self, Reference};

/// Colours, or none (`NO_COLOR`, no terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn action(&self, kind: ActionKind, text: &str) -> String {
        let code = match kind {
            ActionKind::Create => "32",
            ActionKind::Update => "33",
            ActionKind::Replace => "35",
            ActionKind::Delete => "31",
        };
        self.paint(text, code)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint(text, "1")
    }
}

pub fn human(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let env = format!("{} ({})", plan.env.name, plan.env.region);
    if plan.is_destroy() {
        let _ = writeln!(out, "Destroy plan for {}:", style.bold(&env));
        out.push_str(&partial(plan));
        if plan.has_changes() {
            let _ = writeln!(
                out,
                "rehearsal will delete {} resources it owns, in passes, and prove them gone:\n",
                plan.actions.len()
            );
        } else {
            let _ = writeln!(
                out,
                "nothing to destroy: it owns nothing in {}.",
                plan.env.region
            );
        }
        out.push_str(&teardown(plan, style));
        if plan.has_changes() {
            let _ = writeln!(
                out,
                "\nPlan: {} to delete{}.",
                plan.actions.len(),
                partial_summary(plan)
            );
            destructions(&mut out, plan);
        }
        return out;
    }
    out.push_str(&partial(plan));
    variables(&mut out, plan);
    if !plan.has_changes() {
        match plan.partial() {
            Some((considered, _)) => writeln!(
                out,
                "No changes. {env} matches {} in the {} this partial plan considered.",
                plan.spec_path.display(),
                crate::english::count(considered, "resource")
            ),
            None => writeln!(
                out,
                "No changes. {env} matches {}.",
                plan.spec_path.display()
            ),
        }
        .expect("writes to a String");
        checks(&mut out, plan);
        return out;
    }
    let _ = writeln!(
        out,
        "rehearsal will make these changes to {}:\n",
        style.bold(&env)
    );
    for action in &plan.actions {
        let symbol = format!("{:>3}", action.action.symbol());
        let _ = writeln!(
            out,
            "{} {}",
            style.action(action.action, &symbol),
            style.bold(&action.label())
        );
        let _ = writeln!(out, "      {}", reason(plan, action));
        registers(&mut out, action);
        final_snapshot(&mut out, action);
        if let Some(data) = consent::data_goes(action) {
            let _ = writeln!(out, "      data: {data}");
        }
        if action.action == ActionKind::Delete {
            continue;
        }
        let creates = matches!(action.action, ActionKind::Create | ActionKind::Replace);
        if action.safety_snapshot.is_some() {
            // The kind's note, less its way out: a safety snapshot is the point.
            let _ = writeln!(out, "      note: {}", crate::engine::snapshot::IO_NOTE);
        } else if let Some(note) = crate::kinds::describe(action.address.kind).create_note
            && creates
        {
            let _ = writeln!(out, "      note: {note}");
        }
        // A rollback's reason names both revisions; its ARNs are in the plan file.
        let changes = match action.reason {
            Reason::RolledBack { .. } => &[][..],
            _ => &action.changes[..],
        };
        for change in changes {
            if !change.fields.is_empty() {
                for field in &change.fields {
                    let _ = writeln!(out, "        {}", field_line(&change.name, field));
                }
                continue;
            }
            let after = match &change.after {
                Some(after) => revision_or_short(after),
                None => pending(action, &change.name),
            };
            let line = match (&action.action, &change.before) {
                _ if set_change(change, action).is_some() => {
                    set_change(change, action).unwrap_or_default()
                }
                (_, Some(before)) => {
                    format!("{}: {} → {after}", change.name, revision_or_short(before))
                }
                (ActionKind::Create, None) => format!("{} = {after}", change.name),
                (_, None) => format!("{}: (unset) → {after}", change.name),
            };
            let marker = if change.forces_replacement && action.action == ActionKind::Replace {
                "  # forces replacement"
            } else {
                ""
            };
            let _ = writeln!(out, "        {line}{marker}");
        }
        inherited(&mut out, action);
    }
    let _ = writeln!(
        out,
        "\nPlan: {} to create, {} to update, {} to replace, {} to delete{}.",
        plan.count(ActionKind::Create),
        plan.count(ActionKind::Update),
        plan.count(ActionKind::Replace),
        plan.count(ActionKind::Delete),
        partial_summary(plan)
    );
    destructions(&mut out, plan);
    if let Some(rollback) = &plan.rollback {
        rolled_back(&mut out, plan, rollback);
    }
    if let Some(refresh) = &plan.refresh {
        refreshed(&mut out, refresh);
    }
    if let Some(promote) = &plan.promote {
        promoted(&mut out, plan, promote);
    }
    checks(&mut out, plan);
    out
}

/// What a refresh plan does, in order and in words: the snapshot it takes of production's
/// database, the old copy's data kept, the delete first, and the outage that means.
fn refreshed(out: &mut String, refresh: &crate::engine::refresh::Refresh) {
    let db = &refresh.database;
    let _ = writeln!(out, "\nWhat this refresh does, in order:");
    let mut step = 0;
    let mut next = || {
        step += 1;
        step
    };
    let restored = match &refresh.fresh_snapshot {
        Some(fresh) => {
            let _ = writeln!(
                out,
                "  {}. snapshots {} as {fresh}, and waits until it is available ({db} is still up);",
                next(),
                refresh.from
            );
            format!("{fresh}, the newest snapshot of {}", refresh.from)
        }
        None => format!("the newest snapshot of {} there is then", refresh.from),
    };
    let _ = writeln!(
        out,
        "  {}. deletes {db}, first taking its final snapshot {}, which is kept (rehearsal:keep, \
         no expiry): {db}'s data as it was stays there;",
        next(),
        refresh.kept_snapshot
    );
    let _ = writeln!(
        out,
        "  {}. restores {db} from {restored}, under the same identifier (clients keep their host \
         name), with the spec's security groups, subnet group, public access and tags, and \
         waits until it is available.",
        next()
    );
    let minutes = refresh.outage_secs.div_ceil(60);
    let _ = writeln!(
        out,
        "Expected outage: {db} is unavailable from the delete in step {} until the restore is \
         available, about {minutes} minutes, longer for a large database. rehearsal deletes \
         first and then restores: it does not restore beside {db} and swap the two.",
        step - 1
    );
}

/// How many of the changes delete or replace what exists, how many of those hold data, and how
/// many are the spec's own retention; and the consent given to them.
fn destructions(out: &mut String, plan: &Plan) {
    let counted = consent::Destructions::of(plan);
    if counted.total == 0 {
        return;
    }
    let retention = match counted.retention {
        0 => String::new(),
        n => format!(", {n} routine retention (keep_revisions, [snapshots] keep)"),
    };
    let _ = writeln!(
        out,
        "Deletes and replaces: {} ({} holding data{retention}).",
        counted.total, counted.holding_data
    );
    if !plan.consent.is_empty() {
        let consented: Vec<String> = plan.consent.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(
            out,
            "Consent given (--allow-destroy): {}.",
            consented.join(", ")
        );
    }
}

/// The variables given from outside the spec, each with where its value came from: the
/// release version a plan runs is read before anything else. Defaults are in the spec itself.
fn variables(out: &mut String, plan: &Plan) {
    let Some(spec) = &plan.spec else { return };
    for (name, origin) in &spec.variable_origins {
        if origin == crate::spec::DEFAULT_ORIGIN {
            continue;
        }
        let value = plan.variables.get(name).map(String::as_str).unwrap_or("");
        let _ = writeln!(out, "Using {name} = {value} (from {origin}).");
    }
}

/// A task definition the plan registers: the revision it follows and what each container
/// runs, with the image it ran before where a revision stood. ECS numbers a family's revisions
/// in order and never reuses a number, a deregistered revision's included
/// (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html):
/// the plan knows the revision it follows, not the number the new one gets, which a revision
/// deregistered long ago, or registered by another hand before the apply, may have taken.
fn registers(out: &mut String, action: &PlannedAction) {
    let Some(registration) = registration(action) else {
        return;
    };
    let family = &registration.family;
    let _ = match &registration.after {
        Some(previous) => writeln!(
            out,
            "      registers: the next revision of {family}, after {previous}"
        ),
        None => writeln!(
            out,
            "      registers: the next revision of {family} (its number is known after apply)"
        ),
    };
    for run in &registration.runs {
        let image = run.image.as_deref().unwrap_or("(known after apply)");
        let _ = match &run.was {
            Some(before) => writeln!(
                out,
                "      runs: {} = {image} (was {before})",
                run.container
            ),
            None => writeln!(out, "      runs: {} = {image}", run.container),
        };
    }
}

/// A task definition a plan registers: its family, the revision it follows, what it runs.
#[derive(serde::Serialize)]
struct Registration {
    family: String,
    /// The revision it follows (`staging-server:2`), where one stands.
    after: Option<String>,
    runs: Vec<Runs>,
}

/// One container of a revision a plan registers: its image (`None` until the apply resolves
/// it) and the one it ran before, where the plan changes it.
#[derive(serde::Serialize)]
struct Runs {
    container: String,
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    was: Option<String>,
}

fn registration(action: &PlannedAction) -> Option<Registration> {
    use crate::kinds::ecs_task_definition::images;
    if action.address.kind != crate::model::ResourceKind::EcsTaskDefinition
        || !matches!(action.action, ActionKind::Create | ActionKind::Replace)
    {
        return None;
    }
    let desired = action.desired.as_ref()?;
    let after = match &action.reason {
        Reason::NewRevision { previous, .. } => Some(short_revision(previous)),
        Reason::PreviousGoingAway { id, .. } => Some(short_revision(id)),
        _ => action.live.as_ref().map(|live| short_revision(&live.id)),
    };
    let runs = images(desired.get("containers"))
        .into_iter()
        .map(|(container, image)| {
            let was = image_before(action, &container).filter(|was| Some(was) != image.as_ref());
            Runs {
                container,
                image,
                was,
            }
        })
        .collect();
    Some(Registration {
        family: desired
            .get("family")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned(),
        after: after.map(str::to_owned),
        runs,
    })
}

/// The image container `name` ran in the revision a plan follows, where the plan changes it.
fn image_before(action: &PlannedAction, name: &str) -> Option<String> {
    let containers = action.changes.iter().find(|c| c.name == "containers")?;
    containers
        .fields
        .iter()
        .find_map(|field| match field.path.as_slice() {
            [PathStep::Named(n), PathStep::Field(f)] if n == name && f == "image" => {
                field.before.as_ref()?.as_str().map(str::to_owned)
            }
            _ => None,
        })
}

/// A value for one line, where a task definition's ARN is its revision (`staging-server:2`):
/// shortened at the end, an ARN would lose the revision, the part that differs.
fn revision_or_short(value: &Value) -> String {
    match value.as_str() {
        Some(arn) if arn.starts_with("arn:") && arn.contains(":task-definition/") => {
            short_revision(arn).to_string()
        }
        _ => short(value),
    }
}

/// A value the apply resolves: which task definition's revision, when it is one.
fn pending(action: &PlannedAction, attribute: &str) -> String {
    let desired = action.desired.as_ref().and_then(|d| d.get(attribute));
    let revision_of = desired
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("${ecs_task_definition."))
        .and_then(|r| r.strip_suffix(".arn}"))
        .filter(|name| !name.contains(['$', '{', '}']));
    match revision_of {
        Some(name) => {
            format!("(the revision ecs_task_definition.{name} registers, known after apply)")
        }
        None => "(known after apply)".into(),
    }
}

/// What a rollback plan undoes and what it leaves as it is: the two revisions' differences,
/// the data, and what the spec still asks for.
fn rolled_back(out: &mut String, plan: &Plan, rollback: &crate::engine::rollback::Rollback) {
    let (from, to) = (
        short_revision(&rollback.from.arn),
        short_revision(&rollback.to.arn),
    );
    let _ = writeln!(out, "\nWhat differs, {from} → {to}:");
    if rollback.differences.is_empty() {
        let _ = writeln!(out, "  nothing but the revision number");
    }
    for change in &rollback.differences {
        for field in &change.fields {
            let _ = writeln!(out, "  {}", field_line(&change.name, field));
        }
    }
    let _ = writeln!(
        out,
        "\nThe data stays as it is: a rollback of code does not roll back the database, and the \
         schema may have moved. If the release of {from} migrated it, {to} will meet the migrated \
         schema."
    );
    match &rollback.snapshot {
        Some(snapshot) => {
            let _ = writeln!(
                out,
                "The newest snapshot of {}'s databases taken before {from} was registered: \
                 {snapshot}.",
                plan.env.name
            );
        }
        None => {
            let _ = writeln!(
                out,
                "{} owns no database snapshot taken before {from} was registered.",
                plan.env.name
            );
        }
    }
    let asks = rollback.spec_images.join(", ");
    // A clone that overrides no image (`init --from-live` writes production so) names none:
    // it copies its source's newest revision, whatever that holds.
    if rollback.spec_images.is_empty() {
        let _ = writeln!(
            out,
            "The spec names no image (it copies a source's newest revision, clone_of): the next \
             plan deploys what that revision holds; to stay, ask for {} in containers_override.",
            rollback.to.images.join(", ")
        );
        return;
    }
    if rollback.spec_images == rollback.to.images {
        let _ = writeln!(
            out,
            "The spec asks for {asks}, as {to} does: the next plan keeps it."
        );
    } else {
        let stay = match &rollback.stay_with {
            Some((name, value)) => format!("set {name} to {value} to stay"),
            None => format!(
                "change the spec to ask for {} to stay",
                rollback.to.images.join(", ")
            ),
        };
        let _ = writeln!(
            out,
            "The spec still asks for {asks}: the next plan rolls forward; {stay}."
        );
    }
}

/// A partial plan (`--target` / `--exclude`, see `crate::plan::targeting`): what was asked, what
/// came in or stayed out with it and why, and that the rest is not touched. Empty otherwise.
pub fn partial(plan: &Plan) -> String {
    let Some(t) = &plan.targeting else {
        return String::new();
    };
    let mut out = String::new();
    let list = |addresses: &[crate::model::Address]| {
        addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "A partial plan: {} of {} considered.",
        t.considered.len(),
        crate::english::count(t.total, "resource")
    );
    for target in &t.targets {
        let _ = writeln!(out, "  --target {target}");
    }
    for exclude in &t.excludes {
        let _ = writeln!(out, "  --exclude {exclude}");
    }
    let destroy = plan.is_destroy();
    for r in &t.pulled_in {
        let _ = if destroy {
            writeln!(
                out,
                "  {}: {} {} on it and must go first: included",
                r.address,
                list(&r.with),
                if r.with.len() == 1 {
                    "depends"
                } else {
                    "depend"
                }
            )
        } else {
            writeln!(out, "  {} needs {}: included", r.address, list(&r.with))
        };
    }
    for r in &t.left_out {
        let _ = if destroy {
            writeln!(
                out,
                "  {} excluded: it needs {}, which {} too",
                r.address,
                list(&r.with),
                if r.with.len() == 1 { "stays" } else { "stay" }
            )
        } else {
            writeln!(
                out,
                "  {} excluded: {} {} on it, left out too",
                r.address,
                list(&r.with),
                if r.with.len() == 1 {
                    "depends"
                } else {
                    "depend"
                }
            )
        };
    }
    let rest = t.total.saturating_sub(t.considered.len());
    if rest > 0 {
        let _ = writeln!(
            out,
            "The rest of {} ({}) is {}.",
            plan.env.name,
            crate::english::count(rest, "resource"),
            if destroy {
                "not destroyed and remains"
            } else {
                "not planned and not changed"
            }
        );
    }
    out.push('\n');
    out
}

/// ` (a partial plan: 2 of 9 resources considered)` for the summary line of a partial plan.
fn partial_summary(plan: &Plan) -> String {
    match plan.partial() {
        Some((considered, total)) => format!(
            " (a partial plan: {considered} of {} considered)",
            crate::english::count(total, "resource")
        ),
        None => String::new(),
    }
}

/// Where a promote plan's images come from, container by container, and what the spec file
/// still asks for.
fn promoted(out: &mut String, plan: &Plan, promote: &crate::engine::promote::Promote) {
    let _ = writeln!(out, "\nPromoted from {}, {}:", promote.from, promote.pick);
    for family in &promote.families {
        let _ = writeln!(
            out,
            "  {} ← {}'s {}",
            family.task_definition,
            promote.from,
            short_revision(&family.source.arn)
        );
        for c in &family.containers {
            let now = c.now.as_deref().unwrap_or("(nothing runs it)");
            let _ = writeln!(out, "    {}: {now} → {}", c.name, c.promoted);
        }
        let promoted: Vec<&str> = family
            .containers
            .iter()
            .map(|c| c.promoted.as_str())
            .collect();
        if family.follows_family {
            let _ = writeln!(
                out,
                "  The spec copies the newest revision of its family (clone_of), which the \
                 promoted one becomes: the next plan of {} keeps it.",
                plan.env.name
            );
            continue;
        }
        let asks = family.spec_images.join(", ");
        if family
            .spec_images
            .iter()
            .map(String::as_str)
            .eq(promoted.iter().copied())
        {
            let _ = writeln!(
                out,
                "  The spec asks for {asks} too: the next plan of {} keeps it.",
                plan.env.name
            );
            continue;
        }
        let stay = match &family.stay_with {
            Some((name, value)) => format!("set {name} to {value} to stay"),
            None => format!("change the spec to ask for {} to stay", promoted.join(", ")),
        };
        let _ = writeln!(
            out,
            "  The spec file still asks for {asks}: the next `rehearsal plan {}` goes back to \
             it; {stay}.",
            plan.env.name
        );
    }
}

/// A destroy plan's deletes, one line each in teardown order, with the final snapshot each
/// takes first; then what is kept.
pub fn teardown(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    for action in &plan.actions {
        let (status, id) = action
            .live
            .as_ref()
            .map(|l| (l.status.as_str(), l.id.as_str()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {:<34} {:<12} {id}",
            style.action(action.action, action.action.symbol()),
            action.address.to_string(),
            status,
        );
        final_snapshot(&mut out, action);
    }
    for kept in plan.destroy.iter().flat_map(|d| &d.kept) {
        let _ = writeln!(
            out,
            "  kept: {} {} (keep_after_destroy = true)",
            kept.address, kept.id
        );
    }
    out
}

/// The final snapshot a delete takes first, as the plan decided it, or why AWS cannot take it
/// in the state the resource is in.
fn final_snapshot(out: &mut String, action: &PlannedAction) {
    let Some(snapshot) = &action.final_snapshot else {
        return;
    };
    let impossible = action
        .live
        .as_ref()
        .and_then(crate::kinds::final_snapshot::impossible);
    if let Some(impossible) = impossible {
        let _ = writeln!(out, "      {impossible}");
        return;
    }
    let until = snapshot
        .tags
        .get(crate::model::tags::EXPIRES_AT)
        .map(|at| format!(", kept until {at}"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "      final snapshot first: {}{until}",
        snapshot.identifier
    );
}

/// What a clone takes from production that reaches production, and what the spec decided:
/// `task_role_arn = arn:…/production-server-task  # dropped`.
fn inherited(out: &mut String, action: &PlannedAction) {
    if action.inherited.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "        Inherited from production (reaches production):"
    );
    for item in &action.inherited {
        let value = if item.value.is_null() {
            "(read at launch)".to_string()
        } else {
            inherited_value(&item.value)
        };
        let decision = match &item.decision {
            Decision::Kept => "kept".to_string(),
            Decision::Dropped => "dropped".to_string(),
            Decision::Overridden { with: Some(with) } => {
                format!("overridden with {}", inherited_value(with))
            }
            Decision::Overridden { with: None } => "overridden (known after apply)".to_string(),
        };
        let _ = writeln!(out, "          {} = {value}  # {decision}", item.item);
    }
}

/// A log configuration as its driver and where it writes (`awslogs /ecs/server`); anything
/// else shortened in the middle.
fn inherited_value(value: &Value) -> String {
    let driver = value
        .get("logDriver")
        .and_then(Value::as_str)
        .map(str::to_string);
    match driver {
        Some(driver) => match value
            .pointer("/options/awslogs-group")
            .and_then(Value::as_str)
        {
            Some(group) => format!("{driver} {group}"),
            None => driver,
        },
        None => middle(value),
    }
}

/// The checks `apply` will run after its last step.
fn checks(out: &mut String, plan: &Plan) {
    if plan.checks.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "Then these checks must pass, each retried until its timeout:"
    );
    for check in &plan.checks {
        let _ = writeln!(
            out,
            "  check.{}: {} (within {}s)",
            check.name,
            check.probe.describe(),
            check.timeout_secs
        );
    }
}

/// The machine-readable form: the plan file itself plus a summary.
pub fn json(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).expect("plans serialize");
    // Each action's reason also as the sentence a person reads.
    if let Some(actions) = v["actions"].as_array_mut() {
        for (json, action) in actions.iter_mut().zip(&plan.actions) {
            json["because"] = Value::String(reason(plan, action));
            if let Some(registration) = registration(action) {
                json["registers"] = serde_json::to_value(registration).expect("serializes");
            }
        }
    }
    let counted = consent::Destructions::of(plan);
    v["summary"] = serde_json::json!({
        "create": plan.count(ActionKind::Create),
        "update": plan.count(ActionKind::Update),
        "replace": plan.count(ActionKind::Replace),
        "delete": plan.count(ActionKind::Delete),
        "changes": plan.actions.len(),
        "deletes_and_replaces": counted.total,
        "holding_data": counted.holding_data,
        "routine_retention": counted.retention,
    });
    if let Some((considered, total)) = plan.partial() {
        v["summary"]["partial"] = serde_json::json!({
            "considered": considered,
            "total": total,
        });
    }
    v
}

/// The one-line reason of an action: "because ...".
pub fn reason(plan: &Plan, action: &PlannedAction) -> String {
    match &action.reason {
        Reason::DoesNotExist => "because it does not exist yet".into(),
        Reason::PreviousGoingAway { id, status } => {
            format!("because the previous one ({id}) is {status}")
        }
        Reason::KeptBeside { kept } => format!(
            "because it does not exist yet (the kept {} stays as it is)",
            kept.join(", ")
        ),
        Reason::Changed { attribute } => {
            let Some(change) = action.changes.iter().find(|c| &c.name == attribute) else {
                return format!("because {attribute} changed");
            };
            let mut out = format!("because {}", describe_change(change, action));
            if action.action == ActionKind::Replace {
                out.push_str(&format!(", which forces a new {}", action.address.kind));
            }
            if action.changes.len() > 1 {
                out.push_str(&format!(" (and {} more)", action.changes.len() - 1));
            }
            out
        }
        Reason::CannotRecover { status } => {
            format!("because it is in state `{status}` and cannot recover")
        }
        Reason::NewRevision {
            attribute,
            previous,
            kept,
        } => {
            let lead = action
                .changes
                .iter()
                .find(|c| &c.name == attribute)
                .map(|c| describe_change(c, action))
                .unwrap_or_else(|| format!("{attribute} changed"));
            format!(
                "because {lead}: a new revision, registered beside {} (kept, with the newest \
                 {kept}: keep_revisions = {kept})",
                short_revision(previous)
            )
        }
        Reason::OlderThanKept { kept } => format!(
            "because it is older than the {kept} revisions kept (keep_revisions = {kept}) and no \
             service runs it"
        ),
        Reason::RolledBack { from, to } => format!(
            "because `rehearsal rollback` takes it back from {} to {}, the revision that ran \
             before",
            short_revision(from),
            short_revision(to)
        ),
        Reason::NotInSpec => format!("because it is not in {}", plan.spec_path.display()),
        Reason::Duplicate { kept } => format!(
            "because it duplicates {} ({kept}), left by an interrupted apply",
            action.address
        ),
        Reason::LeftBehind { maker } => {
            format!("because {maker} left it behind: it is detached, and bills until deleted")
        }
        Reason::Destroyed => format!(
            "because `rehearsal destroy` removes everything {} owns",
            plan.env.name
        ),
        Reason::SafetySnapshot {
            of,
            named_as,
            asked,
        } if asked == crate::engine::snapshot::BEFORE_APPLY => {
            format!(
                "because [snapshots] before_apply = true: {of} ({named_as}) is snapshotted \
                 before any change, and every other step waits for it"
            )
        }
        Reason::SafetySnapshot {
            of,
            named_as,
            asked,
        } if asked == crate::engine::snapshot::MANUAL => {
            format!("because a snapshot of {of} ({named_as}) was asked for")
        }
        Reason::SafetySnapshot {
            of,
            named_as,
            asked,
        } => {
            format!("because a snapshot of {of} ({named_as}) was asked for: {asked}")
        }
        Reason::Refreshed {
            from,
            snapshot: Some(snapshot),
        } => format!(
            "because `rehearsal refresh` replaces its data with a restore of {snapshot}, the \
             snapshot of {from} taken first"
        ),
        Reason::Refreshed {
            from,
            snapshot: None,
        } => format!(
            "because `rehearsal refresh --latest` replaces its data with a restore of the newest \
             snapshot of {from} there is when the restore starts"
        ),
        Reason::Pruned { of, keep } => format!(
            "because [snapshots] keep = {keep} keeps only the newest {} rehearsal took of {of}",
            crate::english::count(*keep as usize, "safety snapshot")
        ),
    }
}

/// `staging-server:2` from a task definition's ARN.
pub fn short_revision(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// A change of a list compared as a set (security group rules, say), as the items added and
/// removed: `ingress: + tcp 5432 from sg-0abc, - tcp 22 from 0.0.0.0/0`. A create lists them.
/// Only for kinds whose items have a text of their own (`Kind::set_item`).
fn set_change(change: &AttributeChange, action: &PlannedAction) -> Option<String> {
    let kind = crate::kinds::describe(action.address.kind);
    let item_text = kind.set_item?;
    if !kind.sets.contains(&change.name.as_str()) {
        return None;
    }
    let after = change.after.as_ref()?.as_array()?;
    let item = |v: &Value| item_text(v, &change.name).unwrap_or_else(|| short(v));
    let before = match &change.before {
        Some(Value::Array(before)) if action.action != ActionKind::Create => before,
        _ => {
            let all: Vec<String> = after.iter().map(item).collect();
            return Some(format!("{} = [{}]", change.name, all.join(", ")));
        }
    };
    let keys = |list: &[Value]| -> std::collections::BTreeSet<String> {
        list.iter().map(Value::to_string).collect()
    };
    let (had, has) = (keys(before), keys(after));
    let mut parts: Vec<String> = after
        .iter()
        .filter(|v| !had.contains(&v.to_string()))
        .map(|v| format!("+ {}", item(v)))
        .collect();
    parts.extend(
        before
            .iter()
            .filter(|v| !has.contains(&v.to_string()))
            .map(|v| format!("- {}", item(v))),
    );
    if parts.is_empty() {
        return None;
    }
    Some(format!("{}: {}", change.name, parts.join(", ")))
}

/// `containers["server"].image`
pub fn field_path(attribute: &str, path: &[PathStep]) -> String {
    let mut out = attribute.to_string();
    for step in path {
        match step {
            PathStep::Field(f) => {
                out.push('.');
                out.push_str(f);
            }
            PathStep::Named(n) => out.push_str(&format!("[{}]", Value::String(n.clone()))),
        }
    }
    out
}

/// `containers["server"].image: example/server:3.1.0 → example/server:3.2.0`
pub fn field_line(attribute: &str, field: &FieldChange) -> String {
    let side = |v: &Option<Value>| v.as_ref().map(middle).unwrap_or_else(|| "(unset)".into());
    let after = if field.known_after_apply {
        "(known after apply)".to_string()
    } else {
        side(&field.after)
    };
    format!(
        "{}: {} → {after}",
        field_path(attribute, &field.path),
        side(&field.before)
    )
}

/// A value for one line, shortened in the middle when long: both ends of an image
/// reference or an ARN say more than its middle.
pub fn middle(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let chars: Vec<char> = text.chars().collect();
    const MAX: usize = 60;
    if chars.len() <= MAX {
        return text;
    }
    let head: String = chars[..MAX / 2 - 1].iter().collect();
    let tail: String = chars[chars.len() - (MAX / 2 - 1)..].iter().collect();
    format!("{head}…{tail}")
}

fn describe_change(change: &AttributeChange, action: &PlannedAction) -> String {
    match change.fields.as_slice() {
        [one] => {
            let line = field_line(&change.name, one);
            return match line.split_once(": ") {
                Some((path, values)) => format!("{path} changed {values}"),
                None => line,
            };
        }
        [] => {}
        many => return format!("{} fields of {} changed", many.len(), change.name),
    }
    if let Some(before) = change.before.as_ref().and_then(input_digest::recorded)
        && change.after.is_some()
    {
        // AWS holds the value; rehearsal recorded its digest when it created the resource.
        return format!(
            "{} changed: the spec's is not the one it was created with (sha256 {}…)",
            change.name,
            &before[..12]
        );
    }
    if let Some(set) = set_change(change, action) {
        return set.replacen(": ", " changed: ", 1);
    }
    match &change.after {
        Some(Value::String(after)) if after.lines().count() > 1 => {
            let before = change
                .before
                .as_ref()
                .and_then(Value::as_str)
                .unwrap_or_default();
            format!(
                "{} changed {}",
                change.name,
                first_changed_line(before, after)
            )
        }
        Some(after) => format!(
            "{} changed {} → {}",
            change.name,
            change
                .before
                .as_ref()
                .map(short)
                .unwrap_or_else(|| "(unset)".into()),
            short(after)
        ),
        None => {
            // Known after apply: the desired value still holds the references it waits for.
            let on: Vec<String> = action
                .desired
                .as_ref()
                .and_then(|d| d.get(&change.name))
                .map(refs::references_in)
                .unwrap_or_default()
                .iter()
                .filter(|r| matches!(r, Reference::Resource { .. }))
                .map(|r| r.to_string())
                .collect();
            format!(
                "{} depends on {} (known only after apply)",
                change.name,
                on.join(", ")
            )
        }
    }
}

/// Where two multi-line texts (user data, say) first differ: `on line 2: a → b`.
fn first_changed_line(before: &str, after: &str) -> String {
    let (old, new): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    let at = (0..old.len().max(new.len()))
        .find(|i| old.get(*i) != new.get(*i))
        .unwrap_or(0);
    let line = |l: Option<&&str>| {
        l.map(|t| short(&Value::String(t.trim().to_string())))
            .unwrap_or_else(|| "(none)".into())
    };
    format!(
        "on line {}: {} → {}",
        at + 1,
        line(old.get(at)),
        line(new.get(at))
    )
}

/// A value short enough for a one-line reason.
pub fn short(v: &Value) -> String {
    let text = match v {
        Value::String(s) if s.lines().count() > 1 => {
            return format!("({} lines)", s.lines().count());
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(59).collect::<String>())
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_change_names_the_field_and_shortens_long_values_in_the_middle() {
        let field = FieldChange {
            path: vec![
                PathStep::Named("server".into()),
                PathStep::Field("environment".into()),
                PathStep::Named("DATABASE_HOST".into()),
            ],
            before: Some(Value::String(format!(
                "{}.rds.amazonaws.com",
                "x".repeat(80)
            ))),
            after: None,
            known_after_apply: true,
        };
        let line = field_line("containers", &field);
        assert!(
            line.starts_with("containers[\"server\"].environment[\"DATABASE_HOST\"]: xxx"),
            "{line}"
        );
        assert!(
            line.ends_with("…xxxxxxxxxxx.rds.amazonaws.com → (known after apply)"),
            "{line}"
        );
    }

    #[test]
    fn a_multi_line_change_names_the_first_line_that_differs() {
        let reason = first_changed_line("#!/bin/bash\nV=3.1.0\nrun", "#!/bin/bash\nV=3.2.0\nrun");
        assert_eq!(reason, "on line 2: V=3.1.0 → V=3.2.0");
    }
}
