//! A person edits `environments/prerelease.toml` and gets something wrong. Every mistake is
//! reported at `file:line:column` with the offending text underlined and a hint on what to do;
//! each test pins the report as the user reads it, an inline `insta` snapshot under the spec.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use rehearsal::spec::{self, Diagnostic, SpecError, VariableInputs};

use crate::support::report;

const FILE: &str = "environments/prerelease.toml";

/// Spec text written as a raw string: the first line break after `r#"` is not part of it, so
/// line 1 is the first line written.
fn text(raw: &str) -> &str {
    raw.strip_prefix('\n').unwrap_or(raw)
}

fn parse(text: &str) -> Result<spec::Spec, SpecError> {
    spec::parse(Path::new(FILE), text, &VariableInputs::default())
}

/// The located error a spec is rejected with.
#[track_caller]
fn rejected(text: &str) -> Diagnostic {
    match parse(text) {
        Err(SpecError::Invalid(d)) => *d,
        Err(other) => panic!("expected a located error, got: {other}"),
        Ok(_) => panic!("expected the spec to be rejected:\n{text}"),
    }
}

/// The error as `rehearsal validate` shows it on stderr: `file:line:column`, the message, the
/// line with the offending text underlined, and the hint.
fn shown(d: &Diagnostic) -> String {
    report(SpecError::Invalid(Box::new(d.clone())))
}

// --- TOML itself ---------------------------------------------------------------------------

#[test]
fn a_toml_syntax_error_points_at_the_bad_value() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = eu-west-1
lifecycle = "ephemeral"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:4:10: string values must be quoted, expected literal string
      |
    4 | region = eu-west-1
      |          ^^^^^^^^^
    hint: this is not valid TOML here; see https://toml.io for the syntax
    ");
}

#[test]
fn a_misspelt_key_suggests_the_right_one() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[sources.ec2_instance.prod_server]
tags = { Name = "production-server" }

[resources.ec2_instance.server]
clone_of = "${source.ec2_instance.prod_server.id}"
instnce_type = "t3.large"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:12:1: unknown field `instnce_type`, expected one of `clone_of`, `image`, `subnet`, `security_groups`, `instance_type`, `user_data`, `key_name`, `instance_profile`, `metadata_options`, `monitoring`, `ebs_optimized`, `volumes`, `keep…duction`, `drop_from_production`, `tags`, `depends_on`, `timeout`, `count`
       |
    12 | instnce_type = "t3.large"
       | ^^^^^^^^^^^^
    hint: did you mean `instance_type`?
    "#);
}

#[test]
fn an_unknown_key_with_nothing_close_lists_the_keys_allowed() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"
owner = "release-team"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:6:1: unknown field `owner`, expected one of `project`, `name`, `region`, `lifecycle`, `ttl`, `team_table`, `approvals`
      |
    6 | owner = "release-team"
      | ^^^^^
    hint: remove it, or use one of: project, name, region, lifecycle, ttl, team_table, approvals
    "#);
}

#[test]
fn a_value_of_the_wrong_type_says_which_type_was_expected() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.main]
name = "prerelease"

[resources.ecs_service.server]
name = "server"
cluster = "${ecs_cluster.main.name}"
task_definition = "arn:aws:ecs:eu-west-1:000000000000:task-definition/server:1"
desired_count = "one"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:14:17: invalid type: string "one", expected i64
       |
    14 | desired_count = "one"
       |                 ^^^^^
    hint: check the value's type: strings are quoted, numbers and booleans are not
    "#);
}

#[test]
fn an_unknown_lifecycle_lists_the_choices() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "temporary"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:5:13: unknown variant `temporary`, expected `protected` or `ephemeral`
      |
    5 | lifecycle = "temporary"
      |             ^^^^^^^^^^^
    hint: remove it, or use one of: protected, ephemeral
    "#);
}

#[test]
fn a_missing_required_key_is_named() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.rds_snapshot.from_prod]
identifier = "prerelease-from-prod"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:7:1: missing field `source_db`
      |
    7 | [resources.rds_snapshot.from_prod]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: add it: see the spec reference in README.md
    ");
}

#[test]
fn a_syntax_error_on_a_very_long_line_shows_a_window_of_it() {
    // A note pasted into a tag, 50 000 characters long, then a value left unquoted.
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.main]
name = "prerelease"
tags = { Note = "NOTE", Owner = release-team }
"#,
    )
    .replace("NOTE", &"x".repeat(50_000));
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:9:50029: string values must be quoted, expected literal string
      |
    9 | …xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", Owner = release-team }
      |                                                                                        ^^^^^^^^^^^^
    hint: this is not valid TOML here; see https://toml.io for the syntax
    "#);
}

#[test]
fn a_long_value_in_a_message_is_cut_in_the_middle() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.main]
name = "prerelease"

[resources.ecs_service.server]
name = "server"
cluster = "${ecs_cluster.main.name}"
task_definition = "arn:aws:ecs:eu-west-1:000000000000:task-definition/server:1"
desired_count = "ONE"
"#,
    )
    .replace("ONE", &"x".repeat(5_000_000));
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:14:17: invalid type: string "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", expected i64
       |
    14 | desired_count = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…
       |                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: check the value's type: strings are quoted, numbers and booleans are not
    "#);
    assert!(shown(&d).len() < 1_000, "a 5 MB value makes a short error");
}

#[test]
fn a_spec_saved_as_latin_1_points_at_the_first_byte_that_is_not_utf_8() {
    // "Café" as an editor set to Latin-1 saves it: é is the one byte 0xE9.
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[variables.server_version]
description = "Server build for the Café"
default = "3.1.0"
"#,
    );
    let latin_1: Vec<u8> = spec
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character"))
        .collect();
    let file = crate::support::SpecFile::write_bytes("prerelease", &latin_1);
    let Err(SpecError::Invalid(d)) = spec::load(&file.path, &VariableInputs::default()) else {
        panic!("a spec that is not UTF-8 is refused with a position");
    };
    let shown = shown(&d).replace(&file.path.display().to_string(), FILE);
    insta::assert_snapshot!(shown, @r#"
    error: environments/prerelease.toml:8:40: the spec is not UTF-8: byte 0xE9 cannot be read as text
      |
    8 | description = "Server build for the Caf�"
      |                                        ^
    hint: save the file as UTF-8: an editor may have saved it as Latin-1 or Windows-1252 (`iconv -f latin1 -t utf-8` converts it)
    "#);
}

#[test]
fn an_unknown_key_megabytes_long_is_refused_at_once_and_briefly() {
    // "did you mean" compared it with every key allowed, character by character: 25 s here.
    let spec = format!(
        "[environment]\nname = \"prerelease\"\nregion = \"eu-west-1\"\nlifecycle = \"ephemeral\"\n{} = 1\n",
        "k".repeat(20_000_000)
    );
    let d = rejected(&spec);
    assert!(d.message.starts_with("unknown field `kkk"), "{}", d.message);
    assert_eq!(
        d.hint.as_deref(),
        Some(
            "remove it, or use one of: project, name, region, lifecycle, ttl, team_table, approvals"
        )
    );
    assert!(shown(&d).len() < 1_000);
}

// --- References ----------------------------------------------------------------------------

/// The pre-release spec in miniature; each reference test breaks one reference in it.
fn with_reference(broken: &str) -> String {
    text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[variables.server_version]
default = "3.1.0"

[sources.rds_instance.prod_db]
identifier = "production-db"

[resources.rds_snapshot.from_prod]
source_db = "${source.rds_instance.prod_db.identifier}"

[resources.rds_instance.db]
snapshot = "${rds_snapshot.from_prod.identifier}"
instance_class = "db.t3.medium"

[resources.ecs_cluster.main]
name = "prerelease"
BROKEN
"#,
    )
    .replace("BROKEN", broken)
}

