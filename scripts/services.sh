#!/usr/bin/env bash
# Start or stop a throwaway Redis and PostgreSQL 15 on 127.0.0.1 for the test suite.
#
#   eval "$(scripts/services.sh start)"   # prints export lines for the CRUDAUTH_TEST_* variables
#   scripts/services.sh stop [DIR]        # DIR defaults to $CRUDAUTH_TEST_SERVICES_DIR
#
# Runs as root on Debian 12; installs redis-server and postgresql with apt-get when missing.
# Only export lines go to stdout; progress and errors go to stderr.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
WAIT_SECONDS=10

log() { echo "services.sh: $*" >&2; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

ensure_installed() {
    if command -v redis-server >/dev/null && [ -x "$PG_BIN/initdb" ]; then
        return
    fi
    log "installing redis-server and postgresql with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server postgresql >&2
}

wait_for() {
    local description=$1
    shift
    local deadline=$((SECONDS + WAIT_SECONDS))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "$description did not answer within ${WAIT_SECONDS} s"
            return 1
        fi
        sleep 0.05
    done
}

redis_answers() {
    # Bash's /dev/tcp avoids depending on redis-cli.
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'PING\r\n' >&3
    local reply
    read -r -t 2 reply <&3 || true
    exec 3>&-
    [[ $reply == +PONG* ]]
}

start() {
    ensure_installed
    local dir redis_server redis_port pg_port
    dir=$(mktemp -d /tmp/crudauth-services.XXXXXX)
    # PostgreSQL runs as the postgres user, which must reach its data directory.
    chmod 755 "$dir"
    redis_server=$(command -v redis-server)
    redis_port=$(free_port)
    pg_port=$(free_port)

    "$redis_server" --bind 127.0.0.1 --port "$redis_port" --dir "$dir" --save '' \
        --appendonly no >"$dir/redis.log" 2>&1 </dev/null &
    echo $! >"$dir/redis.pid"

    mkdir "$dir/pg"
    chown postgres:postgres "$dir/pg"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$dir/pg" -U postgres --auth=trust --no-sync \
        >"$dir/initdb.log" 2>&1
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$dir/pg" -l "$dir/pg/server.log" \
        -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $dir/pg -c fsync=off" start \
        >/dev/null 2>&1

    wait_for "Redis on port $redis_port" redis_answers "$redis_port"
    wait_for "PostgreSQL on port $pg_port" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$pg_port"

    echo "export CRUDAUTH_TEST_SERVICES_DIR=$dir"
    echo "export CRUDAUTH_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
    echo "export CRUDAUTH_TEST_REDIS_PORT=$redis_port"
    echo "export CRUDAUTH_TEST_REDIS_PID_FILE=$dir/redis.pid"
    echo "export CRUDAUTH_TEST_REDIS_SERVER=$redis_server"
    echo "export CRUDAUTH_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:$pg_port/postgres"
}

stop() {
    local dir=${1:-${CRUDAUTH_TEST_SERVICES_DIR:-}}
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then
        log "no services directory given; pass it or set CRUDAUTH_TEST_SERVICES_DIR"
        return 1
    fi

    # The Redis fault test rewrites redis.pid when it restarts the server.
    if [ -f "$dir/redis.pid" ]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi

    local postmaster="$dir/pg/postmaster.pid"
    if [ -f "$postmaster" ]; then
        kill -INT "$(head -n 1 "$postmaster")" 2>/dev/null || true
        # kill -0 keeps succeeding for a while after exit; the pid file is the signal.
        local deadline=$((SECONDS + WAIT_SECONDS))
        while [ -f "$postmaster" ] && ((SECONDS < deadline)); do
            sleep 0.05
        done
    fi
    rm -rf "$dir"
}

case ${1:-} in
start) start ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: $0 start | stop [DIR]" >&2
    exit 2
    ;;
esac
