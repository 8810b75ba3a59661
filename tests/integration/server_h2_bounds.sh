#!/bin/bash
# What one hostile HTTP/2 client may make the server hold (issue 16), with the raw-frame
# attacker ops/fault/h2attack.py (python3-h2's hpack) and h2load as the well-behaved client:
#   body budgets: 8 connections x 100 streams x just under max_body keep RSS under 64 MiB + the
#     configured total (64 MiB here) while a good client's p99 stays < 50 ms; past the budgets
#     503 body-budget; undeclared lengths wait (window withheld) within the same bound;
#   HPACK bomb: GOAWAY ENHANCE_YOUR_CALM within 1 s of server CPU; sustained, p99 < 20 ms;
#   CONTINUATION, PING, SETTINGS floods and rapid reset: the client receives its GOAWAY
#     (ENHANCE_YOUR_CALM) before the close;
#   send timeout: a zero-window peer's stream is reset (CANCEL) after limits.send_timeout_ms and
#     freed.
source "$(dirname "$0")/lib.sh"
PY=${PYTHON3:-/usr/bin/python3}
ATTACK="$CRGW_ROOT/ops/fault/h2attack.py"
"$PY" -c 'import hpack' 2>/dev/null || { fail "$PY without hpack (ops/install-deps: python3-h2)"; exit 1; }
command -v h2load >/dev/null || { fail "h2load missing (nghttp2-client)"; exit 1; }

# an ASan build (make asan-test) holds freed memory in its quarantine (256 MiB by default), which
# would hide what the server itself keeps: a small one here (no effect on a release build)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
start_redis
cfg=$(make_node_config 120000)
TOTAL=$((64 * 1024 * 1024))
start_crgw "$cfg" --log-level warn --set limits.max_buffered_total=$TOTAL \
    --set limits.max_buffered_per_conn=$((32 * 1024 * 1024)) --set limits.send_timeout_ms=500
PID=$CRGW_PID
TCK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
# good client: N sequential requests on one connection; sets P99_MS (per-request log of h2load)
good_client() { # n
    rm -f "$T/good.log"
    h2load -n "$1" -c 1 -m 1 --log-file="$T/good.log" "http://127.0.0.1:$H2C_PORT/healthz" \
        >"$T/good.out" 2>&1
    GOOD_OK=$(grep -o '[0-9]* succeeded' "$T/good.out" | cut -d' ' -f1)
    P99_MS=$(sort -n -k3 "$T/good.log" | awk '{a[NR] = $3} END {printf "%.2f", a[int(NR * 0.99)] / 1000}')
}
buffered() {
    h2c GET /metrics
    echo "$BODY" | awk '/^crgw_http_buffered_body_bytes/ {print $2}'
}
LIMIT_KB=$(((64 * 1024 * 1024 + TOTAL) / 1024))

# ---- 1. body budgets, declared lengths: 8 x 100 x (4 MiB - 4 KiB) ----
"$PY" "$ATTACK" bodies 127.0.0.1 "$H2C_PORT" --conns 8 --streams 100 --seconds 8 >"$T/bodies.out" 2>&1 &
apid=$!
_LIB_PIDS+=("$apid")
sleep 2
good_client 3000
expect_eq "good client during the body attack: all answered" "$GOOD_OK" 3000
awk -v p="$P99_MS" 'BEGIN {exit !(p < 50)}' && pass "good client p99 ${P99_MS} ms < 50 ms" ||
    fail "good client p99 ${P99_MS} ms during the body attack"
wait "$apid"
peak=$(awk '/^VmHWM/ {print $2}' "/proc/$PID/status")
out=$(cat "$T/bodies.out")
echo "$out" | sed 's/^/    /'
expect_match "bodies: some requests served in full" "$out" 'statuses=200:[1-9]'
expect_match "bodies: past the budgets 503" "$out" 'statuses=.*503:[1-9]'
expect_match "bodies: no connection lost" "$out" 'goaways=0'
[ "$peak" -lt "$LIMIT_KB" ] && pass "peak RSS ${peak} kB < 64 MiB + total (${LIMIT_KB} kB)" ||
    fail "peak RSS ${peak} kB >= ${LIMIT_KB} kB"
sent=$(echo "$out" | sed -n 's/.*bytes_sent=\([0-9]*\).*/\1/p')
[ "${sent:-0}" -gt $((8 * 4 * 1024 * 1024)) ] && pass "attacker pushed $((sent / 1048576)) MiB" ||
    fail "attacker pushed only ${sent:-0} bytes"
sleep 0.3
expect_eq "bodies: buffered bytes back to 0" "$(buffered)" 0
head -c $((3 * 1024 * 1024)) /dev/zero >"$T/3m"
h2c GET /healthz --data-binary @"$T/3m"
expect_eq "a 3 MiB body after the attack" "$STATUS" 200

# ---- 2. undeclared lengths: the window is withheld, senders wait ----
"$PY" "$ATTACK" bodies 127.0.0.1 "$H2C_PORT" --conns 8 --streams 100 --seconds 3 --no-length \
    >"$T/nolen.out" 2>&1 &
apid=$!
_LIB_PIDS+=("$apid")
peak2=0
while kill -0 "$apid" 2>/dev/null; do
    r=$(rss_kb)
    [ "${r:-0}" -gt "$peak2" ] && peak2=$r
    b=$(buffered)
    sleep 0.1
done
out=$(cat "$T/nolen.out")
sent=$(echo "$out" | sed -n 's/.*bytes_sent=\([0-9]*\).*/\1/p')
# at most the total plus one connection window (1 MiB) per connection
[ "${sent:-0}" -le $((TOTAL + 8 * 1024 * 1024 + 8 * 1024 * 1024)) ] &&
    pass "undeclared: $((sent / 1048576)) MiB accepted while nothing completed (window withheld)" ||
    fail "undeclared: ${sent:-0} bytes accepted"
