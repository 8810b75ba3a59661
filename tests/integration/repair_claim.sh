#!/bin/bash
# Issue 7: several crgw processes of one node share the outbox through the consumer group; a
# dead process's pending deliveries are claimed by a living one (XAUTOCLAIM).
# Process 1 of A (120000) reads events for B (330100) while B is down (they stay pending under
# its consumer name); process 1 is SIGKILLed; process 2 of A (another consumer, claim idle
# 1 s) claims them and delivers them once B is up.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000 B=330100
USCC=91120116MA06T8E28X
for n in $A $B; do rp_start_redis $n; done
rp_start_node $A CRGW_TEST_OUTBOX_CONSUMER=p1 CRGW_TEST_OUTBOX_CLAIM_IDLE_MS=1000
for i in $(seq 20); do
    rp_h2c $A platform POST /v1/repair/decisions -H 'content-type: application/json' -d '{
      "record": {"origin_node": "'$A'", "record_id": "CLAIM-'$i'", "domain": "transport"},
      "subject_uscc": "'$USCC'", "decision": "repaired", "decided_by": "t",
      "decided_at": "2026-11-23T10:00:00+08:00"}'
    [ "$STATUS" = 201 ] || fail "decision $i: $STATUS $BODY"
done
pending_p1() { [ "$(rp_redis $A XPENDING crgw:outbox:$B crgw - + 100 p1-w0 | grep -c '^[0-9]*-[0-9]*$')" = 20 ]; }
rp_wait 10 pending_p1
expect_eq "20 deliveries pending under process 1" \
    "$(rp_redis $A XPENDING crgw:outbox:$B crgw - + 100 p1-w0 | grep -c '^[0-9]*-[0-9]*$')" 20
require_ok
rp_kill_node $A KILL

# Process 2 of A: other ports, other consumer name.
H2=$(free_port)
L2=$(free_port)
CRGW_TEST_OUTBOX_CONSUMER=p2 CRGW_TEST_OUTBOX_CLAIM_IDLE_MS=1000 "$CRGW" serve \
    --config "$T/fed/node-$A.yaml" --redis "unix:$T/$A/redis.sock" \
    --h2c "127.0.0.1:$H2" --listen "127.0.0.1:$L2" >>"$T/$A/crgw2.log" 2>&1 &
_LIB_PIDS+=("$!")
rp_start_node $B
count_b() { rp_redis $B HLEN crgw:rs:$USCC; }
all_at_b() { [ "$(count_b)" = 20 ]; }
rp_wait 30 all_at_b
expect_eq "B received every event" "$(count_b)" 20
expect_eq "nothing left pending" "$(rp_redis $A XLEN crgw:outbox:$B)" 0
expect_match "process 2 claimed process 1's deliveries" "$(cat "$T/$A/crgw2.log")" \
    'outbox 330100: claimed 20 pending deliveries'
expect_eq "each applied once at B" "$(rp_redis $B HGET crgw:stats:events applied)" 20
