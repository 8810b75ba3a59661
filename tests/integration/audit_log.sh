#!/bin/bash
# Issue 12, acceptance 1: the audit log on three nodes (A 120000 origin, B 330100 applicant,
# C 130100 member). 100 verifications at A and a whole repair flow (application at B, delivered
# to A, accepted and repaired at A, applied at B and C); then `crgw audit verify` exits 0 with an
# intact chain on each node, and `crgw audit show --event` finds the repair event at the origin,
# the applicant and the member. The log holds digests, never the report's names.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000 B=330100 C=130100
USCC=91120116MA06T8E28X
REC=TJJT-2026-0088
for n in $A $B $C; do
    printf 'audit: {enabled: true, dir: %s, checkpoint_every: 40, checkpoint_s: 1}\n' \
        "$T/$n/audit" >>"$T/fed/node-$n.yaml"
    "$CRGW" check-config --config "$T/fed/node-$n.yaml" >/dev/null ||
        { fail "check-config with an audit section"; exit 1; }
    rp_start_redis $n
    rp_start_node $n
done

REPORT=$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml
ok=0
for i in $(seq 100); do
    rp_h2c $A verifier POST '/v1/reports/verify?scenario=tender' --data-binary "@$REPORT"
    [ "$STATUS" = 200 ] && ok=$((ok + 1))
    LAST=$BODY
done
expect_eq "100 verifications answered at A" "$ok" 100

# a natural person's report (signed here by 510100's fixture signer): verified, never logged
jq '.reportNo = "CY-510100-20261118-0099"
    | .subject = {"name": "张小明", "type": "NATURAL_PERSON", "idNumber": "510104199003074512"}
    | .records[0].content = "张小明于成都市锦江区逾期未履行行政处罚"
    | .records[0].documentNo = "锦江罚〔2026〕4512号"' \
    "$CRGW_ROOT/tests/fixtures/samples/cy-json.payload.json" >"$T/np.json"
P=$CRGW_ROOT/tests/fixtures/pki/nodes/510100
"$CRGW" sign --config "$T/fed/node-510100.yaml" --key "$P/signer.key.pem" --cert "$P/signer.pem" \
    --chain "$P/issuing-ca.pem" --dialect cy-json "$T/np.json" "$T/np.jws.json" ||
    { fail "crgw sign of the natural person's report"; exit 1; }
rp_h2c $A verifier POST /v1/reports/verify --data-binary "@$T/np.jws.json"
expect_match "the natural person's report verifies" "$BODY" '"indication":"TOTAL_PASSED"'

APP='{"subject_uscc": "'$USCC'",
 "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport",
            "kind": "administrative_penalty"},
 "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
 "applicant": {"name": "天津海河通达物流有限公司", "contact": "022-0000000"}}'
rp_tls $B $B-repair_desk POST /v1/repair/applications -H 'content-type: application/json' -d "$APP"
expect_eq "application filed at B" "$STATUS" 201
ID=$(jq -r .application_id <<<"$BODY")
delivered() {
    rp_tls $A $A-operator GET "/v1/repair/applications/$ID"
    [ "$STATUS" = 200 ]
}
rp_wait 15 delivered
decision() {
    rp_tls $A $A-platform POST /v1/repair/decisions -H 'content-type: application/json' -d '{
      "record": {"origin_node": "'$A'", "record_id": "'$REC'", "domain": "transport"},
      "subject_uscc": "'$USCC'", "application_id": "'$ID'", "decision": "'$1'",
      "decided_by": "天津市交通运输委员会", "decided_at": "2026-11-23T10:00:00+08:00"}'
}
decision accepted
expect_eq "accepted at A" "$STATUS" 201
decision repaired
expect_eq "repaired at A" "$STATUS" 201
EV=$(jq -r .event_id <<<"$BODY")
repaired_at() {
    rp_tls "$1" "$1-verifier" GET "/v1/subjects/$USCC/repairs"
    grep -q '"repaired"' <<<"$BODY"
}
rp_wait 15 repaired_at $B
rp_wait 15 repaired_at $C
expect_match "B applied the repair" "$BODY" repaired
require_ok

# operator actions are audited: a reload of A
kill -HUP "${RP_PID[$A]}"
reloaded() { grep -q '"action":"reload_accepted"' "$T/$A"/audit/w0/audit-*.jsonl; }
rp_wait 10 reloaded
expect_eq "the reload is an operator entry at A" "$(reloaded && echo yes)" yes
# the signed checkpoints are served to operators (written every second or 40 entries)
rp_h2c $A operator GET /v1/audit/checkpoints
expect_eq "checkpoints served" "$STATUS" 200
expect_match "checkpoints are signed JWS entries" "$BODY" '"checkpoints":\[\{"v":1,"seq":[0-9]+,.*"kind":"checkpoint".*"jws":"ey'
rp_h2c $A verifier GET /v1/audit/checkpoints
expect_eq "checkpoints are for operators" "$STATUS" 403
rp_h2c $A operator GET '/v1/audit/checkpoints?since=2999-01-01T00:00:00Z'
expect_eq "none since the far future" "$(jq '.checkpoints | length' <<<"$BODY")" 0

for n in $A $B $C; do rp_kill_node $n TERM; done # a clean stop writes the final checkpoint

