#!/bin/bash
# Issue 11, acceptance 4: one node (B, 330100) on two hosts, two `crgw serve` on different
# addresses sharing B's Redis, a Sentinel set (a primary, two replicas, three Sentinels,
# min_replicas_ack 1: tests/integration/sentinel_lib.bash); A (120000) has B's `url` as a list of both. Decisions
# stream into A while B's first host is SIGKILLed: A's peer client fails over to the second
# address and its outbox drains through it; every event is applied at B once, in origin_seq
# order; a failed connect to one address moves on to the next at once (the requests wait in the
# peer client, not in a retry back-off). Both hosts serve B's routes from the shared state.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CRGW_ROOT=$ROOT
source "$ROOT/tests/integration/lib.sh"
source "$ROOT/tests/integration/repair_lib.bash"
source "$ROOT/tests/integration/sentinel_lib.bash"
trap 'rc=$?; [ "$FAILED" != 0 ] && { rp_dump_logs; tail -n 30 "$T/b2/crgw.log"; }; (exit $rc); _lib_cleanup' EXIT
A=120000 B=330100
N=${TWO_HOSTS_N:-1500}
RATE=${TWO_HOSTS_RATE:-150}
LOAD="$T/repair-load"
cc -O2 -o "$LOAD" "$ROOT/ops/bench/repair-load.c" \
    $(pkg-config --cflags --libs libnghttp2 libevent hiredis) || { fail "build repair-load"; exit 1; }

# B's second host: its own listen and h2c addresses, the same node file otherwise
tls1=$(rp_port $B listen)
tls2=$(free_port)
h2c2=$(free_port)
sed -e "s#^listen: .*#listen: 127.0.0.1:$tls2#" -e "s#^h2c: .*#h2c: 127.0.0.1:$h2c2#" \
    "$T/fed/node-$B.yaml" >"$T/fed/node-$B-2.yaml"
sed -i "s#url: https://127.0.0.1:$tls1\$#url: [https://127.0.0.1:$tls1, https://127.0.0.1:$tls2]#" \
    "$T/fed/federation.yaml"
expect_eq "B's url is a list of two hosts" \
    "$(grep -c "url: \[https://127.0.0.1:$tls1, https://127.0.0.1:$tls2\]" "$T/fed/federation.yaml")" 1
out=$("$CRGW" check-config --config "$T/fed/node-$A.yaml" 2>&1)
expect_eq "check-config accepts a list of urls" "$?" 0

rp_start_redis $A
sn_start $B
RP_REDIS[$B]=$(sn_addr $B 1 1000)
rp_start_node $A
rp_start_node $B CRGW_TEST_REPAIR_AUDIT=1
mkdir -p "$T/b2"
CRGW_TEST_REPAIR_AUDIT=1 "$CRGW" serve --config "$T/fed/node-$B-2.yaml" \
    --redis "${RP_REDIS[$B]}" >>"$T/b2/crgw.log" 2>&1 &
B2_PID=$!
_LIB_PIDS+=("$B2_PID")
up2() { curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$h2c2/healthz"; }
rp_wait 10 up2 || { fail "B's second host did not start"; exit 1; }

"$LOAD" --node 127.0.0.1:$(rp_port $A h2c) --n "$N" --rate "$RATE" --unique --concurrency 16 \
    --prefix TWO --wait 60 --peer-redis "127.0.0.1:$(sn_primary $B)" >"$T/load.out" 2>&1 &
LOAD_PID=$!
sleep 3
before=$(rp_redis $B HGET crgw:stats:events applied)
rp_kill_node $B KILL
echo "B's first host SIGKILLed after ${before:-0} events applied"
expect_match "B had applied events through its first host" "${before:-0}" '^[1-9][0-9]*$'
wait $LOAD_PID
load_rc=$?
cat "$T/load.out"
expect_eq "the load was answered (repair-load exit status)" "$load_rc" 0

drained() { [ "$(rp_redis $A XLEN crgw:outbox:$B)" = 0 ]; }
rp_wait 60 drained || fail "A's outbox for B did not drain: $(rp_redis $A XLEN crgw:outbox:$B) left"
applied=$(rp_redis $B HGET crgw:stats:events applied)
expect_eq "B applied every event once (none lost, none twice)" "${applied:-0}" "$N"
inversions=$(rp_redis $B LRANGE crgw:audit:events 0 -1 |
    awk '{ if (NR > 1 && $2 + 0 <= last) bad++; last = $2 + 0 } END { print bad + 0 }')
expect_eq "B received them in origin_seq order (inversions)" "$inversions" 0
expect_match "A's log shows the failover to the second address" \
    "$(grep -c "peer $B: connected to https://127.0.0.1:$tls2" "$T/$A/crgw.log")" '^[1-9]' 
rp_tls $A $A-operator GET /v1/federation/peers
expect_eq "A sees nothing waiting for B" \
    "$(jq -r --arg n $B '.peers[] | select(.node == $n) | .outbox_lag' <<<"$BODY")" 0
expect_eq "A has no dead letter for B" \
    "$(jq -r --arg n $B '.peers[] | select(.node == $n) | .dead_letters' <<<"$BODY")" 0
up2 || fail "B's second host stopped"
curl -s --http2-prior-knowledge -o /dev/null -w '%{http_code}' "http://127.0.0.1:$h2c2/readyz" >"$T/st"
expect_eq "B's second host is ready" "$(cat "$T/st")" 200
require_ok
