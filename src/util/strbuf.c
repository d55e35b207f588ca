#include "util/strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/json_text.h"

static bool reserve(mkv_strbuf *b, size_t extra) {
    if (b->failed) return false;
    if (b->len + extra + 1 <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) return b->failed = true, false;
        cap *= 2;
    }
    char *p = mkv_realloc(b->data, cap, "text buffer");
    if (!p) return b->failed = true, false;
    b->data = p;
    b->cap = cap;
    return true;
}

void mkv_strbuf_append(mkv_strbuf *b, const void *bytes, size_t n) {
    if (!reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, bytes, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mkv_strbuf_puts(mkv_strbuf *b, const char *s) { mkv_strbuf_append(b, s, strlen(s)); }

void mkv_strbuf_printf(mkv_strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        mkv_strbuf_append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mkv_strbuf_json_string(mkv_strbuf *b, const char *text, size_t len) {
    mkv_strbuf_append(b, "\"", 1);
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < len; i++) {
        char hex[8];
        const char *escape = mkv_json_escape_byte((unsigned char)text[i], hex);
        if (!escape) continue;
        mkv_strbuf_append(b, text + run, i - run);
        mkv_strbuf_puts(b, escape);
        run = i + 1;
    }
    mkv_strbuf_append(b, text + run, len - run);
    mkv_strbuf_append(b, "\"", 1);
}

void mkv_strbuf_json_number(mkv_strbuf *b, double v) {
    if (!isfinite(v)) v = 0;
    if (v == floor(v) && fabs(v) < 9e15) mkv_strbuf_printf(b, "%.0f", v);
    else mkv_strbuf_printf(b, "%.17g", v);
}

bool mkv_strbuf_ok(const mkv_strbuf *b) { return !b->failed; }

char *mkv_strbuf_take(mkv_strbuf *b, size_t *len) {
    if (b->failed) {
        mkv_strbuf_free(b);
        return NULL;
    }
    if (!b->data) mkv_strbuf_append(b, "", 0);
    char *data = b->failed ? NULL : b->data;
    if (len) *len = b->len;
    if (!data) mkv_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    return data;
}

void mkv_strbuf_free(mkv_strbuf *b) {
    mkv_free(b->data);
    memset(b, 0, sizeof *b);
}