#[test]
fn the_miniature_spec_itself_is_valid() {
    let spec = parse(&with_reference("")).expect("valid");
    assert_eq!(spec.resources.len(), 3);
}

#[test]
fn a_reference_to_an_unknown_resource_suggests_a_close_one() {
    let spec = with_reference(r#"tags = { Database = "${rds_instance.dbb.endpoint}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:22: unknown resource `rds_instance.dbb`
       |
    22 | tags = { Database = "${rds_instance.dbb.endpoint}" }
       |                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `rds_instance.db`?
    "#);
}

#[test]
fn a_reference_to_an_undeclared_resource_says_where_to_declare_it() {
    let spec = with_reference(r#"tags = { Server = "${ec2_instance.server.private_ip}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:20: unknown resource `ec2_instance.server`
       |
    22 | tags = { Server = "${ec2_instance.server.private_ip}" }
       |                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: declare it under [resources.ec2_instance.server]; sources are written ${source.KIND.NAME.ATTRIBUTE}
    "#);
}

#[test]
fn a_reference_to_an_unknown_source_suggests_a_close_one() {
    let spec = with_reference(r#"tags = { From = "${source.rds_instance.prod_dbb.identifier}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:18: unknown source `source.rds_instance.prod_dbb`
       |
    22 | tags = { From = "${source.rds_instance.prod_dbb.identifier}" }
       |                  ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `source.rds_instance.prod_db`?
    "#);
}

#[test]
fn a_resource_attribute_that_does_not_exist_suggests_a_close_one() {
    let spec = with_reference(r#"tags = { Database = "${rds_instance.db.endpont}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:22: rds_instance has no attribute `endpont`
       |
    22 | tags = { Database = "${rds_instance.db.endpont}" }
       |                      ^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `endpoint`?
    "#);
}

#[test]
fn a_resource_attribute_with_nothing_close_lists_them_all() {
    let spec =
        with_reference(r#"tags = { Database = "${rds_instance.db.hostname_of_the_primary}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:22: rds_instance has no attribute `hostname_of_the_primary`
       |
    22 | tags = { Database = "${rds_instance.db.hostname_of_the_primary}" }
       |                      ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: its attributes are: identifier, snapshot, latest_snapshot_of, instance_class, subnet_group, security_groups, parameter_group, option_group, backup_retention_days, deletion_protection, publicly_accessible, final_snapshot, tags, id, arn, endpoint, port, status, engine
    "#);
}

#[test]
fn a_source_attribute_that_does_not_exist_suggests_a_close_one() {
    let spec =
        with_reference(r#"tags = { Subnets = "${source.rds_instance.prod_db.subnet_groups}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:21: source rds_instance has no attribute `subnet_groups`
       |
    22 | tags = { Subnets = "${source.rds_instance.prod_db.subnet_groups}" }
       |                     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `subnet_group`?
    "#);
}

#[test]
fn an_unknown_variable_suggests_a_close_one() {
    let spec = with_reference(r#"tags = { Version = "${var.server_versoin}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:21: unknown variable `server_versoin`
       |
    22 | tags = { Version = "${var.server_versoin}" }
       |                     ^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `server_version`?
    "#);
}

#[test]
fn an_error_inside_a_multi_line_string_points_at_its_own_line() {
    let spec = with_reference(
        "[resources.ec2_instance.server]\n\
         clone_of = \"i-0a1b2c3d4e5f60001\"\n\
         instance_type = \"t3.medium\"\n\
         user_data = \"\"\"\n\
         #!/bin/bash\n\
         echo 'SERVER_VERSION=${var.server_versoin}' >> /etc/openchs/env\n\
         \"\"\"",
    );
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:27:22: unknown variable `server_versoin`
       |
    27 | echo 'SERVER_VERSION=${var.server_versoin}' >> /etc/openchs/env
       |                      ^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `server_version`?
    ");
}

#[test]
fn escapes_before_a_reference_do_not_move_the_caret() {
    // Shell in a basic string: `\"` is two characters in the file and one in the value.
    let spec = with_reference(r#"tags = { Start = "echo \"v=${var.server_versoin}\"" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:28: unknown variable `server_versoin`
       |
    22 | tags = { Start = "echo \"v=${var.server_versoin}\"" }
       |                            ^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `server_version`?
    "#);
}

#[test]
fn a_spec_saved_with_windows_line_endings_reports_the_same_place() {
    let spec =
        with_reference(r#"tags = { Version = "${var.server_versoin}" }"#).replace('\n', "\r\n");
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:21: unknown variable `server_versoin`
       |
    22 | tags = { Version = "${var.server_versoin}" }
       |                     ^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `server_version`?
    "#);
}

#[test]
fn an_unknown_environment_attribute_names_the_two_there_are() {
    let spec = with_reference(r#"tags = { Zone = "${env.zone}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:18: the environment has no attribute `zone`
       |
    22 | tags = { Zone = "${env.zone}" }
       |                  ^^^^^^^^^^^
    hint: use ${env.name} or ${env.region}
    "#);
}

#[test]
fn an_unclosed_reference_says_how_to_close_or_escape_it() {
    let spec = with_reference(r#"tags = { Version = "${var.server_version" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:20: `${` is not closed
       |
    22 | tags = { Version = "${var.server_version" }
       |                    ^^^^^^^^^^^^^^^^^^^^^^
    hint: close the reference with `}`, or write `$${` for a literal `${`
    "#);
}

#[test]
fn a_reference_to_an_unknown_kind_lists_the_kinds() {
    let spec = with_reference(r#"tags = { Bucket = "${s3_bucket.assets.arn}" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:20: unknown resource kind `s3_bucket`
       |
    22 | tags = { Bucket = "${s3_bucket.assets.arn}" }
       |                    ^^^^^^^^^^^^^^^^^^^^^^^
    hint: resource kinds are: rds_snapshot, rds_instance, ec2_instance, ecs_cluster, ecs_task_definition, ecs_service, security_group, dns_record; sources are written ${source.KIND.NAME.ATTRIBUTE}
    "#);
}

#[test]
fn a_source_cannot_depend_on_what_the_environment_creates() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[sources.ecs_cluster.main]
name = "${ecs_cluster.mine.name}"

[resources.ecs_cluster.mine]
name = "prerelease"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:8:9: a source can only use variables, not `${ecs_cluster.mine.name}`
      |
    8 | name = "${ecs_cluster.mine.name}"
      |         ^^^^^^^^^^^^^^^^^^^^^^^^
    hint: sources are looked up before anything is created
    "#);
}

#[test]
fn depends_on_an_unknown_resource_points_at_the_entry() {
    let spec = with_reference(r#"depends_on = ["rds_instance.db", "rds_instance.dbb"]"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:34: unknown resource `rds_instance.dbb`
       |
    22 | depends_on = ["rds_instance.db", "rds_instance.dbb"]
       |                                  ^^^^^^^^^^^^^^^^^^
    hint: did you mean `rds_instance.db`?
    "#);
}

#[test]
fn depends_on_something_that_is_not_an_address() {
    let spec = with_reference(r#"depends_on = ["the database"]"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:15: `the database` is not an address like `rds_instance.db`
       |
    22 | depends_on = ["the database"]
       |               ^^^^^^^^^^^^^^
    hint: write depends_on = ["rds_instance.db"]
    "#);
}

// --- Dependency cycles ---------------------------------------------------------------------

#[test]
fn two_resources_that_reference_each_other_are_a_cycle() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.rds_snapshot.from_db]
source_db = "${rds_instance.db.identifier}"

[resources.rds_instance.db]
snapshot = "${rds_snapshot.from_db.identifier}"
instance_class = "db.t3.medium"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:7:1: dependency cycle between rds_snapshot.from_db → rds_instance.db
      |
    7 | [resources.rds_snapshot.from_db]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: each of these needs another to exist first; remove one reference or depends_on
    ");
}

#[test]
fn depends_on_can_make_a_cycle_too() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.blue]
name = "blue"
depends_on = ["ecs_cluster.green"]

[resources.ecs_cluster.green]
name = "green"
depends_on = ["ecs_cluster.blue"]
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:7:1: dependency cycle between ecs_cluster.blue → ecs_cluster.green
      |
    7 | [resources.ecs_cluster.blue]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: each of these needs another to exist first; remove one reference or depends_on
    ");
}

#[test]
fn a_longer_cycle_is_named_in_the_order_its_members_need_each_other() {
    // blue needs red, red needs green, green needs blue: not alphabetical order.
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.blue]
name = "blue"
depends_on = ["ecs_cluster.red"]

[resources.ecs_cluster.green]
name = "green"
depends_on = ["ecs_cluster.blue"]

[resources.ecs_cluster.red]
name = "red"
depends_on = ["ecs_cluster.green"]
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:7:1: dependency cycle between ecs_cluster.blue → ecs_cluster.red → ecs_cluster.green
      |
    7 | [resources.ecs_cluster.blue]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: each of these needs another to exist first; remove one reference or depends_on
    ");
}

#[test]
fn a_resource_that_references_itself_is_a_cycle() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.main]
name = "prerelease"
tags = { Self = "${ecs_cluster.main.arn}" }
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:7:1: dependency cycle between ecs_cluster.main
      |
    7 | [resources.ecs_cluster.main]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: each of these needs another to exist first; remove one reference or depends_on
    ");
}

// --- The environment -----------------------------------------------------------------------

#[test]
fn the_environment_name_must_match_the_file_name() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "staging"
region = "eu-west-1"
lifecycle = "ephemeral"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:3:8: the environment is named `staging` but the file is prerelease.toml
      |
    3 | name = "staging"
      |        ^^^^^^^^^
    hint: name the file environments/staging.toml, or set name = "prerelease": the name is what rehearsal tags and later destroys
    "#);
}

#[test]
fn an_environment_name_must_be_lowercase() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "Pre"
region = "eu-west-1"
lifecycle = "ephemeral"
"#,
    );
    let d = match spec::parse(
        Path::new("environments/Pre.toml"),
        spec,
        &VariableInputs::default(),
    ) {
        Err(SpecError::Invalid(d)) => d,
        other => panic!("expected a located error, got {other:?}"),
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/Pre.toml:3:8: `Pre` is not a valid environment name
      |
    3 | name = "Pre"
      |        ^^^^^
    hint: use lowercase letters, digits and hyphens, starting with a letter
    "#);
}

#[test]
fn only_a_protected_environment_snapshots_before_each_apply() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[sources.rds_instance.prod_db]
identifier = "production-db"

[snapshots]
before_apply = true
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:11:16: only a protected environment takes a snapshot before each apply
       |
    11 | before_apply = true
       |                ^^^^
    hint: remove `before_apply`, or take one by hand with `rehearsal snapshot ENV`
    ");
}

#[test]
fn snapshots_before_apply_needs_a_database_to_snapshot() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "protected"

[snapshots]
before_apply = true
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:8:16: `before_apply` asks for a snapshot of each database, and the spec names none
      |
    8 | before_apply = true
      |                ^^^^
    hint: declare the database as [sources.rds_instance.NAME] or [resources.rds_instance.NAME], or remove `before_apply`
    ");
}

#[test]
fn keeping_no_snapshot_would_delete_the_one_just_taken() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "protected"

[sources.rds_instance.prod_db]
identifier = "production-db"

[snapshots]
before_apply = true
keep = 0
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:12:8: keep = 0 would delete the snapshot just taken
       |
    12 | keep = 0
       |        ^
    hint: keep at least 1, or leave `keep` out to keep every one
    ");
}

#[test]
fn a_misspelt_snapshots_key_names_the_right_ones() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "protected"

[snapshots]
keep_snapshots = 3
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:8:1: unknown field `keep_snapshots`, expected `before_apply` or `keep`
      |
    8 | keep_snapshots = 3
      | ^^^^^^^^^^^^^^
    hint: remove it, or use one of: before_apply, keep
    ");
}

