#!/bin/bash
# workers: the parent binds, forks N event loops sharing the listeners, forwards SIGHUP and
# SIGTERM, and exits 0 when every worker did.
source "$(dirname "$0")/lib.sh"
start_redis
start_crgw "$CRGW_ROOT/config/test/node-120000.yaml" --workers 2
kids=$(pgrep -P "$CRGW_PID" | wc -l)
expect_eq "two worker processes" "$kids" 2
out=$(h2load -n 4000 -c 8 -m 10 "http://127.0.0.1:$H2C_PORT/healthz" 2>&1)
expect_match "h2load over two workers: all succeeded" "$out" '4000 succeeded, 0 failed'
expect_eq "both workers started" "$(grep -o 'worker [01] (pid' "$T/crgw.log" | sort -u | wc -l)" 2
tls 120000-operator GET /readyz
expect_eq "TLS readyz through a worker" "$STATUS" 200
kill -HUP "$CRGW_PID"
for _ in $(seq 40); do
    [ "$(grep -c 'configuration reloaded' "$T/crgw.log")" = 2 ] && break
    sleep 0.05
done
expect_eq "SIGHUP reached both workers" "$(grep -c 'configuration reloaded' "$T/crgw.log")" 2
pids=$(pgrep -P "$CRGW_PID" | tr '\n' ' ')
stop_crgw TERM
expect_eq "SIGTERM exit status" "$RC" 0
left=0
for p in $pids; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
expect_eq "no worker left behind" "$left" 0

# SIGINT (Ctrl-C reaches the parent only: workers have their own process group): drain, exit 0
start_crgw "$CRGW_ROOT/config/test/node-120000.yaml" --workers 2
stop_crgw INT
expect_eq "SIGINT exit status" "$RC" 0
expect_eq "both workers drained on SIGINT" "$(grep -c 'SIGINT: draining' "$T/crgw.log")" 2

# the parent killed outright: the workers notice (parent-death signal) and stop
start_crgw "$CRGW_ROOT/config/test/node-120000.yaml" --workers 2
pids=$(pgrep -P "$CRGW_PID" | tr '\n' ' ')
kill -KILL "$CRGW_PID"
wait "$CRGW_PID" 2>/dev/null
CRGW_PID=
left=1
for _ in $(seq 60); do
    left=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
    [ "$left" = 0 ] && break
    sleep 0.05
done
expect_eq "workers gone after the parent was killed" "$left" 0
