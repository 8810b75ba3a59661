#!/bin/bash
# crgw verify in bulk (issue 14, points 1 and 3):
#  1. 2,000 reports made here with `crgw sign` from the unsigned fixtures, each with its own
#     report id, of 11 kinds with known verdicts (valid in four dialects; wrong-node, expired,
#     revoked and weak-key signers; content tampered after signing; JWS signature changed;
#     unsigned); verified as a directory and as a ZIP of the same, with --jobs 2 and --jobs 1:
#     every file's verdict is the expected one, in input order, and the summary's counts equal
#     the expected counts;
#  2. a ZIP bomb, a 30 MiB file, a missing file, a directory without read permission, an empty
#     file and a file that is not a report each get their own line with the exact reason;
#  3. the progress bar (and the default summary) under a pseudo-terminal (`script`), neither with
#     pipes; the summary in Chinese with LANG=zh_CN.UTF-8; stdin; the formats; exit statuses.
source "$(dirname "$0")/lib.sh"

AT=2026-11-23T10:00:00+08:00
FIX=$CRGW_ROOT/tests/fixtures
PKI=$FIX/pki
CFG=$(make_node_config 120000)
G=$T/gen
D=$T/reports
mkdir -p "$G" "$D"
export LC_ALL=C # the csj-xml base is GB18030: bytes, not characters

# ---- 1. make the reports ----
# kind count base dialect key-dir chain-dir expected
KINDS="jjj-valid 300 unsigned.120000.xml jjj-xml nodes/120000 nodes/120000 TOTAL_PASSED/-
csj-valid 200 unsigned.310000.xml csj-xml nodes/310000 nodes/310000 TOTAL_PASSED/-
cy-valid 200 unsigned.510100.json cy-json nodes/510100 nodes/510100 TOTAL_PASSED/-
gba-valid 200 unsigned.440100.json gba-json nodes/440100 nodes/440100 TOTAL_PASSED/-
wrong-node 150 unsigned.120000.xml jjj-xml nodes/110000 nodes/110000 INDETERMINATE/CHAIN_CONSTRAINTS_FAILURE
expired 150 unsigned.120000.xml jjj-xml negative/120000-expired nodes/120000 INDETERMINATE/OUT_OF_BOUNDS_NO_POE
revoked 150 unsigned.120000.xml jjj-xml negative/120000-revoked nodes/120000 TOTAL_FAILED/REVOKED
weak-key 150 unsigned.120000.xml jjj-xml negative/120000-weak nodes/120000 INDETERMINATE/CRYPTO_CONSTRAINTS_FAILURE
tampered 150 unsigned.120000.xml jjj-xml nodes/120000 nodes/120000 TOTAL_FAILED/HASH_FAILURE
cy-badsig 150 unsigned.510100.json cy-json nodes/510100 nodes/510100 TOTAL_FAILED/SIG_CRYPTO_FAILURE
unsigned 200 unsigned.120000.xml - - - TOTAL_FAILED/FORMAT_FAILURE"

# the report id of each base, replaced by one with the sequence number
id_of() { # base seq -> sets OLD NEW (two pairs for csj-xml: the root Id and 报告编号)
    case "$1" in
    unsigned.120000.xml) OLD=JJJ120000202611180001 NEW=$(printf 'JJJ12000020261118%05d' "$2") ;;
    unsigned.310000.xml) OLD=R-310000-20261118-0001 NEW=$(printf 'R-310000-20261118-%05d' "$2") ;;
    unsigned.510100.json) OLD=CY-510100-20261118-0001 NEW=$(printf 'CY-510100-20261118-%05d' "$2") ;;
    unsigned.440100.json) OLD=GBA-440100-2026-000001 NEW=$(printf 'GBA-440100-2026-%06d' "$2") ;;
    esac
}
ext_of() { case "$1" in jjj-xml | csj-xml | -) echo xml ;; cy-json) echo json ;; gba-json) echo jws ;; esac; }