#[test]
fn a_protected_environment_cannot_expire() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "protected"
ttl = "24h"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:6:7: a protected environment cannot have a time to live
      |
    6 | ttl = "24h"
      |       ^^^^^
    hint: remove `ttl`, or set lifecycle = "ephemeral"
    "#);
}

#[test]
fn only_a_protected_environment_requires_approvals() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"
approvals = 2
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:6:13: only a protected environment requires approvals
      |
    6 | approvals = 2
      |             ^
    hint: remove `approvals`, or set lifecycle = "protected"
    "#);
}

#[test]
fn approvals_of_no_one_or_fewer_are_refused() {
    let protected = |n: &str| {
        format!(
            "[environment]\nproject = \"openchs\"\nname = \"prerelease\"\nregion = \"eu-west-1\"\n\
             lifecycle = \"protected\"\napprovals = {n}\n"
        )
    };
    let d = rejected(&protected("0"));
    insta::assert_snapshot!(shown(&d), @r"
    error: environments/prerelease.toml:6:13: approvals = 0 asks for no one
      |
    6 | approvals = 0
      |             ^
    hint: remove `approvals`, or ask for at least 1
    ");
    let d = rejected(&protected("-1"));
    assert_eq!(d.line, 6, "{}", shown(&d));
    assert_eq!(parse(&protected("2")).unwrap().approvals, 2);
}

#[test]
fn a_duration_people_cannot_write_is_refused_with_examples() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"
ttl = "1 day"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:6:7: `1 day` is not a duration
      |
    6 | ttl = "1 day"
      |       ^^^^^^^
    hint: write a duration like "90m", "24h" or "7d"
    "#);
}

#[test]
fn a_resource_timeout_must_be_a_duration() {
    let spec = with_reference(r#"timeout = "forever""#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:11: `forever` is not a duration
       |
    22 | timeout = "forever"
       |           ^^^^^^^^^
    hint: write a timeout like "30m" or "2h"
    "#);
}

#[test]
fn a_resource_name_must_be_lowercase() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.Main]
name = "prerelease"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:7:1: `Main` is not a valid resource name
      |
    7 | [resources.ecs_cluster.Main]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: use lowercase letters, digits and underscores, starting with a letter
    ");
}

// --- Kind rules ----------------------------------------------------------------------------

#[test]
fn an_ec2_source_is_found_by_id_or_by_tags_not_both() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[sources.ec2_instance.prod_server]
id = "i-0a1b2c3d4e5f60001"
tags = { Name = "production-server" }
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:7:1: source.ec2_instance.prod_server needs exactly one of `id` or `tags`
      |
    7 | [sources.ec2_instance.prod_server]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: find the server by id = "i-..." or by tags = { Name = "..." }
    "#);
}

#[test]
fn an_ec2_source_with_neither_id_nor_tags_is_refused_too() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[sources.ec2_instance.prod_server]
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:7:1: source.ec2_instance.prod_server needs exactly one of `id` or `tags`
      |
    7 | [sources.ec2_instance.prod_server]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: find the server by id = "i-..." or by tags = { Name = "..." }
    "#);
}

#[test]
fn a_database_restores_from_a_snapshot_or_the_latest_one_not_both() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[sources.rds_instance.prod_db]
identifier = "production-db"

