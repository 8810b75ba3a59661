#!/usr/bin/python3
"""fed_sign.py KEY CERT < payload.json: a federation message as a node sends it (compact JWS,
ES256, x5c = [CERT]), signed with openssl (the signature converted from DER to JOSE's r||s).
For tests that call the peer routes /federation/v1/... themselves."""
import base64
import json
import subprocess
import sys


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def der_to_raw(der, n=32):
    # SEQUENCE { INTEGER r, INTEGER s } (short lengths: P-256)
    assert der[0] == 0x30
    i = 2
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        ln = der[i + 1]
        v = der[i + 2:i + 2 + ln].lstrip(b"\0")
        out += v.rjust(n, b"\0")
        i += 2 + ln
    return out


def main():
    key, cert = sys.argv[1], sys.argv[2]
    with open(cert) as f:
        pem = f.read()
    der_b64 = "".join(l for l in pem.splitlines() if l and not l.startswith("-----"))
    header = b64u(json.dumps({"alg": "ES256", "x5c": [der_b64]}, separators=(",", ":")).encode())
    payload = b64u(sys.stdin.read().strip().encode())
    signing_input = f"{header}.{payload}".encode()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signing_input,
                         capture_output=True, check=True).stdout
    print(f"{header}.{payload}.{b64u(der_to_raw(der))}")


if __name__ == "__main__":
    main()
