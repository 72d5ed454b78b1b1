#!/usr/bin/env bash
# Throwaway Redis servers for the Redis tests: a standalone server on 127.0.0.1:6390 and a three-primary
# Cluster on 127.0.0.1:7000-7002 (--save '' --appendonly no, daemonized, files under $HTTPCACHE_REDIS_DIR).
#
#   bash .ci/redis.sh start   installs redis-server (apt-get) when it is missing, starts whatever is not running
#                             yet, creates the Cluster and waits for cluster_state:ok; prints the two export lines
#                             on stdout (everything else goes to stderr) and writes them to $HTTPCACHE_REDIS_DIR/env.
#   bash .ci/redis.sh stop    shuts down (shutdown nosave) the servers this script started, and removes the files.
#
# Both are idempotent. Typical use:  eval "$(bash .ci/redis.sh start)"  ...  bash .ci/redis.sh stop
set -euo pipefail

STANDALONE_PORT=6390
CLUSTER_PORTS=(7000 7001 7002)
DIR="${HTTPCACHE_REDIS_DIR:-${TMPDIR:-/tmp}/httpcache-ci-redis}"
DEADLINE_SECONDS=30

log() { echo "redis.sh: $*" >&2; }
die() { log "$*"; exit 1; }

cli() { timeout 5 redis-cli -h 127.0.0.1 "$@" 2>/dev/null; }
answers() { [[ "$(cli -p "$1" ping | tr -d '\r')" == "PONG" ]]; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
cluster_field() { cli -p "$1" cluster info | tr -d '\r' | sed -n "s/^$2://p"; }

ensure_installed() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        return
    fi
    log "installing redis-server"
    local sudo=""
    if [[ "$(id -u)" != 0 ]] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    { $sudo apt-get update && $sudo apt-get install -y redis-server; } >&2 || die "could not install redis-server"
}

# start_server PORT [redis-server options...]: starts it unless a Redis already answers there.
start_server() {
    local port=$1
    shift
    if answers "$port"; then
        log "127.0.0.1:$port already answers; keeping it"
        return
    fi
    port_busy "$port" && die "127.0.0.1:$port is taken by something that does not answer like Redis"
    rm -f "$DIR/redis-$port.pid" "$DIR/nodes-$port.conf" "$DIR/redis-$port.log"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --dir "$DIR" --pidfile "$DIR/redis-$port.pid" --logfile "$DIR/redis-$port.log" "$@" >&2 \
        || die "redis-server on 127.0.0.1:$port did not start"
    local end=$((SECONDS + DEADLINE_SECONDS))
    until answers "$port"; do
        if ((SECONDS >= end)); then
            cat "$DIR/redis-$port.log" >&2 2>/dev/null || true
            die "redis-server on 127.0.0.1:$port did not answer within ${DEADLINE_SECONDS}s"
        fi
        sleep 0.1
    done
    log "redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$port"
}

start_cluster() {
    local port endpoints=() all_ok=1 any_slots=0
    for port in "${CLUSTER_PORTS[@]}"; do
        start_server "$port" --cluster-enabled yes --cluster-config-file "$DIR/nodes-$port.conf" --cluster-node-timeout 5000
        endpoints+=("127.0.0.1:$port")
        local state slots
        state="$(cluster_field "$port" cluster_state)"
        slots="$(cluster_field "$port" cluster_slots_assigned)"
        [[ -n "$state" ]] || die "127.0.0.1:$port answers but is not a Cluster node (cluster support disabled?)"
        [[ "$state" == "ok" ]] || all_ok=0
        [[ "${slots:-0}" == "0" ]] || any_slots=1
    done

    if ((all_ok)); then
        log "cluster on ${endpoints[*]} is already up"
        return
    fi
    if ((!any_slots)); then
        log "creating the cluster on ${endpoints[*]}"
        redis-cli --cluster create "${endpoints[@]}" --cluster-replicas 0 --cluster-yes >&2 \
            || die "redis-cli --cluster create failed"
    fi

    local end=$((SECONDS + DEADLINE_SECONDS))
    for port in "${CLUSTER_PORTS[@]}"; do
        until [[ "$(cluster_field "$port" cluster_state)" == "ok" ]]; do
            if ((SECONDS >= end)); then
                cli -p "$port" cluster info >&2 || true
                die "the cluster did not reach cluster_state:ok within ${DEADLINE_SECONDS}s (try: bash .ci/redis.sh stop; bash .ci/redis.sh start)"
            fi
            sleep 0.1
        done
    done
    log "cluster on ${endpoints[*]}: cluster_state:ok"
}

start() {
    ensure_installed
    mkdir -p "$DIR"
    start_server "$STANDALONE_PORT"
    start_cluster
    local cluster
    cluster="$(printf '127.0.0.1:%s,' "${CLUSTER_PORTS[@]}")"
    cluster="${cluster%,}"
    local exports
    exports="export HTTPCACHE_REDIS=127.0.0.1:$STANDALONE_PORT
export HTTPCACHE_REDIS_CLUSTER=$cluster"
    printf '%s\n' "$exports" >"$DIR/env"
    printf '%s\n' "$exports"
}

stop() {
    local port
    for port in "$STANDALONE_PORT" "${CLUSTER_PORTS[@]}"; do
        # Only servers this script started (it left their pid file); someone else's stay up.
        [[ -f "$DIR/redis-$port.pid" ]] || continue
        if answers "$port"; then
            cli -p "$port" shutdown nosave >/dev/null || true
            local end=$((SECONDS + DEADLINE_SECONDS))
            while answers "$port"; do
                ((SECONDS < end)) || die "redis-server on 127.0.0.1:$port did not shut down"
                sleep 0.1
            done
            log "stopped 127.0.0.1:$port"
        fi
        rm -f "$DIR/redis-$port.pid"
    done
    rm -rf "$DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
