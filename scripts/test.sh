#!/usr/bin/env bash
# Sets up a fresh machine and runs every test: the README's second command, and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# Tests that need an external tool fail (instead of skipping) when this is set.
export RR_REQUIRE_TOOLS=1

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -q -- -D warnings
cargo test --workspace --all-features
