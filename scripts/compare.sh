#!/usr/bin/env bash
# Benchmarks ringgate against nginx and haproxy the docs/BENCHMARKS.md way:
# builds the release binaries, installs nginx/haproxy when missing, and runs
# `ringbench compare` with the given arguments, e.g.
#   scripts/compare.sh                                   # every scenario, 3 reps
#   scripts/compare.sh --scenarios small-get --reps 3 --markdown
#   scripts/compare.sh --list                            # the scenarios
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
