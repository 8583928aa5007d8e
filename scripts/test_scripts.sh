#!/usr/bin/env bash
# Self-check of the emulator scripts: scripts/emulator.sh, scripts/seed_production.py,
# scripts/fault_proxy.py and its realistic mode (scripts/aws_realism.py, checked by
# scripts/test_aws_realism.py). Runs its own moto on a free port with its own state directory, so
# it does not touch an emulator a demo is using. Prints "N passed, M failed" last; exits non-zero
# on any failure.
#
#   scripts/test_scripts.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${EMULATOR_PYTHON:-python3}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rehearsal-test-scripts.XXXXXX")"
export EMULATOR_STATE_DIR="$WORK/emulator"
unset EMULATOR_PORT
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL

PASSED=0
FAILED=0
PROXY_PID=""

pass() { PASSED=$((PASSED + 1)); printf 'ok   %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$1"; [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/     /'; }

# check NAME COMMAND...: run COMMAND, pass when it exits 0; show its output when it fails.
check() {
    local name="$1" out
    shift
    if out="$("$@" 2>&1)"; then
        pass "$name"
    else
        fail "$name" "$out"
    fi
}

finish() {
    local rc=$?
    if [ -n "$PROXY_PID" ] && kill -0 "$PROXY_PID" 2>/dev/null; then
        kill "$PROXY_PID" 2>/dev/null || true
        wait "$PROXY_PID" 2>/dev/null || true
    fi
    scripts/emulator.sh down >/dev/null 2>&1 || true
    rm -rf "$WORK"
    echo
    echo "$PASSED passed, $FAILED failed"
    if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then
        exit 1
    fi
    exit 0
}
trap finish EXIT
trap 'exit 130' INT TERM

# Stop here (still printing the summary) when a step the rest depends on fails.
abort() { fail "$1" "${2:-}"; exit 1; }

# --- static checks ----------------------------------------------------------------------------

check "scripts parse (bash -n, py_compile)" bash -c "
    bash -n scripts/emulator.sh && bash -n scripts/test_scripts.sh && bash -n scripts/demo.sh &&
    bash -n scripts/demo_release.sh && bash -n scripts/demo_emulator.sh &&
    '$PYTHON' -c 'import ast, sys
for f in sys.argv[1:]:
    ast.parse(open(f).read(), f)' scripts/seed_production.py scripts/fault_proxy.py \
        scripts/aws_realism.py scripts/test_aws_realism.py scripts/check_iam_policy.py"

check "requirements pin moto[server] exactly once" bash -c \
    "[ \"\$(grep -c '^moto\[server\]==' requirements-emulator.txt)\" = 1 ]"

# --- the IAM policy's lint (scripts/check_iam_policy.py) catches what it says it does -----------

check "check_iam_policy: docs/iam-policy.json is clean" "$PYTHON" scripts/check_iam_policy.py
check "check_iam_policy: docs/iam-import-policy.json is clean" "$PYTHON" scripts/check_iam_policy.py docs/iam-import-policy.json

# lint_fails NAME POLICY: the lint rejects POLICY (a JSON statement list) with a line matching NAME.
lint_fails() {
    local name="$1" out
    printf '{"Version": "2012-10-17", "Statement": %s}\n' "$2" >"$WORK/policy.json"
    if out="$("$PYTHON" scripts/check_iam_policy.py "$WORK/policy.json" 2>&1)"; then
        fail "check_iam_policy rejects $name" "$out"
    elif printf '%s' "$out" | grep -q "$name"; then
        pass "check_iam_policy rejects $name"
    else
        fail "check_iam_policy rejects $name" "$out"
    fi
}
lint_fails "RESOURCE_STAR" \
    '[{"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*"}]'
lint_fails "UNKNOWN_ACTION" \
    '[{"Effect": "Allow", "Action": "ec2:TerminateInstance", "Resource": "arn:aws:ec2:*:*:instance/*"}]'
lint_fails "is of no resource type" \
    '[{"Effect": "Allow", "Action": "rds:DeleteDBSnapshot", "Resource": ["arn:aws:rds:*:*:snapshot:*", "arn:aws:rds:*:*:db:*"]}]'
lint_fails "has no condition key ecs:CreateAction" \
    '[{"Effect": "Allow", "Action": "ecs:DeregisterTaskDefinition", "Resource": "*", "Condition": {"StringEquals": {"ecs:CreateAction": "CreateCluster"}}}]'
