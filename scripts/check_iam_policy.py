#!/usr/bin/env python3
"""Check docs/iam-policy.json against the Service Authorization Reference, as the parliament
package (pinned in requirements-emulator.txt, installed by `scripts/emulator.sh install`) ships it.

    scripts/check_iam_policy.py [POLICY]     default: docs/iam-policy.json

Fails (exit 1) on:
- every parliament finding (unknown prefix, action or operator, a condition key an action does not
  document, a statement without a resource of a type its action requires, malformed JSON, ...),
  except the two kinds below that this policy has on purpose;
- a resource that is of no type any action of its statement takes (parliament does not look);
- a tag or service condition key that an action does not document for the resource types the
  statement gives it (parliament takes aws:RequestTag, aws:ResourceTag and aws:TagKeys as valid
  for every action, but a condition on a key AWS does not set never matches: the call is refused);
- a policy longer than a customer managed policy may be (6,144 characters, whitespace aside).

Deliberately not errors:
- RESOURCE_STAR when every action it names reads (access level Read or List): reading production
  and finding the environment spans the account by design; nothing on "*" changes anything, except
  an action for which the reference lists no resource type, where "*" is the only resource.
- RESOURCE_MISMATCH for an action and a resource type that another Allow statement for the same
  action covers: parliament judges each statement alone, while IAM authorizes each resource of a
  call against the whole policy. The policy puts what a create call creates (which must carry the
  project's tags, aws:RequestTag) and what it only uses (production's image, subnet, VPC, database)
  in separate statements, so that the tag condition applies to the first only.

Exit 2 when parliament is not installed.
"""

import importlib.util
import json
import os
import re
import sys
import types
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MANAGED_POLICY_LIMIT = 6144
READ_LEVELS = {"Read", "List"}
# Keys whose presence depends on the action and the resource (parliament checks only the
# service-prefixed ones).
TAG_KEY = re.compile(r"^aws:(RequestTag/|ResourceTag/|TagKeys$)", re.IGNORECASE)


def import_parliament():
    # parliament 1.6.4 finds its data with pkg_resources, which new setuptools no longer ship and
    # a fresh virtualenv may lack; its one use, resource_filename, is a path join.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="pkg_resources")
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        shim = types.ModuleType("pkg_resources")

        def resource_filename(package, name):
            spec = importlib.util.find_spec(package)
            return os.path.join(os.path.dirname(spec.origin), name)

        shim.resource_filename = resource_filename
        sys.modules["pkg_resources"] = shim
    try:
        import parliament
        from parliament.statement import (
            get_arn_format,
            get_privilege_info,
            is_condition_key_match,
        )
    except ImportError as e:
        print(
            f"check_iam_policy: parliament is not importable ({e}); "
            "run 'scripts/emulator.sh install' (installs requirements-emulator.txt)",
            file=sys.stderr,
        )
        sys.exit(2)
    return parliament, get_arn_format, get_privilege_info, is_condition_key_match


parliament, get_arn_format, get_privilege_info, is_condition_key_match = import_parliament()


def as_list(v):
    return v if isinstance(v, list) else [v]


def actions_of(statement):
    out = []
    for a in as_list(statement.get("Action", [])):
        try:
            out.extend(f"{x['service']}:{x['action']}" for x in parliament.expand_action(a))
        except Exception:
            pass  # parliament reports unknown prefixes and actions
    return out


def privilege(action):
    service, name = action.split(":", 1)
    return get_privilege_info(service, name)


def types_matched(action, resource):
    """The resource types (names without '*') of `action` that `resource` is an ARN of; for '*',
    all of them, and '' for actions with none."""
    info = privilege(action)
    rows = [r["resource_type"] for r in info["resource_types"] if r["resource_type"]]
    if resource == "*":
        return [r.rstrip("*") for r in rows] or [""]
    out = []
    for row in rows:
        fmt = get_arn_format(row, info["service_resources"])
        if parliament.is_arn_strictly_valid(row, fmt, resource):
            out.append(row.rstrip("*"))
    return out


def supported_keys(action, resource_type):
    """Condition keys documented for `action` on `resource_type`: the action's own row, the keys it
    documents for every resource (the row without a type), and the keys the service documents for
    the resource type (tags of an existing resource) where those are resource-tag keys."""
    info = privilege(action)
    keys = []
    for row in info["resource_types"]:
        if row["resource_type"].rstrip("*") in (resource_type, ""):
            keys += row["condition_keys"]
    for r in info["service_resources"]:
        if r["resource"] == resource_type:
            keys += [k for k in r["condition_keys"] if "ResourceTag/" in k or "-tag/" in k]
    return keys


def documented(key, keys):
    return any(is_condition_key_match(k, key) for k in keys)


