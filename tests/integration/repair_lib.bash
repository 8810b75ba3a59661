# Helpers for the multi-node repair tests (sourced after tests/integration/lib.sh).
#
# The test federation (config/test) is copied to $T/fed with every node on its own free ports
# (federation URLs, listen and h2c rewritten; paths made absolute), so that a run never talks to
# another run's nodes, nor to any other crgw on the machine that would deliver to the fixed test
# addresses. Each node has its own redis-server ($T/CODE/redis.sock, AOF appendfsync always).
#
#   rp_start_redis CODE          rp_stop_redis CODE [SIG]
#   rp_start_node CODE [ENV=V..] rp_kill_node CODE [SIG]
#   rp_h2c CODE ROLE METHOD PATH [curl args]     -> $BODY $STATUS (x-crgw-role: ROLE)
#   rp_tls CODE CLIENT METHOD PATH [curl args]   -> $BODY $STATUS (fixture client certificate)
#   rp_redis CODE ARGS...                        redis-cli on the node's Redis
#   RP_REDIS[CODE]=ADDR                          the node's --redis (default its socket; a Sentinel form: see sentinel_lib.bash)
#   rp_wait SECONDS CMD...                       until CMD succeeds (0) or the time is up (1)
#   rp_dump_logs                                 tails every node's log (on failure)
declare -A RP_PID RP_RPID
declare -A RP_REDIS # code -> the node's --redis when not its own socket (sentinel_lib.bash: SET)

rp_port() { # code h2c|listen
    sed -n "s/^$2: *127\.0\.0\.1:\([0-9]*\).*/\1/p" "$T/fed/node-$1.yaml"
}

# Private copy of the federation with fresh ports (run once, by sourcing this file).
rp_make_federation() {
    local src=$CRGW_ROOT/config/test f code tls h2c used=" "
    mkdir -p "$T/fed"
    # Ports below the ephemeral range (outgoing connections never take them) and away from the
    # fixed test addresses 18xxx/19xxx; not in use in any state.
    pick() {
        local p
        while :; do
            p=$((20000 + RANDOM % 12000))
            case "$used" in *" $p "*) continue ;; esac
            ss -tan 2>/dev/null | awk '{print $4}' | grep -q ":$p\$" && continue
            used="$used$p "
            echo "$p"
            return
        done
    }
    cp "$src/federation.yaml" "$T/fed/federation.yaml.in"
    for f in "$src"/node-*.yaml; do
        code=$(basename "$f" .yaml)
        code=${code#node-}
        tls=$(pick)
        h2c=$(pick)
        sed -i "s#url: https://127\.0\.0\.1:$(sed -n 's/^listen: *127\.0\.0\.1:\([0-9]*\).*/\1/p' "$f")\$#url: https://127.0.0.1:$tls#" \
            "$T/fed/federation.yaml.in"
        sed -e "s#^federation: *federation.yaml#federation: $T/fed/federation.yaml#" \
            -e "s#^listen: .*#listen: 127.0.0.1:$tls#" -e "s#^h2c: .*#h2c: 127.0.0.1:$h2c#" \
            -e "s#\.\./\.\./#$CRGW_ROOT/#g" -e "s#: *\.\./\([a-z]\)#: $CRGW_ROOT/config/\1#" \
            "$f" >"$T/fed/node-$code.yaml"
    done
    sed -e "s#\.\./\.\./#$CRGW_ROOT/#g" "$T/fed/federation.yaml.in" >"$T/fed/federation.yaml"
    if grep -q 'url: https://127.0.0.1:18' "$T/fed/federation.yaml"; then
        fail "federation copy still names a fixed test address"
        exit 1
    fi
}
rp_make_federation

rp_start_redis() {
    local c=$1
    mkdir -p "$T/$c"
    redis-server --port 0 --unixsocket "$T/$c/redis.sock" --unixsocketperm 700 --dir "$T/$c" \
        --appendonly yes --appendfsync always --save '' --daemonize no \
        >>"$T/$c/redis.log" 2>&1 &
    RP_RPID[$c]=$!
    _LIB_PIDS+=("$!")
    local i
    for i in $(seq 100); do
        [ "$(redis-cli -s "$T/$c/redis.sock" PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    fail "redis-server of $c did not start"
    exit 1
}

rp_stop_redis() {
    kill "-${2:-TERM}" "${RP_RPID[$1]}" 2>/dev/null
    wait "${RP_RPID[$1]}" 2>/dev/null
    RP_RPID[$1]=
}

rp_start_node() { # code [VAR=value ...]
    local c=$1 h t
    shift
    h=$(rp_port "$c" h2c)
    t=$(rp_port "$c" listen)
    if ss -ltn 2>/dev/null | awk '{print $4}' | grep -Eq ":($h|$t)\$"; then
        fail "port of node $c (:$t/:$h) is busy"
        exit 1
    fi
    mkdir -p "$T/$c"
    env "$@" "$CRGW" serve --config "$T/fed/node-$c.yaml" \
        --redis "${RP_REDIS[$c]:-unix:$T/$c/redis.sock}" >>"$T/$c/crgw.log" 2>&1 &
    RP_PID[$c]=$!
    _LIB_PIDS+=("$!")
    local i
    for i in $(seq 200); do
        if curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$h/healthz"; then
            return 0
        fi
        if ! kill -0 "${RP_PID[$c]}" 2>/dev/null; then
            fail "crgw of $c exited at startup"
            tail -n 20 "$T/$c/crgw.log"
            exit 1
        fi
        sleep 0.05
    done
    fail "crgw of $c did not answer /healthz"
    exit 1
}

rp_kill_node() { # code [signal]
    kill "-${2:-KILL}" "${RP_PID[$1]}" 2>/dev/null
    wait "${RP_PID[$1]}" 2>/dev/null
    RP_PID[$1]=
}

rp_h2c() { # code role method path [curl args]
    local c=$1 role=$2 m=$3 p=$4
    shift 4
    STATUS=$(curl -s --http2-prior-knowledge -X "$m" -H "x-crgw-role: $role" -o "$T/body" \
        -w '%{http_code}' --max-time 20 "$@" "http://127.0.0.1:$(rp_port "$c" h2c)$p")
    BODY=$(cat "$T/body" 2>/dev/null)
    rm -f "$T/body"
}

rp_tls() { # code client method path [curl args]
    local c=$1
    shift
    TLS_PORT=$(rp_port "$c" listen)
    tls "$@"
}

rp_redis() { # code args...
    local c=$1
    shift
    case "${RP_REDIS[$c]:-}" in
    sentinel:*) sn_cli "$c" "$@" ;; # the primary the Sentinels name now
    *) redis-cli -s "$T/$c/redis.sock" "$@" ;;
    esac
}

rp_wait() { # seconds cmd...
    local secs=$1 i
    shift
    for i in $(seq $((secs * 20))); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

rp_dump_logs() {
    local c
    for c in "${!RP_PID[@]}"; do
        echo "---- node $c: crgw log (last 30 lines) ----"
        tail -n 30 "$T/$c/crgw.log" 2>/dev/null
    done
}
