#!/bin/bash
# POST /v1/reports/verify-batch (issue 14, acceptance 4): 10,000 small reports streamed through
# a pipe with curl --http2 (-T -) by a writer that sends slowly: the server's RSS stays under
# 64 MiB above idle, the first verdict line arrives before the last report is sent, every line
# equals the single route's verdict for the same report; multipart; the limits named in the 413
# problem or in the error line; a client that disconnects midway frees everything (the server
# keeps serving, in-flight requests go back to 1, and under the ASan build no leak report at
# exit: lib.sh fails the test on any sanitizer report in the log).
source "$(dirname "$0")/lib.sh"

FIX="$CRGW_ROOT/tests/fixtures/reports"
N=${VERIFY_BATCH_N:-10000}
URL_PATH="/v1/reports/verify-batch?scenario=tender"

ASAN_BUILD=
if ldd "$CRGW" 2>/dev/null | grep -q libasan; then
    # a small quarantine, so that RSS shows what the server keeps rather than what ASan holds
    ASAN_BUILD=1
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:quarantine_size_mb=8:thread_local_quarantine_size_kb=256"
fi
start_redis
start_crgw
wait_ready 5 || fail "ready"
require_ok
url() { echo "http://127.0.0.1:$H2C_PORT$1"; }

# ---- the single route's verdict of each fixture ----
ls "$FIX"/valid/* "$FIX"/invalid/*.xml "$FIX"/invalid/*.json "$FIX"/invalid/*.jws | sort >"$T/files"
NF=$(wc -l <"$T/files")
mkdir -p "$T/single"
i=0
while read -r f; do
    curl -s --http2-prior-knowledge -X POST --data-binary @"$f" -o "$T/single/$i.json" \
        "$(url "/v1/reports/verify?scenario=tender")"
    i=$((i + 1))
done <"$T/files"
expect_eq "single-route verdicts for every fixture" "$(ls "$T/single" | wc -l)" "$NF"

# ---- the writer: N reports (the fixtures repeated, distinct names), paced over ~4 s ----
cat >"$T/writer.py" <<'PY'
import base64, json, sys, time
files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
n, stamp, pace = int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
def item(raw):  # UTF-8 reports as they are; others (GB18030 csj-xml) in base64
    try:
        return {"report": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"report": base64.b64encode(raw).decode(), "encoding": "base64"}
docs = [item(open(f, "rb").read()) for f in files]
out = sys.stdout.buffer
for i in range(n):
    k = i % len(files)
    line = dict(name="r%05d-%s" % (i, files[k].rsplit("/", 1)[1]), **docs[k])
    if i % 2500 == 1234:  # a bad item now and then: an error line, the batch goes on
        line = {"name": "r%05d-bad" % i}
    if i == n - 1:
        open(stamp, "w").write("%.6f\n" % time.time())  # the last report is sent now
    try:
        out.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
        if i % 100 == 99:
            out.flush()
            time.sleep(pace)
    except BrokenPipeError:  # the client was cut (disconnect test)
        sys.exit(0)
try:
    out.flush()
except BrokenPipeError:
    pass
PY
# the reader: writes the answer lines to a file, the time of the first one to another
cat >"$T/reader.py" <<'PY'
import sys, time
first, out = None, open(sys.argv[2], "wb")
for line in sys.stdin.buffer:
    if first is None:
        first = time.time()
        open(sys.argv[1], "w").write("%.6f\n" % first)
    out.write(line)
PY
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$CRGW_PID/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$CRGW_PID/status"; }

# idle: after the single-route requests above (the verifier and caches are warm)
IDLE=$(rss_kb)
( peak=0; while kill -0 "$CRGW_PID" 2>/dev/null && [ ! -e "$T/stop-sampler" ]; do
    r=$(rss_kb); [ "${r:-0}" -gt "$peak" ] && peak=$r; echo "$peak" >"$T/peak"; sleep 0.05
  done ) &
_LIB_PIDS+=($!)
python3 "$T/writer.py" "$T/files" "$N" "$T/last-sent" 0.04 |
    curl -sN --http2-prior-knowledge -X POST -T - -H 'content-type: application/x-ndjson' \
        -H 'expect:' --max-time 300 "$(url "$URL_PATH")" |
    python3 "$T/reader.py" "$T/first-line" "$T/batch.out"
touch "$T/stop-sampler"
sleep 0.1
PEAK=$(cat "$T/peak")
HWM=$(hwm_kb)
echo "     idle RSS ${IDLE} kB, peak sampled RSS ${PEAK} kB, VmHWM ${HWM} kB (N=$N)"
if [ $((HWM - IDLE)) -lt $((64 * 1024)) ]; then pass "RSS high-water mark $(((HWM - IDLE) / 1024)) MiB above idle (< 64 MiB)"; else
    fail "RSS high-water mark $(((HWM - IDLE) / 1024)) MiB above idle"; fi
LINES=$(wc -l <"$T/batch.out")
expect_eq "one line per report plus the summary" "$LINES" $((N + 1))
FIRST=$(cat "$T/first-line" 2>/dev/null || echo 9e9)
LAST=$(cat "$T/last-sent" 2>/dev/null || echo 0)
if python3 -c "import sys; sys.exit(0 if float('$FIRST') < float('$LAST') else 1)"; then
    pass "first verdict line $(python3 -c "print('%.2f' % (float('$LAST') - float('$FIRST')))") s before the last report was sent"
else
    fail "first verdict line at $FIRST, last report sent at $LAST"
fi

# ---- every line against the single route's verdict ----
cat >"$T/check.py" <<'PY'
import json, sys
files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
single_dir, n = sys.argv[2], int(sys.argv[3])
moment = ("cache", "cache_age_s", "current")  # what depends on the moment, not the report
single = []
for k in range(len(files)):
    v = json.load(open("%s/%d.json" % (single_dir, k)))
    single.append({a: b for a, b in v.items() if a not in moment})
bad = 0
lines = [json.loads(l) for l in open(sys.argv[4], encoding="utf-8")]
for i in range(n):
    o, k = lines[i], i % len(files)
    if o.get("index") != i:
        print("line %d: index %r" % (i, o.get("index"))); bad += 1; continue
    if i % 2500 == 1234:
        e = o.get("error", {})
        if o.get("status") != 400 or "report" not in e.get("detail", "") or o["name"] != "r%05d-bad" % i:
            print("line %d: want the bad-item error, got %s" % (i, json.dumps(o)[:300])); bad += 1
        continue
    want = "r%05d-%s" % (i, files[k].rsplit("/", 1)[1])
    v = {a: b for a, b in o.get("verdict", {}).items() if a not in moment}
    if o.get("name") != want or o.get("status") != 200 or v != single[k]:
        print("line %d (%s): differs from the single route: %s" % (i, want, json.dumps(o)[:300])); bad += 1
    if bad > 5:
        break
s = lines[n].get("summary")
errors = len([i for i in range(n) if i % 2500 == 1234])
if not s or s["items"] != n or s["errors"] != errors or s["verdicts"] != n - errors or not s["complete"]:
    print("summary: %s" % json.dumps(lines[n])); bad += 1
ind = {}
for i in range(n):
    if i % 2500 != 1234:
        x = single[i % len(files)]["indication"]
        ind[x] = ind.get(x, 0) + 1
if s and s["indications"] != ind:
    print("summary indications %s, want %s" % (s["indications"], ind)); bad += 1
print("checked %d lines" % n)
sys.exit(1 if bad else 0)
PY
if python3 "$T/check.py" "$T/files" "$T/single" "$N" "$T/batch.out" >"$T/check.log" 2>&1; then
    pass "$N verdict lines equal the single route's verdicts (and the summary counts them)"
else
    fail "verdict lines differ"; head -20 "$T/check.log"
fi
require_ok

# ---- multipart/form-data: one part per report, filename = name ----
args=()
for k in 0 1 13 20; do
    f=$(sed -n "$((k + 1))p" "$T/files")
    args+=(-F "report$k=@$f;filename=mp-$k-$(basename "$f")")
done
h2c POST "$URL_PATH" "${args[@]}"
expect_eq "multipart: status" "$STATUS" 200
printf '%s\n' "$BODY" >"$T/mp.out"
cat >"$T/check_mp.py" <<'PY'
import json, sys
files = [l.strip() for l in open(sys.argv[1]) if l.strip()]
moment = ("cache", "cache_age_s", "current")
lines = [json.loads(l) for l in open(sys.argv[3], encoding="utf-8") if l.strip()]
ks = [0, 1, 13, 20]
ok = len(lines) == len(ks) + 1
for j, k in enumerate(ks):
    v = {a: b for a, b in json.load(open("%s/%d.json" % (sys.argv[2], k))).items() if a not in moment}
    o = lines[j] if j < len(lines) else {}
    got = {a: b for a, b in o.get("verdict", {}).items() if a not in moment}
    if o.get("name") != "mp-%d-%s" % (k, files[k].rsplit("/", 1)[1]) or got != v:
        print("part %d: %s" % (j, json.dumps(o)[:300])); ok = False
print(json.dumps(lines[-1]))
sys.exit(0 if ok and lines[-1]["summary"]["items"] == len(ks) else 1)
PY
if python3 "$T/check_mp.py" "$T/files" "$T/single" "$T/mp.out" >"$T/mp.log"; then
    pass "multipart: one verdict per part, named by its filename, equal to the single route's"
else
    fail "multipart verdicts"; head -5 "$T/mp.log"
fi

# ---- over mutual TLS: the verifier role only ----
python3 "$T/writer.py" "$T/files" 5 "$T/x" 0 >"$T/five.ndjson"
tls 120000-verifier POST "$URL_PATH" --data-binary @"$T/five.ndjson" -H 'content-type: application/x-ndjson'
expect_eq "TLS verifier: 200" "$STATUS" 200
expect_match "TLS verifier: 5 lines and the summary" "$(printf '%s\n' "$BODY" | tail -1)" '^\{"summary":\{"items":5,"verdicts":5,'
tls 120000-repair_desk POST "$URL_PATH" --data-binary @"$T/five.ndjson" -H 'content-type: application/x-ndjson'
expect_eq "TLS repair_desk: 403" "$STATUS" 403

# ---- bad requests: problems before the first answer byte ----
h2c POST "$URL_PATH" --data-binary @"$(head -1 "$T/files")" -H 'content-type: application/xml'
expect_eq "another content type: 415" "$STATUS" 415
expect_problem "another content type" "$BODY" unsupported-media-type 415
expect_match "415 names the types" "$BODY" 'application/x-ndjson or multipart/form-data'
h2c POST "$URL_PATH" --data-binary $'--XX\r\ncontent-disposition: form-data; filename=a\r\n\r\n<a/>' \
    -H 'content-type: multipart/form-data; boundary=XX'
expect_eq "multipart without its closing boundary: 400" "$STATUS" 400
expect_problem "unclosed multipart" "$BODY" bad-framing 400
h2c POST "/v1/reports/verify-batch?at=yesterday" --data-binary '{"report":"x"}' \
    -H 'content-type: application/x-ndjson'
expect_eq "bad at=: 400 like the single route" "$STATUS" 400
h2c POST "$URL_PATH" --data-binary '{"report":"x"}' -H 'content-type: application/x-ndjson' \
    -H 'x-crgw-role: repair_desk'
expect_eq "role repair_desk: 403" "$STATUS" 403
h2c POST "$URL_PATH" --data-binary '' -H 'content-type: application/x-ndjson'
expect_eq "empty batch: 200" "$STATUS" 200
expect_match "empty batch: summary only" "$BODY" '^\{"summary":\{"items":0,'

# ---- limits (small ones for the test) ----
stop_crgw TERM
start_crgw "$CRGW_ROOT/config/test/node-120000.yaml" --set verify_batch.max_items=3 \
    --set verify_batch.max_item_bytes=20000 --set verify_batch.max_batch_bytes=60000
wait_ready 5 || fail "ready with small limits"
python3 "$T/writer.py" "$T/files" 4 "$T/x" 0 >"$T/four.ndjson"
h2c POST "$URL_PATH" --data-binary @"$T/four.ndjson" -H 'content-type: application/x-ndjson'
expect_eq "max_items passed after the first lines: 200" "$STATUS" 200
expect_eq "max_items: 3 verdicts, the error, the summary" "$(printf '%s\n' "$BODY" | wc -l)" 5
expect_match "max_items: error line names the limit" "$(printf '%s\n' "$BODY" | sed -n 4p)" \
    '"error":\{"type":"https://crgw.example/problems/batch-too-many-items".*"detail":"the batch has more than verify_batch.max_items \(3\) reports","limit":"verify_batch.max_items","max":3\}'
expect_match "max_items: summary incomplete" "$(printf '%s\n' "$BODY" | tail -1)" '"items":3,.*"complete":false'
python3 -c "
import json; print(json.dumps({'name': 'huge', 'report': 'x' * 30000}))
print(json.dumps({'name': 'fine', 'report': open('$FIX/valid/120000.xml').read()}))" >"$T/huge.ndjson"
h2c POST "$URL_PATH" --data-binary @"$T/huge.ndjson" -H 'content-type: application/x-ndjson'
expect_match "item over max_item_bytes: error line naming it" "$(printf '%s\n' "$BODY" | head -1)" \
    '^\{"index":0,"name":"item-0","status":413,"error":\{"type":"https://crgw.example/problems/item-too-large".*verify_batch.max_item_bytes \(20000 bytes\)".*"limit":"verify_batch.max_item_bytes","max":20000\}\}$'
expect_match "and the batch goes on" "$(printf '%s\n' "$BODY" | sed -n 2p)" '^\{"index":1,"name":"fine","status":200,"verdict":\{"indication":"TOTAL_PASSED"'
head -c 70000 /dev/zero | tr '\0' 'x' >"$T/big.bin"
h2c POST "$URL_PATH" --data-binary @"$T/big.bin" -H 'content-type: application/x-ndjson'
expect_eq "declared length over max_batch_bytes: 413" "$STATUS" 413
expect_problem "declared length" "$BODY" batch-too-large 413
expect_match "413 names the limit" "$BODY" '"limit":"verify_batch.max_batch_bytes","max":60000'
stream_big() { # streamed (no content-length) -> $STATUS, $BODY
    STATUS=$(curl -s --http2-prior-knowledge -X POST -T - -H 'content-type: application/x-ndjson' \
        -H 'expect:' -o "$T/body" -w '%{http_code}' --max-time 20 "$(url "$URL_PATH")" <"$T/big.bin")
    BODY=$(cat "$T/body")
}
SECONDS=0
stream_big # the item limit (20000) comes first: an error line, then the batch limit
expect_eq "streamed body over both limits: 200 (lines began)" "$STATUS" 200
expect_match "streamed: the item's error line" "$(printf '%s\n' "$BODY" | head -1)" '"status":413,"error":\{"type":"https://crgw.example/problems/item-too-large"'
expect_match "streamed: then the batch's error line naming its limit" "$(printf '%s\n' "$BODY" | sed -n 2p)" \
    '^\{"error":\{"type":"https://crgw.example/problems/batch-too-large","title":"Batch stopped","status":413,"detail":"the batch body is larger than verify_batch.max_batch_bytes \(60000 bytes\)","limit":"verify_batch.max_batch_bytes","max":60000\}\}$'
expect_match "streamed: summary incomplete" "$(printf '%s\n' "$BODY" | tail -1)" '"complete":false'
[ "$SECONDS" -lt 5 ] && pass "the client's upload is not left waiting (${SECONDS} s)" || fail "streamed over-limit upload took ${SECONDS} s"
stop_crgw TERM
start_crgw "$CRGW_ROOT/config/test/node-120000.yaml" --set verify_batch.max_item_bytes=100000 \
    --set verify_batch.max_batch_bytes=60000
wait_ready 5 || fail "ready with a batch limit under the item limit"
stream_big
expect_eq "streamed body over max_batch_bytes before any line: 413" "$STATUS" 413
expect_problem "streamed 413" "$BODY" batch-too-large 413
expect_match "streamed 413 names the limit" "$BODY" '"detail":"the batch body is larger than verify_batch.max_batch_bytes \(60000 bytes\)",.*"limit":"verify_batch.max_batch_bytes","max":60000'

# ---- a client that disconnects midway ----
stop_crgw TERM
start_crgw
wait_ready 5 || fail "ready again"
for round in 1 2 3; do
    python3 "$T/writer.py" "$T/files" 3000 "$T/x" 0.05 |
        curl -sN --http2-prior-knowledge -X POST -T - -H 'content-type: application/x-ndjson' \
            -H 'expect:' --max-time 300 "$(url "$URL_PATH")" >"$T/cut.out" 2>/dev/null &
    CURL_BG=$!
    for i in $(seq 400); do [ "$(wc -l <"$T/cut.out")" -ge 50 ] && break; sleep 0.05; done # up to 20 s (shared machine)
    sleep 0.$round
    kill -KILL "$CURL_BG" 2>/dev/null # $! of the pipeline: our curl
    wait "$CURL_BG" 2>/dev/null
    got=$(wc -l <"$T/cut.out")
    [ "$got" -ge 50 ] && [ "$got" -lt 3001 ] || fail "round $round: $got lines before the cut"
done
sleep 0.3
grep -q 'verify-batch: client gone after' "$T/crgw.log" && pass "the server saw the clients go" ||
    fail "no 'client gone' in the log"
h2c GET /metrics
expect_eq "no request left in flight after the cuts (the /metrics request only)" "$(printf '%s\n' "$BODY" | grep '^crgw_http_requests_in_flight' | awk '{print $2}')" 1
python3 "$T/writer.py" "$T/files" 40 "$T/x" 0 >"$T/forty.ndjson"
h2c POST "$URL_PATH" --data-binary @"$T/forty.ndjson" -H 'content-type: application/x-ndjson'
expect_eq "the server keeps serving: a batch after the cuts" "$(printf '%s\n' "$BODY" | wc -l)" 41
stop_crgw TERM
expect_eq "clean exit after the cuts" "$RC" 0
if grep -qE 'LeakSanitizer|AddressSanitizer' "$T/crgw.log"; then fail "sanitizer report at exit"; else
    pass "no sanitizer report at exit (${CRGW#"$CRGW_ROOT"/})"; fi