def condition_keys(statement):
    return [k for block in statement.get("Condition", {}).values() for k in block]


def own_checks(policy):
    errors = []
    for st in policy["Statement"]:
        if st.get("Effect") != "Allow":
            continue
        sid = st.get("Sid", "?")
        actions = actions_of(st)
        resources = as_list(st.get("Resource", []))
        for r in resources:
            if r != "*" and not any(types_matched(a, r) for a in actions):
                errors.append(f"{sid}: {r} is of no resource type that {actions} take")
        for a in actions:
            matched = {t for r in resources for t in types_matched(a, r)}
            for key in condition_keys(st):
                if key.lower().startswith("aws:") and not TAG_KEY.match(key):
                    continue  # other global keys are not documented action by action
                missing = [t for t in sorted(matched) if not documented(key, supported_keys(a, t))]
                if "*" in resources and len(missing) < len(matched):
                    continue  # on "*", a key for some of the action's resource types will do
                if missing:
                    on = ", ".join(t or "(no resource type)" for t in missing)
                    errors.append(
                        f"{sid}: {a} on {on} has no condition key {key}: "
                        "this statement never allows it"
                    )
    size = len(re.sub(r"\s", "", json.dumps(policy, separators=(",", ":"))))
    if size > MANAGED_POLICY_LIMIT:
        errors.append(
            f"the policy has {size} characters (whitespace aside); "
            f"a managed policy may have {MANAGED_POLICY_LIMIT}"
        )
    return errors, size


def covered_elsewhere(policy, statement_sid, action, required_format):
    """True when another Allow statement for `action` has a resource of the required format."""
    info = privilege(action)
    rows = [
        r["resource_type"]
        for r in info["resource_types"]
        if r["resource_type"]
        and get_arn_format(r["resource_type"], info["service_resources"]) == required_format
    ]
    for st in policy["Statement"]:
        if st.get("Effect") != "Allow" or st.get("Sid") == statement_sid:
            continue
        if action not in actions_of(st):
            continue
        for r in as_list(st.get("Resource", [])):
            if r == "*" or any(
                parliament.is_arn_strictly_valid(row, required_format, r) for row in rows
            ):
                return True
    return False


def parliament_errors(text, policy):
    errors, ignored = [], []
    analyzed = parliament.analyze_policy_string(text)
    sids_by_line = {}
    for f in analyzed.findings:
        sid = None
        if isinstance(f.location, dict) and "line" in f.location:
            sid = sid_at_line(text, f.location["line"], sids_by_line)
        label = f"{f.issue} ({sid or 'policy'})"
        if f.issue == "RESOURCE_STAR" and all(
            privilege(a)["access_level"] in READ_LEVELS for a in f.detail
        ):
            ignored.append(f"{label}: reads on '*' by design: {', '.join(f.detail)}")
            continue
        if f.issue == "RESOURCE_MISMATCH":
            left = [
                d
                for d in f.detail
                if not covered_elsewhere(policy, sid, d["action"], d["required_format"])
            ]
            if not left:
                covered = ", ".join(f"{d['action']} {d['required_format']}" for d in f.detail)
                ignored.append(f"{label}: covered by another statement: {covered}")
                continue
            errors.append(f"{label}: {left}")
            continue
        errors.append(f"{label}: {f.detail}")
    return errors, ignored


def sid_at_line(text, line, cache):
    """The Sid of the statement that starts at `line` (parliament locates statements by line)."""
    if not cache:
        lines = text.splitlines()
        for i, _ in enumerate(lines, start=1):
            for j in range(i, min(i + 3, len(lines) + 1)):
                m = re.search(r'"Sid"\s*:\s*"([^"]*)"', lines[j - 1])
                if m:
                    cache[i] = m.group(1)
                    break
    return cache.get(line)


def main(argv):
    path = argv[1] if len(argv) > 1 else os.path.join(ROOT, "docs", "iam-policy.json")
    text = open(path).read()
    policy = json.loads(text)
    errors, ignored = parliament_errors(text, policy)
    own, size = own_checks(policy)
    errors += own
    name = os.path.relpath(path, ROOT) if path.startswith(ROOT) else path
    for line in ignored:
        print(f"check_iam_policy: {name}: not an error: {line}")
    for line in errors:
        print(f"check_iam_policy: {name}: error: {line}", file=sys.stderr)
    if errors:
        print(f"check_iam_policy: {name}: {len(errors)} error(s)", file=sys.stderr)
        return 1
    print(
        f"check_iam_policy: {name}: clean (parliament {parliament.__version__}, "
        f"{len(policy['Statement'])} statements, {size} of {MANAGED_POLICY_LIMIT} characters)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
