/*
 * config_query: what the rest of the server and the modules ask of a loaded configuration
 * (nodes, clients, agreements, module sections, module checks, role names). The loader is
 * gateway/server/config.c.
 */
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/module.h"

static const char *const role_names[] = {"verifier", "repair_desk", "platform", "operator", "peer"};

unsigned crgw_role_from_name(const char *name)
{
    for (size_t i = 0; i < 4; i++) /* "peer" is not a local client role */
        if (strcmp(name, role_names[i]) == 0)
            return 1u << i;
    return 0;
}

const char *crgw_role_name(unsigned role)
{
    for (size_t i = 0; i < CRGW_ARRAY_LEN(role_names); i++)
        if (role == 1u << i)
            return role_names[i];
    return "none";
}

int crgw_strv_contains(const crgw_strv *sv, const char *s)
{
    for (size_t i = 0; i < sv->n; i++)
        if (strcmp(sv->v[i], s) == 0)
            return 1;
    return 0;
}

const void *crgw_config_section(const crgw_config *cfg, const crgw_module *m)
{
    for (size_t i = 0; i < cfg->n_sections; i++)
        if (cfg->mods[i] == m)
            return cfg->sections[i];
    crgw_assert(!"module not in the configuration's module list");
    return NULL;
}

int crgw_config_section_line(const crgw_config *cfg, const crgw_module *m)
{
    for (size_t i = 0; i < cfg->n_sections; i++)
        if (cfg->mods[i] == m)
            return cfg->section_lines[i];
    return 0;
}

int crgw_config_check(crgw_config *cfg, crgw_errs *errs, const crgw_module **failed)
{
    int rc = 0;
    if (failed)
        *failed = NULL;
    for (size_t i = 0; i < cfg->n_sections; i++) {
        if (!cfg->mods[i]->check || cfg->mods[i]->check(cfg, errs) == 0)
            continue;
        if (failed && rc == 0)
            *failed = cfg->mods[i];
        rc = CRGW_ERR_INVALID;
    }
    return rc;
}

const crgw_node *crgw_config_node(const crgw_config *c, const char *code)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (strcmp(c->nodes[i].code, code) == 0)
            return &c->nodes[i];
    return NULL;
}

const crgw_node *crgw_config_self(const crgw_config *c)
{
    return crgw_config_node(c, c->node);
}

unsigned crgw_config_client_roles(const crgw_config *c, const char *uri)
{
    for (size_t i = 0; i < c->n_clients; i++)
        if (strcmp(c->clients[i].uri, uri) == 0)
            return c->clients[i].roles;
    return 0;
}

const crgw_node *crgw_config_peer_by_uri(const crgw_config *c, const char *uri)
{
    for (size_t i = 0; i < c->n_nodes; i++)
        if (c->nodes[i].tls_uri && strcmp(c->nodes[i].tls_uri, uri) == 0)
            return &c->nodes[i];
    return NULL;
}

const crgw_agreement *crgw_config_agreement(const crgw_config *c, const char *id)
{
    for (size_t i = 0; i < c->n_agreements; i++)
        if (strcmp(c->agreements[i].id, id) == 0)
            return &c->agreements[i];
    return NULL;
}
