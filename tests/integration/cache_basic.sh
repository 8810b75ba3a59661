#!/bin/bash
# Verdict cache (issue 6, acceptance 1): a report verified twice is a miss then a hit with the
# identical verdict; a repair decided after issue shows on the next hit; SIGHUP with a CRL that
# revokes the signer changes the trust version: the next answer is REVOKED, not the cached pass;
# Redis gone: bypass with the right verdict; entries of natural persons / TRY_LATER rules are
# unit-tested (tests/unit/test_cache.c).
source "$(dirname "$0")/lib.sh"

PKI_NODES="$CRGW_ROOT/tests/fixtures/pki/nodes"
REPORT="$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml"
USCC=91120116MA06T8E28X

# A private copy of the test federation whose 120000 CRL we can replace.
cp "$PKI_NODES/120000/crl.pem" "$T/crl-120000.pem"
sed -e "s#\.\./\.\./#$CRGW_ROOT/#g" \
    -e "s#$CRGW_ROOT/tests/fixtures/pki/nodes/120000/crl.pem#$T/crl-120000.pem#" \
    "$CRGW_ROOT/config/test/federation.yaml" >"$T/federation.yaml"
grep -q "$T/crl-120000.pem" "$T/federation.yaml" || { fail "federation copy: crl path not rewritten"; exit 1; }
NODE=$(make_node_config 120000)
sed -i -e "s#^federation: .*#federation: $T/federation.yaml#" "$NODE"

start_redis
start_crgw "$NODE"
wait_ready 5 || fail "ready"

verify() { # [query] -> $BODY $STATUS
    h2c POST "/v1/reports/verify?scenario=tender${1:-}" --data-binary @"$REPORT" \
        -H 'content-type: application/xml'
}
field() { # json-text key -> first string or number value of "key"
    printf '%s' "$1" | grep -o "\"$2\":\(\"[^\"]*\"\|[0-9a-z]*\)" | head -1 | sed -e "s/^\"$2\"://" -e 's/"//g'
}
# The verdict without the parts that depend on the moment (the cache appends them last).
verdict_part() { printf '%s' "$1" | sed -e 's/,"current":{.*$//'; }

verify
expect_eq "first answer status" "$STATUS" 200
expect_eq "first answer: miss" "$(field "$BODY" cache)" miss
expect_eq "first answer: verdict" "$(field "$BODY" indication)" TOTAL_PASSED
expect_match "first answer: current" "$BODY" '"current":\{"as_of":"20[0-9-]+T[0-9:]+\+08:00","changed_records":\[\]\}'
V1=$(verdict_part "$BODY")
require_ok

verify
expect_eq "second answer: hit" "$(field "$BODY" cache)" hit
expect_match "second answer: age" "$BODY" '"cache_age_s":[0-9]+\}$'
V2=$(verdict_part "$BODY")
if [ "$V1" = "$V2" ] && [ -n "$V1" ]; then pass "identical verdicts on miss and hit"; else
    fail "verdicts differ"; diff <(echo "$V1") <(echo "$V2") | head; fi
expect_eq "one entry stored" "$(redis-cli -s "$REDIS_SOCK" --scan --pattern 'crgw:vc:*' | wc -l)" 1
KEY=$(redis-cli -s "$REDIS_SOCK" --scan --pattern 'crgw:vc:*' | head -1)
TTL=$(redis-cli -s "$REDIS_SOCK" TTL "$KEY")
if [ "$TTL" -gt 0 ] && [ "$TTL" -le 86400 ]; then pass "entry has a TTL ($TTL s)"; else fail "TTL $TTL"; fi

# Another scenario is another answer (recognition): a miss, not the tender verdict.
h2c POST "/v1/reports/verify?scenario=listing" --data-binary @"$REPORT"
expect_eq "other scenario: miss" "$(field "$BODY" cache)" miss
expect_eq "other scenario: scenario in the answer" "$(field "$BODY" scenario)" listing

# A repair decided after the report's issue (2026-11-18) shows on the very next hit.
redis-cli -s "$REDIS_SOCK" HSET "crgw:rs:$USCC" 120000:TJJT-2026-0088 \
    '{"origin_node":"120000","record_id":"TJJT-2026-0088","domain":"transport","status":"repaired","decided_at":"2026-11-22T16:00:00+08:00","event_id":"01JDTEST","origin_seq":1,"received_at":"2026-11-22T16:00:01+08:00"}' >/dev/null
verify
expect_eq "after repair: still a hit" "$(field "$BODY" cache)" hit
expect_match "after repair: record shown repaired" "$BODY" '"changed_records":\[\{"origin_node":"120000","record_id":"TJJT-2026-0088","domain":"transport","status":"repaired","decided_at":"2026-11-22T16:00:00\+08:00","event_id":"01JDTEST"\}\]'
V3=$(verdict_part "$BODY")
expect_eq "after repair: same signature verdict" "$V3" "$V1"
# restored (revoked repair) later: the latest state is what shows
redis-cli -s "$REDIS_SOCK" HSET "crgw:rs:$USCC" 120000:TJJT-2026-0088 \
    '{"origin_node":"120000","record_id":"TJJT-2026-0088","domain":"transport","status":"published","decided_at":"2026-11-23T09:00:00+08:00","event_id":"01JDTEST2","origin_seq":2}' >/dev/null
