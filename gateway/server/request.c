#include "gateway/server/request.h"

#include <string.h>

#include "gateway/core/hex.h"
#include "gateway/server/config.h"

int crgw_request_split_path(const char *raw, void *(*alloc)(void *actx, size_t n), void *actx,
                            const char **path, const char **query)
{
    const char *p = raw;
    if (!p || p[0] != '/')
        return -1;
    const char *q = strchr(p, '?');
    size_t plen = q ? (size_t)(q - p) : strlen(p);
    *query = q ? q + 1 : "";
    char *d = alloc(actx, plen + 1);
    size_t j = 0;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] == '%') {
            int hi = i + 2 < plen ? crgw_hexval(p[i + 1]) : -1;
            int lo = hi >= 0 ? crgw_hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            d[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[j++] = p[i];
        }
    }
    d[j] = '\0';
    *path = d;
    return 0;
}

int crgw_request_h2c_identity(crgw_req *r, const char *x_role, const char *x_client)
{
    if (x_client)
        r->client = x_client;
    if (!x_role)
        return 0;
    unsigned roles = 0;
    const char *p = x_role;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if (e == p)
            break;
        char name[32];
        if ((size_t)(e - p) >= sizeof(name))
            return -1;
        memcpy(name, p, (size_t)(e - p));
        name[e - p] = '\0';
        unsigned bit = strcmp(name, "peer") == 0 ? CRGW_ROLE_PEER : crgw_role_from_name(name);
        if (!bit)
            return -1;
        roles |= bit;
        p = e;
    }
    r->role = roles;
    if (roles & CRGW_ROLE_PEER) {
        const crgw_node *n = crgw_config_peer_by_uri(r->cfg, r->client);
        r->peer_node = n ? n->code : NULL;
    }
    return 0;
}
