#!/bin/bash
# SIGHUP: a broken file is refused (errors logged) and the running configuration keeps
# serving; a good file replaces it. SIGTERM: GOAWAY, every request accepted before it is
# answered, exit 0; the drain deadline bounds the wait.
source "$(dirname "$0")/lib.sh"
start_redis
cfg=$(make_node_config 120000)
start_crgw "$cfg"
head -c $((2 * 1024 * 1024)) /dev/zero >"$T/2m"

h2c GET /healthz -T - <"$T/2m"
expect_eq "2 MiB body under the 4 MiB limit" "$STATUS" 200

# --- SIGHUP with a broken file
cp "$cfg" "$T/good.yaml"
sed -i 's/^\( *max_body:\).*/\1 lots/' "$cfg"
"$CRGW" check-config --config "$cfg" >/dev/null 2>&1 && fail "the broken file passes check-config" ||
    pass "the broken file fails check-config"
kill -HUP "$CRGW_PID"
for _ in $(seq 40); do grep -q 'reload refused' "$T/crgw.log" && break; sleep 0.05; done
expect_match "reload refused logged" "$(cat "$T/crgw.log")" 'reload refused'
expect_match "reload error names file:line" "$(grep 'reload:' "$T/crgw.log")" "node-120000.yaml:[0-9]+:"
kill -0 "$CRGW_PID" 2>/dev/null && pass "still running after a broken reload" || fail "died on SIGHUP"
h2c GET /healthz
expect_eq "still serving after the broken reload" "$STATUS" 200
h2c GET /healthz -T - <"$T/2m"
expect_eq "old limit (4 MiB) still in force" "$STATUS" 200
tls 120000-verifier GET /healthz
expect_eq "TLS still serving after the broken reload" "$STATUS" 200

# --- SIGHUP with a good file that lowers max_body to 1 MiB
sed 's/^\( *max_body:\).*/\1 1048576/' "$T/good.yaml" >"$cfg"
kill -HUP "$CRGW_PID"
for _ in $(seq 40); do grep -q 'configuration reloaded' "$T/crgw.log" && break; sleep 0.05; done
expect_match "reload logged" "$(cat "$T/crgw.log")" 'configuration reloaded'
h2c GET /healthz -T - <"$T/2m"
expect_eq "new limit (1 MiB) in force after reload" "$STATUS" 413
h2c GET /metrics
expect_match "reload metrics: refused" "$BODY" 'crgw_config_reloads_total\{result="refused"\} 1'
expect_match "reload metrics: ok" "$BODY" 'crgw_config_reloads_total\{result="ok"\} 1'

# --- SIGTERM with requests in flight (held 1.5 s by the h2c test hook)
n=12
for i in $(seq $n); do
    curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}\n' --max-time 20 \
        -H 'x-crgw-test-delay-ms: 1500' "http://127.0.0.1:$H2C_PORT/healthz" >"$T/inflight.$i" &
    _LIB_PIDS+=($!)
done
# and one connection with several streams at once
nghttp -n -m 5 -H 'x-crgw-test-delay-ms: 1500' "http://127.0.0.1:$H2C_PORT/healthz" \
    -v >"$T/nghttp.out" 2>&1 &
_LIB_PIDS+=($!)
want=$((n + 5 + 1)) # + the /metrics request itself
got=0
for _ in $(seq 100); do
    h2c GET /metrics
    got=$(printf '%s\n' "$BODY" | sed -n 's/^crgw_http_requests_in_flight //p')
    [ "${got:-0}" = "$want" ] && break
    sleep 0.05
done
expect_eq "requests in flight before SIGTERM" "$got" "$want"
t0=$(date +%s%N)
kill -TERM "$CRGW_PID"
sleep 0.5
curl -s --http2-prior-knowledge -o /dev/null --max-time 2 "http://127.0.0.1:$H2C_PORT/healthz"
rc=$?
[ "$rc" != 0 ] && pass "new connections refused while draining (curl exit $rc)" ||
    fail "a new connection was served while draining"
wait "$CRGW_PID"
RC=$?
CRGW_PID=
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "SIGTERM exit status" "$RC" 0
[ "$ms" -lt 5000 ] && pass "drained in ${ms} ms" || fail "drain took ${ms} ms"
wait "${_LIB_PIDS[@]}" 2>/dev/null
ok=$(cat "$T"/inflight.* | grep -c '^200$')
expect_eq "every in-flight curl request answered 200" "$ok" "$n"
expect_eq "every nghttp stream answered 200" "$(grep -c ':status: 200' "$T/nghttp.out")" 5
expect_match "GOAWAY sent to nghttp" "$(cat "$T/nghttp.out")" 'recv GOAWAY frame'
expect_eq "access lines of held requests" "$(grep -cE "route=healthz status=200 .*us=(1[4-9]|2[0-9])[0-9]{5}\$" "$T/crgw.log")" "$((want - 1))"

# --- the drain deadline bounds the wait (drain_timeout_ms 800, a request held 5 s)
sed -i 's/^\( *drain_timeout_ms:\).*/\1 800/' "$cfg"
start_crgw "$cfg"
curl -s --http2-prior-knowledge -o /dev/null --max-time 10 -H 'x-crgw-test-delay-ms: 5000' \
    "http://127.0.0.1:$H2C_PORT/healthz" &
_LIB_PIDS+=($!)
sleep 0.3
t0=$(date +%s%N)
stop_crgw TERM
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "exit status after the drain deadline" "$RC" 0
[ "$ms" -ge 700 ] && [ "$ms" -lt 3000 ] && pass "deadline respected (${ms} ms)" ||
    fail "deadline not respected (${ms} ms)"
expect_match "abandoned request logged" "$(cat "$T/crgw.log")" 'drain deadline reached: .* 1 request'
