#!/usr/bin/env bash
# Runs «Импорт из 1С» on this machine: installs what is missing, builds (release), migrates the
# embedded SQLite database, makes sure Redis answers, creates the first administrator, puts a
# demo 1C export into ONEC_DATA_DIR, and serves. Safe to run again; settings from the
# environment or ./.env win over the defaults below.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
[ -f .env ] && { set -a; . ./.env; set +a; }

export DATABASE_URL="${DATABASE_URL:-sqlite://data/onec.db?mode=rwc}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export ONEC_DATA_DIR="${ONEC_DATA_DIR:-data/1c}"
export ONEC_BIND="${ONEC_BIND:-127.0.0.1:3000}"
export ONEC_DIST_DIR="${ONEC_DIST_DIR:-dist}"
export ONEC_ADMIN_LOGIN="${ONEC_ADMIN_LOGIN:-admin}"
# This script serves plain http://: a session cookie without `Secure` and the `__Host-` prefix,
# which every browser keeps over plain HTTP. Behind a TLS proxy leave it unset (default: true).
export ONEC_SECURE_COOKIES="${ONEC_SECURE_COOKIES:-false}"
mkdir -p data
if [ -z "${ONEC_ADMIN_PASSWORD:-}" ]; then
  # A password of its own for this machine, made once and kept beside the database.
  [ -s data/admin-password ] || (umask 077; head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' > data/admin-password)
  ONEC_ADMIN_PASSWORD="$(cat data/admin-password)"
fi
export ONEC_ADMIN_PASSWORD

echo "==> tools"
./scripts/ensure-tools.sh
echo "==> Redis"
case "$REDIS_URL" in redis://127.0.0.1:6379*|redis://localhost:6379*) ./scripts/ensure-services.sh ;; esac
echo "==> npm packages (wasm-opt)"
(cd end2end && npm ci --no-audit --no-fund --loglevel=error)
echo "==> build"
PATH="$PWD/end2end/node_modules/.bin:$PATH" trunk build --release
cargo build --release -p server
BIN="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/onec-admin"

"$BIN" migrate
printf '%s\n' "$ONEC_ADMIN_PASSWORD" | "$BIN" create-admin --login "$ONEC_ADMIN_LOGIN" --password-stdin
if ! find "$ONEC_DATA_DIR" -name '*.xml' -print -quit 2>/dev/null | grep -q .; then
  echo "==> demo 1C export into $ONEC_DATA_DIR"
  "$BIN" gen-data --products 2000 --customers 200 --seed 1 --out "$ONEC_DATA_DIR" >/dev/null
fi

cat <<MSG

  «Импорт из 1С» — http://$ONEC_BIND/
  Логин: $ONEC_ADMIN_LOGIN
  Пароль: $ONEC_ADMIN_PASSWORD
  Выгрузка 1С: $ONEC_DATA_DIR   База: $DATABASE_URL

MSG
exec "$BIN" serve
