#!/bin/bash
# `make run` (ops/run-local): the demo PKI, a private redis-server (AOF) and crgw with
# config/demo/ in the foreground; h2c /healthz answers 200, TLS with a demo client certificate
# works, and a stop signal ends both processes.
source "$(dirname "$0")/lib.sh"
for port in 8080 8443; do
    if ss -tln | awk '{print $4}' | grep -q ":$port\$"; then
        fail "port $port is in use: stop what listens there (another make run?)"
        exit 1
    fi
done
CRGW="$CRGW" "$CRGW_ROOT/ops/run-local" >"$T/run.log" 2>&1 &
RUN_PID=$!
_LIB_PIDS+=("$RUN_PID")
for _ in $(seq 200); do
    curl -s -o /dev/null --http2-prior-knowledge http://127.0.0.1:8080/healthz && break
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.05
done
code=$(curl -s -o /dev/null -w '%{http_code}' --http2-prior-knowledge http://127.0.0.1:8080/healthz)
expect_eq "make run: h2c /healthz" "$code" 200
expect_match "it prints how to call it with a client certificate" "$(cat "$T/run.log")" 'curl --http2 --cacert state/pki/ca.pem --cert state/pki/clients/operator.pem'
p=$CRGW_ROOT/state/pki
for _ in $(seq 40); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --http2 --cacert "$p/ca.pem" --cert "$p/clients/operator.pem" \
        --key "$p/clients/operator.key.pem" https://127.0.0.1:8443/readyz)
    [ "$code" = 200 ] && break
    sleep 0.05
done
expect_eq "make run: TLS /readyz with the demo operator certificate (private Redis up)" "$code" 200
code=$(curl -s -o /dev/null -w '%{http_code}' --http2 --cacert "$p/ca.pem" --cert "$p/clients/verifier.pem" \
    --key "$p/clients/verifier.key.pem" https://127.0.0.1:8443/v1/federation/peers)
expect_eq "make run: the demo verifier gets 403 on an operator route" "$code" 403
body=$(curl -s --http2-prior-knowledge --data-binary @"$CRGW_ROOT/tests/fixtures/reports/valid/510100.json" \
    http://127.0.0.1:8080/v1/reports/verify)
expect_eq "make run: a fixture report verifies" "$(jq -r .indication <<<"$body")" TOTAL_PASSED
expect_match "redis runs with AOF on" "$(redis-cli -s "$CRGW_ROOT/state/redis.sock" CONFIG GET appendonly | tr '\n' ' ')" 'appendonly yes'

kill -TERM "$RUN_PID"
for _ in $(seq 100); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$RUN_PID" 2>/dev/null && fail "run-local still running after the stop signal" || pass "run-local stopped"
sleep 0.2
curl -s -o /dev/null --max-time 1 --http2-prior-knowledge http://127.0.0.1:8080/healthz &&
    fail "crgw still answers after the stop" || pass "crgw stopped"
redis-cli -s "$CRGW_ROOT/state/redis.sock" PING >/dev/null 2>&1 &&
    fail "redis-server still answers after the stop" || pass "redis-server stopped"
