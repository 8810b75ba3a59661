#include "gateway/core/yamltree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "gateway/core/util.h"

#define MAX_DEPTH 32

typedef struct {
    yaml_parser_t parser;
    char *err;
    size_t errlen;
    int depth;
} yctx;

static crgw_ynode *ynode_new(crgw_ytype t, int line)
{
    crgw_ynode *n = xcalloc(1, sizeof(*n));
    n->type = t;
    n->line = line;
    return n;
}

void crgw_yaml_free(crgw_ynode *n)
{
    if (n == NULL)
        return;
    free(n->scalar);
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            free(n->keys[i]);
        crgw_yaml_free(n->kids[i]);
    }
    free(n->keys);
    free(n->key_lines);
    free(n->kids);
    free(n);
}

static void append(crgw_ynode *p, char *key, int key_line, crgw_ynode *kid)
{
    p->kids = xrealloc(p->kids, (p->n + 1) * sizeof(*p->kids));
    if (p->type == CRGW_Y_MAP) {
        p->keys = xrealloc(p->keys, (p->n + 1) * sizeof(*p->keys));
        p->key_lines = xrealloc(p->key_lines, (p->n + 1) * sizeof(*p->key_lines));
        p->keys[p->n] = key;
        p->key_lines[p->n] = key_line;
    }
    p->kids[p->n++] = kid;
}

static int next_event(yctx *c, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&c->parser, ev)) {
        snprintf(c->err, c->errlen, "line %zu: %s", c->parser.problem_mark.line + 1,
                 c->parser.problem ? c->parser.problem : "syntax error");
        return -1;
    }
    return 0;
}

static int parse_node(yctx *c, yaml_event_t *ev, crgw_ynode **out);

static int parse_children(yctx *c, crgw_ynode *n, yaml_event_type_t end)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev) != 0)
            return -1;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            return 0;
        }
        char *key = NULL;
        int key_line = 0;
        if (n->type == CRGW_Y_MAP) {
            if (ev.type != YAML_SCALAR_EVENT) {
                snprintf(c->err, c->errlen, "line %zu: mapping keys must be plain scalars",
                         ev.start_mark.line + 1);
                yaml_event_delete(&ev);
                return -1;
            }
            key = xstrdup((const char *)ev.data.scalar.value);
            key_line = (int)ev.start_mark.line + 1;
            for (size_t i = 0; i < n->n; i++) {
                if (strcmp(n->keys[i], key) == 0) {
                    snprintf(c->err, c->errlen, "line %d: duplicate key '%s' (first at line %d)",
                             key_line, key, n->key_lines[i]);
                    free(key);
                    yaml_event_delete(&ev);
                    return -1;
                }
            }
            yaml_event_delete(&ev);
            if (next_event(c, &ev) != 0) {
                free(key);
                return -1;
            }
        }
        crgw_ynode *kid = NULL;
        int rc = parse_node(c, &ev, &kid);
        yaml_event_delete(&ev);
        if (rc != 0) {
            free(key);
            return -1;
        }
        append(n, key, key_line, kid);
    }
}

static int parse_node(yctx *c, yaml_event_t *ev, crgw_ynode **out)
{
    int line = (int)ev->start_mark.line + 1;
    const yaml_char_t *anchor = NULL, *tag = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        snprintf(c->err, c->errlen, "line %d: aliases are not supported", line);
        return -1;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    default:
        snprintf(c->err, c->errlen, "line %d: unexpected YAML event", line);
        return -1;
    }
    if (anchor != NULL || tag != NULL) {
        snprintf(c->err, c->errlen, "line %d: anchors and tags are not supported", line);
        return -1;
    }
    if (ev->type == YAML_SCALAR_EVENT) {
        crgw_ynode *n = ynode_new(CRGW_Y_SCALAR, line);
        n->scalar = xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        *out = n;
        return 0;
    }
    if (++c->depth > MAX_DEPTH) {
        snprintf(c->err, c->errlen, "line %d: nesting deeper than %d", line, MAX_DEPTH);
        return -1;
    }
    int is_map = ev->type == YAML_MAPPING_START_EVENT;
    crgw_ynode *n = ynode_new(is_map ? CRGW_Y_MAP : CRGW_Y_SEQ, line);
    if (parse_children(c, n, is_map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT) != 0) {
        crgw_yaml_free(n);
        return -1;
    }
    c->depth--;
    *out = n;
    return 0;
}

int crgw_yaml_load(const char *path, size_t limit, crgw_ynode **root, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = crgw_read_file(path, limit, &buf, &len);
    if (rc != 0) {
        snprintf(err, errlen, "line 1: %s",
                 rc == CRGW_ERR_TOOBIG ? "file too large" : strerror(errno));
        return CRGW_ERR_IO;
    }
    yctx c = {.err = err, .errlen = errlen};
    yaml_parser_initialize(&c.parser);
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)buf, len);
    crgw_ynode *doc = NULL;
    rc = CRGW_ERR_INVALID;
    yaml_event_t ev;
    int seen_doc = 0;
    for (;;) {
        if (next_event(&c, &ev) != 0)
            goto out;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (seen_doc++) {
                snprintf(err, errlen, "line %zu: only one YAML document per file",
                         ev.start_mark.line + 1);
                yaml_event_delete(&ev);
                goto out;
            }
            yaml_event_delete(&ev);
            continue;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        int prc = parse_node(&c, &ev, &doc);
        yaml_event_delete(&ev);
        if (prc != 0)
            goto out;
    }
    if (doc == NULL)
        doc = ynode_new(CRGW_Y_MAP, 1);
    *root = doc;
    doc = NULL;
    rc = 0;
out:
    crgw_yaml_free(doc);
    yaml_parser_delete(&c.parser);
    free(buf);
    return rc;
}

crgw_ynode *crgw_yaml_get(const crgw_ynode *map, const char *key)
{
    if (map == NULL || map->type != CRGW_Y_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->kids[i];
    return NULL;
}

const char *crgw_yaml_type_name(crgw_ytype t)
{
    switch (t) {
    case CRGW_Y_SCALAR:
        return "a scalar";
    case CRGW_Y_MAP:
        return "a mapping";
    case CRGW_Y_SEQ:
        return "a list";
    }
    return "?";
}

int crgw_yaml_set(crgw_ynode *root, const char *path, const char *value)
{
    if (!root || root->type != CRGW_Y_MAP)
        return CRGW_ERR_INVALID;
    const char *dot = strchr(path, '.');
    if (!dot || dot == path || !dot[1] || strchr(dot + 1, '.'))
        return CRGW_ERR_INVALID;
    char *section = xstrndup(path, (size_t)(dot - path));
    crgw_ynode *map = crgw_yaml_get(root, section);
    if (!map) {
        map = ynode_new(CRGW_Y_MAP, 0);
        append(root, section, 0, map);
    } else {
        free(section);
        if (map->type != CRGW_Y_MAP)
            return CRGW_ERR_INVALID;
    }
    crgw_ynode *v = ynode_new(CRGW_Y_SCALAR, 0);
    v->scalar = xstrdup(value);
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], dot + 1) == 0) {
            v->line = map->kids[i]->line;
            crgw_yaml_free(map->kids[i]);
            map->kids[i] = v;
            return 0;
        }
    }
    append(map, xstrdup(dot + 1), map->line, v);
    return 0;
}
