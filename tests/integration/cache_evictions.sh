#!/bin/bash
# Verdict cache: Redis evictions (maxmemory) are counted in crgw_cache_evicted_total (INFO stats
# evicted_keys, polled every 5 s), and an evicted entry is simply a miss again.
source "$(dirname "$0")/lib.sh"

REPORT="$CRGW_ROOT/tests/fixtures/reports/valid/510100.json"
metric() { printf '%s\n' "$BODY" | awk -v n="$1" '$1 == n {print $2; exit}'; }
cache_of() { printf '%s' "$BODY" | sed -n 's/.*"cache":"\([a-z]*\)","cache_age_s":[0-9]*}$/\1/p'; }

start_redis
start_crgw "$(make_node_config 120000)"
wait_ready 5 || fail "ready"
h2c GET /metrics
expect_eq "evictions counted from 0" "$(metric crgw_cache_evicted_total)" 0
h2c POST /v1/reports/verify --data-binary @"$REPORT"
expect_eq "first: miss" "$(cache_of)" miss
h2c POST /v1/reports/verify --data-binary @"$REPORT"
expect_eq "second: hit" "$(cache_of)" hit
require_ok

sleep 1.5 # the first poll (the baseline of the counter) comes within a second of the start
# Fill a small Redis so that it evicts (the cache entry included, eventually).
redis-cli -s "$REDIS_SOCK" CONFIG SET maxmemory-policy allkeys-lru >/dev/null
redis-cli -s "$REDIS_SOCK" CONFIG SET maxmemory 4mb >/dev/null
pad=$(head -c 2000 /dev/zero | tr '\0' x)
for i in $(seq 6000); do echo "SET fill:$i $pad"; done | redis-cli -s "$REDIS_SOCK" >/dev/null
EV=$(redis-cli -s "$REDIS_SOCK" INFO stats | sed -n 's/^evicted_keys:\([0-9]*\).*/\1/p')
if [ "${EV:-0}" -gt 0 ]; then pass "redis evicted $EV keys"; else fail "redis did not evict"; fi
got=0 raw=0
for i in $(seq 40); do # the poll runs every second
    h2c GET /metrics
    got=$(metric crgw_cache_evicted_total)
    raw=$(metric crgw_cache_redis_evicted_keys)
    [ "${raw:-0}" = "$EV" ] && break
    sleep 0.1
done
expect_eq "crgw_cache_redis_evicted_keys = INFO evicted_keys" "$raw" "$EV"
expect_eq "crgw_cache_evicted_total counts them all" "$got" "$EV"
redis-cli -s "$REDIS_SOCK" CONFIG SET maxmemory 0 >/dev/null
# whether the entry survived or not, the answer is right and says which
h2c POST /v1/reports/verify --data-binary @"$REPORT"
expect_match "after evictions: an answer from the cache or a new verification" "$(cache_of)" '^(hit|miss)$'
expect_match "after evictions: the verdict" "$BODY" '^\{"indication":"TOTAL_PASSED"'