[resources.rds_instance.db]
snapshot = "prerelease-from-prod"
latest_snapshot_of = "${source.rds_instance.prod_db.identifier}"
instance_class = "db.t3.medium"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:10:1: rds_instance.db needs exactly one of `snapshot` or `latest_snapshot_of`
       |
    10 | [resources.rds_instance.db]
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: restore from snapshot = "${rds_snapshot.NAME.identifier}", or from latest_snapshot_of = "${source.rds_instance.NAME.identifier}"
    "#);
}

#[test]
fn a_database_with_nothing_to_restore_from_is_refused() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.rds_instance.db]
instance_class = "db.t3.medium"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:7:1: rds_instance.db needs exactly one of `snapshot` or `latest_snapshot_of`
      |
    7 | [resources.rds_instance.db]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: restore from snapshot = "${rds_snapshot.NAME.identifier}", or from latest_snapshot_of = "${source.rds_instance.NAME.identifier}"
    "#);
}

// --- Tags ----------------------------------------------------------------------------------

#[test]
fn a_tag_in_rehearsal_s_namespace_is_refused() {
    let spec = with_reference(r#"tags = { Team = "release", "rehearsal:env" = "production" }"#);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:22:28: the tag `rehearsal:env` is in rehearsal's own namespace
       |
    22 | tags = { Team = "release", "rehearsal:env" = "production" }
       |                            ^^^^^^^^^^^^^^^
    hint: rehearsal sets its `rehearsal:` tags itself: they are how it proves what an environment owns. Give this tag another name, like `release:env`
    "#);
}

#[test]
fn a_tag_in_aws_s_namespace_is_refused_in_a_table_of_its_own_too() {
    let spec = with_reference(
        "[resources.ecs_cluster.main.tags]\nTeam = \"release\"\n\"AWS:CreatedBy\" = \"me\"",
    );
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:24:1: the tag `AWS:CreatedBy` is in AWS's namespace
       |
    24 | "AWS:CreatedBy" = "me"
       | ^^^^^^^^^^^^^^^
    hint: AWS reserves tag keys starting with `aws:` and refuses them in a request. Give this tag another name
    "#);
}

// --- Names AWS accepts ---------------------------------------------------------------------

/// Production's release-day snapshot as the spec once wrote it, for a release called 3.2.0.
fn release_snapshot(identifier: &str) -> Result<spec::Spec, SpecError> {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "production"
region = "eu-west-1"
lifecycle = "protected"

[variables.release]
default = "manual"

[sources.rds_instance.db]
identifier = "production-db"

[resources.rds_snapshot.before_release]
identifier = "IDENTIFIER"
source_db = "${source.rds_instance.db.identifier}"
keep_after_destroy = true
"#,
    )
    .replace("IDENTIFIER", identifier);
    let inputs = VariableInputs {
        cli: vec![("release".into(), "3.2.0".into())],
        env: BTreeMap::new(),
        ..Default::default()
    };
    spec::parse(Path::new("environments/production.toml"), &spec, &inputs)
}

