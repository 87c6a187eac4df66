#!/usr/bin/env bash
# What the reference checks (migration m20261201_000006) cost an import: alternating rounds of
# one release binary on one generated export, each round on a fresh database, once as migrated
# («with») and once with the six child tables' `_refs_*` triggers dropped («without»); catalog,
# then stocks and prices into emptied tables. Prints wall and user CPU seconds per phase, and on
# SQLite the time of the import's own-row check (engine::import::own_rows, debug log).
#
#   scripts/bench-reference-checks.sh sqlite|postgres [--products 100000] [--rounds 3]
#
# BENCH_BIN=path measures that binary instead of building one. Work files go to
# target/bench-refs; PostgreSQL uses the database `onec_refs` on 127.0.0.1:5432 (dropped after).
# Run it on an otherwise idle machine: the figures are in docs/benchmarks.md («Reference checks»).
set -euo pipefail
cd "$(dirname "$0")/.."
B="${1:?sqlite or postgres}"; shift
PRODUCTS=100000
ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --products) PRODUCTS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
WORK="$(pwd)/target/bench-refs"
mkdir -p "$WORK"
[ -x /usr/bin/time ] && command -v sqlite3 >/dev/null || {
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq time sqlite3 >/dev/null
}
./scripts/ensure-services.sh --postgres >/dev/null
if [ -z "${BENCH_BIN:-}" ]; then
  cargo build --release -p server 2>&1 | tail -n 1
  BENCH_BIN="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/onec-admin"
fi
BIN="$WORK/onec-admin"
cp "$BENCH_BIN" "$BIN"
DATA="$WORK/data-$PRODUCTS"
[ -d "$DATA" ] || "$BIN" gen-data --products "$PRODUCTS" --customers 0 --out "$DATA" >/dev/null
U="${BENCH_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432}"
export RUST_LOG=warn,engine::import::own_rows=debug ONEC_REDIS_PREFIX="onec-refs-$$"
pg() { psql "$U/$1" -v ON_ERROR_STOP=1 -qAt "${@:2}"; }
for round in $(seq 1 "$ROUNDS"); do
  for mode in with without; do
    if [ "$B" = postgres ]; then
      pg postgres -c "DROP DATABASE IF EXISTS onec_refs" -c "CREATE DATABASE onec_refs"
      export DATABASE_URL="$U/onec_refs"
      sql() { pg onec_refs -c "$1"; }
    else
      rm -f "$WORK"/refs.db*
      export DATABASE_URL="sqlite://$WORK/refs.db?mode=rwc"
      sql() { sqlite3 "$WORK/refs.db" "$1"; }
    fi
    "$BIN" migrate >/dev/null
    if [ "$mode" = without ]; then
      for c in prices stocks product_property_values offer_characteristics offers products; do
        if [ "$B" = postgres ]; then sql "DROP TRIGGER ${c}_refs_inserted ON $c; DROP TRIGGER ${c}_refs_updated ON $c"
        else sql "DROP TRIGGER ${c}_refs_inserted; DROP TRIGGER ${c}_refs_updated;"; fi
      done
    fi
    line="$B round $round $mode:"
    for phase in catalog stocks prices; do
      [ "$phase" = catalog ] || sql "DELETE FROM $phase"
      if [ "$B" = postgres ]; then pg postgres -c CHECKPOINT; fi
      /usr/bin/time -f "%e %U" -o "$WORK/time.out" "$BIN" import "$phase" --data-dir "$DATA" --json \
        >"$WORK/out.json" 2>"$WORK/err.log"
      check="$(grep -o 'elapsed_ms=[0-9]*' "$WORK/err.log" | tail -n 1 || true)"
      read -r wall user < "$WORK/time.out"
      line="$line  $phase ${wall}s (user ${user}s${check:+, check ${check#elapsed_ms=} ms})"
    done
    echo "$line"
  done
done
[ "$B" = postgres ] && pg postgres -c "DROP DATABASE IF EXISTS onec_refs"
exit 0
