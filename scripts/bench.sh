#!/usr/bin/env bash
# The import benchmark: generates exports with `onec-admin gen-data`, then measures — each phase
# a separate child process under /usr/bin/time (wall time and peak RSS) — parse only, a full
# catalog preview (--dry-run), catalog import, the same catalog again (unchanged), stocks only, prices only and customers on
# SQLite and on PostgreSQL, the PostgreSQL COPY floor of the same rows, and the monitor's
# session list on 10 000 sessions. Writes the results into docs/benchmarks.md (between the
# «bench results» markers) and prints them.
#
#   scripts/bench.sh [--sizes "10000 100000"] [--customers 50000] [--backends "postgres sqlite"]
#                    [--web] [--no-doc]
#
# BENCH_REFERENCE_CHECKS=off drops the child tables' reference-check triggers after migrating
# (to measure what they cost; use with --no-doc and its own BENCH_DIR).
# BENCH_BIN=path skips the build and measures that binary. --web also builds the release wasm
# bundle (`trunk build --release`, slow) and measures it gzipped. Sizes and backends not run keep
# their rows from earlier runs (--sizes "" --web: only the bundle). Work files go to
# target/bench (BENCH_DIR); the PostgreSQL database `onec_bench` on 127.0.0.1:5432 is created
# and dropped. Release build; run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"

SIZES="10000 100000"
CUSTOMERS=50000
BACKENDS="postgres sqlite"
WEB=0
DOC=1
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) SIZES="$2"; shift 2 ;;
    --customers) CUSTOMERS="$2"; shift 2 ;;
    --backends) BACKENDS="$2"; shift 2 ;;
    --web) WEB=1; shift ;;
    --no-doc) DOC=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

export CARGO_TERM_COLOR=never
WORK="${BENCH_DIR:-$ROOT/target/bench}"
mkdir -p "$WORK"
RESULTS="$WORK/results.tsv"
PG_HOST_URL="${BENCH_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432}"
PG_DB=onec_bench
export ONEC_REDIS_PREFIX="onec-bench-$$"
export RUST_LOG=warn

need=()
[ -x /usr/bin/time ] || need+=(time)
command -v sqlite3 >/dev/null || need+=(sqlite3)
command -v bc >/dev/null || need+=(bc)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
./scripts/ensure-services.sh --postgres >/dev/null

if [ -z "${BENCH_BIN:-}" ]; then
  echo "==> cargo build --release -p server"
  cargo build --release -p server 2>&1 | tail -n 1
  BENCH_BIN="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/onec-admin"
fi
# A copy: a rebuild while the benchmark runs does not swap the binary under it.
BIN="$WORK/onec-admin"
cp "$BENCH_BIN" "$BIN"

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
# Results of earlier runs for other sizes / backends are kept (a partial run refreshes its own
# rows only); the rows this run measures are dropped first.
touch "$RESULTS"
awk -F'\t' -v sizes=" $SIZES " -v backends=" $BACKENDS - " \
  '$1 != "web" && !(index(sizes, " " $1 " ") && index(backends, " " $2 " "))' "$RESULTS" > "$RESULTS.keep"
mv "$RESULTS.keep" "$RESULTS"

# measure SIZE BACKEND PHASE CMD… — runs CMD under /usr/bin/time; appends
# "size backend phase seconds peak_rss_kb extra" to $RESULTS (extra: the command's JSON, one line).
measure() {
  local size="$1" backend="$2" phase="$3"; shift 3
  local tf="$WORK/time.out" out="$WORK/cmd.out" err="$WORK/cmd.err"
  # Each PostgreSQL phase starts right after a checkpoint, so it does not pay for the WAL of the
  # phase before it (with Debian's max_wal_size of 1 GB a checkpoint otherwise lands wherever the
  # previous imports left it). Imports and COPY floors alike; not timed.
  if [ "$backend" = postgres ]; then pg postgres -c CHECKPOINT >/dev/null 2>&1 || true; fi
  if ! /usr/bin/time -f '%e %M' -o "$tf" "$@" >"$out" 2>"$err"; then
    echo "FAILED: $size $backend $phase: $*" >&2
    tail -n 20 "$err" >&2; tail -c 2000 "$out" >&2
    exit 1
  fi
  local secs kb
  read -r secs kb < <(tail -n 1 "$tf")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$backend" "$phase" "$secs" "$kb" \
    "$(tr -d '\n\t' < "$out" | head -c 4000)" >> "$RESULTS"
  printf '  %-8s %-9s %-16s %7.2f s %7.1f MB\n' "$size" "$backend" "$phase" "$secs" "$(echo "$kb/1024" | bc -l)"
}

pg() { psql "$PG_HOST_URL/$1" -v ON_ERROR_STOP=1 -qAt "${@:2}"; }

CATALOG_TABLES="categories units properties property_values products product_property_values offers offer_characteristics price_types warehouses prices stocks"

# copy_floor SIZE PHASE TABLES… — TRUNCATE + \copy FROM of the exported rows, one transaction.
copy_floor() {
  local size="$1" phase="$2"; shift 2
  local sql="$WORK/floor.sql" list
  list="$(echo "$@" | tr ' ' ',')"
  { echo "BEGIN;"; echo "TRUNCATE $list;"
    for t in "$@"; do echo "\\copy $t FROM '$WORK/copy/$t.csv' CSV"; done
    echo "COMMIT;"; } > "$sql"
  measure "$size" postgres "$phase" psql "$PG_HOST_URL/$PG_DB" -v ON_ERROR_STOP=1 -qAt -f "$sql"
}

