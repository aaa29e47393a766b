#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what the tests need, then unit, integration and
# live tests (the live test needs root; it says so and is skipped otherwise), formatting and lints.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
cargo test --locked
cargo fmt --all -- --check
cargo clippy --all-targets --locked -- -D warnings