lint_fails "has no condition key aws:ResourceTag/rehearsal:project" \
    '[{"Effect": "Allow", "Action": "ecs:DeregisterTaskDefinition", "Resource": "*", "Condition": {"StringEquals": {"aws:ResourceTag/rehearsal:project": "p"}}}]'

# --- emulator up ------------------------------------------------------------------------------

check "emulator.sh install is idempotent" scripts/emulator.sh install

if ! URL="$(scripts/emulator.sh up 2>"$WORK/up.err")"; then
    abort "emulator.sh up" "$(cat "$WORK/up.err")"
fi
case "$URL" in
    http://127.0.0.1:[0-9]*) pass "emulator.sh up prints a loopback URL ($URL)" ;;
    *) abort "emulator.sh up prints a loopback URL" "got: $URL" ;;
esac
PID="$(cat "$EMULATOR_STATE_DIR/pid")"

check "moto answers GET /moto-api/" "$PYTHON" -c "import urllib.request, sys
urllib.request.urlopen(sys.argv[1] + '/moto-api/', timeout=5)" "$URL"

check "recorded pid is a moto server" bash -c "tr '\\0' ' ' </proc/$PID/cmdline | grep -q moto.server"

check "emulator.sh up reuses the running emulator" bash -c "
    [ \"\$(scripts/emulator.sh up 2>/dev/null)\" = '$URL' ] && [ \"\$(cat '$EMULATOR_STATE_DIR/pid')\" = '$PID' ]"

check "emulator.sh endpoint prints the URL" bash -c "[ \"\$(scripts/emulator.sh endpoint)\" = '$URL' ]"

# --- seeding ----------------------------------------------------------------------------------

if ! "$PYTHON" scripts/seed_production.py --endpoint "$URL" >"$WORK/seed1.json" 2>"$WORK/seed1.err"; then
    abort "seed_production.py (first run)" "$(cat "$WORK/seed1.err")"
fi
pass "seed_production.py (first run)"

check "second seed creates nothing and finds the same ids" \
    "$PYTHON" - "$URL" "$WORK/seed1.json" <<'PY'
import json, subprocess, sys
url, first_file = sys.argv[1], sys.argv[2]
first = json.load(open(first_file))
assert first["created"], "the first run created nothing"
for key in ("vpc_id", "subnet_ids", "security_groups", "instance_id", "db_identifier",
            "cluster_arn", "task_definition_arn", "service_arn"):
    assert first.get(key), f"missing {key} in {first}"
out = subprocess.run([sys.executable, "scripts/seed_production.py", "--endpoint", url],
                     check=True, capture_output=True, text=True).stdout
second = json.loads(out)
assert second["created"] == [], f"second run created {second['created']}"
first.pop("created"); second.pop("created")
assert first == second, f"ids differ:\n{first}\n{second}"
PY

check "production matches environments/production.toml (one of each)" \
    "$PYTHON" - "$URL" <<'PY'
import sys, boto3
url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="eu-west-1")
ec2, rds, ecs = (boto3.client(s, **kw) for s in ("ec2", "rds", "ecs"))
res = ec2.describe_instances(Filters=[
    {"Name": "tag:Name", "Values": ["production-server"]},
    {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}])
insts = [i for r in res["Reservations"] for i in r["Instances"]]
assert len(insts) == 1, f"{len(insts)} production-server instances"
i = insts[0]
tags = {t["Key"]: t["Value"] for t in i["Tags"]}
assert tags.get("Environment") == "production", tags
assert i["InstanceType"] == "t3.medium", i["InstanceType"]
assert [g["GroupName"] for g in i["SecurityGroups"]] == ["production-server"], i["SecurityGroups"]
dbs = rds.describe_db_instances()["DBInstances"]
assert [d["DBInstanceIdentifier"] for d in dbs] == ["production-db"], dbs
db = dbs[0]
assert db["Engine"] == "postgres" and db["DBInstanceClass"] == "db.t3.medium", db
assert db["DeletionProtection"] is True
assert db["DBSubnetGroup"]["DBSubnetGroupName"] == "production-db-subnets"
assert {t["Key"]: t["Value"] for t in db["TagList"]}.get("Environment") == "production"
assert len(ecs.list_clusters()["clusterArns"]) == 1
svcs = ecs.describe_services(cluster="production", services=["server"])["services"]
assert len(svcs) == 1 and svcs[0]["desiredCount"] == 1 and svcs[0]["launchType"] == "FARGATE", svcs
assert svcs[0]["networkConfiguration"]["awsvpcConfiguration"]["subnets"], svcs
assert len(ecs.list_task_definitions(familyPrefix="server")["taskDefinitionArns"]) == 1
td = ecs.describe_task_definition(taskDefinition="server")["taskDefinition"]
c = td["containerDefinitions"][0]
assert (c["name"], c["image"]) == ("server", "example/openchs-server:3.0.0"), c
assert (td["networkMode"], td["requiresCompatibilities"], td["cpu"], td["memory"]) == ("awsvpc", ["FARGATE"], "512", "1024"), td
assert td["executionRoleArn"].endswith("role/production-server-execution") and td["taskRoleArn"], td
assert c["portMappings"][0]["containerPort"] == 8080
assert c["logConfiguration"]["logDriver"] == "awslogs" and c["secrets"][0]["name"] == "DATABASE_PASSWORD", c
assert c["healthCheck"]["command"][0] == "CMD-SHELL" and c["mountPoints"] and c["ulimits"], c
PY

