#!/bin/bash
# mTLS: client certificate required and verified against the federation CA, mapped to a role;
# untrusted or unknown certificates refused at the handshake; roles checked per route.
source "$(dirname "$0")/lib.sh"
start_redis
start_crgw

tls 120000-operator GET /healthz
expect_eq "operator certificate: /healthz" "$STATUS" 200
tls node:130100 GET /healthz
expect_eq "peer node certificate: /healthz" "$STATUS" 200

# a verifier certificate on an operator route: 403 problem+json
tls 120000-verifier GET /v1/federation/peers
expect_eq "verifier on operator route" "$STATUS" 403
expect_problem "verifier on operator route" "$BODY" forbidden 403
tls 120000-operator GET /v1/federation/peers
expect_eq "operator on operator route" "$STATUS" 200
expect_match "operator gets the peers" "$BODY" '"peers":\['
tls node:130100 GET /v1/federation/peers
expect_eq "peer node on operator route" "$STATUS" 403

# an untrusted certificate (rogue CA, claims urn:crgw:client:110000:operator): no HTTP at all
tls rogue GET /healthz
expect_eq "rogue certificate: no HTTP status" "$STATUS" 000
[ "$TLS_RC" != 0 ] && pass "rogue certificate: handshake fails (curl exit $TLS_RC)" || fail "rogue accepted"
expect_match "rogue refusal logged" "$(cat "$T/crgw.log")" 'client certificate refused .*110000 operator'

# no client certificate
tls none GET /healthz
expect_eq "no client certificate: no HTTP status" "$STATUS" 000

# trusted chain but a SAN URI this node does not know (another node's local client)
tls 110000-operator GET /healthz
expect_eq "unknown client of another node: no HTTP status" "$STATUS" 000
expect_match "unknown client logged" "$(cat "$T/crgw.log")" 'no SAN URI of a configured client or peer'

# the handshake itself fails (TLS 1.2: s_client sees the alert inside the handshake)
out=$(openssl s_client -tls1_2 -connect "127.0.0.1:$TLS_PORT" -alpn h2 -CAfile "$PKI/federation-ca.pem" \
    -cert "$PKI/clients/rogue.pem" -key "$PKI/clients/rogue.key.pem" </dev/null 2>&1)
expect_match "s_client with rogue: alert" "$out" 'alert (unknown ca|certificate unknown|bad certificate)'

# ALPN h2 only: an HTTP/1.1-only client is refused
curl -s --http1.1 --cacert "$PKI/federation-ca.pem" --cert "$PKI/clients/120000-operator.pem" \
    --key "$PKI/clients/120000-operator.key.pem" -o /dev/null "https://127.0.0.1:$TLS_PORT/healthz"
rc=$?
[ "$rc" != 0 ] && pass "HTTP/1.1 without h2 ALPN refused (curl exit $rc)" || fail "HTTP/1.1 accepted"

# TLS 1.1 refused
out=$(openssl s_client -connect "127.0.0.1:$TLS_PORT" -tls1_1 -alpn h2 </dev/null 2>&1)
expect_match "TLS 1.1 refused" "$out" '(alert|no protocols available|wrong version|unsupported)'

# the server still serves after all that
tls 120000-verifier GET /healthz
expect_eq "still serving" "$STATUS" 200
stop_crgw TERM
expect_eq "SIGTERM exit status" "$RC" 0
