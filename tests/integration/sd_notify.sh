#!/bin/bash
# crgw serve speaks systemd's readiness protocol (ops/systemd/crgw.service is Type=notify):
# READY=1 once it serves, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 when SIGTERM starts
# the drain; with workers only worker 0 reports (NotifyAccess=all); nothing when start-up fails.
# The receiving end is a real datagram socket (sd_notify_recv.c, compiled here).
source "$(dirname "$0")/lib.sh"

cc -O1 -o "$T/recv" tests/integration/sd_notify_recv.c || { fail "cannot compile sd_notify_recv"; exit 1; }
start_recv() { # name -> starts a receiver on $T/name.sock writing $T/name.txt
    : >"$T/$1.txt"
    "$T/recv" "$T/$1.sock" "$T/$1.txt" &
    _LIB_PIDS+=($!)
    for _ in $(seq 100); do [ -S "$T/$1.sock" ] && return; sleep 0.02; done
    fail "receiver $1 did not bind"
    exit 1
}
wait_line() { # file regex [seconds]: until a line matches
    local i
    for i in $(seq $((${3:-10} * 20))); do
        grep -Eq -- "$2" "$1" && return 0
        sleep 0.05
    done
    return 1
}

start_redis
start_recv one
NOTIFY_SOCKET="$T/one.sock" start_crgw
wait_line "$T/one.txt" '^READY=1' || fail "no READY=1 after start"
expect_eq "first datagram: READY with status" "$(head -1 "$T/one.txt")" "READY=1|STATUS=serving node 120000"

kill -HUP "$CRGW_PID"
wait_line "$T/one.txt" 'reloading' || fail "no RELOADING=1 on SIGHUP"
wait_line "$T/crgw.log" "configuration reloaded" 5 || fail "SIGHUP did not reload"
sleep 0.2
expect_eq "SIGHUP: RELOADING=1 then READY=1" "$(sed -n '2,3p' "$T/one.txt" | tr '\n' ' ')" \
    "RELOADING=1|STATUS=reloading the configuration READY=1|STATUS=serving node 120000 "
h2c GET /healthz
expect_eq "still serving after the reload" "$STATUS" 200

stop_crgw TERM
expect_eq "SIGTERM: exit status" "$RC" 0
expect_eq "SIGTERM: STOPPING=1 last" "$(tail -1 "$T/one.txt")" "STOPPING=1|STATUS=draining (SIGTERM)"
expect_eq "datagrams in all (READY, RELOADING, READY, STOPPING)" "$(wc -l <"$T/one.txt")" 4

# workers: the parent is systemd's main process, worker 0 reports once
start_recv two
NOTIFY_SOCKET="$T/two.sock" start_crgw "$CRGW_ROOT/config/test/node-120000.yaml" --workers 2
wait_line "$T/two.txt" '^READY=1' || fail "workers: no READY=1"
sleep 1
expect_eq "workers: one READY=1 for the service" "$(grep -c '^READY=1' "$T/two.txt")" 1
stop_crgw TERM
expect_eq "workers: SIGTERM exit status" "$RC" 0
expect_eq "workers: one STOPPING=1" "$(grep -c '^STOPPING=1' "$T/two.txt")" 1

# a start that fails (the port is taken) never says READY
start_recv three
start_crgw
NOTIFY_SOCKET="$T/three.sock" "$CRGW" serve --config config/test/node-120000.yaml \
    --h2c "127.0.0.1:$H2C_PORT" --listen off --redis "unix:$REDIS_SOCK" >>"$T/crgw-fail.log" 2>&1
expect_eq "failed start: exit status" "$?" 1
expect_match "failed start: says why" "$(cat "$T/crgw-fail.log")" "cannot listen"
sleep 0.3
expect_eq "failed start: no datagram" "$(wc -l <"$T/three.txt")" 0
stop_crgw TERM
