/* A growable byte string (responses, SSE events, metrics text): appends of
 * bytes, printf-formatted text and JSON string literals. A failed growth
 * (mkv_malloc's out-of-memory or --max-memory) makes the buffer "failed":
 * later appends do nothing and mkv_strbuf_ok() says so, so that a writer
 * checks once at the end instead of after every append. */
#ifndef MKV_STRBUF_H
#define MKV_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated when len > 0 or after any append */
    size_t len, cap;
    bool failed;
} mkv_strbuf;

void mkv_strbuf_append(mkv_strbuf *b, const void *bytes, size_t n);
void mkv_strbuf_puts(mkv_strbuf *b, const char *s);
void mkv_strbuf_printf(mkv_strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "..." with '"', '\\' and the control characters (NUL included) escaped;
 * other bytes as they are (valid UTF-8 in, valid JSON out). */
void mkv_strbuf_json_string(mkv_strbuf *b, const char *text, size_t len);
/* A JSON number (finite doubles; NaN/Inf become 0, which JSON cannot hold). */
void mkv_strbuf_json_number(mkv_strbuf *b, double v);
bool mkv_strbuf_ok(const mkv_strbuf *b);
/* Hands the bytes over (mkv_free) and empties the buffer; NULL if failed. */
char *mkv_strbuf_take(mkv_strbuf *b, size_t *len);
void mkv_strbuf_free(mkv_strbuf *b);

#endif
