#!/usr/bin/env bash
# Admitted counts of ringgate's rate limits and nginx's limit_req under the
# same closed-loop traffic (docs/RATELIMIT.md). Both get 2 workers, the same
# origin, the same rate and burst; ringbench load drives each in turn.
#
#   scripts/ratelimit-vs-nginx.sh [DURATION_S] [CONNECTIONS]
#
# Each setup runs twice: with CONNECTIONS keep-alive connections (spread
# over both workers) and with one (all traffic on one worker).
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
CONNS=${2:-64}
RATE=100      # requests per second
BURST=50      # nginx burst (nodelay); ringgate burst = BURST + 1 (see below)
source scripts/install-missing.sh
install_missing nginx
NGINX=$(command -v nginx)
cargo build --release -q -p ringgate -p bench-harness
BIN=target/release
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

ORIGIN=$(free_port)
$BIN/ringbench origin --listen 127.0.0.1:$ORIGIN --threads 1 >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$ORIGIN"

# nginx counts "excess" requests: with burst=B and nodelay, B+1 pass at once
# and then one per 1/rate; that is GCRA (or a token bucket) with burst B+1.
run_ringgate() { # name algorithm mode [connections]
    local port; port=$(free_port)
    cat > "$WORK/rg.toml" <<TOML
[server]
workers = 2
[[listener]]
name = "main"
address = "127.0.0.1:$port"
[[cluster]]
name = "origin"
endpoints = ["127.0.0.1:$ORIGIN"]
[[route]]
name = "all"
cluster = "origin"
rate_limits = ["l"]
[[rate_limit]]
name = "l"
key = ["client_ip"]
algorithm = "$2"
requests = $RATE
per = "1s"
burst = $((BURST + 1))
mode = "$3"
TOML
    $BIN/ringgate run --config "$WORK/rg.toml" >/dev/null 2>&1 &
    local pid=$!
    wait_port "$port"
    measure "$1" "$port" "${4:-$CONNS}"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_nginx() { # [connections]
    local port; port=$(free_port)
    mkdir -p "$WORK/nginx/logs"
    cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log crit;
events { worker_connections 4096; }
http {
    access_log off;
    limit_req_zone \$binary_remote_addr zone=l:10m rate=${RATE}r/s;
    limit_req_status 429;
    upstream origin { server 127.0.0.1:$ORIGIN; keepalive 64; }
    server {
        listen 127.0.0.1:$port;
        location / {
            limit_req zone=l burst=$BURST nodelay;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://origin;
        }
    }
}
CONF
    $NGINX -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
    local pid=$!
    wait_port "$port"
    measure "nginx limit_req (2 workers)" "$port" "${1:-$CONNS}"
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

measure() { # label port [connections]
    local c=${3:-$CONNS}
    $BIN/ringbench load -q -c "$c" -t "$((c < 2 ? 1 : 2))" -d "${DUR}s" --json "$WORK/out.json" "http://127.0.0.1:$2/" >/dev/null 2>&1
    local ok limited total
    ok=$(jq '.status.codes["200"] // 0' "$WORK/out.json")
    limited=$(jq '.status.codes["429"] // 0' "$WORK/out.json")
    total=$(jq '.requests' "$WORK/out.json")
    local expected=$((RATE * DUR + BURST + 1))
    python3 - "$1" "$c" "$ok" "$limited" "$total" "$expected" <<'PY'
import sys
label, conns, ok, limited, total, expected = sys.argv[1], *map(int, sys.argv[2:])
print(f"| {label} | {conns} | {expected} | {ok} | {100 * (ok - expected) / expected:+.1f}% | {limited} | {total} |")
PY
}

echo "rate $RATE/s, burst $BURST (nginx) / $((BURST + 1)) (ringgate), ${DUR}s, $CONNS connections, one client IP"
echo
echo "| gateway | connections | expected (rate × time + burst) | admitted | error | 429s | requests |"
echo "|---|---|---|---|---|---|---|"
for c in "$CONNS" 1; do
    run_ringgate "ringgate gcra, global (2 workers)" gcra global "$c"
    run_ringgate "ringgate token_bucket, global (2 workers)" token_bucket global "$c"
    run_ringgate "ringgate gcra, mode = local (2 workers)" gcra local "$c"
    run_nginx "$c"
done