: >"$T/expected.tsv"
seq_no=0
made=0
while read -r kind count base dialect kdir cdir expected; do
    tpl=$(<"$FIX/reports/invalid/$base")
    ext=$(ext_of "$dialect")
    pairs=()
    outs=()
    for ((k = 0; k < count; k++)); do
        seq_no=$((seq_no + 1))
        id_of "$base" "$seq_no"
        doc=${tpl//$OLD/$NEW}
        # csj-xml: 报告编号 沪信报〔2026〕第0001号 (GB18030 bytes of 第 = B5 DA)
        [ "$base" = unsigned.310000.xml ] && doc=${doc//$'\xb5\xda'0001/$'\xb5\xda'$(printf %05d "$seq_no")}
        name=$(printf '%s-%04d.%s' "$kind" "$k" "$ext")
        if [ "$dialect" = - ]; then
            printf '%s\n' "$doc" >"$D/$name"
        else
            printf '%s\n' "$doc" >"$G/$name"
            pairs+=("$G/$name" "$D/$name")
        fi
        outs+=("$D/$name")
        printf '%s\t%s\n' "$name" "$expected" >>"$T/expected.tsv"
    done
    if [ "$dialect" != - ]; then
        alg=()
        [ "$kind" = weak-key ] && alg=(--alg RS256)
        "$CRGW" sign --config "$CFG" --key "$PKI/$kdir/signer.key.pem" --cert "$PKI/$kdir/signer.pem" \
            --chain "$PKI/$cdir/issuing-ca.pem" --dialect "$dialect" "${alg[@]}" "${pairs[@]}" \
            2>>"$T/sign.log" || fail "crgw sign $kind ($count pairs): $(tail -1 "$T/sign.log")"
    fi
    case "$kind" in
    tampered) sed -i 's/拾伍万元/伍仟元/' "${outs[@]}" ;; # content changed after signing
    cy-badsig) sed -i -E 's/("signature" *: *")A/\1B/; t; s/("signature" *: *")[A-Za-z0-9_-]/\1A/' "${outs[@]}" ;;
    esac
    made=$((made + count))
done <<<"$KINDS"
require_ok
expect_eq "reports made by crgw sign (distinct ids)" "$(find "$D" -type f | wc -l)" 2000
sort -o "$T/expected.tsv" "$T/expected.tsv"
(cd "$D" && zip -qr "$T/reports.zip" .) || fail "zip"

# expected counts by verdict, as the summary prints them ("TOTAL_PASSED", "MAIN/SUB")
cut -f2 "$T/expected.tsv" | sed 's#/-$##' | sort | uniq -c | awk '{print $2, $1}' | sort >"$T/want-counts"

# got.tsv from a csv: name (after the prefix) TAB MAIN/SUB
csv_verdicts() { # csv prefix
    tail -n +2 "$1" | awk -F, -v p="$2" '{ n = $1; sub("^" p, "", n); s = $3 == "" ? "-" : $3; print n "\t" $2 "/" s }'
}
summary_counts() { # summary-file -> "VERDICT N" lines of the "By indication" section
    awk '/^By indication/ {on = 1; next} /^[^ ]/ {on = 0} on {print $1, $2}' "$1" | sort
}

run_bulk() { # tag jobs path... -> $T/TAG.csv, $T/TAG.log (stderr), RC
    local tag=$1 jobs=$2
    shift 2
    "$CRGW" verify --config "$CFG" --at "$AT" --jobs "$jobs" --format csv --summary "$@" \
        >"$T/$tag.csv" 2>"$T/$tag.log"
    RC=$?
}

t0=$(date +%s.%N)
run_bulk dir2 2 "$D"
t1=$(date +%s.%N)
expect_eq "directory, --jobs 2: exit status 1 (some reports fail)" "$RC" 1
csv_verdicts "$T/dir2.csv" "$D/" >"$T/dir2.tsv"
expect_eq "directory: one line per report" "$(wc -l <"$T/dir2.tsv")" 2000
expect_eq "directory: in sorted order" "$(cut -f1 "$T/dir2.tsv")" "$(cut -f1 "$T/expected.tsv")"
expect_eq "directory: every verdict as expected, file by file" "$(diff "$T/expected.tsv" "$T/dir2.tsv" | head -5)" ""
expect_eq "directory: summary counts by verdict = expected" "$(summary_counts "$T/dir2.log")" "$(cat "$T/want-counts")"
expect_match "directory: summary totals" "$(head -1 "$T/dir2.log")" '^Summary: 2000 files, 900 passed, 1100 failed, 0 errors'
expect_match "directory: summary by issuer node (120000)" "$(cat "$T/dir2.log")" '  120000 +1050  天津 Tianjin'
expect_match "directory: summary by issuer node (510100)" "$(cat "$T/dir2.log")" '  510100 +350  成都 Chengdu'
expect_match "directory: summary, unknown issuer (unsigned)" "$(cat "$T/dir2.log")" '  - +200'

