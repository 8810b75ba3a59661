#!/bin/bash
# Issue 13, acceptance 1, 2 and 5: the web console in a real browser. Debian's chromium,
# headless, driven by puppeteer-core (tests/browser, `npm ci` on first use), presents a client
# certificate of each role from its own NSS database (pk12util; the profile auto-selects it for
# the crgw origin) to node A (120000) of a private copy of the test federation:
#   verifier     uploads a valid, a tampered and a foreign (not recognised) report, reads the three
#                verdicts in Chinese and in English; sees no repair/federation control, and those
#                routes answer 403 to the page's JavaScript; downloads the translation; timings
#   repair_desk  a bad USCC gets the field-named error, a server-side error lands at its field,
#                an application for a record of B (330100, down) is filed and listed
#   operator     the application to B is dead-lettered (A: dead_letter_after_s 2); B starts; the
#                operator presses "redrive" and sees B's lag and dead letters go to 0
#   platform     at the record's origin (A), decides on an application filed at B; an overdue
#                application is shown in red
# Screenshots of every page: build/console-screens/ (SCREENS to change). Any request of a page
# to another origin fails the test.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000 B=330100
SCREENS=${SCREENS:-$CRGW_ROOT/build/console-screens}
for tool in chromium node npm certutil pk12util; do
    command -v "$tool" >/dev/null || { fail "$tool missing: run ops/install-deps"; exit 1; }
done
if [ ! -d "$CRGW_ROOT/tests/browser/node_modules/puppeteer-core" ]; then
    # npm trusts its own CA list unless told otherwise; a machine whose egress goes through a
    # proxy with its own CA has it in the system bundle
    cafile=()
    [ -z "${npm_config_cafile:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ] &&
        cafile=(--cafile /etc/ssl/certs/ca-certificates.crt)
    (cd "$CRGW_ROOT/tests/browser" && npm ci --no-audit --no-fund --loglevel=error "${cafile[@]}") ||
        { fail "npm ci in tests/browser failed (the npm registry must be reachable)"; exit 1; }
fi

# A: dead letters after 2 s, short retries (B is down when the application is filed)
sed -i -e 's/^\(  dead_letter_after_s:\).*/\1 2/' -e 's/^\(  retry_max_ms:\).*/\1 500/' \
    "$T/fed/node-$A.yaml"
grep -q 'dead_letter_after_s: 2$' "$T/fed/node-$A.yaml" || { fail "could not set dead_letter_after_s"; exit 1; }
rp_start_redis $A
rp_start_redis $B
rp_start_node $A
PORT=$(rp_port $A listen)
URL="https://127.0.0.1:$PORT"

# one HOME per role: NSS database with the federation CA and the role's certificate, and a
# profile that selects it for the crgw origin without asking
HOMES="$T/browser"
for role in verifier repair_desk operator platform; do
    h="$HOMES/$role"
    mkdir -p "$h/.pki/nssdb" "$h/profile/Default"
    certutil -N -d "sql:$h/.pki/nssdb" --empty-password
    certutil -A -d "sql:$h/.pki/nssdb" -n crgw-federation-ca -t "C,," -i "$PKI/federation-ca.pem"
    openssl pkcs12 -export -in "$PKI/clients/$A-$role.pem" -inkey "$PKI/clients/$A-$role.key.pem" \
        -name "$A-$role" -passout pass: -out "$h/client.p12"
    pk12util -d "sql:$h/.pki/nssdb" -i "$h/client.p12" -W '' >/dev/null ||
        { fail "pk12util import of $role"; exit 1; }
    printf '{"profile":{"content_settings":{"exceptions":{"auto_select_certificate":{"%s,*":{"setting":{"filters":[{}]}}}}}}}\n' \
        "$URL" >"$h/profile/Default/Preferences"
done
rm -rf "$SCREENS"
mkdir -p "$SCREENS"

browser() { # phase [VAR=value...]
    local phase=$1
    shift
    env CRGW_URL="$URL" CRGW_BROWSER_HOMES="$HOMES" SCREENS="$SCREENS" ORIGIN_PEER=$B \
        CRGW_FIXTURES="$CRGW_ROOT/tests/fixtures/reports" "$@" \
        timeout 180 node "$CRGW_ROOT/tests/browser/console.test.js" "$phase" 2>"$T/browser-$phase.log"
    local rc=$?
    if [ $rc != 0 ]; then
        FAILED=1
        echo "---- browser $phase: stderr ----"
        tail -n 20 "$T/browser-$phase.log"
    fi
}

browser verifier
browser repair_desk
require_ok

# the application to B (down) is dead-lettered at A
dead_of_b() {
    rp_tls $A $A-operator GET /v1/federation/peers
    [ "$(jq -r ".peers[] | select(.node == \"$B\") | .dead_letters" <<<"$BODY")" -ge 1 ] 2>/dev/null
}
rp_wait 15 dead_of_b || fail "the application to $B was not dead-lettered"
expect_match "the dead letter is the application" \
    "$(rp_redis $A XRANGE crgw:dead:$B - + | tr '\n' ' ')" "$(cat "$HOMES/application-id")"
require_ok
rp_start_node $B
browser operator
APP=$(cat "$HOMES/application-id")

# the read-only routes the page uses, directly: bounds and errors name the parameter
rp_tls $A $A-repair_desk GET "/v1/repair/applications?status=bogus"
expect_eq "status filter: 422" "$STATUS" 422
expect_eq "the problem names the parameter" "$(jq -r .field <<<"$BODY")" status
rp_tls $A $A-operator GET "/v1/repair/applications?limit=0"
expect_eq "limit 0: 422 naming limit" "$STATUS $(jq -r .field <<<"$BODY")" "422 limit"
rp_tls $A $A-operator GET "/v1/repair/applications?limit=201"
expect_eq "limit 201: 422" "$STATUS" 422
rp_tls $A $A-platform GET "/v1/repair/applications?status=open&limit=1"
expect_eq "platform lists open applications" "$STATUS $(jq -r '.applications | length' <<<"$BODY")" "200 1"
rp_tls $A $A-operator GET "/v1/repair/applications?status=repaired"
expect_eq "no repaired application" "$(jq -r '.applications | length' <<<"$BODY")" 0
rp_tls $A $A-verifier GET "/v1/repair/applications"
expect_eq "a verifier may not list applications" "$STATUS" 403
rp_tls $A $A-operator GET "/v1/federation/peers/999999/dead-letters"
expect_eq "dead letters of an unknown peer: 404" "$STATUS" 404
rp_tls $A $A-operator GET "/v1/federation/peers/$B/dead-letters"
expect_eq "no dead letter left for $B after the redrive" "$STATUS $(jq -r '.dead_letters | length' <<<"$BODY")" "200 0"
rp_tls $A $A-repair_desk POST /v1/repair/applications -H 'content-type: application/json' \
    -d '{"subject_uscc": "91120116MA06T8E28Y", "record": {"origin_node": "'$B'", "record_id": "x",
         "domain": "transport"}, "commitment_sha256": "00", "applicant": {"name": "x"}}'
