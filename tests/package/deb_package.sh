#!/bin/bash
# The Debian package on a fresh Debian 12 root (`make deb-test`; issue 11, acceptance 5):
#   builds it (ops/deb/build-deb), installs it with `apt-get install ./crgw_*.deb` into a copy
#   of a debootstrap minbase bookworm root (cached in $CRGW_DEB_BASE, default
#   /var/tmp/crgw-deb-base; built once, about a minute, needs the Debian archive), so that its
#   Depends resolve from the archive; then: the crgw user, `crgw check-config` on the installed
#   /etc/crgw/node.yaml (as root and as crgw), `systemd-analyze verify` of the units (systemd
#   installed in the root), the units' own command lines started as crgw in the root (Redis,
#   crgw with READY=1 on $NOTIFY_SOCKET, /readyz 200 over mutual TLS with the generated client
#   certificate, an audited answer, the audit chain, SIGHUP, SIGTERM; the Sentinel template;
#   each under strace: every system call made must be one its unit's SystemCallFilter= allows),
#   a reinstall (keeps the generated PKI) and a purge (keeps the audit log).
# Needs root, debootstrap (ops/install-deps --deb) and the Debian archive: without them it FAILS
# and says which is missing; it never skips. Usage: tests/package/deb_package.sh [BUILD_DIR]
source "$(dirname "$0")/../integration/lib.sh"
BUILD_DIR=${1:-build}
BASE=${CRGW_DEB_BASE:-/var/tmp/crgw-deb-base}
ROOT=
ROOT_PIDS=()
start_s=$(date +%s)

deb_cleanup() {
    local p m
    for p in "${ROOT_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${ROOT_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    # and anything still running inside our private root (only processes this test started)
    if [ -n "$ROOT" ]; then
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] && kill -KILL "${p#/proc/}" 2>/dev/null
        done
    fi
    if [ -n "$ROOT" ] && [ -d "$ROOT" ]; then
        for m in dev/pts dev proc sys; do umount -l "$ROOT/$m" 2>/dev/null; done
        if [ -n "${KEEP_ROOT:-}" ]; then echo "kept the root in $ROOT"; else rm -rf --one-file-system "$ROOT"; fi
    fi
}
trap '_rc=$?; deb_cleanup; (exit $_rc); _lib_cleanup' EXIT

