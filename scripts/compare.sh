#!/usr/bin/env bash
# Benchmarks ringgate against nginx and haproxy the docs/BENCHMARKS.md way:
# builds the release binaries, installs nginx/haproxy when missing, and runs
# `ringbench compare` with the given arguments, e.g.
#   scripts/compare.sh                                   # every scenario, 3 reps
#   scripts/compare.sh --scenarios small-get --reps 3 --markdown
#   scripts/compare.sh --list                            # the scenarios
# Regression check of a ringgate change: --ringgate-base PATH runs an older
# ringgate binary as the extra proxy `ringgate-base` (same configs and
# scenarios as ringgate), in the same run, with ratios to it in every row
# ("req/s ÷ base", "CPU ÷ base"; JSON rps_vs_base/cpu_vs_base); the default
# proxies become ringgate,ringgate-base,nginx,haproxy:
#   scripts/compare.sh --scenarios small-get --reps 3 --ringgate-base /path/to/old/ringgate --markdown
# Repetitions alternate between the proxies (rep 1 of each, then rep 2...).
# Results: bench-results/compare-<UTC time>.json and .svg (or --json/--svg).
set -euo pipefail
cd "$(dirname "$0")/.."

# nginx lives in /usr/sbin, which a non-root PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

source scripts/install-missing.sh
install_missing nginx haproxy

cargo build --release -p ringgate -p bench-harness
target="${CARGO_TARGET_DIR:-target}/release"
# ringbench finds ringgate next to itself.
exec "$target/ringbench" compare "$@"