check "seed_production.py refuses a non-loopback endpoint" bash -c "
    out=\$('$PYTHON' scripts/seed_production.py --endpoint https://ec2.eu-west-1.amazonaws.com 2>&1) && exit 1
    printf '%s' \"\$out\" | grep -q 'refusing endpoint'"

# --- fault proxy ------------------------------------------------------------------------------

"$PYTHON" scripts/fault_proxy.py --upstream "$URL" --port 0 --fault-rate 0.5 --seed 7 \
    --max-seconds 300 >"$WORK/proxy.out" 2>"$WORK/proxy.err" &
PROXY_PID=$!
PROXY=""
for _ in $(seq 1 50); do
    PROXY="$(head -n 1 "$WORK/proxy.out" 2>/dev/null || true)"
    [ -n "$PROXY" ] && break
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.1
done
case "$PROXY" in
    http://127.0.0.1:[0-9]*) pass "fault_proxy.py prints its loopback URL first ($PROXY)" ;;
    *) abort "fault_proxy.py prints its loopback URL first" "$(cat "$WORK/proxy.out" "$WORK/proxy.err")" ;;
esac

check "without retries each service sees its own throttling error" \
    "$PYTHON" - "$PROXY" <<'PY'
import sys, boto3
from botocore.config import Config
from botocore.exceptions import ClientError
url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="eu-west-1",
          config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))
calls = {
    "ec2": (boto3.client("ec2", **kw).describe_instances, ("RequestLimitExceeded", 503)),
    "rds": (boto3.client("rds", **kw).describe_db_instances, ("Throttling", 400)),
    "ecs": (boto3.client("ecs", **kw).list_clusters, ("ThrottlingException", 400)),
}
plain = 0
for name, (call, expected) in calls.items():
    seen = set()
    for _ in range(20):
        try:
            call()
        except ClientError as exc:
            seen.add((exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]))
    assert expected in seen, f"{name}: expected {expected}, saw {seen}"
    unexpected = seen - {expected, ("503", 503)}
    assert not unexpected, f"{name}: unexpected errors {unexpected}"
    plain += ("503", 503) in seen
assert plain, "no plain 503 was seen"
PY

check "moto-api requests are never faulted" "$PYTHON" - "$PROXY" <<'PY'
import json, sys, urllib.request
url = sys.argv[1]
req = urllib.request.Request(url + "/__proxy/config", method="POST",
                             data=json.dumps({"fault_rate": 1.0}).encode())
urllib.request.urlopen(req, timeout=5)
for _ in range(10):
    urllib.request.urlopen(url + "/moto-api/", timeout=5)
req = urllib.request.Request(url + "/__proxy/config", method="POST",
                             data=json.dumps({"fault_rate": 0.25, "seed": 7}).encode())
urllib.request.urlopen(req, timeout=5)
PY

check "boto3 with retries succeeds through the proxy; stats show every fault kind" \
    "$PYTHON" - "$PROXY" <<'PY'
import json, sys, urllib.request, boto3
from botocore.config import Config
url = sys.argv[1]
before = json.load(urllib.request.urlopen(url + "/__proxy/stats", timeout=5))
kw = dict(endpoint_url=url, region_name="eu-west-1",
          config=Config(retries={"max_attempts": 10, "mode": "standard"}))
