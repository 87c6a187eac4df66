#!/usr/bin/env bash
# Runs every test: formatting and lints, the Rust tests on SQLite and PostgreSQL with a real
# Redis, and the Playwright suite in Debian's Chromium against the real server, on SQLite and on
# PostgreSQL. Installs what is missing first. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
export CARGO_TERM_COLOR=never
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/test}"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

step() { echo; echo "==> $*"; }

step "tools"
WANT_BROWSER=1 WANT_NGINX=1 ./scripts/ensure-tools.sh
step "services"
./scripts/ensure-services.sh --postgres
step "npm packages"
(cd end2end && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt, clippy"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo clippy -p frontend -p app --features app/csr --target wasm32-unknown-unknown -- -D warnings

step "the browser bundle holds no server crate"
if cargo tree -p frontend --target wasm32-unknown-unknown -e normal --prefix none \
    | grep -E '^(tokio|axum|sea-orm|sqlx|redis|quick-xml|engine|argon2) '; then
  echo "server-only crates in the wasm dependency tree" >&2
  exit 1
fi

step "Rust tests (SQLite and PostgreSQL, Redis)"
cargo test 2>&1 | tee -a "$LOG"

step "browser app and server"
trunk build
cargo build -p server

e2e() {
  (cd end2end && SERVER_BIN="$TARGET_DIR/debug/onec-admin" E2E_DATABASE_URL="${1:-}" npx playwright test) 2>&1 | tee -a "$LOG"
}
step "Playwright on SQLite"
e2e ""
step "Playwright on PostgreSQL"
pg_db="onec_e2e_$$"
psql "$TEST_POSTGRES_URL" -qc "CREATE DATABASE $pg_db" >/dev/null
e2e "${TEST_POSTGRES_URL%/*}/$pg_db"
psql "$TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null

step "Playwright through nginx: two instances on one PostgreSQL and Redis"
pg_proxy="onec_e2e_proxy_$$"
psql "$TEST_POSTGRES_URL" -qc "CREATE DATABASE $pg_proxy" >/dev/null
(cd end2end && SERVER_BIN="$TARGET_DIR/debug/onec-admin" E2E_DATABASE_URL="${TEST_POSTGRES_URL%/*}/$pg_proxy" \
  npx playwright test --config proxy.config.js) 2>&1 | tee -a "$LOG"
psql "$TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $pg_proxy WITH (FORCE)" >/dev/null

step "summary"
passed=$(( $(sed -n 's/^test result: .* \([0-9]\+\) passed; .*/\1/p' "$LOG" | paste -sd+ - | bc) + $(sed -n 's/^ *\([0-9]\+\) passed (.*/\1/p' "$LOG" | paste -sd+ - | bc) ))
failed=$(sed -n 's/^test result: .* \([0-9]\+\) failed; .*/\1/p' "$LOG" | paste -sd+ - | bc)
echo "${passed} passed, ${failed:-0} failed"
