#!/bin/bash
# Issue 13, acceptance 3: every route's answers validate against gateway/openapi.yaml.
# Two nodes of a private copy of the test federation (A 120000: records' origin, with the audit
# log; B 330100: where the subject applies), each with its own redis-server. Every route is called
# with real requests over mutual TLS (fixture client certificates, the nodes' federation
# certificates for the peer routes, whose messages are signed here like a node signs them) and
# over h2c, for successes and the typical errors; every answer (status, media type, JSON body) is
# recorded and validated against the schema of its route and status by
# tests/integration/openapi_check.py (Debian python3-jsonschema, Draft 2020-12). Then every field
# of every success answer is renamed in a copy, one at a time, and the problem type of every error
# answer: each copy must fail validation; and the answers must fail against a copy of the
# description with one field renamed.
# Last, /metrics of both nodes after all this traffic passes `promtool check metrics`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
source "$(dirname "$0")/repair_sign.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
"$PY" -c 'import jsonschema, yaml' 2>/dev/null ||
    { fail "python3-jsonschema / python3-yaml missing (ops/install-deps)"; exit 1; }

A=120000 B=330100 C=130100
USCC=91120116MA06T8E28X
REC=TJJT-2026-0088
SPEC=gateway/openapi.yaml
ANS=$T/answers
mkdir -p "$ANS"
N=0

# call NODE WHO METHOD PATH [curl args]: WHO is a fixture client (120000-verifier), node:CODE
# (that node's federation certificate) or h2c:ROLE (the h2c listener with x-crgw-role). The
# answer is recorded in $ANS; $STATUS and $BODY are set.
call() {
    local node=$1 who=$2 m=$3 p=$4 w
    shift 4
    local c=(--http2 --cacert "$PKI/federation-ca.pem") u="https://127.0.0.1:$(rp_port "$node" listen)$p"
    case "$who" in
    h2c:*) c=(--http2-prior-knowledge -H "x-crgw-role: ${who#h2c:}") u="http://127.0.0.1:$(rp_port "$node" h2c)$p" ;;
    node:*) c+=(--cert "$PKI/${who#node:}/tls.pem" --key "$PKI/${who#node:}/tls.key.pem") ;;
    *) c+=(--cert "$PKI/clients/$who.pem" --key "$PKI/clients/$who.key.pem") ;;
    esac
    N=$((N + 1))
    w=$(curl -s -X "$m" "${c[@]}" -o "$ANS/$N.body" -w '%{http_code}\t%{content_type}' \
        --max-time 20 "$@" "$u")
    STATUS=${w%%$'\t'*}
    printf '%s\t%s\t%s\n' "$m" "$p" "$w" >"$ANS/$N.meta"
    BODY=$(cat "$ANS/$N.body")
}
want() { expect_eq "$1" "$STATUS" "$2"; } # what status
json() { jq -r "$1" <<<"$BODY"; }
sign() { fed_sign "$1" "$(cat)"; } # node < payload (repair_sign.bash)

for n in $A $B; do rp_start_redis $n; done
printf 'audit: {enabled: true, dir: %s, checkpoint_every: 5, checkpoint_s: 1}\n' "$T/$A/audit" \
    >>"$T/fed/node-$A.yaml"
rp_start_node $A
rp_start_node $B

# ---- operations ----
call $A h2c:operator GET /healthz
want "healthz" 200
call $A 120000-verifier POST /healthz -d x
want "POST /healthz" 405
call $A h2c:operator GET /readyz
want "readyz" 200
call $A 120000-operator GET /metrics
want "metrics (TLS, operator)" 200
call $A h2c:operator DELETE /metrics
want "DELETE /metrics" 405
call $A 120000-verifier GET /v1/openapi.yaml
want "openapi.yaml (TLS, verifier)" 200
call $B h2c:verifier POST /v1/openapi.yaml -d x
want "POST /v1/openapi.yaml" 405
call $A h2c:superuser GET /readyz
want "an unknown role in x-crgw-role (h2c)" 400
call $A h2c:operator GET /healthz -H "x-big: $(head -c 20000 /dev/zero | tr '\0' a)"
want "a 20 KB header list" 431
call $A h2c:operator GET /no/such/route
want "a path without route" 404
require_ok

