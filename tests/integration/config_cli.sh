#!/usr/bin/env bash
# check-config: every test node file passes; broken files exit 1 with file:line: messages.
set -u
cd "${CRGW_ROOT:-.}"
CRGW=${CRGW:-build/crgw}
fail=0
# the demo node names the PKI that `make run` creates under ./state: check a copy of it against
# a demo PKI made here
tmp=$(mktemp -d /tmp/crgw-config-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$(pwd)
certs/make-demo-pki "$tmp/state" 120000 >/dev/null 2>&1 || { echo "FAIL: certs/make-demo-pki"; fail=1; }
sed -e "s#\.\./\.\./state/#$tmp/state/#g" -e "s#\.\./test/federation.yaml#$root/config/test/federation.yaml#" \
    -e "s#\.\./\.\./adapters#$root/adapters#" -e "s#\.\./calendar-cn.yaml#$root/config/calendar-cn.yaml#" \
    config/demo/node.yaml >"$tmp/demo-node.yaml"
for f in config/test/node-*.yaml "$tmp/demo-node.yaml"; do
    [ -f "$f" ] || continue
    case "$f" in */federation.yaml) continue ;; esac
    if ! out=$("$CRGW" check-config --config "$f" 2>&1); then
        echo "FAIL: $f should pass: $out"; fail=1
    fi
done
for f in tests/unit/data/config/*.yaml; do
    case "$(basename "$f")" in ok.yaml|ok-*|fed-*) continue ;; esac
    out=$("$CRGW" check-config --config "$f" 2>&1); rc=$?
    if [ $rc -ne 1 ]; then echo "FAIL: $f: exit $rc, want 1"; fail=1; continue; fi
    if ! echo "$out" | grep -qE '^[^:]+\.yaml:[0-9]+: .+'; then
        echo "FAIL: $f: no file:line: message in: $out"; fail=1
    fi
done
# trust material is checked as the server loads it: a CRL that no anchor of its node signed
out=$("$CRGW" check-config --config tests/unit/data/config/foreign-crl.yaml 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'fed-foreign-crl.yaml:3: .*CRL not signed by an anchor of node 120000' ||
    { echo "FAIL: foreign CRL: exit $rc: $out"; fail=1; }
out=$(timeout 10 "$CRGW" serve --config tests/unit/data/config/foreign-crl.yaml --h2c 127.0.0.1:1 2>&1); rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q 'trust material refused' ||
    { echo "FAIL: serve must refuse a foreign CRL at start-up: exit $rc: $out"; fail=1; }
"$CRGW" check-config --config tests/unit/data/config/ok.yaml >/dev/null || { echo "FAIL: ok.yaml"; fail=1; }
"$CRGW" check-config --config tests/unit/data/config/ok-url-list.yaml >/dev/null || { echo "FAIL: ok-url-list.yaml"; fail=1; }
"$CRGW" check-config >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: usage error must exit 2"; fail=1; }
"$CRGW" --version | grep -q '^crgw ' || { echo "FAIL: --version"; fail=1; }
"$CRGW" --help | grep -q 'check-config' || { echo "FAIL: --help"; fail=1; }
[ $fail -eq 0 ] && echo "config_cli: ok"
exit $fail
