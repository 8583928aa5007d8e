//! Plans for people: one block per change with its symbol and reason.

use std::fmt::Write;

use serde_json::Value;

use super::diff::short;
use super::{ActionKind, Plan};

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
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "No changes. {env} matches {}.",
            plan.spec_path.display()
        );
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
        let _ = writeln!(out, "      {}", action.reason);
        if action.action == ActionKind::Delete {
            continue;
        }
        for change in &action.changes {
            let after = change
                .after
                .as_ref()
                .map(short)
                .unwrap_or_else(|| "(known after apply)".into());
            let line = match (&action.action, &change.before) {
                (ActionKind::Create, _) => format!("{} = {after}", change.name),
                (_, Some(before)) => format!("{}: {} → {after}", change.name, short(before)),
                (_, None) => format!("{}: (unset) → {after}", change.name),
            };
            let marker = if change.forces_replacement && action.action == ActionKind::Replace {
                "  # forces replacement"
            } else {
                ""
            };
            let _ = writeln!(out, "        {line}{marker}");
        }
    }
    let _ = writeln!(
        out,
        "\nPlan: {} to create, {} to update, {} to replace, {} to delete.",
        plan.count(ActionKind::Create),
        plan.count(ActionKind::Update),
        plan.count(ActionKind::Replace),
        plan.count(ActionKind::Delete)
    );
    out
}

/// The machine-readable form: the plan file itself plus a summary.
pub fn json(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).expect("plans serialize");
    v["summary"] = serde_json::json!({
        "create": plan.count(ActionKind::Create),
        "update": plan.count(ActionKind::Update),
        "replace": plan.count(ActionKind::Replace),
        "delete": plan.count(ActionKind::Delete),
        "changes": plan.actions.len(),
    });
    v
}
