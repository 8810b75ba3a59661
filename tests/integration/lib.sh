# Helpers sourced by every integration test (bash).
#
#   source "$(dirname "$0")/lib.sh"
#   start_redis                      # private redis-server on $T/redis.sock (AOF, appendfsync always)
#   start_crgw [CONFIG] [ARGS...]    # crgw serve on free ports; waits for /healthz
#   wait_ready [SECONDS]             # until /readyz answers 200
#   h2c GET /path [curl args]        # curl over h2c prior knowledge: sets $BODY and $STATUS
#   tls CLIENT GET /path [curl args] # curl --http2 with tests/fixtures/pki/federation/clients/CLIENT.pem
#   expect_eq WHAT GOT WANT, expect_match WHAT TEXT REGEX, pass MESSAGE, fail MESSAGE
#
# Everything lives in a private temporary directory $T, removed on exit; every process started
# here is killed on exit (trap). CRGW (default build/crgw) is the binary under test; logs of a
# failing test are printed.
set -u
CRGW_ROOT=${CRGW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$CRGW_ROOT" || exit 1
CRGW=${CRGW:-build/crgw}
case "$CRGW" in /*) ;; *) CRGW="$CRGW_ROOT/$CRGW" ;; esac
PKI="$CRGW_ROOT/tests/fixtures/pki/federation"
T=$(mktemp -d /tmp/crgw-it.XXXXXX)
TEST_NAME=$(basename "$0" .sh)
FAILED=0
REDIS_PID=
CRGW_PID=
_LIB_PIDS=()
STATUS=

_lib_cleanup() {
    local rc=$?
    if [ -n "$CRGW_PID" ]; then
        for p in $(pgrep -P "$CRGW_PID" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done # workers
        kill -KILL "$CRGW_PID" 2>/dev/null
    fi
    [ -n "$REDIS_PID" ] && kill -TERM "$REDIS_PID" 2>/dev/null
    for p in "${_LIB_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    # a sanitizer report in any log of this test (the ASan build) fails the test
    local san
    san=$(grep -rlE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T" --include='*.log' 2>/dev/null)
    if [ -n "$san" ]; then
        echo "FAIL $TEST_NAME: sanitizer report in: $san"
        grep -rhE -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' $san | head -40
        FAILED=1
    fi
    if [ "$rc" != 0 ] || [ "$FAILED" != 0 ]; then
        echo "---- $TEST_NAME: crgw log (last 60 lines) ----"
        tail -n 60 "$T/crgw.log" 2>/dev/null
        echo "---- end ----"
    fi
    [ -n "${KEEP_T:-}" ] || rm -rf "$T"
    [ "$FAILED" != 0 ] && exit 1
    exit "$rc"
}
trap _lib_cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   $TEST_NAME: $*"; }
fail() {
    echo "FAIL $TEST_NAME: $*"
    FAILED=1
}
expect_eq() { # what got want
    if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got [$2], want [$3]"; fi
}
expect_match() { # what text regex
    if printf '%s' "$2" | grep -Eq -- "$3"; then pass "$1"; else fail "$1: [$2] does not match /$3/"; fi
}
# Stop at the first failure when the rest depends on it.
require_ok() { [ "$FAILED" = 0 ] || exit 1; }

# A TCP port nobody uses, below the ephemeral range (32768-60999 on Linux) so that no outgoing
# connection holds it; start_crgw retries on a bind race with another test run.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        if ! ss -tan 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; then
            echo "$p"
            return
        fi
    done
}

# ---- redis ----
REDIS_SOCK="$T/redis.sock"
start_redis() {
    mkdir -p "$T/redis"
    redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 --dir "$T/redis" \
        --appendonly yes --appendfsync always --save '' --daemonize no \
        >>"$T/redis.log" 2>&1 &
    REDIS_PID=$!
    local i
    for i in $(seq 100); do
        [ "$(redis-cli -s "$REDIS_SOCK" PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.05
    done
    fail "redis-server did not start"
    cat "$T/redis.log"
    exit 1
}
stop_redis() {
    [ -n "$REDIS_PID" ] || return 0
    kill -TERM "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}

# ---- configuration ----
# A copy of config/test/node-CODE.yaml in $T with absolute paths, so a test may edit it.
make_node_config() { # code -> path of the copy
    local code=$1 out="$T/node-$1.yaml"
    sed -e "s#^federation: *federation.yaml#federation: $CRGW_ROOT/config/test/federation.yaml#" \
        -e "s#\.\./\.\./#$CRGW_ROOT/#g" \
        -e "s#: *\.\./\([a-z]\)#: $CRGW_ROOT/config/\1#" \
        "$CRGW_ROOT/config/test/node-$code.yaml" >"$out"
    echo "$out"
}

# ---- crgw ----
H2C_PORT=
TLS_PORT=
start_crgw() { # [config] [extra args...]
    local cfg=${1:-$CRGW_ROOT/config/test/node-120000.yaml} attempt i
    [ $# -gt 0 ] && shift
    CRGW_CONFIG=$cfg
    for attempt in 1 2 3 4 5; do
        H2C_PORT=$(free_port)
        TLS_PORT=$(free_port)
        while [ "$TLS_PORT" = "$H2C_PORT" ]; do TLS_PORT=$(free_port); done
        local logsize
        logsize=$(stat -c %s "$T/crgw.log" 2>/dev/null || echo 0)
        "$CRGW" serve --config "$cfg" --listen "127.0.0.1:$TLS_PORT" --h2c "127.0.0.1:$H2C_PORT" \
            --redis "unix:$REDIS_SOCK" "$@" >>"$T/crgw.log" 2>&1 &
        CRGW_PID=$!
        for i in $(seq 200); do
            if curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$H2C_PORT/healthz" &&
                kill -0 "$CRGW_PID" 2>/dev/null; then
                return 0 # (a server of another test run would answer too: ours is still alive)
            fi
            if ! kill -0 "$CRGW_PID" 2>/dev/null; then
                wait "$CRGW_PID" 2>/dev/null
                CRGW_PID=
                sleep 0.1
                tail -c +$((logsize + 1)) "$T/crgw.log" | grep -q 'Address already in use' &&
                    continue 2
                fail "crgw exited at startup"
                exit 1
            fi
            sleep 0.05
        done
        fail "crgw did not answer /healthz within 10 s"
        exit 1
    done
    fail "crgw: no free ports after 5 attempts"
    exit 1
}
# Sends a signal and waits for the exit; the exit status goes to $RC.
stop_crgw() { # [signal]
    local sig=${1:-TERM}
    kill "-$sig" "$CRGW_PID"
    wait "$CRGW_PID"
    RC=$?
    CRGW_PID=
}

wait_ready() { # [seconds] -> 0 when /readyz answered 200 in time
    local secs=${1:-5} i
    for i in $(seq $((secs * 20))); do
        h2c GET /readyz
        [ "$STATUS" = 200 ] && return 0
        sleep 0.05
    done
    return 1
}

# ---- clients ----
# h2c METHOD PATH [curl args...]: body in $BODY, status in $STATUS (000 when no answer).
h2c() {
    local m=$1 p=$2
    shift 2
    STATUS=$(curl -s --http2-prior-knowledge -X "$m" -o "$T/body" -w '%{http_code}' \
        --max-time 20 "$@" "http://127.0.0.1:$H2C_PORT$p")
    BODY=$(cat "$T/body" 2>/dev/null)
    rm -f "$T/body"
}
# tls CLIENT METHOD PATH [curl args...]: client is a fixture name (120000-verifier, rogue, ...) or
# "node:CODE" for a node's federation certificate, or "none" for no certificate.
tls() {
    local who=$1 m=$2 p=$3 cert=() 
    shift 3
    case "$who" in
    none) ;;
    node:*) cert=(--cert "$PKI/${who#node:}/tls.pem" --key "$PKI/${who#node:}/tls.key.pem") ;;
    *) cert=(--cert "$PKI/clients/$who.pem" --key "$PKI/clients/$who.key.pem") ;;
    esac
    STATUS=$(curl -s --http2 --cacert "$PKI/federation-ca.pem" "${cert[@]}" -X "$m" \
        -o "$T/body" -w '%{http_code}' --max-time 20 "$@" "https://127.0.0.1:$TLS_PORT$p")
    TLS_RC=$?
    BODY=$(cat "$T/body" 2>/dev/null)
    rm -f "$T/body"
}

# Checks that a body is an RFC 9457 problem of the given slug.
expect_problem() { # what body slug status
    expect_match "$1: problem type" "$2" "\"type\":\"https://crgw.example/problems/$3\""
    expect_match "$1: problem status" "$2" "\"status\":$4[,}]"
}
