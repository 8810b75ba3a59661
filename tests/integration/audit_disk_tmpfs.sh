#!/bin/bash
# Issue 12, acceptance 3 on a real full disk: audit.dir is on a private 2 MiB tmpfs that a filler
# file fills up under load (writes fail with ENOSPC), audit.on_failure: refuse. No answer is given
# unaudited, the node answers 503 audit-unavailable and /readyz says why, nothing already written
# is corrupted, and after the filler is removed the chain continues intact.
# (audit_disk_full.sh is the same with the file-size limit, EFBIG, which needs no mount.)
# Needs the right to mount a tmpfs (root, as in CI and the fresh-check root); fails otherwise.
source "$(dirname "$0")/lib.sh"
FS=$T/auditfs
mkdir -p "$FS"
if ! mount -t tmpfs -o size=2m,mode=0700 crgw-audit-test "$FS" 2>"$T/mount.err"; then
    fail "cannot mount a tmpfs for the full-disk test: $(cat "$T/mount.err") (run as root)"
    exit 1
fi
trap 'rc=$?; [ -n "$CRGW_PID" ] && kill -KILL "$CRGW_PID" 2>/dev/null; wait "$CRGW_PID" 2>/dev/null
      umount -l "$FS" 2>/dev/null; (exit $rc); _lib_cleanup' EXIT
start_redis
cfg=$(make_node_config 120000)
printf 'audit: {enabled: true, dir: %s, on_failure: refuse, checkpoint_every: 1000000}\n' \
    "$FS/audit" >>"$cfg"
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
# fill the file system, leaving about 12 KiB: a few more entries fit, then ENOSPC
avail=$(df --output=avail -B1 "$FS" | tail -1)
dd if=/dev/zero of="$FS/filler" bs=4096 count=$(((avail - 12288) / 4096)) status=none 2>/dev/null
expect_match "the tmpfs is nearly full" "$(df --output=avail -B1 "$FS" | tail -1)" '^ *[0-9]{1,5}$'
for i in $(seq 200); do verify_once; done
expect_match "verifications refused once the disk is full" "$n503" '^[1-9][0-9]*$'
expect_match "503 says why" "${LAST503:-}" '"type":"https://crgw.example/problems/audit-unavailable"'
expect_eq "no other answer" "$other" 0
h2c GET /readyz
expect_eq "readyz 503 while the disk is full" "$STATUS" 503
expect_match "readyz names the audit log's disk" "$BODY" 'audit: disk: .*(space|ENOSPC)'
out=$("$CRGW" audit verify --audit-dir "$FS/audit" --config "$cfg" 2>&1)
expect_match "what was written is intact meanwhile" "$out" 'chain intact'
require_ok

rm -f "$FS/filler"
wait_ready 10
expect_eq "ready again once space returns" "$STATUS" 200
for i in $(seq 10); do verify_once; done
expect_eq "no refusal after space returned" "$other" 0
stop_crgw TERM
out=$("$CRGW" audit verify --audit-dir "$FS/audit" --config "$cfg" 2>&1)
expect_match "the chain continues intact" "$out" '^[0-9]+ entries, [0-9]+ checkpoints, chain intact'
entries=$(cat "$FS"/audit/w0/audit-*.jsonl | grep -c '"kind":"verify","caller"')
n200_entries=$(cat "$FS"/audit/w0/audit-*.jsonl | grep '"kind":"verify","caller"' | grep -c '"status":200')
expect_eq "every 200 answer has its audit entry (no answer unaudited)" "$n200_entries" "$n200"
expect_eq "no answer logged twice or invented" "$((entries <= n200 + n503))" 1
require_ok
