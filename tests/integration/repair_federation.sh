#!/bin/bash
# Issue 7, acceptance 1: a 3-node federation on loopback (plus a node outside the agreement;
# private copy of the test federation on free ports, see repair_lib.bash),
# driven through the API over mTLS with the fixture client certificates:
#   application filed at B (330100) for a transport record of A (120000) -> delivered to A ->
#   accepted -> repaired -> B and the third member C (130100) show "repaired"; 110000 (not in
#   repair-7city-transport) receives nothing; a decision sent to B is 403; replays are
#   deduplicated, an older event never overwrites a newer status; revoked -> "published".
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000 B=330100 C=130100 X=110000
USCC=91120116MA06T8E28X
REC=TJJT-2026-0088
for n in $A $B $C $X; do rp_start_redis $n; done
for n in $A $C $X; do rp_start_node $n; done
rp_start_node $B CRGW_TEST_REPAIR_SCAN_MS=500

# ---- application at B ----
APP='{"subject_uscc": "'$USCC'",
 "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport",
            "kind": "administrative_penalty"},
 "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
 "applicant": {"name": "天津海河通达物流有限公司", "contact": "022-0000000"},
 "materials": [{"name": "罚款缴纳凭证.pdf", "sha256": "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"}]}'
rp_tls $B $B-verifier POST /v1/repair/applications -H 'content-type: application/json' -d "$APP"
expect_eq "a verifier may not file an application" "$STATUS" 403
rp_tls $B $B-repair_desk POST /v1/repair/applications -H 'content-type: application/json' \
    -d '{"subject_uscc": "'$USCC'", "record": {"origin_node": "999999", "record_id": "x",
         "domain": "transport"}, "commitment_sha256": "00", "applicant": {"name": "x"}}'
expect_eq "unknown origin node: 422" "$STATUS" 422
rp_tls $B $B-repair_desk POST /v1/repair/applications -H 'content-type: application/json' \
    -d "${APP/$USCC/91120116MA06T8E28Y}"
expect_eq "bad USCC check character: 422" "$STATUS" 422
rp_tls $B $B-repair_desk POST /v1/repair/applications -H 'content-type: application/json' -d "$APP"
expect_eq "application filed at B: 201" "$STATUS" 201
ID=$(jq -r .application_id <<<"$BODY")
expect_eq "application status" "$(jq -r .status <<<"$BODY")" submitted
expect_match "deadlines" "$BODY" '"deadlines":\{"accept_by":"[0-9]{4}-[0-9]{2}-[0-9]{2}","decide_by":null,"overall_by":"[0-9-]{10}","overdue":false'
require_ok

app_status() { # node client -> status of the application at that node
    rp_tls "$1" "$2" GET "/v1/repair/applications/$ID"
    [ "$STATUS" = 200 ] && jq -r .status <<<"$BODY"
}
at_status() { [ "$(app_status "$1" "$2")" = "$3" ]; }
rp_wait 10 at_status $A $A-operator delivered
expect_eq "application delivered to A" "$(app_status $A $A-operator)" delivered
rp_wait 10 at_status $B $B-repair_desk delivered
expect_eq "B knows its application was delivered" "$(app_status $B $B-repair_desk)" delivered
rp_tls $A $A-operator GET "/v1/repair/applications/$ID"
expect_eq "A holds B's applicant node" "$(jq -r .applicant_node <<<"$BODY")" $B
require_ok

# ---- decisions ----
decision() { # node client decision [extra json]
    rp_tls "$1" "$2" POST /v1/repair/decisions -H 'content-type: application/json' -d '{
      "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport"},
      "subject_uscc": "'$USCC'", "application_id": "'$ID'", "decision": "'$3'",
      "decided_by": "天津市交通运输委员会", "decided_at": "2026-11-23T10:00:00+08:00"'"${4:-}"'}'
}
decision $B $B-platform accepted
expect_eq "a decision sent to B (not the origin) is refused" "$STATUS" 403
expect_match "403 problem" "$BODY" '"type":"https://crgw.example/problems/not-origin"'
decision $A $A-repair_desk accepted
expect_eq "a repair desk may not decide" "$STATUS" 403
decision $A $A-platform repaired
expect_eq "repaired before accepted: 409" "$STATUS" 409
decision $A $A-platform accepted ', "extension": true'
expect_eq "accepted at A: 201" "$STATUS" 201
expect_eq "first origin_seq" "$(jq -r .origin_seq <<<"$BODY")" 1
DESTS=$(jq -r '.destinations | sort | join(",")' <<<"$BODY")
expect_eq "destinations: the applicant and the agreement's members" "$DESTS" \
    "130100,230100,330100,450100,460100,530100"
decision $A $A-platform repaired
expect_eq "repaired at A: 201" "$STATUS" 201
expect_eq "second origin_seq" "$(jq -r .origin_seq <<<"$BODY")" 2
EV2=$(jq -r .event_id <<<"$BODY")
require_ok

