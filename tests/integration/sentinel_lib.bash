# Redis Sentinel sets for integration and fault tests (sourced after tests/integration/lib.sh,
# and after repair_lib.bash when the nodes of a federation use them).
#
# One set = a primary and two replicas (redis-server, AOF with appendfsync always, each in its own
# directory) and three redis-sentinel (quorum 2, down-after 1 s), all on loopback private ports.
#
#   sn_start SET                 start the set (SET: a name, e.g. a node code; master "crgw-SET")
#   sn_addr SET [ACKS] [ACK_MS]  the crgw address: sentinel:crgw-SET@IP:P,IP:P,IP:P;acks=..;ack_ms=..
#   sn_primary SET               "PORT" of the primary the Sentinels name now
#   sn_cli SET ARGS...           redis-cli on that primary
#   sn_kill_primary SET          SIGKILL the primary; sets SN_KILLED_PORT
#   sn_wait_failover SET [SECS]  until the Sentinels name another primary that says ROLE master
#   sn_restart SET PORT          restart a killed server (it rejoins as a replica)
#   sn_wait_replicas SET N [SECS] until the primary has N replicas online
declare -A SN_PORTS SN_SPORTS SN_PID

_sn_free_ports() { # n -> n distinct free ports
    local n=$1 out=" " p
    while [ "$(wc -w <<<"$out")" -lt "$n" ]; do
        p=$(free_port)
        case "$out" in *" $p "*) continue ;; esac
        out="$out$p "
    done
    echo $out
}

_sn_server() { # set port [replicaof-port]
    local s=$1 p=$2 of=${3:-} d="$T/sn-$1/r$2"
    mkdir -p "$d"
    local rep=()
    [ -n "$of" ] && rep=(--replicaof 127.0.0.1 "$of")
    redis-server --bind 127.0.0.1 --port "$p" --dir "$d" --appendonly yes --appendfsync always \
        --save '' --daemonize no --repl-diskless-sync no "${rep[@]}" >>"$d/redis.log" 2>&1 &
    SN_PID[$s:$p]=$!
    _LIB_PIDS+=("$!")
}

_sn_sentinel() { # set sentinel-port primary-port
    local s=$1 sp=$2 pp=$3 d="$T/sn-$1/s$2"
    mkdir -p "$d"
    cat >"$d/sentinel.conf" <<CONF
bind 127.0.0.1
port $sp
dir $d
sentinel resolve-hostnames no
sentinel monitor crgw-$s 127.0.0.1 $pp 2
sentinel down-after-milliseconds crgw-$s 1000
sentinel failover-timeout crgw-$s 4000
sentinel parallel-syncs crgw-$s 2
CONF
    redis-sentinel "$d/sentinel.conf" --daemonize no >>"$d/sentinel.log" 2>&1 &
    SN_PID[$s:s$sp]=$!
    _LIB_PIDS+=("$!")
}

_sn_try() { # set -> 0 when the set is up
    local s=$1 ports p i ok
    ports=($(_sn_free_ports 6))
    SN_PORTS[$s]="${ports[0]} ${ports[1]} ${ports[2]}"
    SN_SPORTS[$s]="${ports[3]} ${ports[4]} ${ports[5]}"
    _sn_server "$s" "${ports[0]}"
    for i in $(seq 100); do
        [ "$(redis-cli -p "${ports[0]}" PING 2>/dev/null)" = PONG ] && break
        sleep 0.05
    done
    _sn_server "$s" "${ports[1]}" "${ports[0]}"
    _sn_server "$s" "${ports[2]}" "${ports[0]}"
    sn_wait_replicas "$s" 2 20 || return 1
    for p in ${SN_SPORTS[$s]}; do _sn_sentinel "$s" "$p" "${ports[0]}"; done
    # every Sentinel sees the two replicas and the two other Sentinels
    for i in $(seq 200); do
        ok=1
        for p in ${SN_SPORTS[$s]}; do
            [ "$(redis-cli -p "$p" SENTINEL master "crgw-$s" 2>/dev/null |
                awk 'prev == "num-other-sentinels" {print; exit} {prev = $0}')" = 2 ] || ok=0
            [ "$(redis-cli -p "$p" SENTINEL master "crgw-$s" 2>/dev/null |
                awk 'prev == "num-slaves" {print; exit} {prev = $0}')" = 2 ] || ok=0
        done
        [ "$ok" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

sn_start() { # set (a port taken meanwhile by another test run: everything again on new ports)
    local s=$1 attempt k
    for attempt in 1 2 3; do
        _sn_try "$s" && return 0
        for k in "${!SN_PID[@]}"; do
            case "$k" in "$s":*)
                kill -KILL "${SN_PID[$k]}" 2>/dev/null
                wait "${SN_PID[$k]}" 2>/dev/null
                unset "SN_PID[$k]"
                ;;
            esac
        done
        rm -rf "$T/sn-$s"
        echo "sentinel set $s: start failed (attempt $attempt), again on other ports" >&2
    done
    fail "set $s: the servers and Sentinels did not come up"
    exit 1
}

sn_addr() { # set [acks] [ack_ms]
    local s=$1 a="" p
    for p in ${SN_SPORTS[$s]}; do a="$a${a:+,}127.0.0.1:$p"; done
    echo "sentinel:crgw-$s@$a;acks=${2:-1};ack_ms=${3:-1000}"
}

sn_primary() { # set -> port
    local p a
    for p in ${SN_SPORTS[$1]}; do
        a=$(redis-cli -p "$p" SENTINEL get-master-addr-by-name "crgw-$1" 2>/dev/null | sed -n 2p)
        case "$a" in [0-9]*) echo "$a"; return 0 ;; esac
    done
    return 1
}

sn_cli() { # set args...
    local s=$1
    shift
    redis-cli -p "$(sn_primary "$s")" "$@"
}

sn_kill_primary() { # set
    local s=$1
    SN_KILLED_PORT=$(sn_primary "$s")
    kill -KILL "${SN_PID[$s:$SN_KILLED_PORT]}" 2>/dev/null
    wait "${SN_PID[$s:$SN_KILLED_PORT]}" 2>/dev/null
}

sn_wait_failover() { # set [secs]
    local s=$1 secs=${2:-30} i p
    for i in $(seq $((secs * 10))); do
        p=$(sn_primary "$s")
        if [ -n "$p" ] && [ "$p" != "${SN_KILLED_PORT:-}" ] &&
            redis-cli -p "$p" ROLE 2>/dev/null | head -n 1 | grep -qx master; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

sn_restart() { # set port
    _sn_server "$1" "$2"
}

sn_wait_replicas() { # set n [secs]
    local s=$1 n=$2 secs=${3:-30} i p
    for i in $(seq $((secs * 10))); do
        p=$(sn_primary "$s" 2>/dev/null)
        [ -z "$p" ] && p=${SN_PORTS[$s]%% *}
        [ "$(redis-cli -p "$p" INFO replication 2>/dev/null | grep -c '^slave[0-9]*:.*state=online')" -ge "$n" ] &&
            return 0
        sleep 0.1
    done
    return 1
}
