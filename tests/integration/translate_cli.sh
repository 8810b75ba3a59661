#!/usr/bin/env bash
# crgw translate: the four samples and the signed fixtures to canonical, into every dialect and
# back, GB18030 output, exit codes and "path: message" error lines.
set -u
cd "${CRGW_ROOT:-.}"
CRGW=${CRGW:-build/crgw}
CFG=config/test/node-110000.yaml
tmp=$(mktemp -d /tmp/crgw-translate.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
S=tests/fixtures/samples
# canonical: the same report from every sample (dialect, report_id, issuer, valid_until,
# severity_local and provenance aside); the fields compared with jq-free grep of stable lines
for f in $S/jjj-xml.xml $S/csj-xml.xml $S/cy-json.payload.json $S/gba-json.payload.json \
         tests/fixtures/reports/valid/*; do
    if ! "$CRGW" translate --config "$CFG" "$f" >"$tmp/out.json" 2>"$tmp/err"; then
        echo "FAIL: $f does not translate: $(cat "$tmp/err")"; fail=1; continue
    fi
    [ -s "$tmp/err" ] && { echo "FAIL: $f: unexpected warnings: $(cat "$tmp/err")"; fail=1; }
    for want in '"uscc": "91120116MA06T8E28X"' '"translated_by": "110000"' \
                '"decided_on": "2025-11-02"' '"criminal_record": "none"' '"signed": false'; do
        grep -qF "$want" "$tmp/out.json" || { echo "FAIL: $f: missing $want"; fail=1; }
    done
    sha=$(sha256sum "$f" | cut -d' ' -f1)
    grep -qF "\"source_sha256\": \"$sha\"" "$tmp/out.json" || { echo "FAIL: $f: source_sha256"; fail=1; }
done
# into every dialect and back
for to in jjj-xml csj-xml cy-json gba-json; do
    "$CRGW" translate --config "$CFG" --to "$to" $S/cy-json.payload.json >"$tmp/doc" 2>"$tmp/err" ||
        { echo "FAIL: cy-json -> $to: $(cat "$tmp/err")"; fail=1; continue; }
    "$CRGW" translate --config "$CFG" --from "$to" "$tmp/doc" >"$tmp/back.json" 2>"$tmp/err2" ||
        { echo "FAIL: $to -> canonical: $(cat "$tmp/err2")"; fail=1; continue; }
    grep -qF '"record_id": "TJHB-2025-1102"' "$tmp/back.json" || { echo "FAIL: $to round trip"; fail=1; }
    case $to in
    csj-xml|gba-json) grep -q '^warning: valid_until: ' "$tmp/err" ||
        { echo "FAIL: $to: no valid_until warning"; fail=1; } ;;
    esac
done
"$CRGW" translate --to csj-xml $S/jjj-xml.xml >"$tmp/csj.xml" 2>/dev/null
head -1 "$tmp/csj.xml" | grep -qF '<?xml version="1.0" encoding="GB18030"?>' || { echo "FAIL: GB18030 declaration"; fail=1; }
iconv -f GB18030 -t UTF-8 "$tmp/csj.xml" | grep -q '<信用报告' || { echo "FAIL: GB18030 bytes"; fail=1; }
grep -q '<信用报告' "$tmp/csj.xml" && { echo "FAIL: UTF-8 bytes in GB18030 output"; fail=1; }
# errors: exit 2, one "path: message" line each
sed 's/<CFRQ>20260320/<CFRQ>20260230/' $S/jjj-xml.xml >"$tmp/bad.xml"
out=$("$CRGW" translate "$tmp/bad.xml" 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] || { echo "FAIL: bad date: exit $rc, want 2"; fail=1; }
echo "$out" | grep -q '^records\[0\]\.decided_on: "20260230": no such date' || { echo "FAIL: error line: $out"; fail=1; }
out=$("$CRGW" translate $S/csj-xml.utf8.xml 2>&1 >/dev/null); rc=$?
[ $rc -eq 2 ] && echo "$out" | grep -q '^\$: XML: ' || { echo "FAIL: GB18030 mojibake not refused ($rc): $out"; fail=1; }
"$CRGW" translate --to nope $S/jjj-xml.xml >/dev/null 2>&1; [ $? -eq 64 ] || { echo "FAIL: unknown dialect must exit 64"; fail=1; }
"$CRGW" translate >/dev/null 2>&1; [ $? -eq 64 ] || { echo "FAIL: usage must exit 64"; fail=1; }
"$CRGW" translate /nonexistent >/dev/null 2>&1; [ $? -eq 1 ] || { echo "FAIL: missing file must exit 1"; fail=1; }
[ $fail -eq 0 ] && echo "translate_cli: ok"
exit $fail