# ---- reports ----
R=tests/fixtures/reports
S=tests/fixtures/samples
call $B $B-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @$R/valid/310000.xml
want "verify a valid report of 310000 at $B" 200
expect_eq "verdict: authentic, recognised (csj)" "$(json .indication)/$(json .recognition.agreement)/$(json .recognition.recognised)" TOTAL_PASSED/csj/true
call $B $B-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @$R/valid/$A.xml
want "verify a valid report of $A at $B" 200
expect_eq "verdict: authentic, not recognised here" "$(json .indication)/$(json .recognition.agreement)/$(json .recognition.recognised)" TOTAL_PASSED/null/false
call $B $B-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @$R/valid/$A.xml
expect_eq "the same again: a cache hit" "$(json .cache)" hit
call $B $B-verifier POST '/v1/reports/verify?to=cy-json' --data-binary @$R/valid/510100.json
want "verify with ?to= (translated)" 200
expect_match "translated into cy-json" "$(json .translated)" '^\{'
call $B $B-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @$R/invalid/tampered-content.$A.xml
want "verify a tampered report" 200
expect_eq "tampered: failed, no report" "$(json .indication)/$(json .report)" TOTAL_FAILED/null
call $B $B-verifier POST '/v1/reports/verify' --data-binary @$R/invalid/unsigned.440100.json
want "verify an unsigned report" 200
call $B $B-verifier POST '/v1/reports/verify?scenario=tender&at=2026-11-20T10:00:00%2B08:00' \
    --data-binary @$R/valid/440100.jws
want "verify a compact JWS ?at=" 200
call $B $B-verifier POST '/v1/reports/verify' --data-binary @$S/jjj-xml.xml
want "verify an unsigned sample" 200
call $B $B-verifier POST '/v1/reports/verify' -H 'content-type: application/xml'
want "verify: empty body" 400
call $B $B-verifier POST '/v1/reports/verify?at=yesterday' --data-binary @$R/valid/$A.xml
want "verify: bad ?at=" 400
call $B $B-verifier POST '/v1/reports/verify?to=klingon' --data-binary @$R/valid/$A.xml
want "verify: unknown dialect" 400
call $B $B-repair_desk POST '/v1/reports/verify' --data-binary @$R/valid/$A.xml
want "verify as repair desk" 403
call $B $B-verifier GET '/v1/reports/verify'
want "GET verify" 405
head -c $((5 * 1024 * 1024)) /dev/zero >"$T/big"
call $B h2c:verifier POST /v1/reports/verify --data-binary @"$T/big"
want "verify: 5 MiB body" 413
"$PY" - "$R" "$A" >"$T/batch.ndjson" <<'PYEOF'
import json, sys
r, a = sys.argv[1], sys.argv[2]
for name in ("valid/%s.xml" % a, "invalid/tampered-content.%s.xml" % a):
    print(json.dumps({"name": name, "report": open("%s/%s" % (r, name), encoding="utf-8").read()}))
print(json.dumps({"name": "no report"}))
PYEOF
call $B $B-verifier POST '/v1/reports/verify-batch?scenario=tender' --data-binary @"$T/batch.ndjson" \
    -H 'content-type: application/x-ndjson'
want "verify-batch: NDJSON" 200
call $B $B-verifier POST '/v1/reports/verify-batch' -F "a=@$R/valid/$A.xml;filename=a.xml" \
    -F "b=@$R/valid/510100.json;filename=b.json"
want "verify-batch: multipart" 200
call $B $B-verifier POST '/v1/reports/verify-batch' --data-binary @$R/valid/$A.xml \
    -H 'content-type: application/xml'
want "verify-batch: another content type" 415
call $B $B-verifier POST '/v1/reports/verify-batch' --data-binary 'no boundary here' \
    -H 'content-type: multipart/form-data; boundary=zz'
want "verify-batch: multipart without boundaries" 400
call $B $B-repair_desk POST '/v1/reports/verify-batch' --data-binary @"$T/batch.ndjson" \
    -H 'content-type: application/x-ndjson'
want "verify-batch as repair desk" 403

