#!/bin/bash
# HTTP/2 server basics over h2c and TLS: healthz, 404/405 problem+json, metrics, nghttp client,
# h2c refused on a non-loopback address, h2c simulated roles.
source "$(dirname "$0")/lib.sh"
start_redis
start_crgw

h2c GET /healthz; body=$BODY
expect_eq "h2c GET /healthz status" "$STATUS" 200
expect_eq "h2c GET /healthz body" "$body" '{"status":"ok"}'

tls 120000-verifier GET /healthz; body=$BODY
expect_eq "TLS GET /healthz (verifier certificate)" "$STATUS" 200
ver=$(curl -s --http2 --cacert "$PKI/federation-ca.pem" --cert "$PKI/clients/120000-operator.pem" \
    --key "$PKI/clients/120000-operator.key.pem" -o /dev/null -w '%{http_version}' \
    "https://127.0.0.1:$TLS_PORT/healthz")
expect_eq "TLS negotiates HTTP/2" "$ver" 2

# nghttp (the nghttp2 client) over h2c prior knowledge
out=$(nghttp -v "http://127.0.0.1:$H2C_PORT/healthz" 2>&1)
expect_match "nghttp sees :status 200" "$out" ':status: 200'
expect_match "nghttp sees the body" "$out" '"status":"ok"'

# unknown route: 404 problem+json
hdr=$(curl -s --http2-prior-knowledge -D - -o "$T/b" "http://127.0.0.1:$H2C_PORT/no/such/route")
expect_match "404 status" "$hdr" '^HTTP/2 404'
expect_match "404 content-type" "$hdr" 'content-type: application/problem\+json'
expect_problem "404" "$(cat "$T/b")" not-found 404

# wrong method on a known route: 405 with the allowed methods
h2c POST /healthz --data-binary x; body=$BODY
expect_eq "POST /healthz status" "$STATUS" 405
expect_problem "405" "$body" method-not-allowed 405
expect_match "405 names GET" "$body" '"allow":"GET"'
hdr=$(curl -s --http2-prior-knowledge -D - -o /dev/null -X POST --data-binary x "http://127.0.0.1:$H2C_PORT/healthz")
expect_match "405 Allow header" "$hdr" 'allow: GET'

# malformed percent-encoding
h2c GET '/heal%zzthz'; body=$BODY
expect_eq "bad percent-encoding status" "$STATUS" 400
expect_problem "400" "$body" bad-path 400

# h2c gives every local role; x-crgw-role narrows it (h2c only)
h2c GET /v1/federation/peers
expect_eq "h2c operator route (all roles)" "$STATUS" 200
h2c GET /v1/federation/peers -H 'x-crgw-role: verifier'; body=$BODY
expect_eq "h2c x-crgw-role: verifier on operator route" "$STATUS" 403
expect_problem "403 over h2c" "$body" forbidden 403
h2c GET /v1/federation/peers -H 'x-crgw-role: operator'
expect_eq "h2c x-crgw-role: operator" "$STATUS" 200
h2c GET /healthz -H 'x-crgw-role: pope'
expect_eq "h2c unknown role name" "$STATUS" 400
# ... and is ignored over TLS
tls 120000-verifier GET /v1/federation/peers -H 'x-crgw-role: operator'
expect_eq "x-crgw-role ignored over TLS" "$STATUS" 403

# metrics: requests by route and status, histogram, connections, redis state
h2c GET /metrics; m=$BODY
expect_eq "GET /metrics" "$STATUS" 200
expect_match "metrics: requests by route+status" "$m" 'crgw_http_requests_total\{route="healthz",status="200"\} [1-9]'
expect_match "metrics: 404 counted" "$m" 'crgw_http_requests_total\{route="unmatched",status="404"\} 1'
expect_match "metrics: latency histogram" "$m" 'crgw_http_request_duration_seconds_bucket\{route="healthz",le="\+Inf"\}'
expect_match "metrics: open connections" "$m" 'crgw_http_open_connections [1-9]'
expect_match "metrics: open streams" "$m" 'crgw_http_open_streams [0-9]'
expect_match "metrics: redis state" "$m" 'crgw_redis_up 1'

# access log: client, route, status, bytes, microseconds, with conn and stream ids
log=$(grep ' access ' "$T/crgw.log" | grep 'route=healthz' | head -1)
expect_match "access log line" "$log" 'c=[0-9]+ s=[0-9]+ access client=h2c:loopback method=GET path=/healthz route=healthz status=200 bytes=16 us=[0-9]+'

# a non-loopback h2c address is refused at startup
out=$("$CRGW" serve --config config/test/node-120000.yaml --listen off --h2c "0.0.0.0:$(free_port)" \
    --redis "unix:$REDIS_SOCK" 2>&1)
rc=$?
expect_eq "h2c on 0.0.0.0 exits 1" "$rc" 1
expect_match "h2c on 0.0.0.0 says why" "$out" 'refusing h2c .*loopback'

# many concurrent streams on few connections
out=$(h2load -n 2000 -c 4 -m 50 "http://127.0.0.1:$H2C_PORT/healthz" 2>&1)
expect_match "h2load: all succeeded" "$out" 'requests: 2000 total, 2000 started, 2000 done, 2000 succeeded'

stop_crgw TERM; rc=$RC
expect_eq "SIGTERM exit status" "$rc" 0
