#!/usr/bin/env bash
# Starts or stops one throwaway PostgreSQL 15 cluster shared by a whole test
# run (make test), so that test packages need not start their own.
#   eval "$(hack/pg.sh start)"   prints export KOYOMI_TEST_POSTGRES_URL=… and KOYOMI_TEST_PGDIR=…
#   eval "$(hack/pg.sh start --durable)"   the same with fsync, synchronous_commit and
#                                full_page_writes on, as in production (make bench)
#   hack/pg.sh stop DIR
set -euo pipefail
bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-}" in
start)
	durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	[ "${2:-}" = --durable ] && durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
	dir=$(mktemp -d /tmp/koyomi-pg-XXXXXX)
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync --locale=C >/dev/null
	port=""
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		# A port nobody answers on is free for us.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
	done
	[ -n "$port" ] || { echo "pg.sh: no free port found" >&2; exit 1; }
	as "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 $durability -c max_connections=500" start >/dev/null
	echo "export KOYOMI_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable KOYOMI_TEST_PGDIR=$dir"
	;;
stop)
	dir=${2:?usage: pg.sh stop DIR}
	as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	;;
*)
	echo "usage: $0 start | stop DIR" >&2
	exit 2
	;;
esac
