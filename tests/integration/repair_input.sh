#!/bin/bash
# Issue 15: every repair write validates every field it stores, at the local routes and on the
# federation receive path alike (gateway/repair/repair_check.c), the refusal's detail names the
# field, and nothing of a refused request reaches Redis (the node's Redis is read before and
# after each refusal). Federation messages are signed here with the fixture keys
# (repair_sign.bash), as the sending node would sign them.
#   A 120000 origin, B 330100 member of repair-7city-transport (transport), X 110000 shares no
#   repair domain with A (only the jjj report agreement).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
source "$(dirname "$0")/repair_sign.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000 B=330100 X=110000
USCC=91120116MA06T8E28X BADUSCC=91120116MA06T8E28Y
H64=2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881
for n in $A $B $X; do rp_start_redis $n; done
for n in $A $B $X; do rp_start_node $n; done

# Everything a write could change at a node: every key's value (DUMP), streams by the last id
# added (their consumer-group state moves while the outbox works), peers' contact hashes left out.
rs_snapshot() { # node
    local c=$1 k
    for k in $(rp_redis "$c" --scan | sort); do
        case "$k" in crgw:peer:*) continue ;; esac
        if [ "$(rp_redis "$c" TYPE "$k")" = stream ]; then
            echo "$k $(rp_redis "$c" XINFO STREAM "$k" | sed -n '/^last-generated-id$/{n;p}')"
        else
            echo "$k $(rp_redis "$c" DUMP "$k" | od -An -tx1 | tr -d ' \n')"
        fi
    done | sha256sum
}

refused() { # node what status slug detail-regex cmd...
    local n=$1 what=$2 st=$3 slug=$4 re=$5 before
    shift 5
    before=$(rs_snapshot "$n")
    "$@"
    expect_eq "$what: HTTP status" "$STATUS" "$st"
    expect_problem "$what" "$BODY" "$slug" "$st"
    expect_match "$what: detail names the field" "$(jq -r .detail <<<"$BODY" 2>/dev/null)" "$re"
    expect_eq "$what: nothing reached Redis" "$(rs_snapshot "$n")" "$before"
}

mut() { jq -c "$2" <<<"$1"; } # json jq-filter

# ---- local: POST /v1/repair/applications at B ----
APP=$(jq -cn --arg u $USCC --arg a $A --arg h $H64 '{subject_uscc: $u,
  record: {origin_node: $a, record_id: "INPUT-APP-1", domain: "transport",
           kind: "administrative_penalty"},
  commitment_sha256: $h, applicant: {name: "天津海河通达物流有限公司", contact: "022-0000000"},
  materials: [{name: "罚款缴纳凭证.pdf", sha256: $h}]}')
app() { rp_tls $B $B-repair_desk POST /v1/repair/applications -H 'content-type: application/json' -d "$1"; }
refused $B "application without record.kind" 422 invalid-repair-request '^record\.kind: missing' \
    app "$(mut "$APP" 'del(.record.kind)')"
refused $B "application with an unknown record.kind" 422 invalid-repair-request \
    '^record\.kind: unknown code "xyz"' app "$(mut "$APP" '.record.kind = "xyz"')"
refused $B "application for an unknown domain" 422 invalid-repair-request \
    '^record\.domain: unknown code "shipping"' app "$(mut "$APP" '.record.domain = "shipping"')"
refused $B "application with a non-hex commitment" 422 invalid-repair-request \
    '^commitment_sha256: must be a SHA-256 digest' app "$(mut "$APP" '.commitment_sha256 = "00"')"
refused $B "application with a non-hex material digest" 422 invalid-repair-request \
    '^materials\[0\]\.sha256: must be a SHA-256 digest' app "$(mut "$APP" '.materials[0].sha256 = ("z" * 64)')"
refused $B "application with a numeric contact" 422 invalid-repair-request \
    '^applicant\.contact: must be a string' app "$(mut "$APP" '.applicant.contact = 22000000')"
refused $B "application with a bad USCC check character" 422 invalid-repair-request \
    '^subject_uscc: not a valid unified social credit code \(wrong check character' \
    app "$(mut "$APP" ".subject_uscc = \"$BADUSCC\"")"
refused $B "application for an unknown origin node" 422 invalid-repair-request \
    '^record\.origin_node: unknown node "999999"' app "$(mut "$APP" '.record.origin_node = "999999"')"

