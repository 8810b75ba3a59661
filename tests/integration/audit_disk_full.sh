#!/bin/bash
# Issue 12, acceptance 3: the audit log cannot grow under load, with audit.on_failure: refuse,
# in two ways, each with the same checks:
#   fsize: the process's file-size limit is lowered with prlimit (writes fail with EFBIG);
#   tmpfs: audit.dir on a private 2 MiB tmpfs that a filler file fills (ENOSPC, a real full
#          disk; needs the right to mount, as root in CI and the fresh-check root).
# No answer is given unaudited (every 200 has its entry once space returns), the node refuses
# verifications with 503 audit-unavailable and /readyz says why, nothing already written is
# corrupted, and once space returns the chain continues intact.
source "$(dirname "$0")/lib.sh"
FS=$T/auditfs
mkdir -p "$FS"
if ! mount -t tmpfs -o size=2m,mode=0700 crgw-audit-test "$FS" 2>"$T/mount.err"; then
    fail "cannot mount a tmpfs for the full-disk case: $(cat "$T/mount.err") (run as root)"
    exit 1
fi
trap 'rc=$?; [ -n "$CRGW_PID" ] && kill -KILL "$CRGW_PID" 2>/dev/null; wait "$CRGW_PID" 2>/dev/null
      umount -l "$FS" 2>/dev/null; (exit $rc); _lib_cleanup' EXIT
start_redis
REPORT=$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml

verify_once() {
    h2c POST '/v1/reports/verify?scenario=tender' --data-binary "@$REPORT"
    case "$STATUS" in
    200) n200=$((n200 + 1)) ;;
    503) n503=$((n503 + 1)); LAST503=$BODY ;;
    *) other=$((other + 1)) ;;
    esac
}

# the ways to take the space away and give it back
fsize_fill() {
    local size
    size=$(cat "$DIR"/w0/audit-*.jsonl | wc -c)
    prlimit --pid "$CRGW_PID" --fsize=$((size + 8000)):unlimited || { fail "prlimit"; exit 1; }
}
fsize_free() { prlimit --pid "$CRGW_PID" --fsize=unlimited:unlimited; }
tmpfs_fill() { # leave about 12 KiB: a few more entries fit, then ENOSPC
    local avail
    avail=$(df --output=avail -B1 "$FS" | tail -1)
    dd if=/dev/zero of="$FS/filler" bs=4096 count=$(((avail - 12288) / 4096)) status=none 2>/dev/null
    expect_match "tmpfs: nearly full" "$(df --output=avail -B1 "$FS" | tail -1)" '^ *[0-9]{1,5}$'
}
tmpfs_free() { rm -f "$FS/filler"; }

run_case() { # name audit-dir attempts-while-full readyz-regex
    local name=$1 attempts=$3 why=$4 cfg out entries n200_entries
    DIR=$2
    n200=0 n503=0 other=0 LAST503=
    cfg=$(make_node_config 120000)
    printf 'audit: {enabled: true, dir: %s, on_failure: refuse, checkpoint_every: 1000000}\n' \
        "$DIR" >>"$cfg"
    start_crgw "$cfg"
    for i in $(seq 10); do verify_once; done
    expect_eq "$name: answers before the disk fills" "$n200" 10
    sleep 0.3
    "${name}_fill"
    for i in $(seq "$attempts"); do verify_once; done
    expect_match "$name: verifications refused once the log cannot grow" "$n503" '^[1-9][0-9]*$'
    expect_match "$name: 503 says why" "$LAST503" '"type":"https://crgw.example/problems/audit-unavailable"'
    expect_eq "$name: no other answer" "$other" 0
    h2c GET /readyz
    expect_eq "$name: readyz 503 while the log cannot grow" "$STATUS" 503
    expect_match "$name: readyz names the audit log's disk" "$BODY" "$why"
    out=$("$CRGW" audit verify --audit-dir "$DIR" --config "$cfg" 2>&1)
    expect_match "$name: what was written is intact meanwhile" "$out" 'chain intact'
    require_ok

    "${name}_free"
    wait_ready 10
    expect_eq "$name: ready again once space returns" "$STATUS" 200
    for i in $(seq 10); do verify_once; done
    expect_eq "$name: no refusal after space returned" "$other" 0
    stop_crgw TERM
    out=$("$CRGW" audit verify --audit-dir "$DIR" --config "$cfg" 2>&1)
    expect_match "$name: the chain continues intact" "$out" '^[0-9]+ entries, [0-9]+ checkpoints, chain intact'
    entries=$(cat "$DIR"/w0/audit-*.jsonl | grep -c '"kind":"verify","caller"')
    n200_entries=$(cat "$DIR"/w0/audit-*.jsonl | grep '"kind":"verify","caller"' | grep -c '"status":200')
    expect_eq "$name: every 200 answer has its audit entry (no answer unaudited)" "$n200_entries" "$n200"
    expect_eq "$name: no answer logged twice or invented" "$((entries <= n200 + n503))" 1
    require_ok
}

run_case fsize "$T/audit" 120 'audit: disk: '
run_case tmpfs "$FS/audit" 200 'audit: disk: .*(space|ENOSPC)'
