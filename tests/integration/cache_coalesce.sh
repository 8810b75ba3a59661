#!/bin/bash
# Verdict cache (issue 6, acceptance 3): 200 concurrent identical requests for a report the
# cache does not hold cause exactly one verification; every answer is the same verdict.
source "$(dirname "$0")/lib.sh"

REPORT="$CRGW_ROOT/tests/fixtures/reports/valid/330100.xml" # SM2: the expensive kind

metric() { # name{labels} -> value (0 when absent)
    local v
    v=$(printf '%s\n' "$BODY" | awk -v n="$1" '$1 == n {print $2; exit}')
    echo "${v:-0}"
}

start_redis
start_crgw "$(make_node_config 120000)"
wait_ready 5 || fail "ready"
require_ok

# 200 requests at once: 2 connections x 100 concurrent streams, sent in one go.
h2load -n 200 -c 2 -m 100 -d "$REPORT" -H 'content-type: application/xml' \
    "http://127.0.0.1:$H2C_PORT/v1/reports/verify?scenario=tender" >"$T/h2load.out" 2>&1
grep -E 'requests:|status codes:' "$T/h2load.out"
expect_match "h2load: 200 succeeded" "$(cat "$T/h2load.out")" 'requests: 200 total, 200 started, 200 done, 200 succeeded, 0 failed'
expect_match "h2load: all 2xx" "$(cat "$T/h2load.out")" 'status codes: 200 2xx'

h2c GET /metrics
VER=$(metric crgw_cache_verifications_total)
COAL=$(metric crgw_cache_coalesced_total)
MISS=$(metric 'crgw_cache_requests_total{result="miss"}')
HIT=$(metric 'crgw_cache_requests_total{result="hit"}')
BYP=$(metric 'crgw_cache_requests_total{result="bypass"}')
echo "verifications=$VER coalesced=$COAL miss=$MISS hit=$HIT bypass=$BYP"
expect_eq "exactly one verification for 200 identical requests" "$VER" 1
expect_eq "every request answered from the one verification or the cache" "$((MISS + HIT))" 200
expect_eq "no bypass" "$BYP" 0
# Waiters join the flight of their key while it runs (lookup, verification, store); requests
# arriving after it ended are hits (possibly coalesced on a later lookup flight).
if [ "$COAL" -ge 50 ]; then pass "requests waited on flights ($COAL coalesced)"; else
    fail "only $COAL requests coalesced: the test did not make concurrent misses"; fi

# Every answer is the same verdict: check a sample of 20 concurrent ones with curl.
pids=()
for i in $(seq 20); do
    curl -s --http2-prior-knowledge --data-binary @"$REPORT" \
        "http://127.0.0.1:$H2C_PORT/v1/reports/verify?scenario=tender" -o "$T/ans.$i" &
    pids+=($!)
done
wait "${pids[@]}" # not a bare wait: redis-server and crgw are children too
ok=0
for i in $(seq 20); do
    grep -q '^{"indication":"TOTAL_PASSED"' "$T/ans.$i" && grep -q '"cache":"hit"' "$T/ans.$i" && ok=$((ok + 1))
done
expect_eq "20 more concurrent: all TOTAL_PASSED hits" "$ok" 20
h2c GET /metrics
expect_eq "still one verification" "$(metric crgw_cache_verifications_total)" 1
