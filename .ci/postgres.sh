#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the SQL tests and print its DSN (last line of stdout).
#
# Idempotent: if a server already accepts `postgres` on 127.0.0.1:$PORT without a password, it is reused.
# Otherwise the Debian `postgresql` package is installed when missing, and a private cluster is created in
# $NPROG_PG_DATA (default /tmp/nprog-postgres) with trust auth, listening on loopback only. The system's own
# clusters and config files are never edited. Usage: `.ci/postgres.sh` (then export NPROG_PG_DSN=<last line>).
# Stop it with: pg_ctl -D "$NPROG_PG_DATA" stop  (as the user that started it; root runs it as `postgres`).
set -euo pipefail

PORT="${NPROG_PG_PORT:-5432}"
DATA="${NPROG_PG_DATA:-/tmp/nprog-postgres}"
DSN="postgresql://postgres@127.0.0.1:${PORT}/postgres"

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {  # the newest installed server's bin directory, or nothing
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

accepts_trust() {  # a server on loopback lets `postgres` in without a password
    [ -n "$(pg_bin)" ] || return 1
    PGCONNECT_TIMEOUT=3 "$(pg_bin)/psql" "$DSN" -w -tAc 'SELECT 1' >/dev/null 2>&1
}

as_owner() {  # initdb/postgres refuse to run as root: root runs them as the package's `postgres` user
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_server() {
    log "installing the Debian postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    # the package may auto-start its own `main` cluster on our port; it was not there before, so stop it
    if command -v pg_lsclusters >/dev/null; then
        pg_lsclusters --no-header 2>/dev/null | while read -r ver name port _; do
            [ "$port" = "$PORT" ] && pg_ctlcluster "$ver" "$name" stop >&2 || true
        done
    fi
}

start_cluster() {
    local bin
    bin="$(pg_bin)"
    if [ ! -s "$DATA/PG_VERSION" ]; then
        log "creating a trust-auth cluster in $DATA"
        mkdir -p "$DATA"
        [ "$(id -u)" = 0 ] && chown postgres: "$DATA"
        as_owner "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
    fi
    if ! as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        log "starting the server on 127.0.0.1:$PORT"
        # sockets go into the data directory: /var/run/postgresql may not exist or be writable
        as_owner "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 start \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='$DATA'" >&2
    fi
}

if ! accepts_trust; then
    [ -n "$(pg_bin)" ] || install_server
    start_cluster
    if ! accepts_trust; then
        log "the server in $DATA does not accept $DSN (is another server holding port $PORT? see $DATA/server.log)"
        exit 1
    fi
fi
echo "$DSN"
