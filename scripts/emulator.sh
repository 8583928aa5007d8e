#!/usr/bin/env bash
# The local AWS emulator (moto's server) that rehearsal's tests and `make demo` run against.
#
#   scripts/emulator.sh install    install moto, and every other pin of requirements-emulator.txt
#                                  (parliament, for scripts/check_iam_policy.py), at their versions
#   scripts/emulator.sh up         start moto on a free loopback port (or reuse the running one);
#                                  prints the endpoint URL on stdout, export hints on stderr
#   scripts/emulator.sh endpoint   print the recorded endpoint URL
#   scripts/emulator.sh status     say whether the recorded emulator is running
#   scripts/emulator.sh reset      clear all of moto's state (POST /moto-api/reset)
#   scripts/emulator.sh down       stop the recorded emulator and remove its state
#
# Environment:
#   EMULATOR_PORT        port to listen on (default: a free one picked at start)
#   EMULATOR_STATE_DIR   where pid, endpoint and log live (default: .emulator; relative paths are
#                        taken from the repository root), so a test run can keep its own emulator
#                        beside a running demo
#   EMULATOR_PYTHON      the python interpreter to use (default: python3)
#   EMULATOR_START_TIMEOUT  seconds to wait for moto to answer (default: 30)
#
# Typical use:
#   export AWS_ENDPOINT_URL="$(scripts/emulator.sh up)"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQUIREMENTS="$ROOT/requirements-emulator.txt"
PYTHON="${EMULATOR_PYTHON:-python3}"
STATE_DIR="${EMULATOR_STATE_DIR:-.emulator}"
case "$STATE_DIR" in
    /*) ;;
    *) STATE_DIR="$ROOT/$STATE_DIR" ;;
esac
PID_FILE="$STATE_DIR/pid"
ENDPOINT_FILE="$STATE_DIR/endpoint"
LOG_FILE="$STATE_DIR/moto.log"
START_TIMEOUT="${EMULATOR_START_TIMEOUT:-30}"

say() { printf 'emulator: %s\n' "$*" >&2; }
die() { printf 'emulator: error: %s\n' "$*" >&2; exit 1; }

# The display form of the state dir, relative to the repository root when inside it.
state_display() {
    case "$STATE_DIR" in
        "$ROOT"/*) printf '%s' "${STATE_DIR#"$ROOT"/}" ;;
        *) printf '%s' "$STATE_DIR" ;;
    esac
}

need_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found: rehearsal's emulator needs Python 3 with pip (set EMULATOR_PYTHON to use another interpreter)"
}

# The moto version pinned in requirements-emulator.txt (the one place it is written down).
pinned_version() {
    [ -f "$REQUIREMENTS" ] || die "missing $REQUIREMENTS"
    local v
    v="$(sed -n 's/^[[:space:]]*moto\(\[[^]]*\]\)\{0,1\}[[:space:]]*==[[:space:]]*\([^[:space:];#]*\).*/\2/p' "$REQUIREMENTS" | head -n 1)"
    [ -n "$v" ] || die "no 'moto[server]==VERSION' pin found in $REQUIREMENTS"
    printf '%s' "$v"
}

# The moto version importable by $PYTHON with its server extras, or nothing.
installed_version() {
    "$PYTHON" -c 'import moto, moto.server, flask_cors, boto3; print(moto.__version__)' 2>/dev/null || true
}