verify
expect_match "after restore: status published" "$BODY" '"record_id":"TJJT-2026-0088","domain":"transport","status":"published"'
# The same through the repair API of this node (the record's origin): decision -> the next hit.
NOW=$(TZ=Asia/Shanghai date +%Y-%m-%dT%H:%M:%S+08:00)
h2c POST /v1/repair/decisions -H 'content-type: application/json' --data "{\"record\":{\"origin_node\":\"120000\",\"record_id\":\"TJHB-2025-1102\",\"domain\":\"ecology_environment\"},\"subject_uscc\":\"$USCC\",\"decision\":\"repaired\",\"decided_by\":\"tianjin ecology bureau\",\"decided_at\":\"$NOW\",\"extension\":false}"
expect_eq "repair API: decision stored" "$STATUS" 201
EVENT=$(field "$BODY" event_id)
verify
expect_eq "after API decision: a hit" "$(field "$BODY" cache)" hit
expect_match "after API decision: both records changed" "$BODY" "\"changed_records\":\[\{\"origin_node\":\"120000\",\"record_id\":\"TJJT-2026-0088\",[^]]*\},\{\"origin_node\":\"120000\",\"record_id\":\"TJHB-2025-1102\",[^}]*\"status\":\"repaired\",\"decided_at\":\"${NOW//+/\\+}\",\"event_id\":\"$EVENT\"\}\]"
require_ok

# SIGHUP with a CRL revoking the signer: a new trust version, the cached pass is unreachable.
mkdir -p "$T/ca"
touch "$T/ca/index.txt"
echo 1000 >"$T/ca/crlnumber"
cat >"$T/ca/ca.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $T/ca/index.txt
crlnumber = $T/ca/crlnumber
certificate = $PKI_NODES/120000/issuing-ca.pem
private_key = $PKI_NODES/120000/issuing-ca.key.pem
default_md = sha256
default_crl_days = 30
unique_subject = no
crl_extensions = ext
[ext]
authorityKeyIdentifier = keyid:always
EOF
for c in "$CRGW_ROOT/tests/fixtures/pki/negative/120000-revoked/signer.pem" "$PKI_NODES/120000/signer.pem"; do
    openssl ca -config "$T/ca/ca.cnf" -revoke "$c" -crl_reason keyCompromise >>"$T/openssl.log" 2>&1 ||
        { fail "openssl ca -revoke"; cat "$T/openssl.log"; exit 1; }
done
openssl ca -config "$T/ca/ca.cnf" -gencrl -out "$T/crl-new.pem" >>"$T/openssl.log" 2>&1 ||
    { fail "openssl ca -gencrl"; cat "$T/openssl.log"; exit 1; }
SERIAL=$(openssl x509 -in "$PKI_NODES/120000/signer.pem" -noout -serial | cut -d= -f2)
openssl crl -in "$T/crl-new.pem" -noout -text | grep -q "$SERIAL" || fail "new CRL lists the signer"
mv "$T/crl-new.pem" "$T/crl-120000.pem"
n=$(grep -c 'configuration reloaded' "$T/crgw.log")
kill -HUP "$CRGW_PID"
for i in $(seq 100); do
    [ "$(grep -c 'configuration reloaded' "$T/crgw.log")" -gt "$n" ] && break
    sleep 0.05
done
[ "$(grep -c 'configuration reloaded' "$T/crgw.log")" -gt "$n" ] || { fail "SIGHUP reload not logged"; exit 1; }
verify
expect_eq "after revocation: not a hit" "$(field "$BODY" cache)" miss
expect_match "after revocation: REVOKED" "$(field "$BODY" subindication)" '^REVOKED'
expect_match "after revocation: not passed" "$(field "$BODY" indication)" '^(TOTAL_FAILED|INDETERMINATE)$'
verify
expect_match "after revocation, again: REVOKED (cached or not, never the old pass)" "$(field "$BODY" subindication)" '^REVOKED'

# Redis gone: still the right verdict, marked bypass; readiness shows the degradation.
stop_redis
verify
expect_eq "redis down: status" "$STATUS" 200
expect_eq "redis down: bypass" "$(field "$BODY" cache)" bypass
expect_match "redis down: verdict still REVOKED" "$(field "$BODY" subindication)" '^REVOKED'
expect_match "redis down: currency unknown, not empty" "$BODY" '"current":\{"as_of":null,"changed_records":null,"unavailable":"[^"]+"\}'
h2c GET /readyz
expect_eq "redis down: readyz 503" "$STATUS" 503
expect_match "redis down: readyz names the cache" "$BODY" 'verdict cache'
h2c GET /metrics
expect_match "metrics: hits" "$BODY" 'crgw_cache_requests_total\{result="hit"\} [1-9]'
expect_match "metrics: misses" "$BODY" 'crgw_cache_requests_total\{result="miss"\} [1-9]'
expect_match "metrics: bypasses" "$BODY" 'crgw_cache_requests_total\{result="bypass"\} [1-9]'
expect_match "metrics: redis round trips" "$BODY" 'crgw_cache_redis_seconds_count\{cmd="get"\} [1-9]'
expect_match "metrics: evictions series" "$BODY" 'crgw_cache_evicted_total [0-9]'
