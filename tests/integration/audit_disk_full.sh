#!/bin/bash
# Issue 12, acceptance 3: the audit file cannot grow (the process's file-size limit is lowered
# under load with prlimit, so every write past it fails with EFBIG, as on a full disk) with
# audit.on_failure: refuse. No answer is given unaudited (every 200 has its entry once space
# returns), the node refuses verifications with 503 audit-unavailable and /readyz says why,
# nothing already written is corrupted, and after the limit is lifted the chain continues intact.
source "$(dirname "$0")/lib.sh"
start_redis
cfg=$(make_node_config 120000)
printf 'audit: {enabled: true, dir: %s, on_failure: refuse, checkpoint_every: 1000000}\n' \
    "$T/audit" >>"$cfg"
start_crgw "$cfg"
REPORT=$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml
n200=0 n503=0 other=0
verify_once() {
    h2c POST '/v1/reports/verify?scenario=tender' --data-binary "@$REPORT"
    case "$STATUS" in
    200) n200=$((n200 + 1)) ;;
    503) n503=$((n503 + 1)); LAST503=$BODY ;;
    *) other=$((other + 1)) ;;
    esac
}
for i in $(seq 10); do verify_once; done
expect_eq "answers before the disk fills" "$n200" 10
sleep 0.3
size=$(cat "$T"/audit/w0/audit-*.jsonl | wc -c)
prlimit --pid "$CRGW_PID" --fsize=$((size + 8000)):unlimited ||
    { fail "prlimit"; exit 1; }
for i in $(seq 120); do verify_once; done
expect_match "verifications refused once the log cannot grow" "$n503" '^[1-9][0-9]*$'
expect_match "503 says why" "$LAST503" '"type":"https://crgw.example/problems/audit-unavailable"'
expect_eq "no other answer" "$other" 0
h2c GET /readyz
expect_eq "readyz 503 while the log cannot grow" "$STATUS" 503
expect_match "readyz names the audit log" "$BODY" 'audit: disk: '
out=$("$CRGW" audit verify --audit-dir "$T/audit" --config "$cfg" 2>&1)
expect_match "what was written is intact meanwhile" "$out" 'chain intact'
require_ok

prlimit --pid "$CRGW_PID" --fsize=unlimited:unlimited
wait_ready 10
expect_eq "ready again once space returns" "$STATUS" 200
for i in $(seq 10); do verify_once; done
expect_eq "no refusal after space returned" "$other" 0
stop_crgw TERM
out=$("$CRGW" audit verify --audit-dir "$T/audit" --config "$cfg" 2>&1)
expect_match "the chain continues intact" "$out" '^[0-9]+ entries, [0-9]+ checkpoints, chain intact'
entries=$(cat "$T"/audit/w0/audit-*.jsonl | grep -c '"kind":"verify","caller"')
n200_entries=$(cat "$T"/audit/w0/audit-*.jsonl | grep '"kind":"verify","caller"' | grep -c '"status":200')
expect_eq "every 200 answer has its audit entry (no answer unaudited)" "$n200_entries" "$n200"
expect_eq "no answer logged twice or invented" "$((entries <= n200 + n503))" 1
require_ok
