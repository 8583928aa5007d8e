//! The README's spec table ("The spec format") is the kind registry as a person reads it: every
//! kind a spec can declare has its row, and each row names exactly the attributes the kind takes,
//! changes in place and outputs. Adding a kind, or an attribute, fails here until the README says so.

use std::collections::BTreeSet;

use rehearsal::kinds;
use rehearsal::model::ResourceKind;
use rehearsal::spec::{self, SpecError, VariableInputs};

/// One row of the table: the kind's name and its three columns, as written.
struct Row {
    kind: String,
    attributes: String,
    in_place: String,
    outputs: String,
}

fn rows() -> Vec<Row> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    readme
        .lines()
        .skip_while(|l| !l.starts_with("| Kind | Attributes"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "a row of four cells: {line}");
            Row {
                kind: cells[0].trim_matches('`').to_string(),
                attributes: cells[1].to_string(),
                in_place: cells[2].to_string(),
                outputs: cells[3].to_string(),
            }
        })
        .collect()
}

/// The attribute names a cell lists: each comma-separated item (commas inside parentheses and
/// backticks are explanation) names one, or two joined by "or"; bold marks the required ones.
fn names(cell: &str) -> BTreeSet<String> {
    let mut items = vec![String::new()];
    let (mut depth, mut quoted) = (0, false);
    for c in cell.chars() {
        match c {
            '`' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if depth == 0 && !quoted => {
                items.push(String::new());
                continue;
            }
            _ => {}
        }
        if depth == 0 && !quoted && c != '`' && c != ')' {
            items.last_mut().expect("never empty").push(c);
        }
    }
    items
        .iter()
        .flat_map(|item| item.split(" or ").map(str::to_owned).collect::<Vec<_>>())
        .filter_map(|item| {
            let name: String = item
                .trim()
                .trim_start_matches("**")
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
}

fn set(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The keys a spec's table of this kind accepts, as `validate` tells a user who wrote another
/// ("remove it, or use one of: ..."), less those every kind takes (`depends_on`, `timeout`,
/// `count`), which the README describes in their own sections.
fn accepted_keys(kind: ResourceKind) -> BTreeSet<String> {
    let text = format!(
        "[environment]\nproject = \"p\"\nname = \"e\"\nregion = \"eu-west-1\"\n\
         lifecycle = \"ephemeral\"\n\n[resources.{kind}.x]\nqqqqqqqqqqqqqqqqqqqq = 1\n",
        kind = kind.as_str()
    );
    let Err(SpecError::Invalid(d)) = spec::parse(
        std::path::Path::new("environments/e.toml"),
        &text,
        &VariableInputs::default(),
    ) else {
        panic!("an unknown key is refused");
    };
    let hint = d.hint.expect("a hint");
    let list = hint
        .strip_prefix("remove it, or use one of: ")
        .unwrap_or_else(|| panic!("the hint lists the keys: {hint}"));
    list.split(", ")
        .filter(|k| !["depends_on", "timeout", "count"].contains(k))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_readme_has_one_row_per_kind_a_spec_can_declare() {
    let documented: Vec<String> = rows().into_iter().map(|r| r.kind).collect();
    let declarable: Vec<String> = ResourceKind::ALL
        .iter()
        .filter(|k| kinds::describe(**k).by_product.is_none())
        .map(|k| k.as_str().to_string())
        .collect();
    assert_eq!(documented, declarable);
}

#[test]
fn each_row_names_what_its_kind_takes_changes_in_place_and_outputs() {
    for row in rows() {
        let kind: ResourceKind = row.kind.parse().expect("a kind's name");
        let described = kinds::describe(kind);
        assert_eq!(
            names(&row.attributes),
            accepted_keys(kind),
            "{} attributes",
            row.kind
        );
        assert_eq!(
            names(&row.in_place),
            set(described.in_place),
            "{} changed in place",
            row.kind
        );
        assert_eq!(
            names(&row.outputs),
            set(described.outputs),
            "{} outputs",
            row.kind
        );
    }
}

/// The keys `[window]` accepts, as `validate` tells a user who wrote another.
fn window_keys() -> BTreeSet<String> {
    let text = "[environment]\nproject = \"p\"\nname = \"e\"\nregion = \"eu-west-1\"\n\
                lifecycle = \"protected\"\n\n[window]\nqqqqqqqqqqqqqqqqqqqq = 1\n";
    let Err(SpecError::Invalid(d)) = spec::parse(
        std::path::Path::new("environments/e.toml"),
        text,
        &VariableInputs::default(),
    ) else {
        panic!("an unknown key is refused");
    };
    let hint = d.hint.expect("a hint");
    hint.strip_prefix("remove it, or use one of: ")
        .unwrap_or_else(|| panic!("the hint lists the keys: {hint}"))
        .split(", ")
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_spec_format_shows_every_key_of_a_window() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let example = readme
        .split("## The spec format")
        .nth(1)
        .and_then(|s| s.split("```toml").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the spec format's example");
    let shown: BTreeSet<String> = example
        .split("[window]")
        .nth(1)
        .expect("the example has a [window]")
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty() && !l.starts_with('['))
        .filter_map(|l| l.split_once(" =").map(|(key, _)| key.trim().to_string()))
        .collect();
    assert_eq!(shown, window_keys());
}

/// The keys of `[environment]` in the README's spec example ("The spec format"), commented out
/// or not.
fn documented_environment_keys() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let example = readme
        .split("## The spec format")
        .nth(1)
        .expect("README.md has a spec format section");
    example
        .lines()
        .skip_while(|l| *l != "[environment]")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let key = l.trim_start_matches("# ").split(" = ").next()?;
            Some(key.trim().to_string())
        })
        .collect()
}

#[test]
fn the_readme_example_shows_every_key_an_environment_takes() {
    let text = "[environment]\nqqqqqqqqqqqqqqqqqqqq = 1\n";
    let Err(SpecError::Invalid(d)) = spec::parse(
        std::path::Path::new("environments/e.toml"),
        text,
        &VariableInputs::default(),
    ) else {
        panic!("an unknown key is refused");
    };
    let hint = d.hint.expect("a hint");
    let accepted: BTreeSet<String> = hint
        .strip_prefix("remove it, or use one of: ")
        .unwrap_or_else(|| panic!("the hint lists the keys: {hint}"))
        .split(", ")
        .map(str::to_owned)
        .collect();
    assert_eq!(documented_environment_keys(), accepted);
}
