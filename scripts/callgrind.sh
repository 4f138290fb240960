#!/usr/bin/env bash
# Instructions per request on the gateway's hot path, measured with
# callgrind: one worker under valgrind, a ringbench origin, and two loads of
# different sizes; the difference divided by the extra requests cancels
# start-up and shutdown. Needs a release build of both binaries:
#
#   cargo build --release -p ringgate -p bench-harness
#   scripts/callgrind.sh CONFIG_EXTRA URL_PATH [HEADER...]
#
# CONFIG_EXTRA is TOML appended after the cluster (routes, policies); the
# cluster is named "up". HEADERs are passed to `ringbench load -H`.
set -euo pipefail
extra=${1:?config extra}; path=${2:?url path}; shift 2
target=${TARGET:-target/release}
dir=$(mktemp -d); trap 'kill $origin_pid 2>/dev/null; rm -rf "$dir"' EXIT
"$target/ringbench" origin --listen 127.0.0.1:0 > "$dir/origin.out" 2>&1 < /dev/null &
origin_pid=$!
for _ in $(seq 100); do grep -q listening "$dir/origin.out" 2>/dev/null && break; sleep 0.1; done
origin=$(sed -n 's/.*listening on //p' "$dir/origin.out" | head -1)
hdrs=(); for h in "$@"; do hdrs+=(-H "$h"); done
run() { # $1: requests -> total Ir of the gateway run
  cat > "$dir/gw.toml" <<TOML
[server]
workers = 1
io_driver = "legacy"
[[listener]]
name = "main"
address = "127.0.0.1:0"
[[cluster]]
name = "up"
endpoints = ["$origin"]
$extra
TOML
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.$1" "$target/ringgate" run --config "$dir/gw.toml" > "$dir/gw.out" 2> "$dir/gw.err" &
  local gw=$!
  for _ in $(seq 600); do grep -q "listening on" "$dir/gw.out" 2>/dev/null && break; sleep 0.1; done
  local addr; addr=$(sed -n 's/^ringgate: listening on main //p' "$dir/gw.out")
  "$target/ringbench" load -n "$1" -c "${CONNS:-1}" -t 1 "${hdrs[@]}" "http://$addr$path" > "$dir/load.$1" 2>&1
  kill -TERM $gw 2>/dev/null; wait $gw || true
  grep -v "^==" "$dir/gw.err" | grep -iv "listening\|draining\|stopped\|worker\|ringgate 0" >&2 || true
  grep -E '^(summary|totals):' "$dir/cg.$1" | head -1 | awk '{print $2}'
}
small=$(run 2000); big=$(run 12000)
# OUT=DIR keeps the profiles (callgrind_annotate --inclusive=yes DIR/cg.12000).
if [[ -n "${OUT:-}" ]]; then mkdir -p "$OUT"; cp "$dir"/cg.* "$OUT"/; fi
echo "Ir small=$small big=$big per_request=$(( (big - small) / 10000 ))"
