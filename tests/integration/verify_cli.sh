#!/bin/bash
# crgw verify / crgw sign on the fixtures, cross-checked with xmlsec1, and POST /v1/reports/verify.
#
#  1. every file of reports/EXPECTED.tsv gets its verdict from `crgw verify` (and the exit status);
#  2. xmlsec1 (the independent oracle) agrees on every XML fixture it supports (RSA jjj-xml; it has
#     no SM2): xmlsec1 checks signature + chain only, so it is compared with crgw's
#     signature + chain + validity checks, and its verdict on crgw-signed RSA and ECDSA documents;
#  3. `crgw sign` then `crgw verify` round-trips for every dialect (RS256, PS256, ES256 over XML,
#     SM2-SM3, ES256 JWS, EdDSA) and one-byte changes of the signed output never pass;
#  4. the HTTP route answers the same verdicts (h2c and mTLS with roles).
source "$(dirname "$0")/lib.sh"

NOW=2026-11-23T10:00:00+08:00
NOW_Q=2026-11-23T02:00:00Z # the same instant, without a "+" to escape in a query
FIX=tests/fixtures
CFG=$(make_node_config 330100)

# verdict FILE -> "MAIN/SUB" (SUB "-" when passed), from crgw verify's one-line JSON
verdict_of() { # json-line
    local main sub
    main=$(printf '%s' "$1" | grep -o '"indication":"[A-Z_]*"' | head -1 | cut -d'"' -f4)
    sub=$(printf '%s' "$1" | grep -o '"subindication":"[A-Z_]*"' | head -1 | cut -d'"' -f4)
    echo "$main/${sub:--}"
}
check_result() { # json-line check -> PASSED|FAILED|WARNING|absent
    local r
    r=$(printf '%s' "$1" | grep -o "\"check\":\"$2\",\"result\":\"[A-Z]*\"" | head -1 | cut -d'"' -f8)
    echo "${r:-absent}"
}

# ---- 1. EXPECTED.tsv ----
n=0
while IFS=$'\t' read -r file main sub also note; do
    [ "$file" = file ] && continue
    out=$("$CRGW" verify --config "$CFG" --at "$NOW" "$FIX/reports/$file")
    rc=$?
    got=$(verdict_of "$out")
    if [ "$got" = "$main/$sub" ] || [ "$got" = "$also" ]; then
        pass "$file: $got"
    else
        fail "$file: got $got, want $main/$sub (or $also): $out"
    fi
    if [ "$main" = TOTAL_PASSED ]; then want_rc=0; else want_rc=1; fi
    expect_eq "$file: exit status" "$rc" "$want_rc"
    n=$((n + 1))
done <"$FIX/reports/EXPECTED.tsv"
expect_eq "EXPECTED.tsv files verified" "$n" 33