# ---- federation: POST /federation/v1/repair/events (signed by A) ----
EV=$(jq -cn --arg u $USCC --arg a $A '{event_id: "INPUT-EV-0001", origin_node: $a, origin_seq: 1,
  subject_uscc: $u, record: {origin_node: $a, record_id: "INPUT-EV-1", domain: "transport"},
  decision: "repaired", decided_by: "天津市交通运输委员会", decided_at: "2026-11-23T10:00:00+08:00"}')
refused $B "event with an impossible time" 400 bad-message '^decided_at: not an RFC 3339 date-time' \
    fed_post $B $A events "$(mut "$EV" '.decided_at = "not-a-date"')"
refused $B "event with a bad USCC check character" 400 bad-message '^subject_uscc: ' \
    fed_post $B $A events "$(mut "$EV" ".subject_uscc = \"$BADUSCC\"")"
refused $B "event for an unknown domain" 400 bad-message '^record\.domain: unknown code' \
    fed_post $B $A events "$(mut "$EV" '.record.domain = "shipping"')"
refused $B "event with a string origin_seq" 400 bad-message '^origin_seq: must be an integer' \
    fed_post $B $A events "$(mut "$EV" '.origin_seq = "1"')"
refused $B "accepted event without application_id" 400 bad-message '^application_id: required' \
    fed_post $B $A events "$(mut "$EV" '.decision = "accepted"')"
refused $B "event of another origin, correctly signed by A" 403 not-origin \
    '^origin_node: an event of origin 130100 .* not from 120000' \
    fed_post $B $A events "$(mut "$EV" '.origin_node = "130100" | .record.origin_node = "130100"')"
refused $B "event whose record is of another origin" 403 not-origin 'record\.origin_node 130100' \
    fed_post $B $A events "$(mut "$EV" '.record.origin_node = "130100"')"
refused $B "event signed by B's own federation certificate" 403 own-message \
    "own federation certificate" fed_post $B $B events "$(mut "$EV" '.origin_node = "330100" | .record.origin_node = "330100"')"
refused $X "event for a domain X does not share with A" 422 domain-not-shared \
    '^record\.domain: node 110000 shares no repairs of domain "transport" with 120000' \
    fed_post $X $A events "$EV"
fed_post $B $A events "$(mut "$EV" '.decided_at = "2026-11-23T02:00:00Z"')"
expect_eq "a valid event: 202" "$STATUS" 202
rp_tls $B $B-verifier GET "/v1/subjects/$USCC/repairs"
expect_eq "the event's time is stored in +08:00" \
    "$(jq -r '.records[] | select(.record_id == "INPUT-EV-1") | .decided_at' <<<"$BODY")" \
    2026-11-23T10:00:00+08:00
fed_post $X $A events "$(mut "$EV" '.event_id = "INPUT-EV-0002" | .applicant_node = "110000"')"
expect_eq "an event of an application filed at X reaches X outside the agreement: 202" "$STATUS" 202

# ---- federation: POST /federation/v1/repair/applications (signed by B, to A) ----
FAPP=$(mut "$APP" '. + {application_id: "INPUT-FAPP-0001", applicant_node: "330100",
  filed_at: "2026-11-23T10:00:00+08:00"} | .record.record_id = "INPUT-FAPP-1"')
refused $A "federated application filed at another node" 403 not-applicant \
    '^applicant_node: an application filed at 130100 must come from that node, not from 330100' \
    fed_post $A $B applications "$(mut "$FAPP" '.applicant_node = "130100"')"
refused $A "federated application for a record of another node" 422 not-origin \
    '^record\.origin_node: record of node 330100' \
    fed_post $A $B applications "$(mut "$FAPP" '.record.origin_node = "330100"')"
refused $A "federated application with an impossible time" 400 bad-message '^filed_at: not an RFC 3339' \
    fed_post $A $B applications "$(mut "$FAPP" '.filed_at = "not-a-date"')"
refused $A "federated application without record.kind" 400 bad-message '^record\.kind: missing' \
    fed_post $A $B applications "$(mut "$FAPP" 'del(.record.kind)')"
refused $A "federated application with a bad USCC check character" 400 bad-message '^subject_uscc: ' \
    fed_post $A $B applications "$(mut "$FAPP" ".subject_uscc = \"$BADUSCC\"")"
refused $A "federated application with a numeric contact" 400 bad-message '^applicant\.contact: ' \
    fed_post $A $B applications "$(mut "$FAPP" '.applicant.contact = 1')"
refused $A "federated application with a non-hex material digest" 400 bad-message \
    '^materials\[0\]\.sha256: ' fed_post $A $B applications "$(mut "$FAPP" '.materials[0].sha256 = "00"')"
