#!/bin/bash
# Issue 11, acceptance 1 (shortened): ops/fault/redis-failover with 1,000 decisions for 200
# records at 200/s, A's and B's Redis primaries each SIGKILLed once (after their replicas were
# cut off for 1 s), min_replicas_ack 1: every acknowledged decision applied at B exactly once
# in effect and in order, no wrong verification answer. The full run: ops/fault/redis-failover.
cd "$(dirname "$0")/../.." || exit 1
N=${N:-1000} RECORDS=${RECORDS:-200} RATE=${RATE:-200} MIN_ACKS=1 exec ops/fault/redis-failover
