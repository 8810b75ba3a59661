#!/bin/bash
# Issue 11: Redis Sentinel and WAIT durability (acceptance 3 and the Sentinel client).
# A node whose Redis is a Sentinel set (a primary, two replicas, three Sentinels;
# min_replicas_ack 1): crgw finds the primary through the Sentinels, follows a SIGKILL failover
# (+switch-master / re-ask), and a decision sent twice with one Idempotency-Key across that
# failover gives one event (same event_id, origin_seq unchanged, nothing queued twice); another
# body with the key is 422. With the replicas stopped a decision is 503 durability-not-reached
# (never a silent 201), and its retry with the same key, once they are back, the stored answer.
# Last, the primary is made a replica behind the Sentinels' back: READONLY, ROLE refusal, 503.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
source "$(dirname "$0")/sentinel_lib.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000
USCC=91120116MA06T8E28X
REC=SENT-2026-0001
sn_start $A
RP_REDIS[$A]=$(sn_addr $A 1 1000)
P0=$(sn_primary $A)
rp_start_node $A
H2C_PORT=$(rp_port $A h2c)
wait_ready 10 || { fail "not ready with a Sentinel set"; exit 1; }
pass "ready through the Sentinels"
grep -q "primary 127.0.0.1:$P0" "$T/$A/crgw.log" && pass "crgw found the primary $P0 through the Sentinels" ||
    fail "no 'primary 127.0.0.1:$P0' in the log"

# ---- configuration: the mapping form, and its errors with file:line ----
CFG=$T/fed/node-$A.yaml
sed "s#^redis: .*#redis: {sentinels: [127.0.0.1:26379, '[::1]:26380'], master: crgw-x, min_replicas_ack: 1, ack_timeout_ms: 500}#" \
    "$CFG" >"$T/map.yaml"
OUT=$("$CRGW" check-config --config "$T/map.yaml" 2>&1)
expect_eq "check-config accepts redis: {sentinels, master, min_replicas_ack, ack_timeout_ms}" "$?:$OUT" "0:$OUT"
sed "s#^redis: .*#redis: {sentinels: [db.example:26379], master: crgw-x, min_replicas_ack: 99}#" \
    "$CFG" >"$T/bad.yaml"
OUT=$("$CRGW" check-config --config "$T/bad.yaml" 2>&1)
expect_match "a host name is refused at its line" "$OUT" 'bad.yaml:[0-9]+: .*db.example.*not an IP address'
sed "s#^redis: .*#redis: {sentinels: [127.0.0.1:26379], master: crgw-x, min_replicas_ack: 99}#" \
    "$CFG" >"$T/bad.yaml"
OUT=$("$CRGW" check-config --config "$T/bad.yaml" 2>&1)
expect_match "min_replicas_ack out of bounds is refused" "$OUT" 'bad.yaml:[0-9]+: .*min_replicas_ack.*0..16'
sed "s#^redis: .*#redis: {sentinel: [127.0.0.1:26379], master: crgw-x}#" "$CFG" >"$T/bad.yaml"
OUT=$("$CRGW" check-config --config "$T/bad.yaml" 2>&1)
expect_match "an unknown key is named" "$OUT" "bad.yaml:[0-9]+: unknown key 'redis.sentinel'"
sed "s#^redis: .*#redis: 'sentinel:@127.0.0.1:1;acks=1'#" "$CFG" >"$T/bad.yaml"
OUT=$("$CRGW" check-config --config "$T/bad.yaml" 2>&1)
expect_match "the string form without a master name says why" "$OUT" 'bad.yaml:[0-9]+: .*master NAME'
require_ok

JSON=(-H 'content-type: application/json')
APP='{"subject_uscc": "'$USCC'",
 "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport",
            "kind": "administrative_penalty"},
 "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
 "applicant": {"name": "天津海河通达物流有限公司"}}'
rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -H 'Idempotency-Key: app-s1' \
    -d "$APP"
