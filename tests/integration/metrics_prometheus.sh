#!/bin/bash
# Issue 13, acceptance 4: /metrics passes `promtool check metrics` (Prometheus's own linter: HELP
# and TYPE for every metric, naming rules; any output fails), every metric the sources can create
# has a HELP text (so series not yet created are covered too), and a real Prometheus (Debian's
# binary, a configuration written here, private port, tsdb in $T) scrapes the TLS listener with
# the operator's client certificate until its target is `up` (its HTTP API /api/v1/targets);
# a second job without a client certificate stays down (the handshake refuses it).
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null && command -v prometheus >/dev/null ||
    { fail "promtool/prometheus missing (Debian package prometheus: ops/install-deps)"; exit 1; }

# ---- every metric name in the sources has a HELP text ----
names=$(grep -ohE 'crgw_metrics_(counter_add|gauge_set|gauge_add|observe)\("crgw_[a-z0-9_]+"' \
    gateway/*/*.c | sed 's/.*("\(crgw_[a-z0-9_]*\)"/\1/' | sort -u)
n=0
for m in $names; do
    n=$((n + 1))
    grep -qE "(crgw_metrics_help\(|\{)\"$m\"" gateway/*/*.c ||
        fail "metric $m has no HELP text (crgw_metrics_help or a help table row)"
done
[ "$n" -ge 20 ] || fail "only $n metric names found in the sources"
[ "$FAILED" = 0 ] && pass "all $n metric names of the sources have a HELP text"

start_redis
start_crgw
wait_ready 5 || fail "crgw not ready"
# some traffic, so that request, cache and repair series exist
tls 120000-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @tests/fixtures/reports/valid/330100.xml
expect_eq "a verification" "$STATUS" 200
tls 120000-verifier POST '/v1/reports/verify?scenario=tender' --data-binary @tests/fixtures/reports/valid/330100.xml
tls 120000-repair_desk POST /v1/repair/applications -H 'content-type: application/json' -d '{
  "subject_uscc": "91120116MA06T8E28X",
  "record": {"origin_node": "120000", "record_id": "TJJT-2026-0088", "domain": "transport"},
  "commitment_sha256": "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
  "applicant": {"name": "天津海河通达物流有限公司"}}'
expect_eq "a repair application" "$STATUS" 201
tls 120000-operator GET /no-such-route
tls 120000-verifier GET /v1/federation/peers

# ---- promtool check metrics ----
tls 120000-operator GET /metrics
expect_eq "GET /metrics with the operator certificate" "$STATUS" 200
printf '%s\n' "$BODY" >"$T/metrics.txt"
out=$(promtool check metrics <"$T/metrics.txt" 2>&1)
rc=$?
expect_eq "promtool check metrics exits 0" "$rc" 0
expect_eq "promtool check metrics prints no warning" "$out" ""
for m in crgw_http_requests_total crgw_cache_requests_total crgw_repair_applications_total crgw_redis_up; do
    grep -qE "^# HELP $m [^ ]" "$T/metrics.txt" && pass "HELP of $m" || fail "no HELP line for $m"
done
# the linter is not a formality: a metric without HELP fails it
out=$(grep -v '^# HELP crgw_redis_up ' "$T/metrics.txt" | promtool check metrics 2>&1)
expect_match "promtool names a metric without HELP" "$out" 'crgw_redis_up no help text'

# ---- a real Prometheus scrapes the TLS listener with the operator certificate ----
PROM_PORT=$(free_port)
mkdir -p "$T/prom"
cat >"$T/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: crgw
    scheme: https
    metrics_path: /metrics
    tls_config:
      ca_file: $PKI/federation-ca.pem
      cert_file: $PKI/clients/120000-operator.pem
      key_file: $PKI/clients/120000-operator.key.pem
    static_configs: [{targets: ["127.0.0.1:$TLS_PORT"]}]
  - job_name: crgw-without-certificate
    scheme: https
    tls_config: {ca_file: $PKI/federation-ca.pem}
    static_configs: [{targets: ["127.0.0.1:$TLS_PORT"]}]
YML
promtool check config "$T/prometheus.yml" >"$T/promtool-config.log" 2>&1 ||
    { fail "promtool check config"; cat "$T/promtool-config.log"; }
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$T/prometheus.log" 2>&1 &
_LIB_PIDS+=("$!")
target() { # job -> health of its target ("" while unknown)
    curl -s "http://127.0.0.1:$PROM_PORT/api/v1/targets" |
        jq -r --arg j "$1" '.data.activeTargets[] | select(.labels.job == $j) | .health' 2>/dev/null
}
up=""
for i in $(seq 150); do
    up=$(target crgw)
    [ "$up" = up ] && break
    sleep 0.2
done
expect_eq "Prometheus's crgw target (mutual TLS, operator certificate) is up" "$up" up
if [ "$up" != up ]; then
    curl -s "http://127.0.0.1:$PROM_PORT/api/v1/targets" | jq -c '.data.activeTargets[] | {job: .labels.job, health, lastError}'
    tail -n 20 "$T/prometheus.log"
fi
for i in $(seq 50); do
    [ "$(target crgw-without-certificate)" = down ] && break
    sleep 0.2
done
expect_eq "the job without a client certificate is down" "$(target crgw-without-certificate)" down
q=$(curl -s "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode 'query=crgw_http_requests_total{job="crgw",route="reports_verify"}')
expect_match "Prometheus stored crgw's request counter" "$q" '"status":"success".*"route":"reports_verify"'
grep -q 'access client=urn:crgw:client:120000:operator method=GET path=/metrics route=metrics status=200' "$T/crgw.log"
expect_eq "crgw logged the scrape as the operator" "$?" 0
