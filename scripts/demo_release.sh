#!/usr/bin/env bash
# `make demo-release`: a whole release, checklist line by line, against a local AWS emulator
# that this script starts and stops itself (nothing here touches a real AWS account): what runs
# where, a pre-release rehearsal, a production snapshot, staging bumped, production promoted to
# the previous staging release, a broken release detected, a rollback, and what runs where after.
# `REALISTIC=1 make demo-release` runs it at AWS's pace, scaled down (REALISTIC_SCALE).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# step, SCALE, EMULATOR_STATE_DIR, cleanup on exit, start_emulator.
source scripts/demo_emulator.sh

step "Building rehearsal"
make --no-print-directory build
REHEARSAL="${CARGO_TARGET_DIR:-$HOME/.cache/rehearsal-target}/debug/rehearsal"
rehearsal() { printf '$ rehearsal'; printf ' %q' "$@"; printf '\n'; "$REHEARSAL" "$@"; }

start_emulator

step "Seeding a fake production: server, database, ECS cluster, service and family (3.0.0)"
python3 scripts/seed_production.py --endpoint "$MOTO_URL" --region eu-west-1 >/dev/null
echo "production is up, made by hand long before rehearsal"

# The specs, in a copy of our own: production's is written by `init` below, and the plans go
# here too. environments/ and plans/ of the checkout stay as they are.
export REHEARSAL_ENVIRONMENTS="$EMULATOR_STATE_DIR/environments"
PLANS="$EMULATOR_STATE_DIR/plans"
mkdir -p "$REHEARSAL_ENVIRONMENTS" "$PLANS"
cp environments/*.toml "$REHEARSAL_ENVIRONMENTS/"
rm "$REHEARSAL_ENVIRONMENTS/production.toml"

step "An administrator, once: production's service, family and database taken under management"
rehearsal init production --from-live --project openchs --region eu-west-1 \
    --service production/server --task-definition server --db production-db --auto-approve

step "Staging as it runs before the release: 3.1.0"
rehearsal apply staging --var server_version=3.1.0 --auto-approve

step "rehearsal status: what runs where, before the release"
rehearsal status

step "The pre-release rehearsal of 3.2.0: plan, apply, destroy (checks skipped: no server runs here)"
rehearsal plan prerelease --var server_version=3.2.0 --out "$PLANS/prerelease.plan.json" >/dev/null
echo "(plan saved to $PLANS/prerelease.plan.json; \`make demo\` shows it in full)"
rehearsal apply "$PLANS/prerelease.plan.json" --skip-checks
rehearsal destroy prerelease --auto-approve

step "\"Create a DB snapshot in AWS RDS (just to be safe)\": a production snapshot"
rehearsal snapshot production --reason "before 3.2.0" --auto-approve

step "\"Update staging task definition to latest release\": staging bumped to 3.2.0"
rehearsal plan staging --var server_version=3.2.0 --out "$PLANS/staging.plan.json"
rehearsal apply "$PLANS/staging.plan.json"
rehearsal revisions staging

step "\"Update production task definition to previous staging release version\": promote"
rehearsal promote --from staging --to production --out "$PLANS/production.promote.json"
rehearsal apply "$PLANS/production.promote.json"

step "A broken release: staging bumped to 3.3.0, whose tasks fail to start"
# The realism layer plays ECS's deployment circuit breaker: this rollout fails, and ECS rolls
# the service back to the revision that ran before it.
python3 - "$AWS_ENDPOINT_URL" <<'PY'
import json, sys, urllib.request
body = {"service": "ecs", "cluster": "staging", "id": "server", "region": "eu-west-1",
        "state": "FAILED", "message": "(service server) (task 1a2b) failed container health checks."}
req = urllib.request.Request(sys.argv[1] + "/__proxy/realism/force", method="POST",
                             data=json.dumps(body).encode(), headers={"content-type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()
PY
code=0
rehearsal apply staging --var server_version=3.3.0 --auto-approve || code=$?
if [ "$code" != 4 ]; then
    echo "expected the broken release to exit 4 (a step failed), got $code" >&2
    exit 1
fi
echo "(exit 4: detected. ECS's circuit breaker put staging back on 3.2.0's revision)"

step "\"Production is down after a deployment: roll back right away\": rehearsal rollback"
rehearsal rollback production --auto-approve

step "rehearsal status: what runs where, after"
rehearsal status

step "Done: the emulator stops now."