ec2, rds, ecs = (boto3.client(s, **kw) for s in ("ec2", "rds", "ecs"))
for _ in range(6):
    assert len(ec2.describe_instances()["Reservations"]) == 1
    assert rds.describe_db_instances()["DBInstances"][0]["DBInstanceIdentifier"] == "production-db"
    assert len(ecs.list_clusters()["clusterArns"]) == 1
stats = json.load(urllib.request.urlopen(url + "/__proxy/stats", timeout=5))
faults = stats["faults"]
for kind in ("ec2_throttle", "rds_throttle", "ecs_throttle", "http_503"):
    assert faults[kind] > 0, f"no {kind} faults: {faults}"
assert stats["faults"]["total"] > before["faults"]["total"], "no faults during the retried calls"
assert stats["requests"] > stats["forwarded"] > 0, stats
for svc in ("ec2", "rds", "ecs"):
    assert stats["by_service"][svc]["requests"] > 0, stats["by_service"]
ops = stats["by_operation"]
assert ops["ec2:DescribeInstances"] - before["by_operation"].get("ec2:DescribeInstances", 0) >= 6, ops
assert ops["ecs:ListClusters"] >= 6 and ops["rds:DescribeDBInstances"] >= 6, ops
PY

check "seed_production.py through the proxy (retries) finds everything" bash -c "
    out=\$('$PYTHON' scripts/seed_production.py --endpoint '$PROXY') &&
    printf '%s' \"\$out\" | '$PYTHON' -c 'import json, sys; d = json.load(sys.stdin); assert d[\"created\"] == [], d[\"created\"]'"

check "fault_proxy.py exits on SIGTERM" bash -c "
    kill -TERM $PROXY_PID
    for _ in \$(seq 1 50); do kill -0 $PROXY_PID 2>/dev/null || exit 0; sleep 0.1; done
    exit 1"
wait "$PROXY_PID" 2>/dev/null || true
PROXY_PID=""

check "fault_proxy.py exits by itself after --max-seconds" bash -c "
    timeout 20 '$PYTHON' scripts/fault_proxy.py --upstream '$URL' --max-seconds 1 >/dev/null 2>&1"

check "fault_proxy.py refuses a non-loopback upstream" bash -c "
    ! '$PYTHON' scripts/fault_proxy.py --upstream http://192.0.2.1:80 --max-seconds 1 >/dev/null 2>&1"

check "fault_proxy.py refuses --time-scale without --realism, and a negative one" bash -c "
    ! '$PYTHON' scripts/fault_proxy.py --upstream '$URL' --time-scale 0.1 --max-seconds 1 >/dev/null 2>&1 &&
    ! '$PYTHON' scripts/fault_proxy.py --upstream '$URL' --realism --time-scale -1 --max-seconds 1 >/dev/null 2>&1"

# --- realistic mode ---------------------------------------------------------------------------

# Its own moto and proxy on free ports; about 55 s.
check "fault_proxy.py --realism: AWS lifecycles and refusals (scripts/test_aws_realism.py)" \
    "$PYTHON" scripts/test_aws_realism.py

# --- reset and down ---------------------------------------------------------------------------

check "emulator.sh reset clears moto's state" bash -c "
    scripts/emulator.sh reset 2>/dev/null &&
    '$PYTHON' -c 'import sys, boto3
rds = boto3.client(\"rds\", endpoint_url=sys.argv[1], region_name=\"eu-west-1\")
assert rds.describe_db_instances()[\"DBInstances\"] == []' '$URL'"

check "emulator.sh down stops moto and removes its state" bash -c "
    scripts/emulator.sh down 2>/dev/null &&
    ! [ -e '$EMULATOR_STATE_DIR' ] &&
    { ! [ -e /proc/$PID ] || grep -q '^[^)]*) [ZX]' /proc/$PID/stat; }"

check "emulator.sh down again is a no-op" scripts/emulator.sh down

check "emulator.sh endpoint fails clearly when nothing runs" bash -c "
    out=\$(scripts/emulator.sh endpoint 2>&1) && exit 1; printf '%s' \"\$out\" | grep -q 'run .* up'"

# --- the release demo ---------------------------------------------------------------------------

check "demo_release.sh runs the whole release end to end (its own emulator)" bash -c "
    NO_COLOR=1 bash scripts/demo_release.sh >'$WORK/demo-release.log' 2>&1 ||
    { tail -n 40 '$WORK/demo-release.log'; exit 1; }"