call $B $B-verifier POST '/v1/reports/translate' --data-binary @$S/jjj-xml.xml
want "translate to canonical" 200
call $B $B-verifier POST '/v1/reports/translate?from=cy-json&to=gba-json' --data-binary @$S/cy-json.payload.json
want "translate cy-json to gba-json" 200
call $B $B-verifier POST '/v1/reports/translate?to=csj-xml' --data-binary @$S/gba-json.payload.json
want "translate gba-json to csj-xml" 200
sed 's/20260320/20260230/' $S/jjj-xml.xml >"$T/bad-date.xml"
call $B $B-verifier POST '/v1/reports/translate' --data-binary @"$T/bad-date.xml"
want "translate: no such date" 422
expect_match "the error names the field" "$(json '.errors[0].path')" 'decided_on'
call $B $B-verifier POST '/v1/reports/translate?from=klingon' --data-binary @$S/jjj-xml.xml
want "translate: unknown dialect" 400
call $B $B-operator POST '/v1/reports/translate' --data-binary @$S/jjj-xml.xml
want "translate as operator" 403
call $B $B-verifier PUT '/v1/reports/translate' -d x
want "PUT translate" 405
call $B h2c:verifier POST /v1/reports/translate --data-binary @"$T/big"
want "translate: 5 MiB body" 413
require_ok

# ---- repair: applications at B ----
APP='{"subject_uscc": "'$USCC'",
 "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport",
            "kind": "administrative_penalty"},
 "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
 "applicant": {"name": "天津海河通达物流有限公司", "contact": "022-0000000"},
 "materials": [{"name": "罚款缴纳凭证.pdf", "sha256": "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"}]}'
J=(-H 'content-type: application/json')
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -H 'idempotency-key: app-1' -d "$APP"
want "application filed at B" 201
ID=$(json .application_id)
call $B $B-repair_desk GET "/v1/repair/applications?status=open&limit=10"
want "open applications at B" 200
call $B $B-platform GET "/v1/repair/applications?status=nope"
want "applications: unknown status" 422
# the console (gateway/console): page, assets, whoami
call $A $A-verifier GET /
want "the console page" 200
call $A $A-verifier POST / -d x
want "POST /" 405
call $A $A-operator GET /assets/app.js
want "the console's script" 200
call $A $A-operator GET /assets/app.css
want "the console's style" 200
call $A $A-operator GET /assets/nope.js
want "an unknown asset" 404
call $A $A-repair_desk GET /v1/whoami
want "whoami" 200
call $A h2c:verifier POST /v1/whoami -d x
want "POST whoami" 405
expect_eq "decide_by is null before acceptance" "$(json .deadlines.decide_by)" null
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -H 'idempotency-key: app-1' -d "$APP"
want "the same Idempotency-Key and body: the first answer again" 201
expect_eq "same application_id" "$(json .application_id)" "$ID"
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -H 'idempotency-key: app-1' \
    -d "${APP/022-0000000/022-1111111}"
want "the same key with another body" 422
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -H "idempotency-key: $(printf 'k%.0s' $(seq 300))" -d "$APP"
want "an Idempotency-Key of 300 characters" 400
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -d "${APP/$USCC/91120116MA06T8E28Y}"
want "bad USCC check character" 422
expect_match "the detail names the field" "$(json .detail)" subject_uscc
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -d "${APP/\"$A\"/\"999999\"}"
want "unknown origin node" 422
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -d '{"subject_uscc": '
want "malformed JSON" 400
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}"
want "empty body" 400
call $B $B-verifier POST /v1/repair/applications "${J[@]}" -d "$APP"
want "a verifier may not file" 403
call $B $B-repair_desk DELETE /v1/repair/applications
want "DELETE /v1/repair/applications (GET lists, POST files)" 405

at_status() { call "$1" "$2" GET "/v1/repair/applications/$ID" && [ "$(json .status)" = "$3" ]; }
rp_wait 10 at_status $A $A-operator delivered
want "the application at A (operator)" 200
expect_eq "delivered to A" "$(json .status)" delivered
rp_wait 10 at_status $B $B-repair_desk delivered
want "the application at B (repair desk)" 200
call $B $B-repair_desk GET /v1/repair/applications/NO-SUCH-APP
want "unknown application" 404
call $B $B-repair_desk GET '/v1/repair/applications/bad%20id'
want "malformed application id" 404
call $B $B-verifier GET "/v1/repair/applications/$ID"
want "a verifier may not read applications" 403
call $B $B-repair_desk DELETE "/v1/repair/applications/$ID"
want "DELETE an application" 405
require_ok