#[test]
fn a_snapshot_named_after_a_version_is_refused_with_the_slug_that_fixes_it() {
    let Err(SpecError::Invalid(d)) = release_snapshot("production-before-${var.release}") else {
        panic!("RDS refuses dots in identifiers");
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/production.toml:14:14: `production-before-3.2.0` is not a valid RDS DB snapshot identifier: `.` is not allowed
       |
    14 | identifier = "production-before-${var.release}"
       |              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: an RDS DB snapshot identifier is 1 to 255 letters, digits and hyphens, starting with a letter; `${var.release | slug}` makes it `production-before-3-2-0`
    "#);
    let spec = release_snapshot("production-before-${var.release | slug}").expect("valid");
    let snapshot = spec.resources.values().next().unwrap();
    assert_eq!(snapshot.attributes["identifier"], "production-before-3-2-0");
}

#[test]
fn slug_transforms_only_what_is_known_when_the_spec_is_read() {
    let Err(SpecError::Invalid(d)) =
        release_snapshot("copy-of-${source.rds_instance.db.identifier | slug}")
    else {
        panic!("a source's value cannot be slugged");
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/production.toml:14:23: `| slug` cannot transform `${source.rds_instance.db.identifier}`
       |
    14 | identifier = "copy-of-${source.rds_instance.db.identifier | slug}"
       |                       ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: slug applies to values known when the spec is read: ${var.NAME | slug}, ${env.name | slug}; write a name from a resource or a source as it is
    "#);
    let Err(SpecError::Invalid(d)) = release_snapshot("before-${var.release | lower}") else {
        panic!("slug is the one transform");
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/production.toml:14:22: `lower` is not a transform
       |
    14 | identifier = "before-${var.release | lower}"
       |                      ^^^^^^^^^^^^^^^^^^^^^^
    hint: the one transform is `slug`, as in ${var.release | slug}
    "#);
    let Err(SpecError::Invalid(d)) = release_snapshot("before-${var.relase | slug}") else {
        panic!("the variable is still checked");
    };
    assert_eq!((d.line, d.column), (14, 22));
    assert_eq!(d.hint.as_deref(), Some("did you mean `release`?"));
}

#[test]
fn an_uppercase_database_identifier_is_refused_because_rds_keeps_it_lowercase() {
    let spec = with_reference("").replace(
        "[resources.rds_instance.db]\n",
        "[resources.rds_instance.db]\nidentifier = \"Prerelease-DB\"\n",
    );
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:17:14: `Prerelease-DB` is not a valid RDS DB instance identifier: RDS keeps it in lowercase
       |
    17 | identifier = "Prerelease-DB"
       |              ^^^^^^^^^^^^^^^
    hint: write `prerelease-db`: AWS would report `prerelease-db`, which never matches `Prerelease-DB`, and every apply would replace the database
    "#);
}

#[test]
fn a_default_identifier_made_from_the_name_points_at_the_table() {
    // No identifier: it is ENV-NAME, and `db__restored` makes two hyphens in a row.
    let spec = with_reference("").replace(
        "[resources.rds_instance.db]",
        "[resources.rds_instance.db__restored]",
    );
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:16:1: `prerelease-db--restored` is not a valid RDS DB instance identifier: it has two hyphens in a row
       |
    16 | [resources.rds_instance.db__restored]
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: an RDS DB instance identifier is 1 to 63 letters, digits and hyphens, starting with a letter
    ");
}

#[test]
fn an_rds_identifier_follows_the_rest_of_aws_s_rules_too() {
    let refused = |identifier: &str| {
        let spec = with_reference("").replace(
            "[resources.rds_instance.db]\n",
            &format!("[resources.rds_instance.db]\nidentifier = \"{identifier}\"\n"),
        );
        rejected(&spec).message
    };
    let long = "d".repeat(64);
    assert_eq!(
        refused(&long),
        format!(
            "`{long}` is not a valid RDS DB instance identifier: it is 64 characters long, \
             and the most is 63"
        )
    );
    assert!(refused("").ends_with("identifier: it is empty"));
    assert!(refused("3-db").ends_with("it does not start with a letter"));
    assert!(refused("db-").ends_with("it ends with a hyphen"));
    assert!(refused("db_1").ends_with("`_` is not allowed"));
    assert!(refused("db 1").ends_with("a space is not allowed"));
    let snapshot = "s".repeat(255);
    assert!(release_snapshot(&snapshot).is_ok(), "snapshots take 255");
}

#[test]
fn ecs_names_are_letters_digits_hyphens_and_underscores() {
    let spec = with_reference(
        r#"
[resources.ecs_service.server]
name = "server ${var.server_version}"
cluster = "${ecs_cluster.main.name}"
task_definition = "arn:aws:ecs:eu-west-1:000000000000:task-definition/server:1"
"#,
    );
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:24:8: `server 3.1.0` is not a valid ECS service name: a space is not allowed
       |
    24 | name = "server ${var.server_version}"
       |        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: an ECS service name is 1 to 255 letters, digits, hyphens and underscores
    "#);
    let refused = |table: &str| rejected(&with_reference(table)).message;
    assert_eq!(
        refused("[resources.ecs_cluster.blue]\nname = \"\""),
        "`` is not a valid ECS cluster name: it is empty"
    );
    assert_eq!(
        refused("[resources.ecs_task_definition.server]\nfamily = \"server:3\"\ncontainers = []"),
        "`server:3` is not a valid ECS task-definition family: `:` is not allowed"
    );
    let fine = "[resources.ecs_cluster.blue]\nname = \"Blue_Team-2\"";
    assert!(
        parse(&with_reference(fine)).is_ok(),
        "ECS names keep their case"
    );
}

#[test]
fn a_name_that_waits_for_a_source_is_not_checked_by_validate() {
    // Production's identifier is known only once the plan looks it up: the plan checks it.
    let spec = with_reference("").replace(
        "[resources.rds_instance.db]\n",
        "[resources.rds_instance.db]\nidentifier = \"${source.rds_instance.prod_db.identifier}.copy\"\n",
    );
    assert!(parse(&spec).is_ok());
}

// --- Variables -----------------------------------------------------------------------------

const VERSIONED: &str = r#"[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[variables.server_version]
description = "Server build under test"
DEFAULT

[resources.ecs_cluster.main]
name = "prerelease"
tags = { Version = "${var.server_version}" }
"#;

fn versioned(default: Option<&str>) -> String {
    VERSIONED.replace(
        "DEFAULT",
        &default
            .map(|d| format!("default = \"{d}\""))
            .unwrap_or_default(),
    )
}

fn version_tag(inputs: &VariableInputs, default: Option<&str>) -> String {
    let spec = spec::parse(Path::new(FILE), &versioned(default), inputs).expect("valid");
    let cluster = spec.resources.values().next().expect("one resource");
    cluster.attributes["tags"]["Version"]
        .as_str()
        .expect("a string")
        .to_string()
}

#[test]
fn a_variable_without_a_value_says_the_three_ways_to_give_one() {
    let spec = versioned(None);
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @"
    error: environments/prerelease.toml:7:1: variable `server_version` has no value
      |
    7 | [variables.server_version]
      | ^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: pass --var server_version=VALUE, set REHEARSAL_VAR_server_version, or give it a default
    ");
}

#[test]
fn a_var_flag_for_an_undeclared_variable_is_refused() {
    let inputs = VariableInputs {
        cli: vec![("server_verison".into(), "3.2.0".into())],
        env: BTreeMap::new(),
        ..Default::default()
    };
    let err = spec::parse(Path::new(FILE), &versioned(Some("3.1.0")), &inputs).unwrap_err();
    assert!(matches!(err, SpecError::Variables { .. }), "{err:?}");
    insta::assert_snapshot!(report(err), @r"
    error: --var server_verison: the spec declares no variable `server_verison`
    hint: did you mean `server_version`?
    ");
}

#[test]
fn a_var_flag_with_nothing_close_lists_the_declared_variables() {
    let inputs = VariableInputs {
        cli: vec![("region".into(), "us-east-1".into())],
        env: BTreeMap::new(),
        ..Default::default()
    };
    let err = spec::parse(Path::new(FILE), &versioned(Some("3.1.0")), &inputs).unwrap_err();
    assert!(matches!(err, SpecError::Variables { .. }), "{err:?}");
    insta::assert_snapshot!(report(err), @r"
    error: --var region: the spec declares no variable `region`
    hint: declared variables: server_version
    ");
}

#[test]
fn a_var_flag_holding_a_reference_is_refused() {
    // It would pass validate and plan, and fail half-way through apply: nothing checked it.
    let inputs = VariableInputs {
        cli: vec![(
            "server_version".into(),
            "${rds_instance.db.endpoint}".into(),
        )],
        env: BTreeMap::new(),
        ..Default::default()
    };
    let err = spec::parse(Path::new(FILE), &versioned(Some("3.1.0")), &inputs).unwrap_err();
    insta::assert_snapshot!(report(err), @r"
    error: --var server_version: `${rds_instance.db.endpoint}` holds a reference
    hint: variables hold plain text: put the reference in the spec where the variable is used, or write `$${` for a literal `${`
    ");
}

#[test]
fn an_environment_variable_holding_a_reference_is_refused() {
    let inputs = VariableInputs {
        cli: vec![],
        env: [("server_version".to_string(), "3.2.0-${var.x".to_string())].into(),
        ..Default::default()
    };
    let err = spec::parse(Path::new(FILE), &versioned(Some("3.1.0")), &inputs).unwrap_err();
    insta::assert_snapshot!(report(err), @r"
    error: REHEARSAL_VAR_server_version: `3.2.0-${var.x` holds a reference
    hint: variables hold plain text: put the reference in the spec where the variable is used, or write `$${` for a literal `${`
    ");
}

#[test]
fn a_default_holding_a_reference_is_refused_where_it_is_written() {
    let spec = versioned(Some("${source.rds_instance.prod_db.identifier}"));
    let d = rejected(&spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:9:11: the default of variable `server_version` holds a reference
      |
    9 | default = "${source.rds_instance.prod_db.identifier}"
      |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: variables hold plain text: put the reference in the spec where the variable is used, or write `$${` for a literal `${`
    "#);
}

#[test]
fn two_dollars_in_a_variable_write_a_literal_dollar_brace() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[variables.start]
default = "3.1.0"

[resources.ecs_cluster.main]
name = "prerelease"
tags = { Whole = "${var.start}", Inside = "run: ${var.start}" }
"#,
    );
    let inputs = VariableInputs {
        cli: vec![("start".into(), "echo $${HOME}".into())],
        env: BTreeMap::new(),
        ..Default::default()
    };
    let spec = spec::parse(Path::new(FILE), spec, &inputs).expect("valid");
    let tags = &spec.resources.values().next().unwrap().attributes["tags"];
    assert_eq!(
        rehearsal::spec::refs::unescape(tags),
        serde_json::json!({ "Whole": "echo ${HOME}", "Inside": "run: echo ${HOME}" })
    );
    assert!(!rehearsal::spec::refs::has_references(tags));
}

#[test]
fn a_typo_in_an_environment_variable_is_refused_with_the_name_meant() {
    let refused = |name: &str| {
        let inputs = VariableInputs {
            cli: vec![],
            env: [(name.to_string(), "3.2.0".to_string())].into(),
            ..Default::default()
        };
        let err = spec::parse(Path::new(FILE), &versioned(Some("3.1.0")), &inputs).unwrap_err();
        assert!(matches!(err, SpecError::Variables { .. }), "{err:?}");
        err
    };
    insta::assert_snapshot!(report(refused("server_verison")), @r"
    error: REHEARSAL_VAR_server_verison: the spec declares no variable `server_verison`
    hint: did you mean `server_version`? Set REHEARSAL_VAR_server_version instead
    ");
    assert_eq!(
        refused("SERVER_VERSION").hint().unwrap(),
        "did you mean `server_version`? Set REHEARSAL_VAR_server_version instead",
        "a name in another case is the same typo"
    );
}

#[test]
fn an_environment_variable_for_another_spec_is_noted_and_ignored() {
    // One CI job sets REHEARSAL_VAR_release for the production spec and runs every spec.
    let inputs = VariableInputs {
        cli: vec![],
        env: [("release".to_string(), "3.2.0".to_string())].into(),
        ..Default::default()
    };
    let spec = spec::parse(Path::new(FILE), &versioned(Some("3.1.0")), &inputs).expect("valid");
    assert_eq!(
        spec.warnings,
        [
            "REHEARSAL_VAR_release is ignored: environments/prerelease.toml declares no variable `release`"
        ]
    );
    assert_eq!(spec.variables["server_version"], "3.1.0");
}

#[test]
fn var_flags_beat_the_environment_which_beats_the_default() {
    let env: BTreeMap<String, String> =
        [("server_version".to_string(), "3.2.0-env".to_string())].into();
    let cli = vec![("server_version".to_string(), "3.2.0-flag".to_string())];

    let default_only = VariableInputs::default();
    assert_eq!(version_tag(&default_only, Some("3.1.0")), "3.1.0");

    let from_env = VariableInputs {
        cli: vec![],
        env: env.clone(),
        ..Default::default()
    };
    assert_eq!(version_tag(&from_env, Some("3.1.0")), "3.2.0-env");
    assert_eq!(
        version_tag(&from_env, None),
        "3.2.0-env",
        "the environment is enough without a default"
    );

    let flag_and_env = VariableInputs {
        cli: cli.clone(),
        env,
        ..Default::default()
    };
    assert_eq!(version_tag(&flag_and_env, Some("3.1.0")), "3.2.0-flag");

    let repeated = VariableInputs {
        cli: vec![
            ("server_version".into(), "first".into()),
            ("server_version".into(), "last".into()),
        ],
        env: BTreeMap::new(),
        ..Default::default()
    };
    assert_eq!(version_tag(&repeated, None), "last", "the last --var wins");
}

/// The versioned spec with its version in `server/version/minor_version`.
fn from_file() -> String {
    VERSIONED.replace("DEFAULT", "from_file = \"server/version/minor_version\"")
}

/// A project root holding `server/version/minor_version` with `text`, or no such file.
fn project_with_version_file(text: Option<&str>) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("tempdir");
    if let Some(text) = text {
        std::fs::create_dir_all(root.path().join("server/version")).unwrap();
        std::fs::write(root.path().join("server/version/minor_version"), text).unwrap();
    }
    root
}

fn in_project(root: &tempfile::TempDir) -> VariableInputs {
    VariableInputs {
        project_root: Some(root.path().to_path_buf()),
        ..VariableInputs::default()
    }
}

#[test]
fn a_release_version_is_read_from_its_file_trimmed_and_the_origin_recorded() {
    let root = project_with_version_file(Some("3.2.0\n"));
    let spec = spec::parse(Path::new(FILE), &from_file(), &in_project(&root)).expect("valid");
    assert_eq!(spec.variables["server_version"], "3.2.0");
    assert_eq!(
        spec.variable_origins["server_version"],
        "server/version/minor_version"
    );
}

#[test]
fn var_flags_beat_the_environment_which_beats_the_file() {
    let root = project_with_version_file(Some("3.2.0-file"));
    let env: BTreeMap<String, String> =
        [("server_version".to_string(), "3.2.0-env".to_string())].into();
    let cli = vec![("server_version".to_string(), "3.2.0-flag".to_string())];
    let tag = |inputs: VariableInputs| {
        let spec = spec::parse(Path::new(FILE), &from_file(), &inputs).expect("valid");
        let origin = spec.variable_origins["server_version"].clone();
        (spec.variables["server_version"].clone(), origin)
    };
    assert_eq!(
        tag(in_project(&root)),
        ("3.2.0-file".into(), "server/version/minor_version".into())
    );
    assert_eq!(
        tag(VariableInputs {
            env: env.clone(),
            ..in_project(&root)
        }),
        ("3.2.0-env".into(), "REHEARSAL_VAR_server_version".into())
    );
    assert_eq!(
        tag(VariableInputs {
            cli,
            env,
            ..in_project(&root)
        }),
        ("3.2.0-flag".into(), "--var server_version".into())
    );
    // A flag is enough: a missing file is not read at all.
    let empty = project_with_version_file(None);
    let given = VariableInputs {
        cli: vec![("server_version".into(), "3.3.0".into())],
        ..in_project(&empty)
    };
    assert_eq!(tag(given).0, "3.3.0");
}

#[test]
fn a_missing_version_file_is_refused_at_the_variable_never_defaulted() {
    let root = project_with_version_file(None);
    let Err(SpecError::Invalid(d)) = spec::parse(Path::new(FILE), &from_file(), &in_project(&root))
    else {
        panic!("a missing version file must be refused");
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:9:13: variable `server_version` has no value: server/version/minor_version does not exist
      |
    9 | from_file = "server/version/minor_version"
      |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: write it in server/version/minor_version (one line, relative to where rehearsal runs), pass --var server_version=VALUE, or set REHEARSAL_VAR_server_version
    "#);
}

#[test]
fn an_empty_version_file_is_refused() {
    let root = project_with_version_file(Some(" \n"));
    let Err(SpecError::Invalid(d)) = spec::parse(Path::new(FILE), &from_file(), &in_project(&root))
    else {
        panic!("an empty version file must be refused");
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:9:13: variable `server_version` has no value: server/version/minor_version is empty
      |
    9 | from_file = "server/version/minor_version"
      |             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: write it in server/version/minor_version (one line, relative to where rehearsal runs), pass --var server_version=VALUE, or set REHEARSAL_VAR_server_version
    "#);
}

#[test]
fn a_version_file_of_two_lines_is_refused() {
    let root = project_with_version_file(Some("3.2.0\n3.1.0\n"));
    let Err(SpecError::Invalid(d)) = spec::parse(Path::new(FILE), &from_file(), &in_project(&root))
    else {
        panic!("a version file of two lines must be refused");
    };
    assert!(
        d.message.ends_with("holds more than one line"),
        "{}",
        d.message
    );

    // A file's value is plain text, as a flag's is.
    let root = project_with_version_file(Some("${rds_instance.db.endpoint}"));
    let Err(SpecError::Invalid(d)) = spec::parse(Path::new(FILE), &from_file(), &in_project(&root))
    else {
        panic!("a reference in a version file must be refused");
    };
    assert_eq!(
        d.message,
        "server/version/minor_version (the value of `server_version`) holds a reference: \
         `${rds_instance.db.endpoint}`"
    );
}

#[test]
fn a_version_file_that_is_a_directory_or_too_long_is_refused_unread() {
    // A directory (or a FIFO, or a device) holds no value; a long file is not a version.
    let root = project_with_version_file(None);
    std::fs::create_dir_all(root.path().join("server/version/minor_version")).unwrap();
    let Err(SpecError::Invalid(d)) = spec::parse(Path::new(FILE), &from_file(), &in_project(&root))
    else {
        panic!("a directory must be refused");
    };
    assert!(
        d.message.ends_with("is not a regular file"),
        "{}",
        d.message
    );

    let root = project_with_version_file(Some(&"3".repeat(5000)));
    let Err(SpecError::Invalid(d)) = spec::parse(Path::new(FILE), &from_file(), &in_project(&root))
    else {
        panic!("a 5000-byte version must be refused");
    };
    assert!(
        d.message.ends_with("is longer than 4096 bytes"),
        "{}",
        d.message
    );
}

#[test]
fn a_variable_read_from_a_file_takes_no_default() {
    let spec = VERSIONED.replace(
        "DEFAULT",
        "from_file = \"server/version/minor_version\"\ndefault = \"3.1.0\"",
    );
    let root = project_with_version_file(Some("3.2.0"));
    let Err(SpecError::Invalid(d)) = spec::parse(Path::new(FILE), &spec, &in_project(&root)) else {
        panic!("from_file with a default must be refused");
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:10:11: variable `server_version` has both `from_file` and a `default`
       |
    10 | default = "3.1.0"
       |           ^^^^^^^
    hint: a value read from a file has no fallback: a missing file would silently plan the default (a downgrade, for a release version); remove `default`
    "#);
}

#[test]
fn var_arguments_are_name_equals_value() {
    assert_eq!(
        spec::parse_var_arg("server_version=3.2.0"),
        Ok(("server_version".into(), "3.2.0".into()))
    );
    assert_eq!(
        spec::parse_var_arg("tag=a=b"),
        Ok(("tag".into(), "a=b".into())),
        "only the first = splits"
    );
    assert!(spec::parse_var_arg("server_version").is_err());
    assert!(spec::parse_var_arg("=3.2.0").is_err());
}

// --- The shipped specs ---------------------------------------------------------------------

#[test]
fn the_shipped_specs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments");
    let load = |name: &str| {
        spec::load(
            &dir.join(format!("{name}.toml")),
            &crate::support::release_inputs(vec![]),
        )
        .unwrap_or_else(|e| panic!("{name}.toml: {}", report(e)))
    };

    let prerelease = load("prerelease");
    assert_eq!(prerelease.env.name, "prerelease");
    assert!(!prerelease.is_protected());
    assert_eq!(
        prerelease.ttl,
        Some(std::time::Duration::from_secs(24 * 3600))
    );
    let names: Vec<String> = prerelease.resources.keys().map(|a| a.to_string()).collect();
    assert_eq!(
        names,
        [
            "rds_snapshot.from_prod",
            "rds_instance.db",
            "ec2_instance.server",
            "ecs_cluster.main",
            "ecs_task_definition.server",
            "ecs_service.server",
            "security_group.db",
            "security_group.server",
            "dns_record.server"
        ]
    );
    assert_eq!(prerelease.sources.len(), 3);

    let production = load("production");
    assert!(production.is_protected());
    assert_eq!(production.sources.len(), 5);
    let snapshot = production
        .resources
        .values()
        .next()
        .expect("the release snapshot");
    assert_eq!(
        snapshot.attributes["identifier"],
        "production-before-manual"
    );
    let inputs = VariableInputs {
        cli: vec![("release".into(), "3.2.0".into())],
        env: BTreeMap::new(),
        ..Default::default()
    };
    let release = spec::load(&dir.join("production.toml"), &inputs).expect("a version");
    assert_eq!(
        release.resources.values().next().unwrap().attributes["identifier"],
        "production-before-3-2-0",
        "a release named by its version makes an identifier RDS accepts"
    );

    let staging = load("staging");
    assert!(staging.is_protected());
    assert_eq!(staging.resources.len(), 3);
}

// --- Nothing a person types makes it panic -------------------------------------------------

/// Deterministic damage to a spec: truncations, deletions and swaps of characters.
fn mutations(original: &str) -> Vec<String> {
    let chars: Vec<char> = original.chars().collect();
    let n = chars.len();
    let mut out = vec![];
    let cut = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    // Truncated at every 17th character.
    for end in (0..n).step_by(17) {
        out.push(cut(0, end));
    }
    // One character deleted, every 11th position.
    for i in (0..n).step_by(11) {
        out.push(cut(0, i) + &cut(i + 1, n));
    }
    // Two neighbours swapped, every 13th position.
    for i in (0..n - 1).step_by(13) {
        let mut c = chars.clone();
        c.swap(i, i + 1);
        out.push(c.into_iter().collect());
    }
    // The characters that matter most to TOML and references, deleted wherever they are.
    for (i, c) in chars.iter().enumerate() {
        if matches!(c, '$' | '{' | '}' | '"' | '[' | ']' | '=' | '.') && i % 3 == 0 {
            out.push(cut(0, i) + &cut(i + 1, n));
        }
    }
    out
}

#[test]
fn no_damaged_spec_makes_validation_panic() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("environments/prerelease.toml");
    let original = std::fs::read_to_string(&path).expect("the shipped spec");
    let damaged = mutations(&original);
    assert!(damaged.len() >= 300, "only {} mutations", damaged.len());
    let (mut accepted, mut rejected) = (0, 0);
    for (i, text) in damaged.iter().enumerate() {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            spec::parse(
                Path::new(FILE),
                text,
                &crate::support::release_inputs(vec![]),
            )
        }));
        match outcome {
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) => {
                // Every error renders, and a located one points inside the text.
                if let SpecError::Invalid(d) = &e {
                    assert!(
                        d.line >= 1 && d.line <= text.lines().count().max(1) + 1,
                        "mutation {i}: line {}",
                        d.line
                    );
                }
                let rendered = report(e);
                assert!(!rendered.is_empty());
                rejected += 1;
            }
            Err(_) => panic!("mutation {i} made parse panic; the input was:\n{text}"),
        }
    }
    assert!(
        rejected > 0 && accepted > 0,
        "{accepted} accepted, {rejected} rejected"
    );
}

#[test]
fn an_ephemeral_environment_lives_at_most_a_year() {
    let text =
        crate::support::shipped_text("prerelease").replace("ttl = \"24h\"", "ttl = \"400d\"");
    let Err(rehearsal::spec::SpecError::Invalid(d)) = rehearsal::spec::parse(
        std::path::Path::new("environments/prerelease.toml"),
        &text,
        &rehearsal::spec::VariableInputs::default(),
    ) else {
        panic!("a ttl over a year is refused");
    };
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:17:7: a time to live of 400d is longer than a year
       |
    17 | ttl = "400d"
       |       ^^^^^^
    hint: ephemeral environments are meant to go away: use at most "365d"
    "#);
}

// --- Every located error says what to do ---------------------------------------------------

/// A shipped spec damaged every way this test knows: cut at every byte, each line duplicated
/// or deleted, neighbouring characters swapped, and each value replaced by something people
/// (and editors) get wrong.
fn damaged(name: &str) -> Vec<String> {
    let original = crate::support::shipped_text(name);
    let lines: Vec<&str> = original.lines().collect();
    let mut out = vec![];
    for i in (0..=original.len()).filter(|i| original.is_char_boundary(*i)) {
        out.push(original[..i].to_string());
    }
    for i in 0..lines.len() {
        let mut duplicated = lines.clone();
        duplicated.insert(i, lines[i]);
        out.push(duplicated.join("\n"));
        let mut deleted = lines.clone();
        deleted.remove(i);
        out.push(deleted.join("\n"));
    }
    let chars: Vec<char> = original.chars().collect();
    for i in (0..chars.len() - 1).step_by(2) {
        let mut swapped = chars.clone();
        swapped.swap(i, i + 1);
        out.push(swapped.into_iter().collect());
    }
    let wrong = [
        "",
        "[",
        "{",
        "\"",
        "'''",
        "1e400",
        "99999999999999999999",
        "0x",
        "inf",
        "true",
        "1979-05-27T07:32:00Z",
        "[1, \"a\"]",
        "{ a = 1 }",
        "\"${\"",
        "\"${var.nope}\"",
    ];
    for (i, line) in lines.iter().enumerate() {
        let Some(eq) = line.find(" = ") else { continue };
        for value in wrong {
            let mut replaced = lines.clone();
            let edited = format!("{} = {value}", &line[..eq]);
            replaced[i] = &edited;
            out.push(replaced.join("\n"));
        }
    }
    out
}

#[track_caller]
fn every_located_error_has_a_hint(name: &str) {
    let path = format!("environments/{name}.toml");
    let mut located = 0;
    let mut without: BTreeMap<String, String> = BTreeMap::new();
    for text in damaged(name) {
        if let Err(SpecError::Invalid(d)) =
            spec::parse(Path::new(&path), &text, &VariableInputs::default())
        {
            located += 1;
            if d.hint.is_none() {
                without
                    .entry(d.message.clone())
                    .or_insert_with(|| shown(&d));
            }
        }
    }
    assert!(located > 1000, "only {located} located errors");
    assert!(
        without.is_empty(),
        "{} kinds of located error have no hint:\n\n{}",
        without.len(),
        without.into_values().collect::<Vec<_>>().join("\n\n")
    );
}

#[test]
fn every_located_error_in_a_damaged_prerelease_spec_has_a_hint() {
    every_located_error_has_a_hint("prerelease");
}

#[test]
fn every_located_error_in_a_damaged_production_spec_has_a_hint() {
    every_located_error_has_a_hint("production");
}

#[test]
fn every_located_error_in_a_damaged_staging_spec_has_a_hint() {
    every_located_error_has_a_hint("staging");
}

#[test]
fn a_key_set_twice_says_to_remove_or_merge_it() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.ecs_cluster.main]
name = "prerelease"
name = "prerelease-2"
"#,
    );
    let d = rejected(spec);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:9:1: duplicate key
      |
    9 | name = "prerelease-2"
      | ^^^^
    hint: a key is set once per table and a [table] is written once: remove this one, or merge it into the first
    "#);
}

