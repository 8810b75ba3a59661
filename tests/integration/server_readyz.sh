#!/bin/bash
# /readyz follows Redis: 503 problem+json with reasons while redis-server is down, back to 200
# within 2 s of its restart (PING every 500 ms, reconnect back-off capped at 1 s).
source "$(dirname "$0")/lib.sh"
start_redis
start_crgw
wait_ready 5 && pass "ready with redis up" || fail "not ready with redis up"
expect_match "readyz body" "$BODY" '"status":"ready"'

stop_redis
down=0
for _ in $(seq 60); do
    h2c GET /readyz
    [ "$STATUS" = 503 ] && { down=1; break; }
    sleep 0.05
done
expect_eq "readyz 503 once redis-server stopped" "$down" 1
expect_problem "readyz 503" "$BODY" not-ready 503
expect_match "readyz names redis" "$BODY" '"reasons":\[[^]]*redis'
h2c GET /healthz
expect_eq "healthz still 200 without redis" "$STATUS" 200
h2c GET /metrics
expect_match "metrics: crgw_redis_up 0" "$BODY" 'crgw_redis_up 0'

# stay down long enough for the back-off to reach its cap
sleep 3
h2c GET /readyz
expect_eq "still 503 after 3 s" "$STATUS" 503

start_redis
t0=$(date +%s%N)
if wait_ready 5; then
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ "$ms" -le 2000 ] && pass "ready again ${ms} ms after redis restart" ||
        fail "ready again only after ${ms} ms (want <= 2000)"
else
    fail "not ready within 5 s of redis restart"
fi
grep -q 'redis .* up' "$T/crgw.log" && pass "redis up logged" || fail "no redis up log"

# a hung redis-server (SIGSTOP): the PING times out (redis_timeout_ms 1000), readyz 503;
# SIGCONT: back to 200
kill -STOP "$REDIS_PID"
t0=$(date +%s%N)
hung=0
for _ in $(seq 80); do
    h2c GET /readyz
    [ "$STATUS" = 503 ] && { hung=1; break; }
    sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "readyz 503 while redis-server is stopped (SIGSTOP)" "$hung" 1
[ "$ms" -le 2500 ] && pass "hung redis detected in ${ms} ms" || fail "hung redis detected after ${ms} ms"
expect_match "command timeout logged" "$(cat "$T/crgw.log")" 'redis .*: command timeout'
kill -CONT "$REDIS_PID"
wait_ready 3 && pass "ready again after SIGCONT" || fail "not ready after SIGCONT"

# a second outage and recovery, quickly
stop_redis
sleep 1
start_redis
wait_ready 3 && pass "second recovery" || fail "no second recovery"
stop_crgw TERM
expect_eq "SIGTERM exit status" "$RC" 0
