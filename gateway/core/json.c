#include "gateway/core/json.h"

#include <string.h>

#include "gateway/core/util.h"

static void dump_str(crgw_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    crgw_buf_add(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        crgw_buf_add(b, s + run, i - run);
        run = i + 1;
        char e[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t el = 2;
        switch (c) {
        case '"':
            e[1] = '"';
            break;
        case '\\':
            e[1] = '\\';
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\f':
            e[1] = 'f';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        default:
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex[c >> 4];
            e[5] = hex[c & 15];
            el = 6;
        }
        crgw_buf_add(b, e, el);
    }
    crgw_buf_add(b, s + run, n - run);
    crgw_buf_add(b, "\"", 1);
}

static void dump_indent(crgw_buf *b, int pretty, int depth)
{
    static const char spaces[] = "                                ";
    if (!pretty)
        return;
    crgw_buf_add(b, "\n", 1);
    for (int i = 0; i < depth * 2; i += 32)
        crgw_buf_add(b, spaces, (size_t)(depth * 2 - i < 32 ? depth * 2 - i : 32));
}

static void dump_val(crgw_buf *b, const json_t *v, int pretty, int depth)
{
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        if (json_object_size(v) == 0) {
            crgw_buf_add(b, "{}", 2);
            return;
        }
        crgw_buf_add(b, "{", 1);
        const char *k;
        json_t *m;
        int first = 1;
        json_object_foreach((json_t *)v, k, m)
        {
            if (!first)
                crgw_buf_add(b, ",", 1);
            first = 0;
            dump_indent(b, pretty, depth + 1);
            dump_str(b, k, strlen(k));
            crgw_buf_add(b, pretty ? ": " : ":", pretty ? 2 : 1);
            dump_val(b, m, pretty, depth + 1);
        }
        dump_indent(b, pretty, depth);
        crgw_buf_add(b, "}", 1);
        return;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) {
            crgw_buf_add(b, "[]", 2);
            return;
        }
        crgw_buf_add(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i)
                crgw_buf_add(b, ",", 1);
            dump_indent(b, pretty, depth + 1);
            dump_val(b, json_array_get(v, i), pretty, depth + 1);
        }
        dump_indent(b, pretty, depth);
        crgw_buf_add(b, "]", 1);
        return;
    }
    case JSON_STRING:
        dump_str(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER: {
        int w = snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        crgw_buf_add(b, tmp, (size_t)w);
        return;
    }
    case JSON_REAL: {
        int w = snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
        if (w < 0 || (size_t)w >= sizeof(tmp) - 3)
            w = 0;
        tmp[w] = '\0';
        if (strpbrk(tmp, ".eE") == NULL) {
            memcpy(tmp + w, ".0", 3);
            w += 2;
        }
        /* as jansson: no "+" and no leading zeros in the exponent */
        char *e = strchr(tmp, 'e');
        if (e) {
            char *d = e + 1, *s = e + 1;
            if (*s == '-')
                d = ++s;
            else if (*s == '+')
                s++;
            while (*s == '0' && s[1] != '\0')
                s++;
            memmove(d, s, strlen(s) + 1);
            w = (int)strlen(tmp);
        }
        crgw_buf_add(b, tmp, (size_t)w);
        return;
    }
    case JSON_TRUE:
        crgw_buf_add(b, "true", 4);
        return;
    case JSON_FALSE:
        crgw_buf_add(b, "false", 5);
        return;
    case JSON_NULL:
        crgw_buf_add(b, "null", 4);
        return;
    }
}

char *crgw_json_dump(const json_t *v, int pretty, size_t *len)
{
    crgw_buf b;
    crgw_buf_init(&b, (size_t)1 << 30);
    if (v)
        dump_val(&b, v, pretty, 0);
    return crgw_buf_take(&b, len);
}

int crgw_json_array_has_string(const json_t *arr, const char *s)
{
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
            return 1;
    }
    return 0;
}