expect_eq "application through the Sentinel set: 201" "$STATUS" 201
ID=$(jq -r .application_id <<<"$BODY")
# acknowledged => on a replica (min_replicas_ack 1)
on_replicas=0
for p in ${SN_PORTS[$A]}; do
    [ "$p" = "$P0" ] && continue
    [ "$(redis-cli -p "$p" EXISTS "crgw:app:$ID")" = 1 ] && on_replicas=$((on_replicas + 1))
done
[ "$on_replicas" -ge 1 ] && pass "the acknowledged application is on $on_replicas replica(s)" ||
    fail "the acknowledged application is on no replica"

decision() { # decision key [extra json]
    local key=()
    [ -n "$2" ] && key=(-H "Idempotency-Key: $2")
    rp_tls $A $A-platform POST /v1/repair/decisions "${JSON[@]}" "${key[@]}" -d '{
      "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport"},
      "subject_uscc": "'$USCC'", "application_id": "'$ID'", "decision": "'$1'",
      "decided_by": "天津市交通运输委员会", "decided_at": "2026-11-23T10:00:00+08:00"'"${3:-}"'}'
}
decision accepted dec-s1
expect_eq "decision with a key: 201" "$STATUS" 201
FIRST=$BODY
SEQ=$(jq -r .origin_seq <<<"$BODY")
EV=$(jq -r .event_id <<<"$BODY")
DEST=$(jq -r '.destinations[0]' <<<"$BODY")
require_ok

# ---- failover between the two requests ----
sn_kill_primary $A
echo "primary $SN_KILLED_PORT SIGKILLed"
sn_wait_failover $A 30 || { fail "no failover within 30 s"; exit 1; }
P1=$(sn_primary $A)
echo "the Sentinels promoted $P1"
follows() { grep -q "primary 127.0.0.1:$P1" "$T/$A/crgw.log" && wait_ready 1; }
rp_wait 20 follows && pass "crgw follows the failover to $P1" || fail "crgw did not follow to $P1"
grep -Eq '\+switch-master|asking the Sentinels|disconnected' "$T/$A/crgw.log" ||
    fail "no trace of the switch in the log"
decision accepted dec-s1
expect_eq "the same decision after the failover: 201" "$STATUS" 201
expect_eq "the same answer" "$BODY" "$FIRST"
expect_eq "the same event_id" "$(jq -r .event_id <<<"$BODY")" "$EV"
expect_eq "origin_seq unchanged" "$(jq -r .origin_seq <<<"$BODY")" "$SEQ"
expect_eq "one event queued for $DEST on the new primary" "$(rp_redis $A XLEN crgw:outbox:$DEST)" 1
expect_eq "the origin_seq counter did not advance" "$(rp_redis $A GET crgw:seq:$A)" "$SEQ"
decision accepted dec-s1 ', "reason": "another body"'
expect_eq "the same key, another body, after the failover: 422" "$STATUS" 422
expect_problem "key reused" "$BODY" idempotency-key-reused 422
decision repaired ""
expect_eq "a later decision: 201" "$STATUS" 201
expect_eq "its origin_seq is the next one" "$(jq -r .origin_seq <<<"$BODY")" $((SEQ + 1))
require_ok