in_root() { chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
as_crgw() { chroot --userspec=crgw:crgw "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
# the system calls a unit's SystemCallFilter= lines allow (groups expanded, ~ lines removed)
expand_filter() { # @group or name -> names, one a line
    local w
    case "$1" in
    @*) in_root systemd-analyze syscall-filter "$1" | tail -n +2 | sed 's/^ *//; /^#/d; /^$/d' |
        while read -r w; do expand_filter "$w"; done ;;
    *) echo "$1" ;;
    esac
}
unit_syscalls() { # unit -> the allowed names, sorted
    local line w allow="" deny=""
    while read -r line; do
        case "$line" in
        "~"*) for w in ${line#"~"}; do deny="$deny $w"; done ;;
        *) for w in $line; do allow="$allow $w"; done ;;
        esac
    done < <(unit_exec "$1" SystemCallFilter)
    comm -23 <(for w in $allow; do expand_filter "$w"; done | sort -u) \
        <(for w in $deny; do expand_filter "$w"; done | sort -u)
}
# strace_syscalls FILE -> the system calls made (names, sorted)
strace_syscalls() { sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$1" | sort -u; }
check_seccomp() { # unit strace-file: every call made is one the unit allows
    local made bad
    made=$(strace_syscalls "$2" | wc -l)
    bad=$(comm -23 <(strace_syscalls "$2") <(unit_syscalls "$1") | tr '\n' ' ')
    [ "$made" -gt 20 ] || { fail "$1: strace saw only $made system calls"; return; }
    expect_eq "$1: all $made system calls made are allowed by its SystemCallFilter=" "$bad" ""
}

# stop_traced STRACE_PID: SIGTERM to the traced program (as systemd stops it), its exit status
# in $RC (the program's, which strace returns); SIGKILL and a failure after 20 s
stop_traced() {
    local child i
    child=$(pgrep -P "$1" | head -1)
    [ -n "$child" ] && kill -TERM "$child"
    for i in $(seq 400); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    if kill -0 "$1" 2>/dev/null; then
        fail "pid $child did not stop within 20 s of SIGTERM"
        kill -KILL "$1" "$child" 2>/dev/null
    fi
    wait "$1"
    RC=$?
}

# the command lines of a unit: unit_exec FILE KEY (ExecStart, ExecStartPre, ...), one per line
unit_exec() { sed -n "s/^$2=//p" "$ROOT/lib/systemd/system/$1"; }

# ---- prerequisites: fail loudly ----
[ "$(id -u)" = 0 ] || { fail "needs root (debootstrap, chroot, mounts): run it as root"; exit 1; }
for c in debootstrap dpkg-shlibdeps; do
    command -v "$c" >/dev/null || { fail "$c is missing: ops/install-deps --deb"; exit 1; }
done

# ---- the package ----
[ -x "$BUILD_DIR/crgw" ] || { fail "$BUILD_DIR/crgw is not built (make)"; exit 1; }
DEB=$(ops/deb/build-deb "$BUILD_DIR" "$T/out") || { fail "ops/deb/build-deb failed"; exit 1; }
pass "built $(basename "$DEB") ($(stat -c %s "$DEB") bytes)"
version=$(dpkg-deb -f "$DEB" Version)
dpkg --validate-version "$version" && pass "version $version is a valid Debian version" ||
    fail "version $version is not a valid Debian version"
expect_match "Depends computed from the shared libraries" "$(dpkg-deb -f "$DEB" Depends)" \
    'libc6 \(>= [0-9.]+\).*libnghttp2-14.*libssl3.*libxml2.*adduser'
expect_eq "conffiles" "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | tr '\n' ' ')" \
    "/etc/crgw/calendar-cn.yaml /etc/crgw/federation.yaml /etc/crgw/node.yaml /etc/crgw/redis.conf /etc/crgw/sentinel.conf "
expect_eq "no private key in the package" "$(dpkg-deb -c "$DEB" | grep -c 'key')" 0
require_ok

# ---- a fresh Debian 12 root ----
if [ ! -f "$BASE/.ready" ]; then
    mirror=$(grep -rhs '^URIs' /etc/apt/sources.list.d/ | awk '$2 ~ /\/debian$/ {print $2; exit}')
    [ -n "$mirror" ] || mirror=$(awk '/^deb .*\/debian / {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
    mirror=${mirror:-http://deb.debian.org/debian}
    echo "deb_package: building a minimal Debian 12 root in $BASE from $mirror (once)"
    rm -rf "$BASE.tmp"
    if ! debootstrap --variant=minbase bookworm "$BASE.tmp" "$mirror" >"$T/debootstrap.log" 2>&1; then
        tail -5 "$T/debootstrap.log"
        fail "debootstrap of bookworm from $mirror failed (no network or no archive?): see above"
        exit 1
    fi
    touch "$BASE.tmp/.ready"
    rm -rf "$BASE" && mv "$BASE.tmp" "$BASE"
fi
ROOT=$(mktemp -d /var/tmp/crgw-debtest.XXXXXX)
cp -a "$BASE/." "$ROOT/"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
for m in proc sys dev dev/pts; do mkdir -p "$ROOT/$m"; mount --bind "/$m" "$ROOT/$m"; done
# as in a container build: maintainer scripts start no daemon in this root (redis-server's
# postinst would start one on the host's network otherwise)
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
in_root test ! -e /usr/bin/crgw && in_root sh -c '! getent passwd crgw' ||
    { fail "the base root $BASE is not fresh (crgw in it): delete it"; exit 1; }

# ---- apt-get install ./crgw_*.deb ----
cp "$DEB" "$ROOT/tmp/"
debname=$(basename "$DEB")
if ! in_root sh -c 'apt-get update -qq' >"$T/apt.log" 2>&1; then
    tail -5 "$T/apt.log"
    fail "apt-get update in the root failed (no network or no archive?)"
    exit 1
fi
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$debname" >>"$T/apt.log" 2>&1; then
    pass "apt-get install ./$debname on a fresh Debian 12 root (Depends resolved from the archive)"
else
    tail -20 "$T/apt.log"
    fail "apt-get install ./$debname failed"
    exit 1
fi
expect_eq "dpkg: installed" "$(in_root dpkg-query -W -f='${Status}' crgw)" "install ok installed"
grep -E '^crgw: generated' "$T/apt.log" | head -1
expect_match "crgw --version" "$(in_root crgw --version 2>&1)" 'crgw'

# the user
ent=$(in_root getent passwd crgw)
expect_match "id crgw: the user exists" "$(in_root id crgw)" '^uid=[0-9]+\(crgw\) gid=[0-9]+\(crgw\)'
uid=$(echo "$ent" | cut -d: -f3)
[ "$uid" -lt 1000 ] && pass "crgw is a system user (uid $uid)" || fail "crgw uid $uid is not a system uid"
expect_eq "crgw: no login shell" "$(echo "$ent" | cut -d: -f7)" /usr/sbin/nologin
expect_eq "generated node key: root:crgw 0640" "$(in_root stat -c '%U:%G %a' /etc/crgw/pki/node.key.pem)" "root:crgw 640"
expect_eq "audit dir: crgw 0750" "$(in_root stat -c '%U:%G %a' /var/lib/crgw/audit)" "crgw:crgw 750"

# check-config on the installed default configuration
out=$(in_root crgw check-config --config /etc/crgw/node.yaml 2>&1)
expect_eq "crgw check-config --config /etc/crgw/node.yaml (root)" "$?" 0
[ -n "$out" ] && echo "$out" | head -5
out=$(as_crgw /usr/bin/crgw check-config --config /etc/crgw/node.yaml 2>&1)
expect_eq "crgw check-config as the crgw user" "$?" 0
[ -n "$out" ] && echo "$out" | head -5
# and it is a real check: a broken copy fails with file:line
sed 's/^listen: .*/listen: nowhere/' "$ROOT/etc/crgw/node.yaml" >"$ROOT/etc/crgw/broken.yaml"
out=$(in_root crgw check-config --config /etc/crgw/broken.yaml 2>&1)
rc=$?
[ "$rc" != 0 ] && pass "check-config refuses a broken copy (exit $rc)" || fail "check-config accepted listen: nowhere"
expect_match "the refusal names file and line" "$out" 'broken.yaml:[0-9]+: '
rm -f "$ROOT/etc/crgw/broken.yaml"

# ---- systemd-analyze verify (systemd installed in the root) ----
if ! in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends systemd strace >>"$T/apt.log" 2>&1; then
    tail -10 "$T/apt.log"
    fail "apt-get install systemd strace in the root failed"
    exit 1
fi
units="/lib/systemd/system/crgw.service /lib/systemd/system/crgw-redis.service /lib/systemd/system/crgw-sentinel.service"
# shellcheck disable=SC2086
out=$(in_root systemd-analyze verify $units 2>&1)
rc=$?
expect_eq "systemd-analyze verify of the three units: exit" "$rc" 0
expect_eq "systemd-analyze verify: no warning about them" "$(echo "$out" | grep -c 'crgw')" 0
[ -n "$out" ] && echo "$out" | head -10
expect_eq "crgw.service enabled (multi-user.target.wants)" \
    "$(readlink "$ROOT/etc/systemd/system/multi-user.target.wants/crgw.service")" /lib/systemd/system/crgw.service
expect_eq "crgw-sentinel.service not enabled" \
    "$(ls "$ROOT/etc/systemd/system/multi-user.target.wants/" | grep -c sentinel)" 0
sec=$(in_root systemd-analyze security --offline=true /lib/systemd/system/crgw.service 2>&1 | tail -1)
echo "     systemd-analyze security crgw.service: ${sec#→ }"
require_ok

# ---- the units' command lines, as crgw, in the root ----
# systemd's end of Type=notify: a datagram socket per unit, $ROOT/tmp/NAME.sock -> $T/NAME.txt
cc -O1 -o "$T/recv" tests/integration/sd_notify_recv.c || { fail "cannot compile sd_notify_recv"; exit 1; }
start_recv() {
    : >"$T/$1.txt"
    "$T/recv" "$ROOT/tmp/$1.sock" "$T/$1.txt" &
    _LIB_PIDS+=($!)
    for _ in $(seq 100); do [ -S "$ROOT/tmp/$1.sock" ] && break; sleep 0.02; done
    chmod 777 "$ROOT/tmp/$1.sock" # systemd's socket accepts any uid
}
wait_ready_dgram() { # name: until READY=1 arrived (10 s)
    for _ in $(seq 200); do grep -q '^READY=1' "$T/$1.txt" && return 0; sleep 0.05; done
    return 1
}
# what systemd does before ExecStart: RuntimeDirectory= and StateDirectory=
install -d -o "$uid" -g "$uid" -m 0750 "$ROOT/run/crgw-redis"
redis_cmd=$(unit_exec crgw-redis.service ExecStart)
expect_eq "crgw-redis ExecStart" "$redis_cmd" "/usr/bin/redis-server /etc/crgw/redis.conf"
# shellcheck disable=SC2086
start_recv redis
chroot --userspec=crgw:crgw "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin NOTIFY_SOCKET=/tmp/redis.sock \
    /usr/bin/strace -f -qq -o /tmp/redis.strace $redis_cmd >"$T/root-redis.log" 2>&1 &
REDIS_STRACE_PID=$!
ROOT_PIDS+=($REDIS_STRACE_PID)
for _ in $(seq 100); do
    [ "$(in_root redis-cli -s /run/crgw-redis/redis.sock PING 2>/dev/null)" = PONG ] && break
    sleep 0.05
done
expect_eq "crgw-redis: answers on /run/crgw-redis/redis.sock" \
    "$(in_root redis-cli -s /run/crgw-redis/redis.sock PING 2>&1)" PONG
wait_ready_dgram redis && pass "crgw-redis (Type=notify): READY=1 on \$NOTIFY_SOCKET" ||
    fail "crgw-redis sent no READY=1: $(cat "$T/redis.txt")"
expect_eq "crgw-redis: appendfsync always" \
    "$(in_root redis-cli -s /run/crgw-redis/redis.sock CONFIG GET appendfsync | tail -1)" always
require_ok

start_recv notify
crgw_cmd=$(unit_exec crgw.service ExecStart)
expect_eq "crgw ExecStart" "$crgw_cmd" "/usr/bin/crgw serve --config /etc/crgw/node.yaml"
PORT=$(free_port)
# shellcheck disable=SC2086
# (for an ASan build, `deb_package.sh build/asan`: LeakSanitizer cannot run under ptrace, the
# other checks stay and a report in the log fails the test; no effect on a release build)
chroot --userspec=crgw:crgw "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin NOTIFY_SOCKET=/tmp/notify.sock \
    ASAN_OPTIONS=detect_leaks=0 \
    /usr/bin/strace -f -qq -o /tmp/crgw.strace $crgw_cmd --listen "127.0.0.1:$PORT" >"$T/crgw.log" 2>&1 &
STRACE_PID=$!
ROOT_PIDS+=($STRACE_PID)
for _ in $(seq 100); do CRGW_ROOT_PID=$(pgrep -P "$STRACE_PID" -x crgw) && break; sleep 0.05; done
[ -n "$CRGW_ROOT_PID" ] || { fail "crgw did not start under strace"; exit 1; }
for _ in $(seq 200); do grep -q '^READY=1' "$T/notify.txt" 2>/dev/null && break; sleep 0.05; done
expect_eq "crgw as crgw: READY=1 on \$NOTIFY_SOCKET" "$(head -1 "$T/notify.txt")" "READY=1|STATUS=serving node 120000"
require_ok
pki="$ROOT/etc/crgw/pki"
mtls() { # role path [curl args]
    local role=$1 p=$2
    shift 2
    STATUS=$(curl -s --http2 --cacert "$pki/ca.pem" --cert "$pki/clients/$role.pem" \
        --key "$pki/clients/$role.key.pem" -o "$T/body" -w '%{http_code}' --max-time 20 "$@" \
        "https://127.0.0.1:$PORT$p")
    BODY=$(cat "$T/body" 2>/dev/null)
}
for _ in $(seq 100); do mtls operator /readyz; [ "$STATUS" = 200 ] && break; sleep 0.05; done
expect_eq "GET /readyz over mutual TLS with the generated operator certificate" "$STATUS" 200
mtls verifier /v1/reports/verify --data-binary @tests/fixtures/reports/valid/120000.xml
expect_eq "POST /v1/reports/verify as the generated verifier: 200" "$STATUS" 200
expect_match "the verdict names its issuer" "$BODY" '"issuer_node": *"120000"'
mtls verifier /v1/federation/peers
expect_eq "verifier on an operator route: 403" "$STATUS" 403
kill -HUP "$CRGW_ROOT_PID"
for _ in $(seq 100); do [ "$(grep -c '^READY=1' "$T/notify.txt")" -ge 2 ] && break; sleep 0.05; done
expect_eq "SIGHUP (ExecReload): RELOADING=1 then READY=1" "$(sed -n 2p "$T/notify.txt" | cut -d'|' -f1) $(sed -n 3p "$T/notify.txt" | cut -d'|' -f1)" "RELOADING=1 READY=1"
expect_match "reloaded" "$(cat "$T/crgw.log")" 'configuration reloaded'
stop_traced "$STRACE_PID"
expect_eq "SIGTERM: drained, exit 0" "$RC" 0
check_seccomp crgw.service "$ROOT/tmp/crgw.strace"
expect_eq "SIGTERM: STOPPING=1" "$(tail -1 "$T/notify.txt" | cut -d'|' -f1)" "STOPPING=1"
out=$(as_crgw /usr/bin/crgw audit verify --audit-dir /var/lib/crgw/audit --config /etc/crgw/node.yaml 2>&1)
expect_eq "crgw audit verify: the installed node's audit chain is intact" "$?" 0
[ "$FAILED" = 0 ] || echo "$out" | tail -5

# Redis stopped as systemd stops it (SIGTERM), its system calls against its unit's filter
stop_traced "$REDIS_STRACE_PID"
expect_eq "crgw-redis: SIGTERM, exit 0" "$RC" 0
check_seccomp crgw-redis.service "$ROOT/tmp/redis.strace"

# the Sentinel template loads (its ExecStartPre copy, then Sentinel on a free port)
pre=$(unit_exec crgw-sentinel.service ExecStartPre)
as_crgw /bin/sh -c "$pre" 2>&1 # the shell parses the quotes as systemd does
cmp -s "$ROOT/etc/crgw/sentinel.conf" "$ROOT/var/lib/crgw-sentinel/sentinel.conf" &&
    pass "crgw-sentinel ExecStartPre: the first copy of /etc/crgw/sentinel.conf" ||
    fail "crgw-sentinel ExecStartPre made no copy"
echo "# rewritten by sentinel" >>"$ROOT/var/lib/crgw-sentinel/sentinel.conf"
as_crgw /bin/sh -c "$pre" 2>&1
expect_eq "crgw-sentinel ExecStartPre: never overwrites Sentinel's own copy" \
    "$(tail -1 "$ROOT/var/lib/crgw-sentinel/sentinel.conf")" "# rewritten by sentinel"
expect_eq "crgw-sentinel ExecStart" "$(unit_exec crgw-sentinel.service ExecStart)" \
    "/usr/bin/redis-server /var/lib/crgw-sentinel/sentinel.conf --sentinel"
SPORT=$(free_port)
start_recv sentinel
chroot --userspec=crgw:crgw "$ROOT" /usr/bin/env -i PATH=/usr/bin:/bin NOTIFY_SOCKET=/tmp/sentinel.sock \
    /usr/bin/strace -f -qq -o /tmp/sentinel.strace /usr/bin/redis-server \
    /var/lib/crgw-sentinel/sentinel.conf --sentinel --port "$SPORT" >"$T/sentinel.log" 2>&1 &
SENTINEL_STRACE_PID=$!
ROOT_PIDS+=($SENTINEL_STRACE_PID)
for _ in $(seq 100); do in_root redis-cli -p "$SPORT" PING >/dev/null 2>&1 && break; sleep 0.05; done
wait_ready_dgram sentinel && pass "crgw-sentinel (Type=notify): READY=1 on \$NOTIFY_SOCKET" ||
    fail "crgw-sentinel sent no READY=1: $(cat "$T/sentinel.txt")"
expect_eq "sentinel.conf: monitors master crgw" \
    "$(in_root redis-cli -p "$SPORT" SENTINEL get-master-addr-by-name crgw 2>&1 | tr '\n' ' ')" "127.0.0.1 6379 "
stop_traced "$SENTINEL_STRACE_PID"
expect_eq "crgw-sentinel: SIGTERM, exit 0" "$RC" 0
check_seccomp crgw-sentinel.service "$ROOT/tmp/sentinel.strace"

# ---- reinstall (an upgrade's path), then purge ----
before=$(md5sum <"$ROOT/etc/crgw/pki/node.pem")
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "/tmp/$debname" >>"$T/apt.log" 2>&1; then
    pass "reinstall"
else
    fail "reinstall failed"
fi
expect_eq "reinstall keeps the generated TLS identity" "$(md5sum <"$ROOT/etc/crgw/pki/node.pem")" "$before"
if in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q crgw >>"$T/apt.log" 2>&1; then
    pass "apt-get purge crgw"
else
    tail -10 "$T/apt.log"
    fail "purge failed"
fi
[ ! -e "$ROOT/etc/crgw" ] && pass "purge removed /etc/crgw (conffiles and generated PKI)" ||
    fail "purge left $(find "$ROOT/etc/crgw" | head -3 | tr '\n' ' ')"
[ -n "$(ls "$ROOT/var/lib/crgw/audit")" ] && pass "purge kept the audit log in /var/lib/crgw/audit" ||
    fail "purge lost the audit log"
[ ! -e "$ROOT/lib/systemd/system/crgw.service" ] && pass "purge removed the units" ||
    fail "the units are still installed"

echo "deb_package: $(( $(date +%s) - start_s )) s"