// --- the network ------------------------------------------------------------------------------

#[test]
fn security_groups_that_allow_each_other_are_a_cycle_with_a_way_out() {
    let spec = text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[resources.security_group.app]
name = "app"
vpc_id = "vpc-1"
ingress = [{ protocol = "tcp", port = 8080, source_security_group = "${security_group.web.id}" }]

[resources.security_group.web]
name = "web"
vpc_id = "vpc-1"
ingress = [{ protocol = "tcp", port = 443, source_security_group = "${security_group.app.id}" }]
"#,
    );
    let shown = shown(&rejected(spec));
    assert!(
        shown.starts_with("error: environments/prerelease.toml:7:1: dependency cycle between security_group.app → security_group.web"),
        "{shown}"
    );
    assert!(
        shown.contains("hint: security groups whose rules name each other"),
        "{shown}"
    );
    assert!(shown.contains("cidr_blocks"), "{shown}");
}

#[test]
fn a_rule_without_a_peer_and_a_record_outside_its_zone_are_refused_with_hints() {
    let head = r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"
"#;
    let rule = format!(
        "{head}\n[resources.security_group.db]\nname = \"db\"\nvpc_id = \"vpc-1\"\n\
         ingress = [{{ protocol = \"tcp\", port = 5432 }}]\n"
    );
    let shown_rule = shown(&rejected(text(&rule)));
    assert!(
        shown_rule.contains(
            "security_group.db: ingress rule 1 needs exactly one of `cidr_blocks` or `source_security_group`"
        ),
        "{shown_rule}"
    );
    assert!(
        shown_rule.contains("environments/prerelease.toml:7:1"),
        "{shown_rule}"
    );
    assert!(
        shown_rule.contains("hint: allow addresses with cidr_blocks"),
        "{shown_rule}"
    );

    let record = format!(
        "{head}\n[resources.dns_record.server]\nzone = \"example.com\"\n\
         name = \"prerelease.example.org\"\ntype = \"A\"\nvalues = [\"10.0.0.1\"]\n"
    );
    let shown_record = shown(&rejected(text(&record)));
    assert!(
        shown_record.contains("`prerelease.example.org` is not in the zone `example.com`"),
        "{shown_record}"
    );
    assert!(
        shown_record.contains("hint: write the full name, like name = \"prerelease.example.com\""),
        "{shown_record}"
    );
}