rec_field() { # node field -> value of the record's field in GET /v1/subjects/{uscc}/repairs
    rp_tls "$1" "$1-verifier" GET "/v1/subjects/$USCC/repairs"
    jq -r --arg r "$REC" '.records[] | select(.record_id == $r) | .'"$2" <<<"$BODY"
}
has_status() { [ "$(rec_field "$1" status)" = "$2" ]; }
for n in $A $B $C; do
    rp_wait 10 has_status $n repaired
    expect_eq "node $n shows the record repaired" "$(rec_field $n status)" repaired
    expect_eq "node $n has origin_seq 2" "$(rec_field $n origin_seq)" 2
    expect_eq "node $n has the event id" "$(rec_field $n event_id)" "$EV2"
done
# The effect: verification answers at a receiving node show the record repaired from now on.
REPORT="$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml" # Tianjin report of 2026-11-18
for n in $C $X; do
    rp_tls $n $n-verifier POST "/v1/reports/verify?scenario=tender" \
        -H 'content-type: application/xml' --data-binary "@$REPORT"
    eval "VERIFY_$n=\$BODY"
done
expect_match "C's verification answer shows the record repaired" "$VERIFY_130100" \
    "\"changed_records\":\[\{\"origin_node\":\"120000\",\"record_id\":\"$REC\",\"domain\":\"transport\",\"status\":\"repaired\",[^}]*\"event_id\":\"$EV2\"\}\]"
expect_match "110000 (not a member) still answers from what it knows" "$VERIFY_110000" \
    '"changed_records":\[\]'
rp_tls $X $X-verifier GET "/v1/subjects/$USCC/repairs"
expect_eq "node $X (outside the agreement) knows nothing" "$(jq -c .records <<<"$BODY")" "[]"
expect_eq "node $X Redis holds no repair status" "$(rp_redis $X EXISTS crgw:rs:$USCC)" 0
expect_eq "A never queued anything for $X" "$(rp_redis $A XLEN crgw:outbox:$X)" 0
expect_eq "A never contacted $X" "$(rp_redis $A HGET crgw:peer:$X last_contact)" ""

rp_tls $B $B-repair_desk GET "/v1/repair/applications/$ID"
expect_eq "B's application is repaired" "$(jq -r .status <<<"$BODY")" repaired
expect_eq "B's history" "$(jq -r '[.history[].status] | join(",")' <<<"$BODY")" \
    "submitted,delivered,accepted,repaired"
expect_eq "extension recorded" "$(jq -r .deadlines.extended <<<"$BODY")" true
expect_match "decide_by set after acceptance" "$(jq -r .deadlines.decide_by <<<"$BODY")" \
    '^2026-1[12]-[0-9]{2}$'

# ---- peers view at A: reachable members delivered, absent members wait in the outbox ----
rp_tls $A $A-verifier GET /v1/federation/peers
expect_eq "peers view needs the operator role" "$STATUS" 403
rp_tls $A $A-operator GET /v1/federation/peers
expect_eq "peers view" "$STATUS" 200
peer() { jq -r --arg n "$1" '.peers[] | select(.node == $n) | .'"$2" <<<"$BODY"; }
expect_eq "B: nothing waiting" "$(peer $B outbox_lag)" 0
expect_match "B: last contact" "$(peer $B last_contact)" '^20[0-9]{2}-'
expect_eq "230100 (not running): both events wait" "$(peer 230100 outbox_lag)" 2
expect_match "230100: retries counted" "$(peer 230100 retries)" '^[1-9][0-9]*$'

# ---- replay and reordering at B, through A's own signed delivery path ----
P=$(jq -cn --arg e "$EV2" --arg u $USCC --arg r $REC '{event_id: $e, origin_node: "120000",
    subject_uscc: $u, record: {origin_node: "120000", record_id: $r, domain: "transport"},
    decision: "repaired", decided_by: "replay", decided_at: "2026-11-23T10:00:00+08:00"}')
rp_redis $A XADD crgw:outbox:$B '*' k e id "$EV2" seq 2 p "$P" at "$(date +%s%3N)" >/dev/null
OLD=$(jq -c '.event_id = "OLDER-EVENT-0001" | .decision = "revoked"' <<<"$P")
rp_redis $A XADD crgw:outbox:$B '*' k e id OLDER-EVENT-0001 seq 1 p "$OLD" at "$(date +%s%3N)" \
    >/dev/null
stats() { rp_redis $B HGET crgw:stats:events "$1"; }
stale_seen() { [ "$(stats stale)" = 1 ] && [ "$(stats duplicate)" = 1 ]; }
rp_wait 10 stale_seen
expect_eq "B: replayed event counted as duplicate" "$(stats duplicate)" 1
expect_eq "B: older event counted as stale" "$(stats stale)" 1
expect_eq "B: applied events" "$(stats applied)" 2
expect_eq "B: the older event did not overwrite" "$(rec_field $B status)" repaired
rp_h2c $B operator GET /metrics
expect_match "B: metrics count applied" "$BODY" 'crgw_repair_events_total\{result="applied"\} 2'
expect_match "B: metrics count duplicates" "$BODY" 'crgw_repair_events_total\{result="duplicate"\} 1'
expect_match "B: metrics count stale" "$BODY" 'crgw_repair_events_total\{result="stale"\} 1'

