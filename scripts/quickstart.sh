#!/usr/bin/env bash
# Starts the gateway on config/ringgate.toml with two demo origins on
# 127.0.0.1:9001 and :9002 (ringbench origin in echo mode, so each response
# shows the request as the upstream received it). Ctrl-C stops everything.
#
# Each process must come up (print its "listening on" line) before the next
# starts; if one cannot (a port in use, say), its error is printed, whatever
# was started is stopped and the script exits 1.
#
# QUICKSTART_BIN_DIR=DIR skips the build and runs ringgate and ringbench
# from DIR (e.g. target/debug).
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ -n "${QUICKSTART_BIN_DIR:-}" ]]; then
    bin=$QUICKSTART_BIN_DIR
else
    cargo build --release -p ringgate -p bench-harness
    bin=target/release
fi

logs=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_listening PID LOG WHAT: returns once LOG has a "listening on" line;
# exits 1, printing LOG, when PID ends first or nothing comes in 10 s.
wait_listening() {
    local pid=$1 log=$2 what=$3
    for _ in $(seq 200); do
        if grep -qs "listening on" "$log"; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            local status=0
            wait "$pid" || status=$?
            echo "quickstart: $what did not start (exit status $status)" >&2
            cat "$log" >&2 2>/dev/null || true
            exit 1
        fi
        sleep 0.05
    done
    echo "quickstart: $what did not start within 10 s:" >&2
    cat "$log" >&2 2>/dev/null || true
    exit 1
}

for port in 9001 9002; do
    "$bin/ringbench" origin --listen "127.0.0.1:$port" --echo --header "X-Demo-Origin: $port" \
        >"$logs/origin-$port" 2>&1 &
    pids+=($!)
    wait_listening "$!" "$logs/origin-$port" "demo origin 127.0.0.1:$port"
done
echo "demo origins on 127.0.0.1:9001 and 127.0.0.1:9002"

# The gateway's stdout goes to the terminal and to its log; its errors go
# to the terminal directly.
"$bin/ringgate" run --config config/ringgate.toml > >(tee "$logs/gateway") &
gateway=$!
pids+=("$gateway")
wait_listening "$gateway" "$logs/gateway" "the gateway"
echo "try: curl -i http://127.0.0.1:8080/hello"
wait "$gateway"
