#!/bin/bash
# Issue 13: every route of the table `crgw serve` builds (printed by `crgw routes`, from the same
# module list) is described in gateway/openapi.yaml with the same roles (x-crgw-roles), and the
# description names no route that does not exist. A route added to a module without its
# description fails here. Also: the description served at /v1/openapi.yaml is the file.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

"$CRGW" routes >"$T/routes.tsv" 2>"$T/routes.err"
expect_eq "crgw routes exits 0" "$?" 0
expect_match "crgw routes lists the server's own routes" "$(cat "$T/routes.tsv")" $'^GET\t/healthz\tany\thealthz'
expect_match "crgw routes lists module routes" "$(cat "$T/routes.tsv")" $'POST\t/v1/repair/decisions\tplatform\trepair_decision'
out=$("$PY" tests/integration/openapi_check.py routes gateway/openapi.yaml <"$T/routes.tsv")
rc=$?
echo "$out" | grep -v '^ok '
expect_eq "every route is documented with its roles, and nothing else is" "$rc" 0
n=$(wc -l <"$T/routes.tsv")
expect_match "the checker saw every route ($n)" "$out" "^routes: $n in the table, $n in openapi.yaml"

# the check fails on a route that is not documented, and on a documented path that is no route
printf 'GET\t/v1/not-documented\tany\tundocumented\n' >>"$T/routes.tsv"
out=$("$PY" tests/integration/openapi_check.py routes gateway/openapi.yaml <"$T/routes.tsv")
expect_eq "an undocumented route fails the check" "$?" 1
expect_match "and is named" "$out" 'FAIL route GET /v1/not-documented'
grep -v $'\t/healthz\t' "$T/routes.tsv" >"$T/routes2.tsv"
out=$("$PY" tests/integration/openapi_check.py routes gateway/openapi.yaml <"$T/routes2.tsv")
expect_eq "a documented path without a route fails the check" "$?" 1
expect_match "and is named" "$out" 'documents GET /healthz, which is no route'
sed 's/\trepair_desk,operator\t/\toperator\t/' "$T/routes.tsv" | grep -v not-documented >"$T/routes3.tsv"
out=$("$PY" tests/integration/openapi_check.py routes gateway/openapi.yaml <"$T/routes3.tsv")
expect_eq "other roles in the code than in the description fail the check" "$?" 1

# the description itself is checked: a $ref that resolves nowhere fails
sed 's|#/components/schemas/Peer"|#/components/schemas/NoSuchSchema"|' gateway/openapi.yaml >"$T/badref.yaml"
grep -v not-documented "$T/routes.tsv" >"$T/routes4.tsv"
out=$("$PY" tests/integration/openapi_check.py routes "$T/badref.yaml" <"$T/routes4.tsv")
expect_eq "a dangling \$ref fails the check" "$?" 1
expect_match "and is named" "$out" 'NoSuchSchema does not resolve'

# the served description is the file, byte for byte, with its media type (h2c and TLS)
start_redis
start_crgw
curl -s --http2-prior-knowledge -o "$T/served.yaml" -D "$T/h" "http://127.0.0.1:$H2C_PORT/v1/openapi.yaml"
expect_eq "GET /v1/openapi.yaml over h2c is the file" "$(cmp -s "$T/served.yaml" gateway/openapi.yaml && echo same)" same
expect_match "content type application/yaml" "$(cat "$T/h")" '^content-type: application/yaml'
tls 120000-verifier GET /v1/openapi.yaml
expect_eq "over TLS any client certificate may read it (verifier)" "$STATUS" 200
tls 120000-operator GET /v1/openapi.yaml
expect_eq "over TLS any client certificate may read it (operator)" "$STATUS" 200
tls none GET /v1/openapi.yaml
expect_eq "without a certificate: no answer (refused in the handshake)" "$STATUS" 000
h2c POST /v1/openapi.yaml
expect_eq "POST /v1/openapi.yaml: 405" "$STATUS" 405
