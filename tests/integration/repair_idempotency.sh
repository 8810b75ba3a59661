#!/bin/bash
# Issue 11: the Idempotency-Key header on POST /v1/repair/applications and /v1/repair/decisions.
# The same key with the same body gives the first answer again (nothing written twice), with
# another body 422 idempotency-key-reused; keys are per client; a malformed key is 400.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000
USCC=91120116MA06T8E28X
REC=IDEM-2026-0001
rp_start_redis $A
rp_start_node $A

JSON=(-H 'content-type: application/json')
APP='{"subject_uscc": "'$USCC'",
 "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport",
            "kind": "administrative_penalty"},
 "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
 "applicant": {"name": "天津海河通达物流有限公司"}}'
n_apps() { rp_redis $A --scan --pattern 'crgw:app:*' | wc -l; }

# ---- applications ----
rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -H 'Idempotency-Key: app-1' \
    -d "$APP"
expect_eq "application with a key: 201" "$STATUS" 201
FIRST=$BODY
ID=$(jq -r .application_id <<<"$BODY")
rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -H 'Idempotency-Key: app-1' \
    -d "$APP"
expect_eq "the same application again: 201" "$STATUS" 201
expect_eq "the same answer (same application_id, filed_at, deadlines)" "$BODY" "$FIRST"
expect_eq "one application stored" "$(n_apps)" 1
rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -H 'Idempotency-Key: app-1' \
    -d "${APP/海河/渤海}"
expect_eq "the same key, another body: 422" "$STATUS" 422
expect_problem "key reused" "$BODY" idempotency-key-reused 422
expect_match "the detail names the problem" "$BODY" '"detail":"idempotency-key-reused: '
expect_eq "still one application" "$(n_apps)" 1
# another client, the same key: independent
rp_h2c $A repair_desk POST /v1/repair/applications "${JSON[@]}" -H 'x-crgw-client: other-desk' \
    -H 'Idempotency-Key: app-1' -d "$APP"
expect_eq "another client with the same key: 201" "$STATUS" 201
ID2=$(jq -r .application_id <<<"$BODY")
[ -n "$ID2" ] && [ "$ID2" != "$ID" ] || fail "another client got application $ID2 (first: $ID)"
expect_eq "two applications" "$(n_apps)" 2
rp_h2c $A repair_desk POST /v1/repair/applications "${JSON[@]}" -H 'x-crgw-client: other-desk' \
    -H 'Idempotency-Key: app-1' -d "$APP"
expect_eq "that client's retry: its own answer" "$(jq -r .application_id <<<"$BODY")" "$ID2"
rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -d "$APP"
expect_eq "without a key: a new application each time" "$(n_apps)" 3
require_ok

# ---- decisions ----
decision() { # decision key [extra json]
    local key=()
    [ -n "$2" ] && key=(-H "Idempotency-Key: $2")
    rp_tls $A $A-platform POST /v1/repair/decisions "${JSON[@]}" "${key[@]}" -d '{
      "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport"},
      "subject_uscc": "'$USCC'", "application_id": "'$ID'", "decision": "'$1'",
      "decided_by": "天津市交通运输委员会", "decided_at": "2026-11-23T10:00:00+08:00"'"${3:-}"'}'
}
decision accepted dec-1
expect_eq "decision with a key: 201" "$STATUS" 201
FIRST=$BODY
SEQ=$(jq -r .origin_seq <<<"$BODY")
EV=$(jq -r .event_id <<<"$BODY")
DEST=$(jq -r '.destinations[0]' <<<"$BODY")
[ -n "$DEST" ] && [ "$DEST" != null ] || fail "no destination in $BODY"
decision accepted dec-1
expect_eq "the same decision again: 201" "$STATUS" 201
expect_eq "the same answer" "$BODY" "$FIRST"
expect_eq "the same event_id" "$(jq -r .event_id <<<"$BODY")" "$EV"
expect_eq "the same origin_seq" "$(jq -r .origin_seq <<<"$BODY")" "$SEQ"
expect_eq "one event queued for $DEST" "$(rp_redis $A XLEN crgw:outbox:$DEST)" 1
expect_eq "the origin_seq counter did not advance" "$(rp_redis $A GET crgw:seq:$A)" "$SEQ"
decision accepted dec-1 ', "reason": "another body"'
expect_eq "the same key, another body: 422" "$STATUS" 422
expect_problem "decision key reused" "$BODY" idempotency-key-reused 422
decision repaired ""
expect_eq "a later decision without a key: 201" "$STATUS" 201
expect_eq "its origin_seq is the next one" "$(jq -r .origin_seq <<<"$BODY")" $((SEQ + 1))
expect_eq "two events queued for $DEST" "$(rp_redis $A XLEN crgw:outbox:$DEST)" 2
decision accepted dec-1
expect_eq "the first key still answers its first answer" "$BODY" "$FIRST"
rp_tls $A $A-platform GET "/v1/subjects/$USCC/repairs"
expect_eq "the record shows the later decision" "$(jq -r .records[0].status <<<"$BODY")" repaired
expect_eq "at its origin_seq" "$(jq -r .records[0].origin_seq <<<"$BODY")" $((SEQ + 1))
TTL=$(rp_redis $A TTL "$(rp_redis $A --scan --pattern 'crgw:idem:decisions:*' | head -n 1)")
[ "$TTL" -gt 86000 ] && [ "$TTL" -le 86400 ] || fail "idempotency key TTL $TTL, want about 24 h"
require_ok

# ---- malformed keys: 400, nothing written ----
LONG=$(printf 'k%.0s' $(seq 256))
for k in "" "$LONG" "clé" "a${TAB:=$'\t'}b"; do
    h="Idempotency-Key: $k"
    [ -z "$k" ] && h='Idempotency-Key;' # curl sends an empty value so
    rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -H "$h" -d "$APP"
    expect_eq "key '${k:0:10}': 400" "$STATUS" 400
    expect_problem "key '${k:0:10}'" "$BODY" bad-idempotency-key 400
done
decision repaired "$LONG"
expect_problem "decision with a bad key" "$BODY" bad-idempotency-key 400
expect_eq "no application written" "$(n_apps)" 3
rp_tls $A $A-repair_desk POST /v1/repair/applications "${JSON[@]}" -H "Idempotency-Key: ${LONG:1}" \
    -d "$APP"
expect_eq "a key of 255 characters is fine" "$STATUS" 201
require_ok
pass "idempotency keys: same answer, 422 on reuse, per client, 400 when malformed"
