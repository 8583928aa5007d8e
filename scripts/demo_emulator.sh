# Sourced by scripts/demo.sh and scripts/demo_release.sh: what both demos need around rehearsal.
# An emulator of their own (moto behind the realism proxy), in a state dir of their own, stopped
# however the demo ends, and the step headers they print. Nothing here touches a real AWS account.

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
[ -n "${NO_COLOR:-}" ] && step() { printf '\n==> %s\n' "$*"; }

# REALISTIC=1: AWS's lifecycles at 1/50 of their durations (a restore takes 12 s instead of 10
# minutes; REALISTIC_SCALE changes the fraction). Otherwise they pass at once, while the
# realistic layer still behaves as AWS does in every other way (refusals, tokens, rollouts).
SCALE=0
if [ -n "${REALISTIC:-}" ] && [ "${REALISTIC}" != 0 ]; then
    SCALE="${REALISTIC_SCALE:-0.02}"
fi

export EMULATOR_STATE_DIR="$(mktemp -d)"
# Background processes of the demo (the proxy, a stand-in server), stopped on exit.
DEMO_PIDS=()
cleanup() {
    for pid in "${DEMO_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    bash scripts/emulator.sh down >/dev/null 2>&1 || true
    rm -rf "$EMULATOR_STATE_DIR"
}
trap cleanup EXIT

# Start moto and the realism proxy in front of it; sets MOTO_URL (moto itself, for seeding) and
# exports AWS_ENDPOINT_URL (the proxy, which rehearsal talks to) and demo credentials.
start_emulator() {
    step "Starting a local AWS emulator (moto), behind AWS's lifecycles (time scale $SCALE)"
    MOTO_URL="$(bash scripts/emulator.sh up)"
    export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
    unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
    python3 scripts/fault_proxy.py --upstream "$MOTO_URL" --port 0 --fault-rate 0 \
        --realism --time-scale "$SCALE" >"$EMULATOR_STATE_DIR/proxy.url" 2>"$EMULATOR_STATE_DIR/proxy.log" &
    local proxy=$!
    DEMO_PIDS+=("$proxy")
    for _ in $(seq 1 100); do
        [ -s "$EMULATOR_STATE_DIR/proxy.url" ] && break
        kill -0 "$proxy" 2>/dev/null || { cat "$EMULATOR_STATE_DIR/proxy.log" >&2; exit 1; }
        sleep 0.1
    done
    export AWS_ENDPOINT_URL="$(head -n 1 "$EMULATOR_STATE_DIR/proxy.url")"
    echo "emulator at $MOTO_URL, rehearsal talks to it through $AWS_ENDPOINT_URL"
}