# several files at once: one line each, exit 1 when one fails
out=$("$CRGW" verify --config "$CFG" --at "$NOW" "$FIX"/reports/valid/*)
expect_eq "13 valid files at once: exit 0" "$?" 0
expect_eq "13 valid files at once: 13 lines" "$(printf '%s\n' "$out" | grep -c '"indication":"TOTAL_PASSED"')" 13
"$CRGW" verify --config "$CFG" --at "$NOW" "$FIX/reports/valid/120000.xml" \
    "$FIX/reports/invalid/weak-key.120000.xml" >/dev/null
expect_eq "one bad file among good ones: exit 1" "$?" 1
# --scenario: recognised only under an agreement with this node (330100: csj)
"$CRGW" verify --config "$CFG" --at "$NOW" --scenario tender "$FIX/reports/valid/310000.xml" >/dev/null
expect_eq "310000 report recognised in 330100 for tender" "$?" 0
out=$("$CRGW" verify --config "$CFG" --at "$NOW" --scenario tender "$FIX/reports/valid/510100.json")
expect_eq "510100 report not recognised in 330100: exit 1" "$?" 1
expect_match "510100 report in 330100: TOTAL_PASSED but not recognised" "$out" \
    '"indication":"TOTAL_PASSED".*"recognised":false'
# --at: after the report's 90-day csj window, and after the signer's expiry
out=$("$CRGW" verify --config "$CFG" --at 2027-03-01T00:00:00+08:00 --scenario tender "$FIX/reports/valid/310000.xml")
expect_match "csj report 103 days old: not recognised" "$out" '"recognised":false.*at most 90'
out=$("$CRGW" verify --config "$CFG" --at 2036-06-01T00:00:00+08:00 "$FIX/reports/valid/310000.xml")
expect_eq "verified in 2036: signer expired" "$(verdict_of "$out")" INDETERMINATE/OUT_OF_BOUNDS_NO_POE
"$CRGW" verify --config "$CFG" --at yesterday "$FIX/reports/valid/310000.xml" >/dev/null 2>&1
expect_eq "bad --at: usage error" "$?" 2
require_ok

# ---- 2. xmlsec1 oracle ----
xmlsec_ok() { # file trusted-ca -> OK|FAIL
    if xmlsec1 --verify --trusted-pem "$2" --enabled-key-data x509 "$1" >/dev/null 2>&1; then
        echo OK
    else
        echo FAIL
    fi
}
xml_n=0
for f in "$FIX"/reports/valid/*.xml "$FIX"/reports/invalid/*.xml; do
    node=$(basename "$f" .xml)
    node=${node##*.}
    # xmlsec1 has no SM2: skip csj-xml (310000, 330100)
    case "$node" in 310000 | 330100) continue ;; esac
    x=$(xmlsec_ok "$f" "$FIX/pki/nodes/$node/issuing-ca.pem")
    out=$("$CRGW" verify --config "$CFG" --at "$NOW" "$f")
    c=OK
    for chk in reference_digest signature chain validity; do
        [ "$(check_result "$out" "$chk")" = PASSED ] || c=FAIL
    done
    expect_eq "xmlsec1 agrees on $(basename "$(dirname "$f")")/$(basename "$f") (signature+chain)" "$c" "$x"
    xml_n=$((xml_n + 1))
done
expect_eq "XML fixtures cross-checked with xmlsec1 (all jjj-xml)" "$xml_n" 14

# ---- 3. crgw sign -> crgw verify, every dialect; xmlsec1 on crgw-signed RSA/ECDSA ----
S=$T/sign
mkdir -p "$S"
sign() { # name node dialect in [alg] [keynode]
    local name=$1 node=$2 dialect=$3 in=$4 alg=${5:-} kn=${6:-$2} a=()
    [ -n "$alg" ] && a=(--alg "$alg")
    "$CRGW" sign --config "$CFG" --key "$FIX/pki/nodes/$kn/signer.key.pem" \
        --cert "$FIX/pki/nodes/$kn/signer.pem" --chain "$FIX/pki/nodes/$kn/issuing-ca.pem" \
        --dialect "$dialect" "${a[@]}" "$in" "$S/$name"
}
sign jjj-rs256.xml 120000 jjj-xml "$FIX/samples/jjj-xml.xml" && pass "sign jjj-xml RS256" || fail "sign jjj-xml RS256"
sign jjj-ps256.xml 120000 jjj-xml "$FIX/samples/jjj-xml.xml" PS256 && pass "sign jjj-xml PS256" || fail "sign jjj-xml PS256"
sign csj-sm2.xml 310000 csj-xml "$FIX/samples/csj-xml.xml" && pass "sign csj-xml SM2" || fail "sign csj-xml SM2"
sign cy-es256.json 510100 cy-json "$FIX/samples/cy-json.payload.json" && pass "sign cy-json" || fail "sign cy-json"
sign gba-eddsa.jws 440100 gba-json "$FIX/samples/gba-json.payload.json" && pass "sign gba-json" || fail "sign gba-json"
# ECDSA over jjj-xml content: cryptographically sound, refused by 120000's allow-list
sign jjj-es256.xml 120000 jjj-xml "$FIX/samples/jjj-xml.xml" ES256 510100 && pass "sign jjj-xml ES256" || fail "sign ES256"
require_ok
for f in jjj-rs256.xml jjj-ps256.xml csj-sm2.xml cy-es256.json gba-eddsa.jws; do
    out=$("$CRGW" verify --config "$CFG" --at "$NOW" "$S/$f")
    expect_eq "crgw sign -> crgw verify: $f" "$(verdict_of "$out")" TOTAL_PASSED/-
done
[ "$(tail -c 1 "$S/gba-eddsa.jws" | od -An -tx1 | tr -d ' ')" != 0a ] &&
    pass "gba-json compact output has no trailing newline" || fail "gba-json output ends with a newline"
out=$("$CRGW" verify --config "$CFG" --at "$NOW" "$S/jjj-es256.xml")
expect_eq "ES256 jjj-xml report: algorithm refused for 120000" "$(check_result "$out" algorithm)" FAILED
expect_eq "xmlsec1 verifies crgw's RS256 signature" "$(xmlsec_ok "$S/jjj-rs256.xml" "$FIX/pki/nodes/120000/issuing-ca.pem")" OK
expect_eq "xmlsec1 verifies crgw's ES256 signature" "$(xmlsec_ok "$S/jjj-es256.xml" "$FIX/pki/nodes/510100/issuing-ca.pem")" OK
expect_eq "xmlsec1 refuses crgw's RS256 document under another anchor" "$(xmlsec_ok "$S/jjj-rs256.xml" "$FIX/pki/nodes/110000/issuing-ca.pem")" FAIL

# one-byte changes: every 5th byte of each signed document must not give TOTAL_PASSED. XML: from
# the document element on (comments before it are not signed content), and not inside the chain
# certificates after the signer's in X509Data: those are unsigned hints that chain building may
# ignore (the anchor comes from the trust store), so a changed copy changes nothing.
M=$T/mut
flip_all() { # file step
    local f=$1 step=$2 size start=0 i b nb name skip_from=-1 skip_to=-1
    size=$(stat -c %s "$f")
    case "$f" in
    *.xml)
        start=$(grep -abo '<[^?!]' "$f" | head -1 | cut -d: -f1)
        skip_from=$(grep -abo '</ds:X509Certificate>' "$f" | head -1 | cut -d: -f1)
        skip_to=$(grep -abo '</ds:X509Certificate>' "$f" | tail -1 | cut -d: -f1)
        ;;
    esac
    [ -n "$start" ] || start=0
    for ((i = start; i < size; i += step)); do
        [ "$i" -gt "$skip_from" ] && [ "$i" -lt "$skip_to" ] && continue
        b=$(od -An -tu1 -j "$i" -N1 "$f" | tr -d ' ')
        nb=$((b ^ 1))
        name=$M/$(basename "$f").$i
        cp "$f" "$name"
        printf "\\$(printf '%03o' "$nb")" | dd of="$name" bs=1 seek="$i" conv=notrunc status=none
    done
}
for f in jjj-rs256.xml csj-sm2.xml cy-es256.json gba-eddsa.jws; do
    rm -rf "$M"
    mkdir -p "$M"
    flip_all "$S/$f" 5
    total=$(ls "$M" | wc -l)
    passed=$("$CRGW" verify --config "$CFG" --at "$NOW" "$M"/* | grep -c '"indication":"TOTAL_PASSED"')
    expect_eq "$f: $total one-byte changes, none passes" "$passed" 0
    [ "$total" -gt 200 ] || fail "$f: too few mutations ($total)"
done
require_ok

# ---- 4. POST /v1/reports/verify ----
start_redis
start_crgw "$CFG"
h2c POST "/v1/reports/verify?scenario=tender&at=$NOW_Q" --data-binary @"$FIX/reports/valid/310000.xml"
expect_eq "route: 200" "$STATUS" 200
expect_match "route: TOTAL_PASSED and recognised under csj" "$BODY" \
    '"indication":"TOTAL_PASSED".*"recognition":\{.*"agreement":"csj".*"recognised":true'
h2c POST "/v1/reports/verify?at=$NOW_Q" --data-binary @"$FIX/reports/invalid/tampered-content.440100.jws"
expect_eq "route: failed verdict is still 200" "$STATUS" 200
expect_match "route: SIG_CRYPTO_FAILURE" "$BODY" '"subindication":"SIG_CRYPTO_FAILURE"'
h2c POST "/v1/reports/verify?at=$NOW_Q" --data-binary @"$FIX/reports/invalid/revoked-signer.120000.xml"
expect_match "route: REVOKED" "$BODY" '"indication":"TOTAL_FAILED","subindication":"REVOKED"'
h2c POST "/v1/reports/verify" -H 'content-type: application/xml' --data-binary ''
expect_eq "route: empty body 400" "$STATUS" 400
h2c POST "/v1/reports/verify?at=notatime" --data-binary @"$FIX/reports/valid/310000.xml"
expect_eq "route: bad at 400" "$STATUS" 400
h2c POST "/v1/reports/verify?to=jjj-xml&at=$NOW_Q" --data-binary @"$FIX/reports/valid/510100.json"
expect_match "route: ?to= adds the translation" "$BODY" '"translated":"<\?xml'
tls 330100-verifier POST "/v1/reports/verify?at=$NOW_Q" --data-binary @"$FIX/reports/valid/440300.jws"
expect_eq "route over mTLS, verifier: 200" "$STATUS" 200
expect_match "route over mTLS: TOTAL_PASSED" "$BODY" '"indication":"TOTAL_PASSED"'
tls 330100-operator POST "/v1/reports/verify" --data-binary @"$FIX/reports/valid/440300.jws"
expect_eq "route over mTLS, operator: 403" "$STATUS" 403