# ---- repair: decisions at A ----
decision() { # node client decision [extra json] [curl args]
    local node=$1 who=$2 d=$3 extra=${4:-}
    shift 4 2>/dev/null || shift $#
    call "$node" "$who" POST /v1/repair/decisions "${J[@]}" "$@" -d '{
      "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport"},
      "subject_uscc": "'$USCC'", "application_id": "'$ID'", "decision": "'$d'",
      "decided_by": "天津市交通运输委员会", "decided_at": "2026-11-23T10:00:00+08:00"'"$extra"'}'
}
decision $A $A-platform repaired ""
want "repaired before accepted" 409
decision $B $B-platform accepted ""
want "a decision at B (not the origin)" 403
decision $A $A-repair_desk accepted ""
want "a repair desk may not decide" 403
decision $A $A-platform accepted ', "extension": "yes"'
want "extension must be a boolean" 422
decision $A $A-platform accepted ', "extension": true' -H 'idempotency-key: dec-1'
want "accepted at A" 201
EV1=$(json .event_id)
decision $A $A-platform accepted ', "extension": true' -H 'idempotency-key: dec-1'
want "the same decision and key: the first answer again" 201
expect_eq "same event" "$(json .event_id)" "$EV1"
decision $A $A-platform repaired ""
want "repaired at A" 201
call $A $A-platform POST /v1/repair/decisions "${J[@]}" -d '[1]'
want "a decision that is not an object" 400
call $A $A-platform GET /v1/repair/decisions
want "GET decisions" 405

has_status() { call "$1" "$2" GET "/v1/subjects/$USCC/repairs" && [ "$(json '.records[0].status')" = "$3" ]; }
rp_wait 10 has_status $B $B-verifier repaired
want "subject repairs at B" 200
expect_eq "B shows the record repaired" "$(json '.records[0].status')" repaired
call $A $A-platform GET "/v1/subjects/$USCC/repairs"
want "subject repairs at A" 200
call $A $A-verifier GET /v1/subjects/91110000000000000X/repairs
want "subject repairs: not a USCC" 422
call $A $A-operator GET "/v1/subjects/$USCC/repairs"
want "an operator may not read subject repairs" 403
call $A $A-verifier POST "/v1/subjects/$USCC/repairs" -d x
want "POST subject repairs" 405
call $A $A-verifier GET /v1/repair/applications/$ID/history
want "no route" 404

# the verification at B now shows the record changed since the report's issue
call $B $B-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @$R/valid/$A.xml
want "verify after the repair" 200
expect_eq "changed record" "$(json '.current.changed_records[0].status')" repaired
require_ok

# ---- federation: operators ----
call $A $A-operator GET /v1/federation/peers
want "peers at A" 200
expect_eq "B: nothing waiting" "$(jq -r '.peers[] | select(.node == "'$B'") | .outbox_lag' <<<"$BODY")" 0
call $A $A-verifier GET /v1/federation/peers
want "peers as verifier" 403
call $A $A-operator POST /v1/federation/peers -d x
want "POST peers" 405
# a dead letter at A for C (not running), then redriven
rp_redis $A XADD crgw:dead:$C '*' k e id DEAD-LETTER-0001 seq 99 p '{}' at "$(date +%s%3N)" >/dev/null
call $A $A-operator GET /v1/federation/peers/$C/dead-letters
want "C's dead letters listed" 200
expect_eq "one dead letter" "$(json '.dead_letters | length')" 1
call $A $A-operator GET "/v1/federation/peers/$C/dead-letters?limit=0"
want "dead letters: limit 0" 422
call $A $A-operator GET /v1/federation/peers/999999/dead-letters
want "dead letters: unknown peer" 404
call $A $A-operator GET /v1/federation/status
want "federation status" 200
call $A $A-verifier GET /v1/federation/status
want "federation status as verifier" 403
call $A $A-operator POST /v1/federation/peers/$C/dead-letters/redrive
want "redrive C's dead letters" 200
expect_eq "one redriven" "$(json .redriven)" 1
call $A $A-operator POST /v1/federation/peers/999999/dead-letters/redrive
want "redrive: unknown peer" 404
call $A $A-operator POST /v1/federation/peers/$A/dead-letters/redrive
want "redrive: this node itself" 404
call $A $A-platform POST /v1/federation/peers/$C/dead-letters/redrive
want "redrive as platform" 403
call $A $A-operator GET /v1/federation/peers/$C/dead-letters/redrive
want "GET redrive" 405
require_ok

