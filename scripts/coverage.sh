#!/usr/bin/env bash
# Line coverage of the Rust crates (every host crate's tests, with Redis and PostgreSQL), by
# cargo-llvm-cov. Fails under 80 %. HTML report: target/llvm-cov/html/index.html.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/test}"
./scripts/ensure-services.sh --postgres
rustup component list --installed | grep -q '^llvm-tools' || rustup component add llvm-tools-preview
command -v cargo-llvm-cov >/dev/null || cargo install cargo-llvm-cov --locked
# The benches and examples only measure; the wasm entry point is exercised by Playwright.
cargo llvm-cov --html --ignore-filename-regex '(/benches/|/examples/|frontend/)'
cargo llvm-cov report --summary-only --ignore-filename-regex '(/benches/|/examples/|frontend/)' --fail-under-lines 80
