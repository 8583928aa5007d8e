#!/usr/bin/env bash
# libfaketime, which the tests of change windows run the rehearsal binary under: the binary reads
# "now" from the system clock as it does in production, and the test sets that clock
# (tests/it/project.rs, `Run::at`).
#
#   scripts/faketime.sh install   install Debian's `faketime` package unless the library is there
#   scripts/faketime.sh path      print the library's path (the multi-threaded build)
set -euo pipefail

say() { printf 'faketime: %s\n' "$*" >&2; }
die() { printf 'faketime: error: %s\n' "$*" >&2; exit 1; }

# The same places tests/it/project.rs looks.
library() {
    local path
    for path in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
                /usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1 \
                /usr/lib/faketime/libfaketimeMT.so.1; do
        [ -e "$path" ] && { printf '%s\n' "$path"; return 0; }
    done
    return 1
}

cmd_install() {
    if path="$(library)"; then
        say "libfaketime is installed: $path"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "no apt-get: install libfaketime (https://github.com/wolfcw/libfaketime) with your package manager"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    say "installing Debian's faketime package"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends faketime >/dev/null \
        || { $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends faketime >/dev/null; } \
        || die "apt-get could not install faketime"
    path="$(library)" || die "faketime is installed but its library is not where the tests look"
    say "installed libfaketime: $path"
}

case "${1:-}" in
    install) cmd_install ;;
    path) library || die "libfaketime is not installed: bash scripts/faketime.sh install" ;;
    *) die "usage: scripts/faketime.sh install|path" ;;
esac
