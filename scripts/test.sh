#!/usr/bin/env bash
# Runs the whole test suite: unit, integration (real sockets, the real
# binaries) and the bench harness's own tests, then the harness's HTTPS load
# test (ignored by plain `cargo test`: it needs openssl), then the HTTP
# codec's tests again on its portable (non-SIMD) path.
#
# Needs redis-server (the rate-limit tests start their own, cluster mode)
# and openssl (`openssl s_server` for the HTTPS load test). Whichever is
# missing is installed with apt-get (Debian, Ubuntu), which needs root: as
# root directly, else through sudo (see install-missing.sh). The script
# says so before it does.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/install-missing.sh
install_missing redis-server openssl
cargo test --workspace --all-targets "$@"
cargo test -p bench-harness --test load -- --ignored https_with_cacert_and_full_handshakes
# A separate target dir: different RUSTFLAGS would otherwise invalidate the
# main build cache.
RUSTFLAGS="--cfg ringgate_scalar" cargo test --lib --target-dir target/scalar http::