expect_eq "valid reports: 900 distinct report ids" \
    "$(tail -n +2 "$T/dir2.csv" | awk -F, '$2 == "TOTAL_PASSED" {print $6}' | sort -u | wc -l)" 900
echo "     (directory of 2000, --jobs 2: $(echo "$t1 - $t0" | bc) s on this machine)"

run_bulk zip2 2 "$T/reports.zip"
expect_eq "ZIP, --jobs 2: exit status 1" "$RC" 1
csv_verdicts "$T/zip2.csv" "$T/reports.zip!" >"$T/zip2.tsv"
expect_eq "ZIP: every verdict as expected, entry by entry" "$(diff "$T/expected.tsv" "$T/zip2.tsv" | head -5)" ""
expect_eq "ZIP: summary counts by verdict = expected" "$(summary_counts "$T/zip2.log")" "$(cat "$T/want-counts")"

run_bulk dir1 1 "$D"
expect_eq "--jobs 1 prints exactly what --jobs 2 printed" "$(cmp "$T/dir1.csv" "$T/dir2.csv" 2>&1)" ""

# ---- 2. errors, each on its own line ----
E=$T/errors
mkdir -p "$E/locked"
head -c 52428800 /dev/zero | zip -q "$E/bomb.zip" - # 50 MiB of zeros in ~50 KiB
truncate -s 30M "$E/big.xml"
: >"$E/empty.xml"
echo "minutes of the tender committee" >"$E/notes.txt"
cp "$D/jjj-valid-0000.xml" "$E/locked/"
chmod 000 "$E/locked"
# Tests may run as root, for whom mode 000 means nothing: then crgw runs without the two
# capabilities that bypass file permissions (setpriv), so the mode bits apply to it; where
# setpriv cannot drop them, as the user nobody (runuser), with the rest of $T readable.
AS=()
if [ "$(id -u)" = 0 ]; then
    AS=(setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search)
    if ! "${AS[@]}" true 2>/dev/null || "${AS[@]}" ls "$E/locked" >/dev/null 2>&1; then
        AS=(runuser -u nobody --)
        chmod -R o+rX "$T"
        chmod 000 "$E/locked"
    fi
    "${AS[@]}" ls "$E/locked" >/dev/null 2>&1 && fail "cannot make a directory unreadable for crgw here"
fi
"${AS[@]}" "$CRGW" verify --config "$CFG" --at "$AT" --format ndjson --summary \
    "$E" "$E/absent.xml" "$D/jjj-valid-0001.xml" >"$T/err.ndjson" 2>"$T/err.log"
RC=$?
chmod 755 "$E/locked"
expect_eq "errors: exit status 1" "$RC" 1
line() { grep -F "\"file\":\"$1\"" "$T/err.ndjson"; }
expect_match "ZIP bomb refused, naming the bound" "$(line "$E/bomb.zip")" \
    '"error":"ZIP archive refused: entry - expands [0-9]+ bytes to 52428800 \(ratio over the bound of 200:1\)","error_kind":"zip_refused"'
expect_match "30 MiB file: too large, naming the bound" "$(line "$E/big.xml")" \
    '"error":"too large: 31457280 bytes, over the bound of 16777216 bytes","error_kind":"too_large"'
expect_match "missing file: errno text" "$(line "$E/absent.xml")" \
    '"error":"cannot read: No such file or directory","error_kind":"unreadable"'
expect_match "directory without read permission: errno text" "$(line "$E/locked")" \
    '"error":"cannot read the directory: Permission denied","error_kind":"unreadable"'
expect_match "empty file" "$(line "$E/empty.xml")" '"error":"empty: 0 bytes","error_kind":"empty"'
expect_match "not a report" "$(line "$E/notes.txt")" \
    '"error":"not a report: neither XML, JSON nor a compact JWS","error_kind":"not_a_report"'