[ "$peak2" -lt "$LIMIT_KB" ] && pass "undeclared: RSS ${peak2} kB < ${LIMIT_KB} kB" ||
    fail "undeclared: RSS ${peak2} kB"
echo "    last buffered gauge during it: $b"
sleep 0.5
expect_eq "undeclared: buffered bytes back to 0 once the attacker left" "$(buffered)" 0

# ---- 3. HPACK bomb ----
c0=$(cpu_ticks)
out=$("$PY" "$ATTACK" hpack-bomb 127.0.0.1 "$H2C_PORT" --seconds 5)
c1=$(cpu_ticks)
expect_match "hpack bomb: GOAWAY ENHANCE_YOUR_CALM" "$out" 'outcome=goaway code=ENHANCE_YOUR_CALM'
ms=$(((c1 - c0) * 1000 / TCK))
[ "$ms" -lt 1000 ] && pass "hpack bomb: ${ms} ms of server CPU (< 1 s)" || fail "hpack bomb: ${ms} ms of CPU"
"$PY" "$ATTACK" hpack-bomb 127.0.0.1 "$H2C_PORT" --seconds 5 --repeat >"$T/bomb.out" 2>&1 &
apid=$!
_LIB_PIDS+=("$apid")
sleep 0.5
good_client 3000
wait "$apid"
out=$(cat "$T/bomb.out")
echo "$out" | sed 's/^/    /'
expect_match "sustained hpack bomb: every connection GOAWAY ENHANCE_YOUR_CALM" "$out" \
    'outcome=goaway code=ENHANCE_YOUR_CALM'
expect_eq "good client during the bomb: all answered" "$GOOD_OK" 3000
awk -v p="$P99_MS" 'BEGIN {exit !(p < 20)}' && pass "good client p99 ${P99_MS} ms < 20 ms" ||
    fail "good client p99 ${P99_MS} ms during the bomb"

# ---- 4. protocol limits: GOAWAY received before the close ----
for a in continuation ping settings rapid-reset; do
    out=$("$PY" "$ATTACK" "$a" 127.0.0.1 "$H2C_PORT" --seconds 5)
    expect_match "$a: the client received GOAWAY ENHANCE_YOUR_CALM" "$out" \
        'outcome=goaway code=ENHANCE_YOUR_CALM'
done

out=$("$PY" "$ATTACK" ping 127.0.0.1 "$H2C_PORT" --seconds 5 --half-close)
expect_match "ping flood, then half-close: GOAWAY still received" "$out" \
    'outcome=goaway code=ENHANCE_YOUR_CALM'

# ---- 5. send timeout ----
"$PY" "$ATTACK" zero-window 127.0.0.1 "$H2C_PORT" --seconds 5 --hold 1.5 >"$T/zw.out" 2>&1 &
apid=$!
_LIB_PIDS+=("$apid")
sleep 1.2 # reset after 500 ms; the connection is still open (held)
h2c GET /metrics
streams=$(echo "$BODY" | awk '/^crgw_http_open_streams/ {print $2}')
conns=$(echo "$BODY" | awk '/^crgw_http_open_connections/ {print $2}')
wait "$apid"
out=$(cat "$T/zw.out")
expect_match "zero window: stream reset (CANCEL)" "$out" 'outcome=rst code=CANCEL'
ms=$(echo "$out" | sed -n 's/.*after_ms=\([0-9]*\).*/\1/p')
[ "${ms:-0}" -ge 450 ] && [ "${ms:-0}" -lt 1500 ] && pass "zero window: reset after ${ms} ms (send_timeout_ms 500)" ||
    fail "zero window: reset after ${ms:-?} ms"
expect_eq "zero window: its connection still open" "$conns" 2
expect_eq "zero window: its stream freed (only /metrics open)" "$streams" 1

# ---- configuration bounds ----
sed -i -e 's/^limits:$/limits:\n  max_buffered_total: 10\n  send_timeout_ms: 5/' "$cfg"
out=$("$CRGW" check-config --config "$cfg" 2>&1)
expect_match "check-config: max_buffered_total bound" "$out" "node-120000.yaml:17: .*max_buffered_total"
expect_match "check-config: send_timeout_ms bound" "$out" "node-120000.yaml:18: .*send_timeout_ms"

h2c GET /healthz
expect_eq "still serving" "$STATUS" 200
stop_crgw TERM
expect_eq "SIGTERM exit status" "$RC" 0

# ---- the total budget is shared by the workers ----
# 6 MiB in total: of 6 connections (spread over 2 workers) each declaring 4 MiB and sending
# nothing, exactly one is admitted and 5 get 503, whichever worker took which.
cfg=$(make_node_config 120000)
start_crgw "$cfg" --workers 2 --log-level warn --set limits.max_buffered_total=$((6 * 1024 * 1024))
"$PY" "$ATTACK" bodies 127.0.0.1 "$H2C_PORT" --conns 6 --streams 1 --max-streams 6 \
    --size 4000000 --stall --seconds 2 >"$T/workers.out" 2>&1 &
apid=$!
_LIB_PIDS+=("$apid")
sleep 1
g1=$(buffered)
g2=$(buffered) # (either worker answers: both see the shared total)
wait "$apid"
expect_match "workers: one admitted, five refused" "$(cat "$T/workers.out")" 'statuses=503:5$'
expect_eq "workers: the gauge counts the one reservation" "$g1 $g2" "4000000 4000000"
sleep 0.3
expect_eq "workers: released when the client left" "$(buffered)" 0
stop_crgw TERM
expect_eq "workers: SIGTERM exit status" "$RC" 0
require_ok
