# Signs federation messages in the tests as a node would (sourced after lib.sh): a compact JWS,
# ES256, x5c = the node's federation certificate, signed with its key from the fixture PKI
# ($PKI/<code>/tls.pem, tls.key.pem), with openssl only. The signature is converted from DER to
# the JWS form (r || s, 32 bytes each).
#
#   fed_sign CODE PAYLOAD                -> the JWS on stdout
#   fed_post TO FROM ROUTE PAYLOAD       -> $STATUS $BODY: PAYLOAD signed by FROM, posted over
#                                           mutual TLS with FROM's certificate to node TO's
#                                           /federation/v1/repair/ROUTE (events, applications)

fed_b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

fed_sign() { # code payload
    local c=$1 p=$2 x5c hdr pl ints r s
    x5c=$(openssl x509 -in "$PKI/$c/tls.pem" -outform DER | base64 -w0)
    hdr=$(printf '{"alg":"ES256","x5c":["%s"]}' "$x5c" | fed_b64url)
    pl=$(printf '%s' "$p" | fed_b64url)
    printf '%s.%s' "$hdr" "$pl" |
        openssl dgst -sha256 -sign "$PKI/$c/tls.key.pem" -binary >"$T/fed-sig.der" || return 1
    # shellcheck disable=SC2207
    ints=($(openssl asn1parse -inform DER -in "$T/fed-sig.der" | awk -F: '/INTEGER/ {print $NF}'))
    [ "${#ints[@]}" = 2 ] || return 1
    r=$(printf '%064s' "${ints[0]}" | tr ' ' 0)
    s=$(printf '%064s' "${ints[1]}" | tr ' ' 0)
    printf '%s.%s.%s' "$hdr" "$pl" "$(printf '%b' "$(printf '%s%s' "${r: -64}" "${s: -64}" | sed 's/../\\x&/g')" | fed_b64url)"
}

fed_post() { # to from route payload
    local jws
    jws=$(fed_sign "$2" "$4") || { STATUS=sign-failed; BODY=; return; }
    rp_tls "$1" "node:$2" POST "/federation/v1/repair/$3" -H 'content-type: application/jose' \
        --data-binary "$jws"
}
