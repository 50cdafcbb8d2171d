#!/usr/bin/env bash
# A short tour of woof in a temporary namespace, ending with CSPOT's hello world:
# handlers run by woof-platform. `make demo` runs it with the freshly built
# binaries first on PATH; it stops the platform and removes everything it made on
# exit.
set -euo pipefail

examples=$(cd "$(dirname "$0")" && pwd)

for tool in woof-create woof-put woof-get woof-tail woof-platform woof-shepherd woof-ls woof-proxy; do
    command -v "$tool" >/dev/null || {
        echo "demo: $tool is not on PATH (run 'make demo')" >&2
        exit 1
    }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/woof-demo.XXXXXX")
follower=""
platform=""
proxy=""
cleanup() {
    if [ -n "$follower" ]; then kill "$follower" 2>/dev/null || true; fi
    if [ -n "$proxy" ]; then kill "$proxy" 2>/dev/null || true; fi
    if [ -n "$platform" ]; then
        kill -TERM "$platform" 2>/dev/null || true
        wait "$platform" 2>/dev/null || true
    fi
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
# Handler runs the platform has finished (every result but "started").
finished_runs() {
    woof-tail --results -n 1000 --format csv 2>/dev/null | awk -F, '$6 != "started"' | wc -l
}
# Waits, at most 5 s, until N handler runs have finished and the platform's
# output holds a line matching PATTERN; then prints its output since last time.
shown=0
await() {
    local n=$1 pattern=$2 i
    for i in $(seq 1 100); do
        if [ "$(finished_runs)" -ge "$n" ] && grep -q -- "$pattern" platform.log; then
            break
        fi
        if [ "$i" = 100 ]; then
            echo "demo: no sign of handler run $n after 5 s; platform output:" >&2
            cat platform.log >&2
            exit 1
        fi
        sleep 0.05
    done
    echo "(woof-platform's output:)"
    tail -n "+$((shown + 1))" platform.log | sed 's/^/  | /'
    shown=$(wc -l < platform.log)
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

say "Typed records: a schema gives the elements named fields; CSV and JSON go in and out."
run "woof-create readings -n 100 --schema 'time:timestamp=now,sensor:str16,celsius:f64,ok:bool'"
run "echo 'now,kitchen,21.5,true' | woof-put readings --csv"
run "echo '{\"sensor\":\"attic\",\"celsius\":4.25,\"ok\":true}' | woof-put readings --json"
run 'woof-get readings --info | tail -n 6'
run 'woof-tail readings --format csv --header'
run "echo 'now,hall,warm,true' | woof-put readings --csv || echo \"exit status \$?\""
run 'woof-ls'

say "Handlers: a put with -H runs a program on the element. CSPOT's hello world:"
run 'mkdir ns/handlers && cp "$examples/handlers/hello" ns/handlers/hw'
run 'woof-create hello -s 255 -n 5'
say "One woof-platform per namespace runs the handlers; its output goes to platform.log."
run 'woof-platform >platform.log 2>&1 &'
platform=$!
# Until it serves, a put with -H would (rightly) say no platform serves ns yet.
for i in $(seq 1 100); do grep -q 'woof-platform: serving' platform.log && break; sleep 0.05; done
run "printf 'my first bark' | woof-put hello -H hw --pad"
await 1 '^hw\[1\]:   put at'

say "A two-stage pipeline: handler shout puts to the woof loud, with handler hw."
run 'cp "$examples/handlers/shout" ns/handlers/shout'
run 'woof-create loud -s 255 -n 5'
run "printf 'a two-stage bark' | woof-put hello -H shout --pad"
await 3 '^hw\[1\]:   put at.*#3$'

say "The results log: every start and outcome. Trigger 3 (hw on loud) has cause NS#2, shout's run."
run 'woof-tail --results'
run 'woof-tail --results -n 1 --format json'

say "Across hosts: woof-proxy serves the namespace, and every tool takes a woof:// URI."
echo "(Here on loopback and a free port; by default it listens on CSPOT's port for the path.)"
run 'woof-proxy --export "$WOOF_NAMESPACE" --listen tcp://127.0.0.1:0 2>proxy.log &'
proxy=$!
for i in $(seq 1 100); do grep -q serving proxy.log && break; sleep 0.05; done
cat proxy.log
uri="woof://$(sed -n 's|.* on tcp://\([^ ]*\).*|\1|p' proxy.log)$WOOF_NAMESPACE/hello"
run "printf 'a bark from afar' | woof-put $uri -H hw --pad"
await 4 '^hw\[3\]:   put at'
run "woof-get $uri --info"
run "woof-get woof://127.0.0.1:1$WOOF_NAMESPACE/hello --timeout 1s || echo \"exit status \$?\""

say "SIGTERM stops the platform: no new claims, running handlers get --grace to finish."
run 'kill -TERM $platform && wait $platform'
platform=""
run 'tail -n 1 platform.log'

say "Done; the temporary namespace is removed."
