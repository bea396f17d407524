#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: initdb into a new temp folder, start it on a free
# loopback port, print its SQLAlchemy URL on stdout. Stop it with:  scripts/pg_cluster.sh stop DIR
# Uses Debian's packages (apt-get install postgresql); runs the server as the postgres user when
# started by root (PostgreSQL refuses to run as root).
set -euo pipefail
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = stop ]; then
  as_owner "$bindir/pg_ctl" -D "$2/data" -m fast stop >/dev/null
  rm -rf "$2"
  exit 0
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/sinergi-pg-XXXXXX")
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_owner "$bindir/initdb" -D "$dir/data" -U sinergi --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null
echo "postgresql+psycopg://sinergi@127.0.0.1:$port/postgres $dir"