# ---- the federation routes accept peers only, signed by the origin ----
rp_tls $B $B-platform POST /federation/v1/repair/events -d "x.y.z"
expect_eq "a local client may not post federation events" "$STATUS" 403
rp_tls $B node:$C POST /federation/v1/repair/events -H 'content-type: application/jose' \
    -d "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"
expect_match "an unsigned/forged event is refused" "$STATUS" '^40[03]$'

# ---- revoked: every copy returns to published ----
decision $A $A-platform revoked
expect_eq "revoked at A: 201" "$STATUS" 201
for n in $B $C; do
    rp_wait 10 has_status $n published
    expect_eq "node $n shows the record published again" "$(rec_field $n status)" published
done

# ---- restart of C: state and dedup survive ----
rp_kill_node $C KILL
rp_start_node $C
expect_eq "C keeps the status across a restart" "$(rec_field $C status)" published
expect_eq "C keeps its dedup set" "$(rp_redis $C SCARD "crgw:dedup:$A:$(TZ=Asia/Shanghai date +%Y%m%d)")" 3
expect_match "the dedup set expires (bounded memory)" \
    "$(rp_redis $C TTL "crgw:dedup:$A:$(TZ=Asia/Shanghai date +%Y%m%d)")" '^[1-9][0-9]{5}$'

# ---- dead letters: an event B refuses for good (400) is moved aside, visible, re-drivable ----
BAD=$(jq -cn '{event_id: "BROKEN-EVENT-0001", origin_node: "120000", decision: "repaired"}')
rp_redis $A XADD crgw:outbox:$B '*' k e id BROKEN-EVENT-0001 seq 99 p "$BAD" at "$(date +%s%3N)" \
    >/dev/null
dead_count() { rp_tls $A $A-operator GET /v1/federation/peers; peer $B dead_letters; }
dead_is_1() { [ "$(dead_count)" = 1 ]; }
rp_wait 10 dead_is_1
expect_eq "refused event moved to B's dead letters" "$(dead_count)" 1
expect_match "dead letter keeps the reason" "$(rp_redis $A XRANGE crgw:dead:$B - +)" \
    'refused by the peer with HTTP 400'
rp_tls $A $A-operator GET /v1/federation/peers
expect_eq "nothing else waits for B" "$(peer $B outbox_lag)" 0
rp_tls $A $A-operator POST /v1/federation/peers/$B/dead-letters/redrive
expect_eq "redrive: 200" "$STATUS" 200
expect_eq "redrive moved one entry" "$(jq -r .redriven <<<"$BODY")" 1
rp_wait 10 dead_is_1
expect_eq "still refused after the redrive: back in the dead letters" "$(dead_count)" 1
rp_tls $A $A-operator POST /v1/federation/peers/999999/dead-letters/redrive
expect_eq "redrive of an unknown peer: 404" "$STATUS" 404

# ---- the lag is also a metric ----
lag_metric() { rp_h2c $A operator GET /metrics; grep -q 'crgw_repair_outbox_lag{dest="230100"} 3' <<<"$BODY"; }
rp_wait 12 lag_metric
expect_match "A exports the outbox lag per destination" "$BODY" \
    'crgw_repair_outbox_lag\{dest="230100"\} 3'

# ---- overdue: an application filed long ago and never accepted is flagged ----
rp_tls $B $B-repair_desk POST /v1/repair/applications -H 'content-type: application/json' \
    -d "${APP/$REC/TJJT-2026-0099}"
expect_eq "second application filed" "$STATUS" 201
ID2=$(jq -r .application_id <<<"$BODY")
rp_redis $B HSET crgw:app:$ID2 filed_at 2025-09-30T10:00:00+08:00 >/dev/null
rp_tls $B $B-repair_desk GET "/v1/repair/applications/$ID2"
expect_eq "accept_by from the calendar (National Day week, adjusted Saturday)" \
    "$(jq -r .deadlines.accept_by <<<"$BODY")" 2025-10-11
expect_eq "overall_by" "$(jq -r .deadlines.overall_by <<<"$BODY")" 2025-10-21
expect_eq "flagged overdue" "$(jq -r .deadlines.overdue <<<"$BODY")" true
gauge_is_1() { rp_h2c $B operator GET /metrics; grep -q '^crgw_repair_overdue_applications 1$' <<<"$BODY"; }
rp_wait 10 gauge_is_1
expect_match "B's overdue gauge counts it" "$BODY" 'crgw_repair_overdue_applications 1'