// --- Isolation: what a clone keeps from production ------------------------------------------

/// A clone of production's task definition and server, with `decided` on the task definition
/// and `server` on the server.
fn clone_deciding(decided: &str, server: &str) -> String {
    text(
        r#"
[environment]
project = "openchs"
name = "prerelease"
region = "eu-west-1"
lifecycle = "ephemeral"

[sources.ecs_task_definition.prod_server]
family = "server"

[sources.ec2_instance.prod_server]
tags = { Name = "production-server" }

[resources.ec2_instance.server]
clone_of = "${source.ec2_instance.prod_server.id}"
instance_type = "t3.medium"
SERVER

[resources.ecs_task_definition.server]
family = "prerelease-server"
clone_of = "${source.ecs_task_definition.prod_server.arn}"
DECIDED
"#,
    )
    .replace("SERVER", server)
    .replace("DECIDED", decided)
}

#[test]
fn keeping_what_a_clone_does_not_inherit_names_what_it_does() {
    let d = rejected(&clone_deciding(
        "keep_from_production = [\"execution_role_arn\", \"task_role\"]",
        "",
    ));
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:18:1: keep_from_production: `task_role` is not something a task-definition clone inherits
       |
    18 | [resources.ecs_task_definition.server]
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: did you mean `task_role_arn`? a task-definition clone inherits "task_role_arn", "execution_role_arn", "secrets.CONTAINER.NAME", "environment.CONTAINER.NAME" and "log_configuration.CONTAINER"
    "#);
}

