#!/bin/bash
# Trust material is loaded before a configuration is swapped in: a reload whose CRL is not signed
# by an anchor of its node is refused (file:line in the log) and verification goes on with the
# running trust material; the trust material is loaded at start-up, not by the first request.
source "$(dirname "$0")/lib.sh"
start_redis
cfg=$(make_node_config 330100)
sed -e "s#\.\./\.\./#$CRGW_ROOT/#g" "$CRGW_ROOT/config/test/federation.yaml" >"$T/federation.yaml"
sed -i "s#^federation: .*#federation: $T/federation.yaml#" "$cfg"
start_crgw "$cfg"
expect_match "trust material loaded at start-up" "$(cat "$T/crgw.log")" 'verify: trust material loaded'

V=$CRGW_ROOT/tests/fixtures/reports/valid
h2c POST /v1/reports/verify --data-binary @"$V/120000.xml"
expect_eq "120000 report before the reload" "$(jq -r .indication <<<"$BODY")" TOTAL_PASSED

# 120000's CRL replaced by Beijing's: not signed by any anchor of 120000
sed -i "s#pki/nodes/120000/crl.pem#pki/nodes/110000/crl.pem#" "$T/federation.yaml"
"$CRGW" check-config --config "$cfg" >"$T/check.out" 2>&1
expect_eq "check-config refuses it" "$?" 1
expect_match "check-config names file:line" "$(cat "$T/check.out")" 'federation.yaml:[0-9]+: .*CRL not signed by an anchor of node 120000'
kill -HUP "$CRGW_PID"
for _ in $(seq 60); do grep -q 'reload refused' "$T/crgw.log" && break; sleep 0.05; done
expect_match "reload refused for its trust material" "$(cat "$T/crgw.log")" 'reload refused: trust material'
expect_match "the log names file:line" "$(grep 'reload:' "$T/crgw.log")" 'federation.yaml:[0-9]+: '
h2c POST /v1/reports/verify --data-binary @"$V/120000.xml"
expect_eq "still verifying with the running trust material" "$(jq -r .indication <<<"$BODY")" TOTAL_PASSED
h2c GET /readyz
expect_eq "still ready" "$STATUS" 200