for n in $A $B $C; do
    out=$("$CRGW" audit verify --audit-dir "$T/$n/audit" --config "$T/fed/node-$n.yaml" 2>&1)
    rc=$?
    expect_eq "audit verify at $n exits 0" "$rc" 0
    expect_match "audit verify at $n: chain intact" "$out" 'entries, [0-9]+ checkpoints.*chain intact'
    out=$("$CRGW" audit show --audit-dir "$T/$n/audit" --event "$EV" 2>&1)
    expect_match "audit show --event finds the repair event at $n" "$out" "\"event_id\":\"$EV\""
done
n_verify=$(cat "$T/$A"/audit/*/audit-*.jsonl | grep -c '"kind":"verify"')
expect_eq "one verify entry per answer at A" "$n_verify" 101
body_sha=$(sha256sum "$REPORT" | cut -d' ' -f1)
out=$("$CRGW" audit show --audit-dir "$T/$A/audit" --body-sha256 "$body_sha")
expect_eq "audit show --body-sha256 finds the 100 answers" "$(grep -c '"kind":"verify"' <<<"$out")" 100
# the entries say what was answered: the answer's own fields, copied from the answer text
want=$(jq -c '{indication, subindication, issuer_node, recognised: .recognition.recognised,
               cache}' <<<"$LAST")
got=$(grep '"kind":"verify"' <<<"$out" | tail -1 |
    jq -c '{indication, subindication, issuer_node, recognised, cache}')
expect_eq "the last verify entry holds the answer's verdict, recognition and cache state" \
    "$got" "$want"
expect_match "and its verdict is a passed, recognised one from a cache hit" "$got" \
    '^\{"indication":"TOTAL_PASSED","subindication":null,"issuer_node":"120000","recognised":(true|false),"cache":"hit"\}$'
expect_eq "the first answer was a cache miss" \
    "$(grep '"kind":"verify"' <<<"$out" | head -1 | jq -r .cache)" miss
expect_eq "every entry: caller, route, status, scenario and a 64-hex answer version" \
    "$(grep '"kind":"verify"' <<<"$out" | jq -r 'select(.caller == "h2c:loopback" and
        .route == "reports_verify" and .status == 200 and .scenario == "tender" and
        (.answer_version | test("^[0-9a-f]{64}$"))) | .seq' | wc -l)" 100
np_entry=$(grep "\"body_sha256\":\"$(sha256sum "$T/np.jws.json" | cut -d' ' -f1)\"" \
    "$T/$A"/audit/w0/audit-*.jsonl | jq -c '{scenario, recognised, indication}')
expect_eq "without a scenario: no recognition, no scenario" "$np_entry" \
    '{"scenario":null,"recognised":null,"indication":"TOTAL_PASSED"}'
# tampering is named by the CLI: one byte flipped in a copy of A's log
cp -r "$T/$A/audit" "$T/tampered"
f=$(ls "$T"/tampered/w0/audit-*.jsonl | head -1)
sed -i '20s/"kind":"verify"/"kind":"verifY"/' "$f"
out=$("$CRGW" audit verify --audit-dir "$T/tampered" --config "$T/fed/node-$A.yaml" 2>&1)
rc=$?
expect_eq "audit verify exits 1 on a changed entry" "$rc" 1
expect_match "and names the file and line" "$out" "$(basename "$f"):2[01]: "

# serve --audit-dir overrides audit.dir
port=$(rp_port $A h2c)
"$CRGW" serve --config "$T/fed/node-$A.yaml" --redis "unix:$T/$A/redis.sock" \
    --audit-dir "$T/$A/audit2" >>"$T/$A/crgw.log" 2>&1 &
pid=$!
_LIB_PIDS+=("$pid")
up() { curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$port/healthz"; }
rp_wait 10 up
rp_h2c $A verifier POST '/v1/reports/verify?scenario=tender' --data-binary "@$REPORT"
kill -TERM $pid
wait $pid
out=$("$CRGW" audit verify --audit-dir "$T/$A/audit2" --config "$T/fed/node-$A.yaml" 2>&1)
expect_match "serve --audit-dir wrote an intact chain there" "$out" '^[0-9]+ entries, [0-9]+ checkpoints, chain intact'
expect_eq "its verify entry" "$(grep -c '"kind":"verify"' "$T/$A"/audit2/w0/audit-*.jsonl)" 1

if cat "$T"/*/audit*/*/audit-*.jsonl | grep -q -e '张小明' -e 'NATURAL_PERSON' -e 'natural_person' \
    -e '510104199003074512' -e '逾期未履行' -e '锦江罚'; then
    fail "the natural person's name, id number, type or record content is in an audit file"
else
    pass "nothing of the natural person's report (name, id number, record content) in any audit file"
fi
expect_eq "the natural person's verification is logged by digest" \
    "$(grep -c "\"body_sha256\":\"$(sha256sum "$T/np.jws.json" | cut -d' ' -f1)\"" "$T/$A"/audit/w0/audit-*.jsonl)" 1
if cat "$T"/*/audit*/*/audit-*.jsonl | grep -q -e '天津海河通达物流有限公司' -e '王建国' -e '022-0000000' -e '超限运输'; then
    fail "a name, contact or record content of a report or application is in an audit file"
else
    pass "no name, contact or record content in any audit file"
fi
require_ok
