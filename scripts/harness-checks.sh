#!/usr/bin/env bash
# The bench harness's own checks, as Markdown for docs/BENCHMARKS.md:
#  1. ringbench load's CPU per request vs wrk's, same target, same settings;
#  2. an origin with a fixed 10 ms delay, driven open-loop at about half its
#     capacity, reports p50 near 10 ms;
#  3. a stall injected into the origin shows in open-loop percentiles
#     (coordinated-omission correction), not only in closed-loop ones.
# Load on CPU 0, origin on CPU 1. Installs wrk when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-missing.sh
install_missing wrk
cargo build --release -q -p bench-harness
rb=target/release/ringbench
tck=$(getconf CLK_TCK)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_origin() { # args... ; sets $origin
    local out; out=$(mktemp)
    taskset -c 1 "$rb" origin --listen 127.0.0.1:0 "$@" >"$out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
    origin=$(sed -n 's/^listening on //p' "$out" | head -1)
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "### Load generator CPU per request: ringbench vs wrk"
echo
echo "| tool | requests | CPU µs/req |"
echo "|---|---:|---:|"
start_origin --threads 1
for tool in ringbench wrk ringbench wrk; do
    json=$(mktemp)
    if [ "$tool" = ringbench ]; then
        taskset -c 0 "$rb" load -q -c 64 -t 1 -d 5s --json "$json" "http://$origin/" >/dev/null 2>&1 &
    else
        taskset -c 0 wrk -t 1 -c 64 -d 5s "http://$origin/" >"$json" 2>&1 &
    fi
    pid=$!
    sleep 0.2
    c0=$(cpu_ticks $pid)
    sleep 4.6
    c1=$(cpu_ticks $pid 2>/dev/null || echo "$c0")
    wait $pid
    if [ "$tool" = ringbench ]; then
        n=$(python3 -c "import json;print(json.load(open('$json'))['requests'])")
        n=$((n * 46 / 50))
    else
        n=$(awk '/requests in/ {print $1}' "$json"); n=$((n * 46 / 50))
    fi
    python3 -c "print(f'| $tool | $n | {($c1-$c0)/$tck*1e6/max($n,1):.2f} |')"
done
echo
echo "(CPU sampled over the middle 4.6 s of a 5 s run; requests scaled to that window. 64 connections, 1 thread, load on CPU 0, origin on CPU 1.)"
cleanup; pids=()

echo
echo "### Fixed 10 ms origin at half capacity (open loop)"
echo
start_origin --threads 1 --delay 10ms
# 64 connections x 100 req/s each is the closed-loop capacity at 10 ms: ask for half.
"$rb" load -q -c 64 -t 1 --cpus 0 --rate 3200 -d 5s --warmup 1s --json - "http://$origin/" 2>/dev/null \
  | python3 -c "import json,sys; j=json.load(sys.stdin); l=j['latency_us']; print(f\"rate 3200/s: p50 {l['p50']/1000:.2f} ms, p99 {l['p99']/1000:.2f} ms, errors {j['errors']['total']}\")"
cleanup; pids=()

echo
echo "### A 200 ms origin stall every 2 s: closed vs open loop"
echo
echo "| mode | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms |"
echo "|---|---:|---:|---:|---:|---:|"
start_origin --threads 1 --stall-every 2s --stall-for 200ms
for mode in closed open; do
    extra=(); [ "$mode" = open ] && extra=(--rate 5000)
    "$rb" load -q -c 16 -t 1 --cpus 0 "${extra[@]}" -d 8s --json - "http://$origin/" 2>/dev/null \
      | python3 -c "import json,sys; j=json.load(sys.stdin); l=j['latency_us']; print(f\"| $mode | {j['requests_per_s']:.0f} | {l['p50']/1000:.2f} | {l['p90']/1000:.2f} | {l['p99']/1000:.2f} | {l['p99_9']/1000:.2f} |\")"
done
