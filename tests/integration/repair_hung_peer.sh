#!/bin/bash
# Issue 7: a peer that hangs (SIGSTOP: TCP handshakes still complete from the backlog, nothing
# answers) holds only its own deliveries: the other member keeps receiving at full speed, the
# stopped peer's events wait in the outbox and arrive once it resumes (SIGCONT).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/repair_lib.bash"
trap 'rc=$?; kill -CONT "${RP_PID[330100]:-0}" 2>/dev/null; [ "$FAILED" != 0 ] && rp_dump_logs; (exit $rc); _lib_cleanup' EXIT

A=120000 B=330100 C=130100
N=1000
cc -O2 -o "$T/load" "$CRGW_ROOT/ops/bench/repair-load.c" \
    $(pkg-config --cflags --libs libnghttp2 libevent hiredis) || { fail "build repair-load"; exit 1; }
for n in $A $B $C; do rp_start_redis $n; done
for n in $A $B $C; do rp_start_node $n CRGW_TEST_REPAIR_AUDIT=1; done
"$T/load" --node 127.0.0.1:$(rp_port $A h2c) --n 100 --rate 100 --unique --prefix W \
    --peer-redis "unix:$T/$B/redis.sock" >"$T/warm.out"
expect_eq "B connected and received the warm-up" "$(rp_redis $B HGET crgw:stats:events applied)" 100

kill -STOP "${RP_PID[$B]}"
"$T/load" --node 127.0.0.1:$(rp_port $A h2c) --n $N --rate 100 --unique --prefix S \
    --peer-redis "unix:$T/$C/redis.sock" | tee "$T/load.out"
p99=$(sed -n 's/^latency.* p99 \([0-9]*\) .*/\1/p' "$T/load.out")
[ -n "$p99" ] && [ "$p99" -le 250 ] && pass "C not slowed by the hung B: p99 $p99 ms" ||
    fail "C slowed by the hung B: p99 ${p99:-?} ms"
expect_eq "B's events wait in A's outbox" "$(rp_redis $A XLEN crgw:outbox:$B)" $N

kill -CONT "${RP_PID[$B]}"
drained() { [ "$(rp_redis $A XLEN crgw:outbox:$B)" = 0 ]; }
rp_wait 30 drained
expect_eq "B caught up after resuming" "$(rp_redis $A XLEN crgw:outbox:$B)" 0
expect_eq "B applied every event once" "$(rp_redis $B HGET crgw:stats:events applied)" $((N + 100))
inversions=$(rp_redis $B LRANGE crgw:audit:events 0 -1 |
    awk '{ if (NR > 1 && $2 + 0 <= last) bad++; last = $2 + 0 } END { print bad + 0 }')
expect_eq "in origin_seq order" "$inversions" 0
