#!/usr/bin/env bash
# `make demo`: the whole pre-release story against a local AWS emulator that this script starts
# and stops itself. Nothing here touches a real AWS account: every call goes to 127.0.0.1.
# `REALISTIC=1 make demo` runs it at AWS's pace, scaled down (about a minute longer).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
[ -n "${NO_COLOR:-}" ] && step() { printf '\n==> %s\n' "$*"; }

# REALISTIC=1: AWS's lifecycles at 1/50 of their durations (a restore takes 12 s instead of 10
# minutes; REALISTIC_SCALE changes the fraction). Otherwise they pass at once, while the
# realistic layer still behaves as AWS does in every other way (refusals, tokens, rollouts).
SCALE=0
if [ -n "${REALISTIC:-}" ] && [ "${REALISTIC}" != 0 ]; then
    SCALE="${REALISTIC_SCALE:-0.02}"
fi

# An emulator of our own, in a state dir of our own, stopped however the script ends.
export EMULATOR_STATE_DIR="$(mktemp -d)"
PROXY_PID=""
STANDIN_PID=""
cleanup() {
    for pid in $PROXY_PID $STANDIN_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    bash scripts/emulator.sh down >/dev/null 2>&1 || true
    rm -rf "$EMULATOR_STATE_DIR"
}
trap cleanup EXIT

step "Building rehearsal"
make --no-print-directory build

step "Starting a local AWS emulator (moto), behind AWS's lifecycles (time scale $SCALE)"
MOTO_URL="$(bash scripts/emulator.sh up)"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
python3 scripts/fault_proxy.py --upstream "$MOTO_URL" --port 0 --fault-rate 0 \
    --realism --time-scale "$SCALE" >"$EMULATOR_STATE_DIR/proxy.url" 2>"$EMULATOR_STATE_DIR/proxy.log" &
PROXY_PID=$!
for _ in $(seq 1 100); do
    [ -s "$EMULATOR_STATE_DIR/proxy.url" ] && break
    kill -0 "$PROXY_PID" 2>/dev/null || { cat "$EMULATOR_STATE_DIR/proxy.log" >&2; exit 1; }
    sleep 0.1
done
export AWS_ENDPOINT_URL="$(head -n 1 "$EMULATOR_STATE_DIR/proxy.url")"
echo "emulator at $MOTO_URL, rehearsal talks to it through $AWS_ENDPOINT_URL"

step "Seeding a fake production: server, PostgreSQL database, ECS cluster and service, zone example.com"
# Straight into moto: production was built long ago.
python3 scripts/seed_production.py --endpoint "$MOTO_URL" --region eu-west-1 >/dev/null
echo "production is up (see environments/production.toml)"

step "A stand-in for the server under test (moto runs no servers), for the spec's check"
# The pre-release's check asks ${server_url}/ping; on AWS that is http://prerelease.example.com:8080.
python3 -u - >"$EMULATOR_STATE_DIR/standin.url" 2>/dev/null <<'PY' &
import http.server
class Ping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/ping"
        body = b"pong: server 3.2.0 started, migrations done\n" if ok else b"not found\n"
        self.send_response(200 if ok else 404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Ping)
print(f"http://127.0.0.1:{server.server_address[1]}")
server.serve_forever()
PY
STANDIN_PID=$!
for _ in $(seq 1 100); do
    [ -s "$EMULATOR_STATE_DIR/standin.url" ] && break
    sleep 0.1
done
export REHEARSAL_VAR_server_url="$(head -n 1 "$EMULATOR_STATE_DIR/standin.url")"
echo "the server under test answers at $REHEARSAL_VAR_server_url (REHEARSAL_VAR_server_url)"

step "make plan-prerelease-from-prod SERVER_VERSION=3.2.0"
make --no-print-directory plan-prerelease-from-prod SERVER_VERSION=3.2.0

step "make create-prerelease-from-prod"
make --no-print-directory create-prerelease-from-prod

step "rehearsal status prerelease"
make --no-print-directory status-prerelease

step "rehearsal status: what runs where, every environment of the project"
make --no-print-directory status

step "The pre-release's name, as Route 53 answers it (the private zone example.com)"
python3 - "$MOTO_URL" <<'PY'
import sys, boto3
r53 = boto3.client("route53", endpoint_url=sys.argv[1], region_name="eu-west-1")
zone = next(z for z in r53.list_hosted_zones()["HostedZones"] if z["Name"] == "example.com.")
for s in r53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]:
    if s["Name"].startswith(("prerelease.", "_rehearsal.prerelease.")):
        values = " ".join(r["Value"] for r in s.get("ResourceRecords", []))
        print(f"{s['Name'].rstrip('.')}  {s['Type']}  {values}")
PY

step "make check-prerelease SERVER_VERSION=3.2.0 (apply ran it too)"
make --no-print-directory check-prerelease SERVER_VERSION=3.2.0

step "Planning again: the environment matches its spec"
make --no-print-directory plan-prerelease-from-prod SERVER_VERSION=3.2.0

step "make destroy-prerelease"
make --no-print-directory destroy-prerelease AUTO_APPROVE=1

step "rehearsal status prerelease"
make --no-print-directory status-prerelease

step "Done: pre-release was created from production, checked and torn down; the emulator stops now."
