#!/bin/bash
# Protections: body limit (413, declared and streamed), header list limit (431), slow request
# (408), advertised SETTINGS, many streams.
source "$(dirname "$0")/lib.sh"
start_redis
cfg=$(make_node_config 120000)
sed -i -e 's/^\( *request_timeout_ms:\).*/\1 700/' "$cfg"
start_crgw "$cfg"

# 413 when the declared content-length exceeds max_body (4 MiB in config/test)
head -c $((5 * 1024 * 1024)) /dev/zero >"$T/big"
h2c POST /v1/reports/verify --data-binary @"$T/big" -H 'content-type: application/xml'
expect_eq "5 MiB body with content-length" "$STATUS" 413
expect_problem "413" "$BODY" body-too-large 413

# 413 when a body without content-length grows past the limit while streaming
h2c POST /v1/reports/verify -T - -H 'content-type: application/xml' <"$T/big"
expect_eq "5 MiB streamed POST (no content-length)" "$STATUS" 413
expect_problem "streamed POST 413" "$BODY" body-too-large 413
h2c GET /healthz -T - <"$T/big"
expect_eq "5 MiB streamed body (no content-length)" "$STATUS" 413
expect_problem "streamed 413" "$BODY" body-too-large 413

# a body under the limit is accepted
head -c $((1024 * 1024)) /dev/zero >"$T/ok"
h2c GET /healthz -T - <"$T/ok"
expect_eq "1 MiB streamed body" "$STATUS" 200

# 431 when the header list exceeds max_header_list (16 KiB)
big=$(head -c 20000 /dev/zero | tr '\0' a)
h2c GET /healthz -H "x-big: $big"
expect_eq "20 KB header" "$STATUS" 431
expect_problem "431" "$BODY" headers-too-large 431

# 408 when the request is not complete within request_timeout_ms (700 ms here)
h2c GET /healthz -T - < <(sleep 3)
us=$(grep -o "status=408 bytes=[0-9]* us=[0-9]*" "$T/crgw.log" | head -1 | sed "s/.*us=//")
ms=$((${us:-999999} / 1000))
expect_eq "request never completed" "$STATUS" 408
expect_problem "408" "$BODY" request-timeout 408
[ "$ms" -ge 690 ] && [ "$ms" -lt 1500 ] && pass "408 after ${ms} ms" || fail "408 took ${ms} ms"

# SETTINGS advertised: max concurrent streams and max header list size
out=$(nghttp -nv "http://127.0.0.1:$H2C_PORT/healthz" 2>&1)
expect_match "SETTINGS_MAX_CONCURRENT_STREAMS" "$out" 'SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100'
expect_match "SETTINGS_MAX_HEADER_LIST_SIZE" "$out" 'SETTINGS_MAX_HEADER_LIST_SIZE\(0x06\):16384'

# many streams per connection, well past max concurrent streams in total
out=$(h2load -n 5000 -c 2 -m 100 "http://127.0.0.1:$H2C_PORT/healthz" 2>&1)
expect_match "h2load -m 100: all succeeded" "$out" '5000 succeeded, 0 failed'

h2c GET /healthz
expect_eq "still serving" "$STATUS" 200
stop_crgw TERM
expect_eq "SIGTERM exit status" "$RC" 0