#[test]
fn an_item_kept_and_overridden_too_is_refused_naming_both() {
    let d = rejected(&clone_deciding(
        "keep_from_production = [\"environment.server.MAIL_ENABLED\"]\n\
         [resources.ecs_task_definition.server.containers_override.server]\n\
         environment = { MAIL_ENABLED = \"false\" }",
        "",
    ));
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:18:1: `environment.server.MAIL_ENABLED` is in keep_from_production and overridden too
       |
    18 | [resources.ecs_task_definition.server]
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: the override decides it already: remove `environment.server.MAIL_ENABLED` from keep_from_production, or the override
    "#);
}

#[test]
fn a_server_clone_cannot_keep_user_data_it_never_copies() {
    let d = rejected(&clone_deciding(
        "",
        "drop_from_production = [\"instance_profile\", \"user_data\"]",
    ));
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:13:1: drop_from_production: a clone never copies its source's user data: nothing to keep or drop
       |
    13 | [resources.ec2_instance.server]
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: the clone runs the `user_data` its spec gives, or none; the only item to decide on a server is "instance_profile"
    "#);
}

#[test]
fn a_clone_of_a_bare_instance_id_decides_its_instance_profile_in_the_spec() {
    let bare = clone_deciding("", "").replace(
        "\"${source.ec2_instance.prod_server.id}\"",
        "\"i-0a1b2c3d4e5f60001\"",
    );
    let d = rejected(&bare);
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:13:1: a clone of a bare instance id would launch with that instance's instance profile, unsaid: its role reaches production
       |
    13 | [resources.ec2_instance.server]
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: decide it: keep it, keep_from_production = ["instance_profile"]; or override it, instance_profile = "arn:aws:iam::...:instance-profile/..."; or drop it, drop_from_production = ["instance_profile"]
    "#);
    let decided = bare.replace(
        "instance_type = \"t3.medium\"",
        "instance_type = \"t3.medium\"\ndrop_from_production = [\"instance_profile\"]",
    );
    parse(&decided).expect("a decided bare clone is valid");
}

#[test]
fn only_a_clone_keeps_anything_from_production() {
    let d = rejected(&clone_deciding("", "").replace(
        "clone_of = \"${source.ecs_task_definition.prod_server.arn}\"",
        "keep_from_production = [\"task_role_arn\"]\n\
         containers = [{ name = \"server\", image = \"example/openchs-server:3.1.0\" }]",
    ));
    insta::assert_snapshot!(shown(&d), @r#"
    error: environments/prerelease.toml:18:1: `keep_from_production` is for a clone, and this one copies nothing
       |
    18 | [resources.ecs_task_definition.server]
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    hint: remove `keep_from_production`, or set `clone_of` to copy production's
    "#);
}
