#!/usr/bin/env bash
# Starts the gateway on config/ringgate.toml with two demo origins on
# 127.0.0.1:9001 and :9002 (ringbench origin in echo mode, so each response
# shows the request as the upstream received it). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p ringgate -p bench-harness
bin=target/release

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

for port in 9001 9002; do
    "$bin/ringbench" origin --listen "127.0.0.1:$port" --echo --header "X-Demo-Origin: $port" >/dev/null &
    pids+=($!)
done

echo "demo origins on 127.0.0.1:9001 and 127.0.0.1:9002"
echo "try: curl -i http://127.0.0.1:8080/hello"
"$bin/ringgate" run --config config/ringgate.toml &
pids+=($!)
wait "${pids[-1]}"
