#!/usr/bin/env bash
# A short tour of woof in a temporary namespace. `make demo` runs it with the
# freshly built binaries first on PATH; it removes everything it made on exit.
set -euo pipefail

for tool in woof-create woof-put woof-get woof-tail; do
    command -v "$tool" >/dev/null || {
        echo "demo: $tool is not on PATH (run 'make demo')" >&2
        exit 1
    }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/woof-demo.XXXXXX")
follower=""
cleanup() {
    if [ -n "$follower" ]; then kill "$follower" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir ns

# Prints a section heading.
say() { printf '\n## %s\n' "$*"; }
# Echoes a command line, then runs it.
run() {
    printf '+ %s\n' "$1"
    eval "$1"
}

say "A namespace is a directory; every tool takes -N DIR or uses \$WOOF_NAMESPACE."
run 'export WOOF_NAMESPACE=$PWD/ns'

say "Create a woof of 64-byte elements that keeps the last 1000."
run 'woof-create temps -s 64 -n 1000'

say "Put one element; woof-put prints its seqno."
run 'head -c 64 /dev/urandom | woof-put temps'
run 'woof-get temps 1 --format hex'
run 'woof-get temps --info'

say "One element per line, zero-padded to 64 bytes; prints the first and last seqno."
run 'seq 1 1000 | woof-put temps --lines --pad'
run 'woof-tail temps -n 3 --format json'

say "History is 1000: seqno 1 has been overwritten, which is its own error (exit 66)."
run 'woof-get temps 1 --format hex || echo "exit status $?"'

say "Follow: woof-tail -f prints each element as soon as it is put."
run 'woof-tail -f -n 0 temps --format csv &'
follower=$!
sleep 0.3
run 'printf hello | woof-put temps --pad'
sleep 0.3
run 'printf world | woof-put temps --pad'
sleep 0.3
run 'kill $follower'
wait "$follower" 2>/dev/null || true
follower=""

say "A cursor file remembers the last seqno printed; the next run starts after it."
run 'woof-tail temps -n 2 --cursor temps.cur --format csv'
run 'printf again | woof-put temps --pad'
run 'woof-tail temps --cursor temps.cur --format csv'

say "Done; the temporary namespace is removed."