# The 'name==version' pins of requirements-emulator.txt that the installed distributions do not
# meet, one a line; nothing when all are met.
unmet_pins() {
    "$PYTHON" - "$REQUIREMENTS" <<'PY'
import re, sys
from importlib import metadata
for line in open(sys.argv[1]):
    m = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^]]*\])?\s*==\s*([^\s;#]+)", line)
    if not m:
        continue
    name, want = m.group(1), m.group(3)
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = "none"
    if have != want:
        print(f"{name}=={want} (installed: {have})")
PY
}

cmd_install() {
    need_python
    local want have unmet
    want="$(pinned_version)"
    have="$(installed_version)"
    unmet="$(unmet_pins)"
    if [ "$have" = "$want" ] && [ -z "$unmet" ]; then
        say "moto $have (server) and the other pins of $(basename "$REQUIREMENTS") are installed"
        return 0
    fi
    if [ "$have" = "$want" ]; then
        say "not installed: $(printf '%s' "$unmet" | paste -sd ' ' -): installing from $(basename "$REQUIREMENTS")"
    elif [ -n "$have" ]; then
        say "moto $have found, $want wanted: installing from $(basename "$REQUIREMENTS")"
    else
        say "moto $want with its server extras is not installed: installing from $(basename "$REQUIREMENTS")"
    fi
    "$PYTHON" -m pip --version >/dev/null 2>&1 || die "'$PYTHON -m pip' is not available: install pip for $PYTHON first"
    local out
    if ! out="$("$PYTHON" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" 2>&1)"; then
        if printf '%s' "$out" | grep -q 'externally-managed-environment'; then
            # A distribution's own python (PEP 668): install for this user instead.
            say "this python is externally managed; installing with --user"
            if ! out="$("$PYTHON" -m pip install --quiet --disable-pip-version-check --user --break-system-packages -r "$REQUIREMENTS" 2>&1)"; then
                printf '%s\n' "$out" >&2
                die "pip could not install $(basename "$REQUIREMENTS")"
            fi
        else
            printf '%s\n' "$out" >&2
            die "pip could not install $(basename "$REQUIREMENTS")"
        fi
    fi
    # Show pip's warnings, if any, but not its progress.
    [ -z "$out" ] || printf '%s\n' "$out" | grep -i -E 'warning|error' >&2 || true
    have="$(installed_version)"
    [ "$have" = "$want" ] || die "after installing, '$PYTHON' imports moto '${have:-nothing}', not $want (is another python first on PATH?)"
    unmet="$(unmet_pins)"
    [ -z "$unmet" ] || die "after installing, '$PYTHON' still lacks: $(printf '%s' "$unmet" | paste -sd ' ' -)"
    say "installed moto $have and the other pins of $(basename "$REQUIREMENTS")"
}

# True when pid $1 is a live (not zombie) process.
alive() {
    local pid="$1" state
    [ -r "/proc/$pid/stat" ] || return 1
    state="$(sed 's/^.*) \(.\).*$/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
    [ -n "$state" ] && [ "$state" != "Z" ] && [ "$state" != "X" ]
}

# True when pid $1 is a moto server (by its command line).
is_moto() {
    local pid="$1" cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    case "$cmdline" in
        *moto.server*|*moto_server*) return 0 ;;
        *) return 1 ;;
    esac
}

recorded_pid() {
    [ -f "$PID_FILE" ] || return 1
    local pid
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    [ -n "$pid" ] || return 1
    printf '%s' "$pid"
}

# HTTP request with the standard library: probe METHOD URL -> exit 0 when the answer is 2xx.
http() {
    "$PYTHON" - "$1" "$2" <<'PY'
import sys, urllib.request
method, url = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
try:
    with urllib.request.urlopen(req, timeout=5) as resp:
        sys.exit(0 if 200 <= resp.status < 300 else 1)
except Exception as exc:  # connection refused, timeout, HTTP error
    print(exc, file=sys.stderr)
    sys.exit(1)
PY
}

# True when 127.0.0.1:$1 can be bound (nothing listens there).
port_free() {
    "$PYTHON" - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}

# True when pid $1 holds the listening socket on 127.0.0.1:$2 (so an answer on that port is
# from our moto, not from another server). True as well where /proc/net/tcp cannot tell.
owns_listener() {
    "$PYTHON" - "$1" "$2" <<'PY'
import os, sys
pid, port = sys.argv[1], int(sys.argv[2])
try:
    lines = open("/proc/net/tcp").read().splitlines()[1:]
except OSError:
    sys.exit(0)
inodes = set()
for line in lines:
    f = line.split()
    local, state, inode = f[1], f[3], f[9]
    addr, p = local.split(":")
    if state == "0A" and int(p, 16) == port and addr in ("0100007F", "00000000"):
        inodes.add(f"socket:[{inode}]")
try:
    fds = os.listdir(f"/proc/{pid}/fd")
except OSError:
    sys.exit(1)
for fd in fds:
    try:
        if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
            sys.exit(0)
    except OSError:
        pass
sys.exit(1)
PY
}

