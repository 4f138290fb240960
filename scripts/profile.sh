#!/usr/bin/env bash
# Instructions per proxied request, and where they go, under callgrind.
# Deterministic (counts instructions, not time), so it works on a noisy or
# shared machine where wall-clock benchmarks don't.
#
#   scripts/profile.sh [REQUESTS] [extra ringbench load args...]
#
# Starts `ringbench origin`, ringgate (1 worker) under valgrind, warms up,
# zeroes the counters, sends REQUESTS keep-alive GETs on 16 connections and
# prints instructions per request plus the top functions (inclusive).
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-20000}
shift || true
source scripts/install-missing.sh
install_missing valgrind
cargo build --release -q -p ringgate -p bench-harness
bin=target/release
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$bin/ringbench" origin --listen 127.0.0.1:0 >"$work/origin.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$work/origin.out" && break; sleep 0.1; done
origin=$(sed -n 's/^listening on //p' "$work/origin.out" | head -1)

cat >"$work/ringgate.toml" <<TOML
[server]
workers = 1
[[listener]]
name = "main"
address = "127.0.0.1:0"
[[cluster]]
name = "origin"
endpoints = ["$origin"]
[[route]]
name = "all"
cluster = "origin"
TOML
valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bin/ringgate" run --config "$work/ringgate.toml" >"$work/rg.out" 2>&1 &
vg=$!
pids+=($vg)
for _ in $(seq 300); do grep -q "listening on main" "$work/rg.out" && break; sleep 0.1; done
gateway=$(sed -n 's/^ringgate: listening on main //p' "$work/rg.out")

"$bin/ringbench" load -q -c 16 -t 1 -n 2000 "$@" "http://$gateway/" >/dev/null
callgrind_control -z "$vg" >/dev/null
"$bin/ringbench" load -q -c 16 -t 1 -n "$requests" "$@" "http://$gateway/" >/dev/null
callgrind_control -d "$vg" >/dev/null
sleep 1
out=$(ls -S "$work"/cg.out.* | head -1)
total=$(callgrind_annotate "$out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "instructions per request: $((total / requests))"
echo
callgrind_annotate --inclusive=yes "$out" | grep -v -E "backtrace|pthread|clone.S|thread_start|call_once|FnOnce" \
    | sed -n '/^Ir/,$p' | sed -n '3,28p' | cut -c1-160
