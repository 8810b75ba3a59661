#!/bin/bash
# The Redis outage fault test (ops/fault/redis-outage), shortened for CI: 14 s of load, Redis
# SIGKILLed at 3 s and restarted 6 s later; every answer checked, /healthz within 50 ms.
# The full run (30 s, 10 s gap): ops/fault/redis-outage.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# The sanitizer build runs several times slower: its /healthz bound is 250 ms (the 50 ms
# acceptance bound is for the release build, here and in ops/fault/redis-outage).
case "${CRGW:-}" in *asan*) export MAX_HEALTHZ_S=${MAX_HEALTHZ_S:-0.250} ;; esac
DURATION_S=${DURATION_S:-14} KILL_AT_S=${KILL_AT_S:-3} GAP_S=${GAP_S:-6} RPS=${RPS:-100} \
    exec "$ROOT/ops/fault/redis-outage"
