#!/usr/bin/env bash
# The exchange benchmark: a generated export sent zipped by the 1C stand-in (`onec-admin exchange
# send --protocol bitrix --zip`) to a real server over loopback, which imports each file as 1C
# asks (ONEC_EXCHANGE_MODE=import) — end to end, from checkauth to complete — against
# `onec-admin import run` of the same export into a fresh database; the upload rate of the
# `file` requests (bytes / their wall time, from the stand-in's --json lines); and the server's
# peak RSS (VmHWM) against the CLI import's. Prints a Markdown table; with --doc also writes it
# into docs/benchmarks.md between the «bench-exchange results» markers.
#
#   scripts/bench-exchange.sh [--products 100000] [--backend sqlite|postgres] [--doc]
#
# Release build (BENCH_BIN=path skips it); run it on an otherwise idle machine. Work files go to
# target/bench-exchange (BENCH_DIR); needs Redis on 127.0.0.1:6379 (and PostgreSQL for
# --backend postgres: the database onec_bench_exchange is created and dropped).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
PRODUCTS=100000
BACKEND=sqlite
DOC=0
while [ $# -gt 0 ]; do
  case "$1" in
    --products) PRODUCTS="$2"; shift 2 ;;
    --backend) BACKEND="$2"; shift 2 ;;
    --doc) DOC=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
export CARGO_TERM_COLOR=never RUST_LOG=warn
WORK="${BENCH_DIR:-$ROOT/target/bench-exchange}"
PG_HOST_URL="${BENCH_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432}"
PG_DB=onec_bench_exchange
[ -x /usr/bin/time ] || { SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo; $SUDO apt-get install -y -qq time >/dev/null; }
./scripts/ensure-services.sh $([ "$BACKEND" = postgres ] && echo --postgres) >/dev/null

if [ -z "${BENCH_BIN:-}" ]; then
  echo "==> cargo build --release -p server"
  cargo build --release -p server 2>&1 | tail -n 1
  BENCH_BIN="$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/release/onec-admin"
fi
rm -rf "$WORK" && mkdir -p "$WORK"
BIN="$WORK/onec-admin"
cp "$BENCH_BIN" "$BIN"

fresh_db() { # NAME → a DATABASE_URL of an empty database
  if [ "$BACKEND" = postgres ]; then
    psql "$PG_HOST_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" -c "CREATE DATABASE $PG_DB" >/dev/null
    echo "$PG_HOST_URL/$PG_DB"
  else
    rm -f "$WORK/$1.db"*
    echo "sqlite://$WORK/$1.db?mode=rwc"
  fi
}

echo "==> gen-data --products $PRODUCTS"
"$BIN" gen-data --products "$PRODUCTS" --customers 0 --seed 7 --out "$WORK/src" >/dev/null
SIZE_MB=$(du -sm "$WORK/src" | cut -f1)

echo "==> CLI: import run --types catalog,stocks,prices"
export DATABASE_URL; DATABASE_URL="$(fresh_db cli)"
export ONEC_REDIS_PREFIX="onec-bench-x-cli-$$" ONEC_DATA_DIR="$WORK/src"
"$BIN" migrate >/dev/null
/usr/bin/time -f '%e %M' -o "$WORK/cli.time" "$BIN" import run --types catalog,stocks,prices >/dev/null
read -r CLI_S CLI_RSS < "$WORK/cli.time"
"$BIN" stats --json > "$WORK/cli.stats"

echo "==> exchange: exchange send --protocol bitrix --zip"
DATABASE_URL="$(fresh_db site)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ONEC_REDIS_PREFIX="onec-bench-x-site-$$" ONEC_DATA_DIR="$WORK/export" ONEC_BIND="127.0.0.1:$PORT"
export ONEC_DIST_DIR="$WORK/dist" ONEC_ADMIN_LOGIN=bench ONEC_ADMIN_PASSWORD=bench-password-1
mkdir -p "$ONEC_DIST_DIR" "$ONEC_DATA_DIR" && echo '<html></html>' > "$ONEC_DIST_DIR/index.html"
"$BIN" migrate >/dev/null
echo "bench-exchange-1" | "$BIN" create-user --login 1c --role exchange --password-stdin >/dev/null
"$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
START=$(date +%s.%N)
echo "bench-exchange-1" | "$BIN" exchange send --url "http://127.0.0.1:$PORT/1c/exchange" --login 1c \
  --password-stdin --protocol bitrix --zip --poll-ms 200 --json "$WORK/src" > "$WORK/send.jsonl"
END=$(date +%s.%N)
EX_S=$(printf "%.2f" "$(echo "$END - $START" | bc)")
SERVER_RSS=$(awk '/VmHWM/{print $2}' "/proc/$SERVER/status")
"$BIN" stats --json > "$WORK/site.stats"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
UPLOAD=$(python3 - "$WORK/send.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = [r for r in rows if r.get("mode") == "file"]
b = sum(r.get("bytes", 0) for r in files); ms = sum(r.get("millis", 0) for r in files)
print(f"{b / 1048576:.1f} {max(ms, 1) / 1000:.2f} {b / 1048576 / max(ms / 1000, 0.001):.0f}")
PY
)
read -r UP_MB UP_S UP_RATE <<< "$UPLOAD"
if cmp -s "$WORK/cli.stats" "$WORK/site.stats"; then SAME=yes; else SAME=NO; diff "$WORK/cli.stats" "$WORK/site.stats" || true; fi
[ "$BACKEND" = postgres ] && psql "$PG_HOST_URL/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
redis-cli --scan --pattern "onec-bench-x-*-$$:*" | xargs -r redis-cli del >/dev/null

RATIO=$(echo "scale=2; $EX_S / $CLI_S" | bc)
TABLE="$(cat <<MD
Export: $PRODUCTS products (3.1, $SIZE_MB MB unpacked), $BACKEND; $(nproc) cores, load before $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC').

| measure | value | target |
|---|---:|---|
| \`import run\` (CLI), catalog + stocks + prices | $CLI_S s, peak RSS $((CLI_RSS / 1024)) MiB | — |
| exchange end to end (\`exchange send --zip\`, bitrix) | $EX_S s ($RATIO× the CLI) | ≤ 1.3× |
| upload (\`file\` requests) | $UP_MB MiB in $UP_S s = $UP_RATE MiB/s | ≥ 200 MB/s |
| server peak RSS (VmHWM) | $((SERVER_RSS / 1024)) MiB | within the import's own bound |
| database after the exchange = after the CLI (\`stats --json\`) | $SAME | yes |
MD
)"
echo "$TABLE"
if [ "$DOC" = 1 ]; then
  python3 - "$ROOT/docs/benchmarks.md" "$TABLE" <<'PY'
import sys
path, table = sys.argv[1], sys.argv[2]
doc = open(path).read()
start, end = "<!-- bench-exchange results -->", "<!-- /bench-exchange results -->"
block = f"{start}\n{table}\n{end}"
if start in doc:
    doc = doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
else:
    doc += f"\n## The 1C exchange (`scripts/bench-exchange.sh`)\n\n{block}\n"
open(path, "w").write(doc)
PY
fi
[ "$SAME" = yes ]