# ---- the killed server comes back as a replica; then the replicas stop: 503 ----
sn_restart $A "$SN_KILLED_PORT"
sn_wait_replicas $A 2 30 && pass "the old primary rejoined as a replica" || fail "old primary did not rejoin"
# the rejoined replica's full sync forked a BGSAVE on the primary: wait until it ended (with
# appendfsync always, the primary's fsyncs can stall behind the child's disk writes for longer
# than the command timeout on a slow disk, which would be a store-unavailable 503, not the one
# this checks)
idle() { [ "$(rp_redis $A INFO persistence | tr -d '\r' |
    grep -cE '^(rdb_bgsave_in_progress|aof_rewrite_in_progress):1')" = 0 ]; }
rp_wait 30 idle || fail "the primary still saves after 30 s"
# On a slow machine the Sentinels may have failed over once more meanwhile (a primary stalled by
# that fork for longer than down-after): stop the replicas of the primary that all three name
# now, once crgw uses it too.
agreed() {
    local p a all=
    for p in ${SN_SPORTS[$A]}; do
        a=$(timeout 2 redis-cli -p "$p" SENTINEL get-master-addr-by-name "crgw-$A" 2>/dev/null | sed -n 2p)
        [ -n "$a" ] || return 1
        [ -z "$all" ] || [ "$all" = "$a" ] || return 1
        all=$a
    done
    [ "$(timeout 2 redis-cli -p "$all" ROLE 2>/dev/null | head -1)" = master ] || return 1
    grep "primary 127.0.0.1:" "$T/$A/crgw.log" | tail -1 | grep -q "primary 127.0.0.1:$all" || return 1
    PNOW=$all
}
rp_wait 30 agreed || fail "the Sentinels and crgw do not agree on one primary"
REPLICAS=()
for p in ${SN_PORTS[$A]}; do [ "$p" != "$PNOW" ] && REPLICAS+=("${SN_PID[$A:$p]}"); done
kill -STOP "${REPLICAS[@]}"
decision revoked dec-s2
expect_eq "no replica acknowledges: 503" "$STATUS" 503
expect_problem "replicas stopped" "$BODY" durability-not-reached 503
expect_match "the problem says how many replicas acknowledged" "$BODY" '"replicas_required":1'
SEQ2=$(rp_redis $A GET crgw:seq:$A)
kill -CONT "${REPLICAS[@]}"
sn_wait_replicas $A 1 20 || fail "replicas did not come back"
decision revoked dec-s2
expect_eq "the retry with the same key once the replicas are back: 201" "$STATUS" 201
expect_eq "it is the write made before (origin_seq $SEQ2)" "$(jq -r .origin_seq <<<"$BODY")" "$SEQ2"
expect_eq "nothing written twice (counter still $SEQ2)" "$(rp_redis $A GET crgw:seq:$A)" "$SEQ2"
expect_eq "three events queued for $DEST" "$(rp_redis $A XLEN crgw:outbox:$DEST)" 3
rp_h2c $A operator GET /metrics
expect_match "metric crgw_repair_durability_not_reached_total" "$BODY" 'crgw_repair_durability_not_reached_total [1-9]'
require_ok

# ---- the primary becomes a replica behind the Sentinels' back: READONLY, then ROLE ----
# (destructive: the primary resyncs from an empty server; nothing is checked on the data after)
XP=$(free_port)
redis-server --bind 127.0.0.1 --port "$XP" --save '' --appendonly no --daemonize no \
    >>"$T/x-redis.log" 2>&1 &
_LIB_PIDS+=("$!")
rp_wait 5 redis-cli -p "$XP" PING >/dev/null
# the primary the Sentinels name now (P1 may have changed since: a failover while the replicas
# resynced after SIGCONT), the one crgw writes to
PNOW=$(sn_primary $A) || { fail "no primary named by the Sentinels"; exit 1; }
redis-cli -p "$PNOW" REPLICAOF 127.0.0.1 "$XP" >/dev/null
rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -H 'Idempotency-Key: app-s3' \
    -d "$APP"
expect_eq "a write on a server that became a replica: 503, never 201" "$STATUS" 503
readonly_seen() { grep -q 'READONLY: no longer the primary' "$T/$A/crgw.log"; }
role_seen() { grep -q 'the announced primary is not one (ROLE)' "$T/$A/crgw.log"; }
rp_wait 5 readonly_seen && pass "READONLY makes crgw ask the Sentinels again" || fail "no READONLY handling in the log"
rp_wait 5 role_seen && pass "ROLE refuses a replica the Sentinels still name" || fail "no ROLE refusal in the log"
require_ok
pass "Sentinel discovery, failover, WAIT durability and Idempotency-Key across a failover"