expect_match "a good report among them still passes" "$(line "$D/jjj-valid-0001.xml")" '"indication":"TOTAL_PASSED"'
expect_eq "errors: one line each" "$(wc -l <"$T/err.ndjson")" 7
expect_match "errors: summary" "$(head -1 "$T/err.log")" '^Summary: 7 files, 1 passed, 0 failed, 6 errors'
expect_match "errors: summary lists each failed file with its reason" "$(grep -c ': error: ' "$T/err.log")" '^6$'
"$CRGW" verify --config "$CFG" --max-file 100 --format ndjson "$D/jjj-valid-0002.xml" >"$T/small.out" 2>>"$T/err.log"
expect_match "--max-file names its bound" "$(cat "$T/small.out")" 'too large: [0-9]+ bytes, over the bound of 100 bytes'

# ---- 3. terminal, pipes, language, stdin, formats, exit statuses ----
SUBSET=("$D"/jjj-valid-00[0-4]?.xml "$D"/revoked-000?.xml)
script -qfc "'$CRGW' verify --config '$CFG' --at '$AT' --jobs 2 --format csv $(printf "'%s' " "${SUBSET[@]}") >/dev/null" \
    /dev/null </dev/null >"$T/tty.log" 2>&1
expect_match "pseudo-terminal: progress bar on stderr" "$(tr '\r' '\n' <"$T/tty.log")" \
    '\[#+\] 60/60 100%  [0-9]+/s  ETA 0:00  failed 10'
expect_match "pseudo-terminal: summary by default" "$(cat "$T/tty.log")" 'Summary: 60 files, 50 passed, 10 failed'
"$CRGW" verify --config "$CFG" --at "$AT" --jobs 2 --format csv "${SUBSET[@]}" 2>&1 >/dev/null | cat >"$T/pipe.log"
expect_eq "pipes: no progress bar, no summary" "$(cat "$T/pipe.log")" ""
LANG=zh_CN.UTF-8 LC_ALL= "$CRGW" verify --config "$CFG" --at "$AT" --summary --format csv "${SUBSET[@]}" \
    2>"$T/zh.log" >/dev/null
expect_match "LANG=zh_CN: summary in Chinese" "$(head -1 "$T/zh.log")" '^汇总: 60 个文件, 50 个通过, 10 个未通过, 0 个错误'
expect_match "LANG=zh_CN: failed files" "$(cat "$T/zh.log")" '未通过的文件及原因'
OUT=$("$CRGW" verify --config "$CFG" --at "$AT" --format ndjson - <"$D/csj-valid-0000.xml" 2>>"$T/err.log")
expect_eq "stdin: exit 0 when it passes" "$?" 0
expect_match "stdin: verdict" "$OUT" '^\{"file":"-","indication":"TOTAL_PASSED"'
"$CRGW" verify --config "$CFG" --at "$AT" --format table "$D/gba-valid-0000.jws" "$E/empty.xml" >"$T/table.out" 2>>"$T/err.log"
expect_match "table format" "$(cat "$T/table.out")" '^FILE +VERDICT +ISSUER +RECOGNISED'
expect_match "table: error line" "$(cat "$T/table.out")" 'empty.xml +error: empty: 0 bytes'
OUT=$("$CRGW" verify --config "$CFG" --at "$AT" --scenario tender --format csv "$D/jjj-valid-0003.xml" 2>>"$T/err.log")
expect_match "csv with --scenario: recognised column" "$(echo "$OUT" | tail -1)" '^[^,]*,TOTAL_PASSED,,120000,yes,JJJ'
"$CRGW" verify --config "$CFG" --format yaml "$D" >/dev/null 2>>"$T/err.log"
expect_eq "unknown format: exit 2" "$?" 2
"$CRGW" verify --config "$CFG" --jobs 0 "$D" >/dev/null 2>>"$T/err.log"
expect_eq "--jobs 0: exit 2" "$?" 2
"$CRGW" verify --config "$T/absent.yaml" "$D" >/dev/null 2>>"$T/err.log"
expect_eq "configuration that does not load: exit 2" "$?" 2
exit 0
