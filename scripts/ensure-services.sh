#!/usr/bin/env bash
# Makes sure Redis (always) and PostgreSQL (with --postgres) answer on 127.0.0.1, starting
# Debian's servers when nothing does. Safe to run again: a service that answers is left alone.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

apt_install() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "==> starting redis-server on 127.0.0.1:6379"
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /tmp --logfile /tmp/onec-redis.log
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.1; done
fi

if [ "${1:-}" = "--postgres" ]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    command -v pg_ctlcluster >/dev/null || apt_install postgresql
    ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$ver" ]; then
      ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
      $SUDO pg_createcluster "$ver" main >/dev/null
    fi
    echo "==> starting PostgreSQL $ver on 127.0.0.1:5432"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
    for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 0.1; done
    # A cluster we started ourselves asks for a password over TCP: give postgres a known one
    # (the tests' URL carries it; servers with trust auth ignore it).
    $SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD 'postgres'" >/dev/null
  fi
  if command -v psql >/dev/null && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
    su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" 2>/dev/null | grep -q 1 \
      || su postgres -c "createdb test" 2>/dev/null || true
  fi
fi
