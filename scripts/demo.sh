#!/usr/bin/env bash
# `make demo`: the whole pre-release story against a local AWS emulator that this script starts
# and stops itself. Nothing here touches a real AWS account: every call goes to 127.0.0.1.
# `REALISTIC=1 make demo` runs it at AWS's pace, scaled down (about a minute longer).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# step, SCALE, EMULATOR_STATE_DIR, cleanup on exit, start_emulator.
source scripts/demo_emulator.sh

step "Building rehearsal"
make --no-print-directory build

start_emulator

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
DEMO_PIDS+=($!)
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
