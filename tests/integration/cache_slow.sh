#!/bin/bash
# Verdict cache with a hung Redis (SIGSTOP): a lookup without an answer within the cache
# deadline (200 ms) is verified without the cache ("bypass", the right verdict, question 3
# marked unavailable), quickly; /readyz shows the degradation; after SIGCONT hits come back.
source "$(dirname "$0")/lib.sh"

REPORT="$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml"
field() { printf '%s' "$1" | grep -o "\"$2\":\(\"[^\"]*\"\|[0-9a-z]*\)" | head -1 | sed -e "s/^\"$2\"://" -e 's/"//g'; }
verify() { # -> BODY STATUS, MS (elapsed)
    local t0 t1
    t0=$(date +%s%N)
    h2c POST "/v1/reports/verify?scenario=tender" --data-binary @"$REPORT"
    t1=$(date +%s%N)
    MS=$(((t1 - t0) / 1000000))
}

start_redis
start_crgw "$(make_node_config 120000)"
wait_ready 5 || fail "ready"
verify
verify
expect_eq "warm: hit" "$(field "$BODY" cache)" hit
require_ok

kill -STOP "$REDIS_PID"
verify
expect_eq "hung redis: 200" "$STATUS" 200
expect_eq "hung redis: bypass" "$(field "$BODY" cache)" bypass
expect_eq "hung redis: verdict" "$(field "$BODY" indication)" TOTAL_PASSED
expect_match "hung redis: currency unavailable" "$BODY" '"current":\{"as_of":null,"changed_records":null,"unavailable":'
if [ "$MS" -lt 900 ]; then pass "hung redis: answered in $MS ms (deadline 200 ms)"; else fail "hung redis: $MS ms"; fi
h2c GET /readyz
expect_eq "hung redis: readyz 503" "$STATUS" 503
expect_match "hung redis: readyz names the cache" "$BODY" 'verdict cache'
# the client gives the connection up (command timeout) and keeps answering by bypass
sleep 1.2
verify
expect_eq "still hung: bypass" "$(field "$BODY" cache)" bypass
if [ "$MS" -lt 900 ]; then pass "still hung: answered in $MS ms"; else fail "still hung: $MS ms"; fi
kill -CONT "$REDIS_PID"
ok=
for i in $(seq 40); do
    verify
    [ "$(field "$BODY" cache)" = hit ] && { ok=$i; break; }
    sleep 0.1
done
if [ -n "$ok" ]; then pass "hits again after SIGCONT (attempt $ok)"; else fail "no hit after SIGCONT"; fi
wait_ready 5 && pass "ready again" || fail "not ready again"
