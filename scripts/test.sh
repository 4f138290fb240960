#!/usr/bin/env bash
# Runs the whole test suite: unit, integration (real sockets, the real
# binaries) and the bench harness's own tests, then the HTTP codec's tests
# again on its portable (non-SIMD) path.
set -euo pipefail
cd "$(dirname "$0")/.."
# The rate-limit tests start their own redis-server (cluster mode).
if ! command -v redis-server >/dev/null 2>&1; then
    echo "test.sh: installing redis-server for the rate-limit tests" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
cargo test --workspace --all-targets "$@"
# A separate target dir: different RUSTFLAGS would otherwise invalidate the
# main build cache.
RUSTFLAGS="--cfg ringgate_scalar" cargo test --lib --target-dir target/scalar http::
