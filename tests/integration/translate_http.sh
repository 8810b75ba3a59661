#!/bin/bash
# POST /v1/reports/translate over TLS (verifier certificate) and h2c: canonical, a dialect
# (GB18030 csj-xml carried as a UTF-8 string in JSON), 422 with error paths, 403 for other roles.
source "$(dirname "$0")/lib.sh"
start_redis
start_crgw

S=$CRGW_ROOT/tests/fixtures/samples
V=$CRGW_ROOT/tests/fixtures/reports/valid

tls 120000-verifier POST /v1/reports/translate --data-binary @"$V/510100.json"; body=$BODY
expect_eq "signed cy-json -> canonical: status" "$STATUS" 200
expect_eq "canonical dialect" "$(jq -r .dialect <<<"$body")" cy-json
expect_eq "canonical uscc" "$(jq -r .subject.uscc <<<"$body")" 91120116MA06T8E28X
expect_eq "provenance digest of the exact bytes" "$(jq -r .provenance.source_sha256 <<<"$body")" \
    "$(sha256sum "$V/510100.json" | cut -d' ' -f1)"
expect_eq "translated by this node" "$(jq -r .provenance.translated_by <<<"$body")" 120000
expect_eq "translation is unsigned" "$(jq -r .provenance.signed <<<"$body")" false

# the same answer as the CLI (provenance aside)
"$CRGW" translate --config "$CRGW_CONFIG" "$V/510100.json" >"$T/cli.json" 2>/dev/null
expect_eq "HTTP answer equals the CLI's" "$(jq -S 'del(.provenance)' <<<"$body")" \
    "$(jq -S 'del(.provenance)' "$T/cli.json")"

tls 120000-verifier POST '/v1/reports/translate?from=jjj-xml&to=csj-xml' --data-binary @"$S/jjj-xml.xml"
body=$BODY
expect_eq "jjj-xml -> csj-xml: status" "$STATUS" 200
expect_eq "document dialect" "$(jq -r .dialect <<<"$body")" csj-xml
# a JSON string holds Unicode: the document travels re-encoded to UTF-8 with a matching declaration
expect_match "csj-xml document declares its (UTF-8) encoding" "$(jq -r .document <<<"$body")" 'encoding="UTF-8"'
expect_match "csj-xml document carries the report number" "$(jq -r .document <<<"$body")" '<报告编号>JJJ120000202611180001</报告编号>'
expect_match "valid_until cannot be carried: warning" "$(jq -c .warnings <<<"$body")" 'valid_until'

# the document back to canonical gives the same report where both carry the fields, also when
# re-encoded to GB18030 with a GB18030 declaration (the same document)
jq -r .document <<<"$body" >"$T/doc8.xml"
tls 120000-verifier POST '/v1/reports/translate?from=csj-xml' --data-binary @"$T/doc8.xml"
expect_eq "csj-xml (UTF-8) back to canonical" "$STATUS" 200
canon8=$BODY
sed '1s/encoding="UTF-8"/encoding="GB18030"/' "$T/doc8.xml" | iconv -f UTF-8 -t GB18030 >"$T/doc.xml"
tls 120000-verifier POST '/v1/reports/translate?from=csj-xml' --data-binary @"$T/doc.xml"
expect_eq "csj-xml (GB18030) back to canonical" "$STATUS" 200
expect_eq "round trip keeps the records" "$(jq -c '[.records[].record_id]' <<<"$BODY")" \
    '["TJJT-2026-0088","TJHB-2025-1102"]'
expect_eq "UTF-8 and GB18030 copies give one report" "$(jq -S 'del(.provenance)' <<<"$BODY")" \
    "$(jq -S 'del(.provenance)' <<<"$canon8")"

# 422 with the exact path of what is wrong
sed 's/<CFRQ>20251102</<CFRQ>20250230</' "$S/jjj-xml.xml" >"$T/bad.xml"
tls 120000-verifier POST /v1/reports/translate --data-binary @"$T/bad.xml"; body=$BODY
expect_eq "impossible date: 422" "$STATUS" 422
expect_problem "422 problem" "$body" untranslatable-report 422
expect_match "error names the field path" "$(jq -c .errors <<<"$body")" '"path":"records\[1\]\.decided_on"'

printf '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><XYBG xmlns="urn:jjj:xyxx:bg:1"/>' >"$T/dtd.xml"
tls 120000-verifier POST '/v1/reports/translate?from=jjj-xml' --data-binary @"$T/dtd.xml"
expect_eq "DOCTYPE refused: 422" "$STATUS" 422

# roles: a repair desk may not translate; h2c may
tls 120000-repair_desk POST /v1/reports/translate --data-binary @"$V/510100.json"
expect_eq "repair_desk: 403" "$STATUS" 403
h2c POST /v1/reports/translate --data-binary @"$S/gba-json.payload.json"
expect_eq "h2c loopback: 200" "$STATUS" 200
expect_eq "gba-json date converted" "$(jq -r .issued_at <<<"$BODY")" 2026-11-18T10:30:00+08:00