# ---- federation: between nodes (messages signed here as the node would) ----
EVENT() { # event_id origin_seq [origin]
    jq -cn --arg e "$1" --argjson s "$2" --arg o "${3:-$A}" --arg u $USCC '{event_id: $e,
      origin_node: $o, origin_seq: $s, subject_uscc: $u,
      record: {origin_node: $o, record_id: "TJJT-2026-0099", domain: "transport"},
      decision: "repaired", decided_by: "天津市交通运输委员会",
      decided_at: "2026-11-24T10:00:00+08:00"}'
}
JOSE=(-H 'content-type: application/jose')
EVENT CONFORMANCE-EVENT-0001 1000 | sign $A >"$T/ev1.jws"
call $B node:$A POST /federation/v1/repair/events "${JOSE[@]}" --data-binary @"$T/ev1.jws"
want "an event from its origin" 202
expect_eq "applied" "$(json .result)" applied
call $B node:$A POST /federation/v1/repair/events "${JOSE[@]}" --data-binary @"$T/ev1.jws"
want "the same event again" 200
expect_eq "duplicate" "$(json .result)" duplicate
EVENT CONFORMANCE-EVENT-0002 999 | sign $A >"$T/ev2.jws"
call $B node:$A POST /federation/v1/repair/events "${JOSE[@]}" --data-binary @"$T/ev2.jws"
want "an older event" 202
expect_eq "stale" "$(json .result)" stale
EVENT CONFORMANCE-EVENT-0003 1001 $C | sign $A >"$T/ev3.jws"
call $B node:$A POST /federation/v1/repair/events "${JOSE[@]}" --data-binary @"$T/ev3.jws"
want "an event of another origin" 403
EVENT CONFORMANCE-EVENT-0004 1002 | sign $C >"$T/ev4.jws"
call $B node:$A POST /federation/v1/repair/events "${JOSE[@]}" --data-binary @"$T/ev4.jws"
want "an event signed by another node than the caller" 403
call $B node:$A POST /federation/v1/repair/events "${JOSE[@]}" -d 'x.y.z'
want "a malformed message" 400
call $B $B-platform POST /federation/v1/repair/events "${JOSE[@]}" --data-binary @"$T/ev1.jws"
want "a local client may not post events" 403
call $B node:$A GET /federation/v1/repair/events
want "GET events" 405

FAPP() { # application_id applicant_node record_origin
    jq -cn --arg i "$1" --arg a "$2" --arg o "$3" --arg u $USCC '{application_id: $i,
      subject_uscc: $u, record: {origin_node: $o, record_id: "TJJT-2026-0099", domain: "transport",
                                 kind: "administrative_penalty"},
      commitment_sha256: "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
      applicant: {name: "天津海河通达物流有限公司"}, materials: [], applicant_node: $a,
      filed_at: "2026-11-24T09:00:00+08:00"}'
}
FAPP CONFORMANCE-APP-0001 $B $A | sign $B >"$T/app1.jws"
call $A node:$B POST /federation/v1/repair/applications "${JOSE[@]}" --data-binary @"$T/app1.jws"
want "an application from the applicant's node" 202
call $A node:$B POST /federation/v1/repair/applications "${JOSE[@]}" --data-binary @"$T/app1.jws"
want "the same application again" 200
FAPP CONFORMANCE-APP-0002 $B $C | sign $B >"$T/app2.jws"
call $A node:$B POST /federation/v1/repair/applications "${JOSE[@]}" --data-binary @"$T/app2.jws"
want "an application for a record of another node" 422
FAPP CONFORMANCE-APP-0003 $C $A | sign $B >"$T/app3.jws"
call $A node:$B POST /federation/v1/repair/applications "${JOSE[@]}" --data-binary @"$T/app3.jws"
want "an application filed elsewhere than the caller" 403
call $A node:$B POST /federation/v1/repair/applications "${JOSE[@]}" -d 'not a jws'
want "a malformed application message" 400
call $A $A-repair_desk POST /federation/v1/repair/applications "${JOSE[@]}" --data-binary @"$T/app1.jws"
want "a local client may not post applications" 403
call $A node:$B PATCH /federation/v1/repair/applications -d x
want "PATCH applications" 405
call $A $A-operator GET /v1/repair/applications/CONFORMANCE-APP-0001
want "the received application at A" 200
require_ok

