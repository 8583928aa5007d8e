#!/usr/bin/env bash
# `make demo`: the whole pre-release story against a local AWS emulator that this script starts
# and stops itself. Nothing here touches a real AWS account: every call goes to 127.0.0.1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
[ -n "${NO_COLOR:-}" ] && step() { printf '\n==> %s\n' "$*"; }

# An emulator of our own, in a state dir of our own, stopped however the script ends.
export EMULATOR_STATE_DIR="$(mktemp -d)"
cleanup() {
    bash scripts/emulator.sh down >/dev/null 2>&1 || true
    rm -rf "$EMULATOR_STATE_DIR"
}
trap cleanup EXIT

step "Building rehearsal"
make --no-print-directory build

step "Starting a local AWS emulator (moto)"
export AWS_ENDPOINT_URL="$(bash scripts/emulator.sh up)"
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
echo "emulator at $AWS_ENDPOINT_URL"

step "Seeding a fake production: server, PostgreSQL database, ECS cluster and service"
python3 scripts/seed_production.py --endpoint "$AWS_ENDPOINT_URL" --region eu-west-1 >/dev/null
echo "production is up (see environments/production.toml)"

step "make plan-prerelease-from-prod SERVER_VERSION=3.2.0"
make --no-print-directory plan-prerelease-from-prod SERVER_VERSION=3.2.0

step "make create-prerelease-from-prod"
make --no-print-directory create-prerelease-from-prod

step "rehearsal status prerelease"
make --no-print-directory status-prerelease

step "Planning again: the environment matches its spec"
make --no-print-directory plan-prerelease-from-prod SERVER_VERSION=3.2.0

step "make destroy-prerelease"
make --no-print-directory destroy-prerelease AUTO_APPROVE=1

step "rehearsal status prerelease"
make --no-print-directory status-prerelease

step "Done: pre-release was created from production, checked and torn down; the emulator stops now."