fed_post $A $B applications "$(mut "$FAPP" '.filed_at = "2026-11-23T02:00:00Z" | .extra = "dropped"')"
expect_eq "a valid federated application: 202" "$STATUS" 202
rp_tls $A $A-operator GET /v1/repair/applications/INPUT-FAPP-0001
expect_eq "its filed_at is stored in +08:00" "$(jq -r .filed_at <<<"$BODY")" 2026-11-23T10:00:00+08:00
expect_eq "only checked fields are stored" "$(jq -r '.extra // "absent"' <<<"$BODY")" absent

# ---- local: POST /v1/repair/decisions at A ----
DEC=$(jq -cn --arg u $USCC --arg a $A '{subject_uscc: $u,
  record: {origin_node: $a, record_id: "INPUT-DEC-1", domain: "transport"},
  decision: "repaired", decided_by: "天津市交通运输委员会", decided_at: "2026-11-23T02:00:00Z"}')
dec() { rp_tls $A $A-platform POST /v1/repair/decisions -H 'content-type: application/json' -d "$1"; }
refused $A "decision with an impossible time" 422 invalid-repair-request '^decided_at: not an RFC 3339' \
    dec "$(mut "$DEC" '.decided_at = "not-a-date"')"
for d in accepted refused rejected; do
    refused $A "$d without application_id" 422 invalid-repair-request "^application_id: required for a decision \"$d\"" \
        dec "$(mut "$DEC" ".decision = \"$d\"")"
done
refused $A "revoked without application, record never repaired" 409 repair-state-conflict \
    'the record is not decided on' dec "$(mut "$DEC" '.decision = "revoked"')"
refused $A "decision for an unknown record.kind" 422 invalid-repair-request '^record\.kind: unknown code' \
    dec "$(mut "$DEC" '.record.kind = "xyz"')"
refused $A "decision with a numeric decided_by" 422 invalid-repair-request '^decided_by: must be a string' \
    dec "$(mut "$DEC" '.decided_by = 7')"
refused $A "decision with a string extension" 422 invalid-repair-request '^extension: must be a boolean' \
    dec "$(mut "$DEC" '.extension = "yes"')"
dec "$DEC"
expect_eq "repaired without application: 201" "$STATUS" 201
rp_tls $A $A-verifier GET "/v1/subjects/$USCC/repairs"
expect_eq "decided_at given in Z is stored and echoed in +08:00" \
    "$(jq -r '.records[] | select(.record_id == "INPUT-DEC-1") | .decided_at' <<<"$BODY")" \
    2026-11-23T10:00:00+08:00
refused $A "repaired again (the record is repaired)" 409 repair-state-conflict 'already repaired' \
    dec "$(mut "$DEC" '.decided_at = "2026-11-24T10:00:00+08:00"')"
refused $A "revoked, decided before the repair" 409 decision-out-of-order \
    '^decided_at: 2026-11-23T09:00:00\+08:00 is older than 2026-11-23T10:00:00\+08:00' \
    dec "$(mut "$DEC" '.decision = "revoked" | .decided_at = "2026-11-23T09:00:00+08:00"')"
dec "$(mut "$DEC" '.decision = "revoked" | .decided_at = "2026-11-24T10:00:00+08:00"')"
expect_eq "revoked after the repair: 201" "$STATUS" 201
refused $A "revoked twice" 409 repair-state-conflict 'the record is published' \
    dec "$(mut "$DEC" '.decision = "revoked" | .decided_at = "2026-11-25T10:00:00+08:00"')"

# ---- server: translate's empty body, repeated query parameters ----
TLS_PORT=$(rp_port $A listen)
refused $A "translate with an empty body" 400 empty-body 'body' \
    tls $A-verifier POST /v1/reports/translate -H 'content-type: application/xml' --data-binary ''
refused $A "a repeated query parameter" 400 repeated-query-parameter "'scenario'" \
    tls $A-verifier POST '/v1/reports/verify?scenario=tender&to=canonical&scenario=bond' \
    --data-binary "@$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml"
refused $A "a repeated query parameter, percent-encoded" 400 repeated-query-parameter "'scenario'" \
    tls $A-verifier POST '/v1/reports/verify?scenario=tender&%73cenario=bond' \
    --data-binary "@$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml"
tls $A-verifier POST '/v1/reports/verify?scenario=tender' \
    --data-binary "@$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml"
expect_eq "one scenario parameter: 200" "$STATUS" 200
for n in $A $B $X; do
    kill -0 "${RP_PID[$n]}" 2>/dev/null && pass "node $n still runs" || fail "node $n died"
done