for N in $SIZES; do
  DATA="$WORK/data-$N"
  echo "==> $N products, $CUSTOMERS customers → $DATA"
  measure "$N" - gen-data "$BIN" gen-data --products "$N" --customers "$CUSTOMERS" --out "$DATA"
  # The export is still being written back to disk: let that finish before anything is timed.
  sync
  printf '%s\t-\tbytes\t%s\t0\t\n' "$N" "$(du -sb "$DATA" | cut -f1)" >> "$RESULTS"
  for kind in catalog stocks prices customers; do
    measure "$N" - "parse $kind" "$BIN" bench parse --kind "$kind" --data-dir "$DATA"
  done
  for B in $BACKENDS; do
    case "$B" in
      sqlite)
        rm -f "$WORK/bench.db" "$WORK/bench.db-wal" "$WORK/bench.db-shm"
        export DATABASE_URL="sqlite://$WORK/bench.db?mode=rwc"
        sql() { sqlite3 "$WORK/bench.db" "$1"; } ;;
      postgres)
        pg postgres -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
        export DATABASE_URL="$PG_HOST_URL/$PG_DB"
        sql() { pg "$PG_DB" -c "${1/DELETE FROM/TRUNCATE}"; } ;;
      *) echo "unknown backend $B" >&2; exit 2 ;;
    esac
    "$BIN" migrate >/dev/null
    if [ "${BENCH_REFERENCE_CHECKS:-on}" = off ]; then
      # The cost of migration m20261201_000006 is this run against one with the checks (on).
      for child in prices stocks product_property_values offer_characteristics offers products; do
        case "$B" in
          sqlite) sqlite3 "$WORK/bench.db" "DROP TRIGGER ${child}_refs_inserted; DROP TRIGGER ${child}_refs_updated;" ;;
          postgres) pg "$PG_DB" -c "DROP TRIGGER ${child}_refs_inserted ON $child" -c "DROP TRIGGER ${child}_refs_updated ON $child" ;;
        esac
      done
    fi
    # «Проверить без записи» of the full catalog on the empty database: the same work as the
    # catalog phase after it, rolled back (target: ≤ 1.1× that phase).
    # (Skipped for a binary from before previews, measured to see what the change report costs.)
    if "$BIN" import catalog --help 2>/dev/null | grep -q -- --dry-run; then
      measure "$N" "$B" preview "$BIN" import catalog --data-dir "$DATA" --json --dry-run
    fi
    measure "$N" "$B" catalog "$BIN" import catalog --data-dir "$DATA" --json
    measure "$N" "$B" "catalog again" "$BIN" import catalog --data-dir "$DATA" --json
    # Stocks and prices land in emptied tables: every row is written (the heaviest case, and
    # the same rows the COPY floor loads).
    sql "DELETE FROM stocks"
    measure "$N" "$B" stocks "$BIN" import stocks --data-dir "$DATA" --json
    measure "$N" "$B" "stocks again" "$BIN" import stocks --data-dir "$DATA" --json
    sql "DELETE FROM prices"
    measure "$N" "$B" prices "$BIN" import prices --data-dir "$DATA" --json
    measure "$N" "$B" "prices again" "$BIN" import prices --data-dir "$DATA" --json
    measure "$N" "$B" customers "$BIN" import customers --data-dir "$DATA" --json
    if [ "${BENCH_MONITOR:-1}" = 1 ] && [ "$N" = "$(echo $SIZES | tr ' ' '\n' | tail -n 1)" ]; then
      measure "$N" "$B" monitor "$BIN" bench monitor --sessions 10000
    fi
    if [ "$B" = postgres ]; then
      mkdir -p "$WORK/copy"
      for t in $CATALOG_TABLES customers; do
        pg "$PG_DB" -c "\\copy (SELECT * FROM $t) TO '$WORK/copy/$t.csv' CSV"
      done
      # shellcheck disable=SC2086
      copy_floor "$N" "floor catalog" $CATALOG_TABLES
      copy_floor "$N" "floor stocks" stocks
      copy_floor "$N" "floor prices" prices
      copy_floor "$N" "floor customers" customers
      rm -rf "$WORK/copy"
      pg postgres -c "DROP DATABASE IF EXISTS $PG_DB"
    fi
  done
done

if [ "$WEB" = 1 ]; then
  echo "==> trunk build --release"
  export PATH="$ROOT/end2end/node_modules/.bin:$PATH"
  rm -rf "$WORK/dist"
  trunk build --release --dist "$WORK/dist" >"$WORK/trunk.log" 2>&1 || { tail -n 30 "$WORK/trunk.log"; exit 1; }
  wasm="$(ls "$WORK"/dist/*.wasm | head -n 1)"
  printf 'web\t-\twasm\t0\t0\t{"raw":%s,"gzip":%s}\n' "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)" > "$WORK/web.tsv"
fi
[ -f "$WORK/web.tsv" ] && cat "$WORK/web.tsv" >> "$RESULTS"

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
MACHINE="$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1), $(free -g | awk '/^Mem:/{print $2}') GB RAM; load average before $LOAD_BEFORE, after $LOAD_AFTER; PostgreSQL $(pg postgres -c 'SHOW server_version'), SQLite $(sqlite3 --version | cut -d' ' -f1); $(date -u '+%Y-%m-%d %H:%M UTC')"
python3 "$ROOT/scripts/bench_report.py" "$RESULTS" "$MACHINE" "$( [ "$DOC" = 1 ] && echo "$ROOT/docs/benchmarks.md" )"
