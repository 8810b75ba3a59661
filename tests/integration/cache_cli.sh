#!/bin/bash
# `crgw verify --redis ADDR` goes through the verdict cache: miss, then hit with the same verdict;
# a Redis that is not there means "bypass", never a failure; the exit status follows the verdicts.
source "$(dirname "$0")/lib.sh"

CFG="$CRGW_ROOT/config/test/node-120000.yaml"
OK="$CRGW_ROOT/tests/fixtures/reports/valid/120000.xml"
BAD="$CRGW_ROOT/tests/fixtures/reports/invalid/tampered-signature.120000.xml"
cache_of() { printf '%s\n' "$1" | sed -n 's/.*"cache":"\([a-z]*\)","cache_age_s":[0-9]*}$/\1/p' | tr '\n' ' '; }

start_redis
OUT1=$("$CRGW" verify --config "$CFG" --scenario tender --redis "unix:$REDIS_SOCK" "$OK" "$BAD" 2>>"$T/cli.log")
RC1=$?
OUT2=$("$CRGW" verify --config "$CFG" --scenario tender --redis "unix:$REDIS_SOCK" "$OK" "$BAD" 2>>"$T/cli.log")
RC2=$?
expect_eq "first run: misses" "$(cache_of "$OUT1")" "miss miss "
expect_eq "second run: hits" "$(cache_of "$OUT2")" "hit hit "
expect_eq "exit status with a failed report" "$RC1/$RC2" "1/1"
expect_match "the failure is cached as such" "$(printf '%s\n' "$OUT2" | tail -1)" '"indication":"TOTAL_FAILED","subindication":"SIG_CRYPTO_FAILURE"'
strip() { printf '%s\n' "$1" | sed -e 's/,"current":{.*$//'; }
expect_eq "same verdicts from the cache" "$(strip "$OUT2")" "$(strip "$OUT1")"
"$CRGW" verify --config "$CFG" --scenario tender --redis "unix:$REDIS_SOCK" "$OK" >/dev/null 2>>"$T/cli.log"
expect_eq "exit 0 when every report passes and is recognised" "$?" 0
OUT3=$("$CRGW" verify --config "$CFG" --scenario tender --redis "unix:$T/absent.sock" "$OK" 2>>"$T/cli.log")
expect_eq "no redis: exit 0 all the same" "$?" 0
expect_eq "no redis: bypass" "$(cache_of "$OUT3")" "bypass "
expect_match "no redis: verdict" "$OUT3" '"indication":"TOTAL_PASSED"'
