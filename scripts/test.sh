#!/usr/bin/env bash
# Runs the whole test suite: unit, integration (real sockets, the real
# binaries) and the bench harness's own tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets "$@"