expect_eq "server: bad USCC is a 422 naming subject_uscc" "$STATUS $(jq -r .field <<<"$BODY")" \
    "422 subject_uscc"
rp_tls $A $A-operator GET /v1/federation/status
expect_match "status: trust version" "$(jq -r .trust_version <<<"$BODY")" '^[0-9a-f]{64}$'
expect_match "status: the dead-lettering among the recent warnings" \
    "$(jq -r '.recent_errors[].message' <<<"$BODY")" "moved to dead letters"
at_b() { rp_tls $B $B-operator GET "/v1/repair/applications/$APP"; [ "$STATUS" = 200 ]; }
rp_wait 10 at_b
expect_eq "the redriven application reached $B" "$STATUS" 200

# an application filed at B for a record of A, decided on at A by the platform in the browser
rp_tls $B $B-repair_desk POST /v1/repair/applications -H 'content-type: application/json' -d '{
  "subject_uscc": "91120116MA06T8E28X",
  "record": {"origin_node": "'$A'", "record_id": "TJJT-2026-0088", "domain": "transport",
             "kind": "administrative_penalty"},
  "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
  "applicant": {"name": "天津海河通达物流有限公司"}}'
expect_eq "application filed at $B" "$STATUS" 201
ID=$(jq -r .application_id <<<"$BODY")
delivered_a() { rp_tls $A $A-operator GET "/v1/repair/applications/$ID"; [ "$STATUS" = 200 ]; }
rp_wait 10 delivered_a
expect_eq "delivered to $A" "$STATUS" 200
# the first application (filed at A, now delivered to B, never accepted) made overdue
rp_redis $A HSET "crgw:app:$APP" filed_at 2025-09-30T10:00:00+08:00 >/dev/null
browser platform PLATFORM_APP="$ID" OVERDUE_APP="$APP"
rp_tls $A $A-operator GET "/v1/repair/applications/$ID"
expect_eq "the browser's decision is stored at $A" "$(jq -r .status <<<"$BODY")" accepted

n=$(ls "$SCREENS"/*.png 2>/dev/null | wc -l)
if [ "$n" -ge 12 ]; then pass "$n screenshots in ${SCREENS#"$CRGW_ROOT"/}"; else fail "only $n screenshots"; fi