# ---- audit ----
has_cp() { call $A $A-operator GET /v1/audit/checkpoints && [ "$(json '.checkpoints | length')" -gt 0 ]; }
rp_wait 10 has_cp
want "audit checkpoints at A" 200
expect_match "at least one checkpoint" "$(json '.checkpoints | length')" '^[1-9]'
call $A $A-operator GET '/v1/audit/checkpoints?since=2999-01-01T00:00:00Z'
want "no checkpoint since 2999" 200
call $A $A-operator GET '/v1/audit/checkpoints?since=soon'
want "checkpoints: bad ?since=" 400
call $B $B-operator GET /v1/audit/checkpoints
want "B keeps no audit log" 404
call $A $A-verifier GET /v1/audit/checkpoints
want "checkpoints as verifier" 403
call $A $A-operator POST /v1/audit/checkpoints -d x
want "POST checkpoints" 405
require_ok

# ---- promtool on both nodes' metrics, after all of this ----
for n in $A $B; do
    call $n $n-operator GET /metrics
    out=$(printf '%s\n' "$BODY" | promtool check metrics 2>&1)
    expect_eq "promtool check metrics at $n (exit $?)" "$out" ""
done

# ---- B without its Redis: 503 answers ----
rp_stop_redis $B
down() { call $B h2c:operator GET /readyz && [ "$STATUS" = 503 ]; }
rp_wait 10 down
want "readyz without Redis" 503
call $B $B-operator GET /v1/federation/peers
want "peers without Redis" 503
call $B $B-verifier GET "/v1/subjects/$USCC/repairs"
want "subject repairs without Redis" 503
call $B $B-repair_desk GET "/v1/repair/applications/$ID"
want "an application without Redis" 503
call $B $B-repair_desk POST /v1/repair/applications "${J[@]}" -d "$APP"
want "filing without Redis" 503
call $B $B-operator POST /v1/federation/peers/$A/dead-letters/redrive
want "redrive without Redis" 503
call $B $B-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @$R/valid/$A.xml
want "verify without Redis: answered by verification" 200
expect_eq "current: unavailable, never []" "$(json .current.changed_records)/$(json .cache)" null/bypass
call $B node:$A POST /federation/v1/repair/events "${JOSE[@]}" --data-binary @"$T/ev1.jws"
want "an event without Redis" 503
require_ok

# ---- validation of every recorded answer ----
out=$("$PY" tests/integration/openapi_check.py validate "$SPEC" "$ANS")
rc=$?
echo "$out" | grep -v '^ok ' | sed 's/^/    /'
expect_eq "every answer ($N) validates against openapi.yaml, every operation has a success and an error" "$rc" 0
grep -q "^validate: $N answers, all valid" <<<"$out" && pass "the checker read all $N answers" ||
    fail "the checker did not read all $N answers"

# ---- a renamed field fails validation ----
out=$("$PY" tests/integration/openapi_check.py mutate "$SPEC" "$ANS")
rc=$?
echo "$out" | grep -v '^ok ' | sed 's/^/    /'
expect_eq "every field renamed in a copy of every success answer fails validation" "$rc" 0
# and the other way round: the same answers against a description with one field renamed
sed 's/^        decide_by:$/        decide_by_renamed:/; s/accept_by, decide_by, overall_by/accept_by, decide_by_renamed, overall_by/' \
    "$SPEC" >"$T/renamed.yaml"
cmp -s "$SPEC" "$T/renamed.yaml" && fail "the renaming sed changed nothing"
out=$("$PY" tests/integration/openapi_check.py validate "$T/renamed.yaml" "$ANS")
expect_eq "answers fail against a description with deadlines.decide_by renamed" "$?" 1
expect_match "and the failure names the field" "$out" "decide_by"