free_port() {
    "$PYTHON" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

clear_state() {
    rm -f "$PID_FILE" "$ENDPOINT_FILE" "$LOG_FILE"
    rmdir "$STATE_DIR" 2>/dev/null || true
}

announce() {
    local url="$1"
    say "moto is listening on $url (pid $(cat "$PID_FILE"), log $(state_display)/moto.log)"
    {
        printf '  export AWS_ENDPOINT_URL=%s\n' "$url"
        printf '  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1\n'
    } >&2
    printf '%s\n' "$url"
}

cmd_up() {
    need_python
    local pid url
    if pid="$(recorded_pid)"; then
        if alive "$pid" && is_moto "$pid"; then
            url="$(cat "$ENDPOINT_FILE" 2>/dev/null || true)"
            if [ -n "$url" ] && http GET "$url/moto-api/" 2>/dev/null; then
                say "reusing the running emulator"
                announce "$url"
                return 0
            fi
            die "pid $pid in $(state_display)/pid is a moto server but ${url:-its endpoint} does not answer; run '$0 down' first"
        fi
        say "removing stale state in $(state_display)/ (pid $pid is not running moto)"
        clear_state
    fi

    cmd_install

    local port="${EMULATOR_PORT:-}"
    if [ -z "$port" ]; then
        port="$(free_port)"
    fi
    case "$port" in
        ''|*[!0-9]*) die "EMULATOR_PORT must be a port number, got '$port'" ;;
    esac
    url="http://127.0.0.1:$port"
    port_free "$port" || die "127.0.0.1:$port is already in use (EMULATOR_PORT=$port): pick another port or unset EMULATOR_PORT"

    # Run the interpreter itself (not a pyenv shim or the moto_server script, which may not be on
    # PATH), so the recorded pid is the server's own.
    local exe
    exe="$("$PYTHON" -c 'import sys; print(sys.executable)')"
    mkdir -p "$STATE_DIR"
    : >"$LOG_FILE"
    # stdin/stdout/stderr detached so that `$(scripts/emulator.sh up)` does not wait for moto.
    nohup "$exe" -m moto.server -H 127.0.0.1 -p "$port" </dev/null >>"$LOG_FILE" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$PID_FILE"
    printf '%s\n' "$url" >"$ENDPOINT_FILE"

    local deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if ! alive "$pid"; then
            say "moto exited during start-up; last lines of $(state_display)/moto.log:"
            tail -n 30 "$LOG_FILE" >&2 || true
            clear_state
            exit 1
        fi
        if http GET "$url/moto-api/" 2>/dev/null && owns_listener "$pid" "$port"; then
            break
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "moto did not answer on $url/moto-api/ within ${START_TIMEOUT}s; last lines of $(state_display)/moto.log:"
            tail -n 30 "$LOG_FILE" >&2 || true
            kill "$pid" 2>/dev/null || true
            clear_state
            exit 1
        fi
        sleep 0.2
    done
    announce "$url"
}

cmd_down() {
    local pid
    if ! pid="$(recorded_pid)"; then
        say "no emulator recorded in $(state_display)/: nothing to stop"
        clear_state
        return 0
    fi
    if ! alive "$pid"; then
        say "pid $pid is no longer running: removing stale state"
        clear_state
        return 0
    fi
    if ! is_moto "$pid"; then
        say "pid $pid is not a moto server (the recorded one is gone): leaving it alone, removing stale state"
        clear_state
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        say "pid $pid did not stop within 10s of SIGTERM: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            alive "$pid" || break
            sleep 0.1
        done
        alive "$pid" && die "pid $pid survived SIGKILL"
    fi
    clear_state
    say "stopped moto (pid $pid)"
}

cmd_endpoint() {
    [ -f "$ENDPOINT_FILE" ] || die "no emulator recorded in $(state_display)/: run '$0 up' first"
    local pid
    if pid="$(recorded_pid)" && alive "$pid" && is_moto "$pid"; then
        cat "$ENDPOINT_FILE"
    else
        die "the emulator recorded in $(state_display)/ is not running: run '$0 up'"
    fi
}

cmd_status() {
    local pid
    if pid="$(recorded_pid)" && alive "$pid" && is_moto "$pid"; then
        say "running: pid $pid, $(cat "$ENDPOINT_FILE" 2>/dev/null || echo 'no endpoint recorded')"
        return 0
    fi
    say "not running"
    return 1
}

cmd_reset() {
    local url
    url="$(cmd_endpoint)"
    need_python
    http POST "$url/moto-api/reset" || die "POST $url/moto-api/reset failed"
    say "reset all state on $url"
}

usage() {
    sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

case "${1:-}" in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down ;;
    endpoint) cmd_endpoint ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    -h|--help|help) usage ;;
    '') usage; exit 2 ;;
    *) say "unknown command '$1'"; usage; exit 2 ;;
esac
