/* Jinja lexer with transformers' settings: trim_blocks (the newline after a
 * block or comment tag is dropped), lstrip_blocks (spaces and tabs before a
 * block or comment tag on its line are dropped), `-` / `+` whitespace
 * control, newlines normalised to "\n" and one trailing newline dropped
 * (keep_trailing_newline=False). Also the arena of jinja_internal.h. */
#include <string.h>

#include "tokenizer/jinja_internal.h"
#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

struct jinja_block {
    jinja_block *next;
    size_t cap, used;
    max_align_t data[];
};

void *jinja_alloc(jinja_arena *arena, size_t n) {
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (n == 0) n = sizeof(max_align_t);
    jinja_block *b = arena->head;
    if (!b || b->cap - b->used < n) {
        if (arena->used_bytes + n > arena->limit_bytes) {
            mkv_fail(MKV_ERR_INPUT, "template: rendering needs more than %zu bytes of memory", arena->limit_bytes);
            return NULL;
        }
        size_t cap = n > 65536 ? n : 65536;
        if (!(b = mkv_malloc(sizeof *b + cap, "chat template"))) return NULL;
        b->next = arena->head;
        b->cap = cap;
        b->used = 0;
        arena->head = b;
        arena->used_bytes += cap;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    return p;
}

void jinja_arena_free(jinja_arena *arena) {
    while (arena->head) {
        jinja_block *next = arena->head->next;
        mkv_free(arena->head);
        arena->head = next;
    }
    arena->used_bytes = 0;
}

typedef struct {
    jinja_arena *arena;
    const char *src;
    size_t n;
    jinja_token *tokens;
    int n_tokens, cap;
} lexer;

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static jinja_token *push(lexer *lx, jinja_token_kind kind, const char *text, size_t len, size_t offset) {
    if (lx->n_tokens == lx->cap) {
        int cap = lx->cap ? lx->cap * 2 : 256;
        jinja_token *grown = jinja_alloc(lx->arena, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        if (lx->n_tokens) memcpy(grown, lx->tokens, (size_t)lx->n_tokens * sizeof *grown);
        lx->tokens = grown;
        lx->cap = cap;
    }
    jinja_token *t = &lx->tokens[lx->n_tokens++];
    *t = (jinja_token){kind, text, len, 0, offset};
    return t;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A quoted literal at src[*pos] (Python escapes), decoded into the arena. */
static mkv_status lex_string(lexer *lx, size_t *pos) {
    size_t start = *pos, i = start + 1;
    char quote = lx->src[start];
    char *out = jinja_alloc(lx->arena, lx->n - start + 1);
    if (!out) return mkv_last_status();
    size_t len = 0;
    for (;;) {
        if (i >= lx->n) return mkv_fail(MKV_ERR_FORMAT, "template: unterminated string at offset %zu", start);
        char c = lx->src[i];
        if (c == quote) break;
        if (c != '\\') {
            out[len++] = c;
            i++;
            continue;
        }
        if (i + 1 >= lx->n) return mkv_fail(MKV_ERR_FORMAT, "template: unterminated string at offset %zu", start);
        char e = lx->src[i + 1];
        static const char from[] = "nrt\\'\"abfv0", to[] = "\n\r\t\\'\"\a\b\f\v";
        const char *hit = e ? strchr(from, e) : NULL;
        if (hit && *hit != '0') {
            out[len++] = to[hit - from];
            i += 2;
        } else if (e == 'x' || e == 'u' || e == 'U') {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < digits; k++) {
                int h = i + 2 + (size_t)k < lx->n ? hex_value(lx->src[i + 2 + k]) : -1;
                if (h < 0) return mkv_fail(MKV_ERR_FORMAT, "template: bad \\%c escape at offset %zu", e, i);
                cp = cp << 4 | (uint32_t)h;
            }
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return mkv_fail(MKV_ERR_UNSUPPORTED, "template: escape of U+%X at offset %zu", cp, i);
            len += (size_t)mkv_utf8_encode(cp, out + len);
            i += 2 + (size_t)digits;
        } else if (e == 'N' || (e >= '0' && e <= '7')) {
            return mkv_fail(MKV_ERR_UNSUPPORTED, "template: string escape \\%c at offset %zu", e, i);
        } else { /* Python keeps an unknown escape as written */
            out[len++] = '\\';
            i++;
        }
    }
    if (!push(lx, JT_STRING, out, len, start)) return mkv_last_status();
    *pos = i + 1;
    return MKV_OK;
}

/* The expression tokens of one tag up to its end marker ("}}" or "%}", with
 * an optional '-' or '+' before it). *control: the character before it. */
static mkv_status lex_tag(lexer *lx, size_t *pos, bool is_var, char *control) {
    const char end = is_var ? '}' : '%';
    size_t i = *pos;
    for (;;) {
        while (i < lx->n && is_space(lx->src[i])) i++;
        if (i >= lx->n) return mkv_fail(MKV_ERR_FORMAT, "template: unclosed tag at end of template");
        const char *s = lx->src + i;
        size_t left = lx->n - i;
        if ((s[0] == '-' || s[0] == '+') && left >= 3 && s[1] == end && s[2] == '}') {
            *control = s[0];
            *pos = i + 3;
            break;
        }
        if (left >= 2 && s[0] == end && s[1] == '}') {
            *control = 0;
            *pos = i + 2;
            break;
        }
        if (s[0] == '\'' || s[0] == '"') {
            mkv_status st = lex_string(lx, &i);
            if (st != MKV_OK) return st;
            continue;
        }
        if (is_name_start(s[0])) {
            size_t k = 1;
            while (k < left && (is_name_start(s[k]) || is_digit(s[k]))) k++;
            if (!push(lx, JT_NAME, s, k, i)) return mkv_last_status();
            i += k;
            continue;
        }
        if (is_digit(s[0])) {
            size_t k = 0;
            int64_t v = 0;
            while (k < left && (is_digit(s[k]) || s[k] == '_')) {
                if (s[k] != '_') {
                    if (v > (INT64_MAX - 9) / 10)
                        return mkv_fail(MKV_ERR_UNSUPPORTED, "template: integer too large at offset %zu", i);
                    v = v * 10 + (s[k] - '0');
                }
                k++;
            }
            if (k < left && (s[k] == '.' || s[k] == 'e' || s[k] == 'E') && k + 1 < left && is_digit(s[k + 1]))
                return mkv_fail(MKV_ERR_UNSUPPORTED, "template: float literal at offset %zu", i);
            jinja_token *t = push(lx, JT_INT, s, k, i);
            if (!t) return mkv_last_status();
            t->ival = v;
            i += k;
            continue;
        }
        static const char *const two[] = {"//", "==", "!=", "<=", ">=", "**"};
        size_t op_len = 0;
        for (size_t k = 0; k < sizeof two / sizeof two[0]; k++)
            if (left >= 2 && s[0] == two[k][0] && s[1] == two[k][1]) op_len = 2;
        if (!op_len && strchr("()[]{}.,:|~+-*/%<>=", s[0]) && s[0]) op_len = 1;
        if (!op_len) {
            unsigned char c = (unsigned char)s[0];
            if (c >= 0x20 && c < 0x7F)
                return mkv_fail(MKV_ERR_FORMAT, "template: unexpected character '%c' at offset %zu", c, i);
            return mkv_fail(MKV_ERR_FORMAT, "template: unexpected byte 0x%02X at offset %zu", c, i);
        }
        if (op_len == 2 && s[0] == '*') return mkv_fail(MKV_ERR_UNSUPPORTED, "template: operator ** at offset %zu", i);
        if (!push(lx, JT_OP, s, op_len, i)) return mkv_last_status();
        i += op_len;
    }
    return MKV_OK;
}

static size_t skip_spaces(const char *s, size_t i, size_t n) {
    while (i < n && is_space(s[i])) i++;
    return i;
}

mkv_status jinja_lex(jinja_arena *arena, const char *raw, size_t n_raw, jinja_token **out_tokens, int *out_n) {
    /* newlines normalised as jinja2 does (splitlines + "\n".join) */
    char *src = jinja_alloc(arena, n_raw + 1);
    if (!src) return mkv_last_status();
    size_t n = 0;
    for (size_t i = 0; i < n_raw; i++) {
        if (raw[i] == '\r') {
            src[n++] = '\n';
            if (i + 1 < n_raw && raw[i + 1] == '\n') i++;
        } else src[n++] = raw[i];
    }
    if (n > 0 && src[n - 1] == '\n') n--;
    src[n] = '\0';
    lexer lx = {arena, src, n, NULL, 0, 0};
    size_t pos = 0;
    int strip_next = 0;       /* 1: all leading whitespace ('-'), 2: one newline (trim_blocks) */
    bool line_starting = true; /* the text so far ends at the start of a line */
    for (;;) {
        size_t tag = pos;
        while (tag + 1 < n && !(src[tag] == '{' && (src[tag + 1] == '{' || src[tag + 1] == '%' || src[tag + 1] == '#')))
            tag++;
        if (tag + 1 >= n) tag = n;
        size_t a = pos, b = tag;
        if (strip_next == 1) a = skip_spaces(src, a, b);
        else if (strip_next == 2 && a < b && src[a] == '\n') a++;
        char kind = tag < n ? src[tag + 1] : 0;
        char control = tag + 2 < n ? src[tag + 2] : 0;
        if (kind && control == '-') {
            while (b > a && is_space(src[b - 1])) b--;
        } else if ((kind == '%' || kind == '#') && control != '+') {
            size_t line = b;
            while (line > a && src[line - 1] != '\n') line--;
            if (line > a || line_starting) {
                size_t k = line;
                while (k < b && (src[k] == ' ' || src[k] == '\t')) k++;
                if (k == b) b = line;
            }
        }
        if (b > a && !push(&lx, JT_TEXT, src + a, b - a, a)) return mkv_last_status();
        if (tag >= n) break;
        size_t body = tag + 2 + (control == '-' || control == '+');
        char end_control = 0;
        if (kind == '#') {
            const char *close = NULL;
            for (size_t k = body; k + 1 < n; k++)
                if (src[k] == '#' && src[k + 1] == '}') {
                    close = src + k;
                    break;
                }
            if (!close) return mkv_fail(MKV_ERR_FORMAT, "template: unclosed comment at offset %zu", tag);
            size_t k = (size_t)(close - src);
            if (k > body && (src[k - 1] == '-' || src[k - 1] == '+')) end_control = src[k - 1];
            pos = k + 2;
        } else {
            bool is_var = kind == '{';
            if (!push(&lx, is_var ? JT_VAR_BEGIN : JT_BLOCK_BEGIN, src + tag, 2, tag)) return mkv_last_status();
            pos = body;
            mkv_status st = lex_tag(&lx, &pos, is_var, &end_control);
            if (st != MKV_OK) return st;
            if (!push(&lx, is_var ? JT_VAR_END : JT_BLOCK_END, src + pos - 2, 2, pos - 2)) return mkv_last_status();
        }
        if (end_control == '-') {
            strip_next = 1;
            size_t k = skip_spaces(src, pos, n);
            line_starting = k > pos && src[k - 1] == '\n';
        } else if (kind != '{' && end_control != '+') {
            strip_next = 2;
            line_starting = pos < n && src[pos] == '\n';
        } else {
            strip_next = 0;
            line_starting = false;
        }
    }
    if (!push(&lx, JT_EOF, src + n, 0, n)) return mkv_last_status();
    *out_tokens = lx.tokens;
    *out_n = lx.n_tokens;
    return MKV_OK;
}
