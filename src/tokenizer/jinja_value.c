/* Operations on Jinja values with Python's semantics where chat templates
 * observe them: str()/repr(), truthiness, ==, in, + on strings and lists,
 * code-point indexing and slicing of strings, json.dumps for tojson
 * (transformers' version: ensure_ascii=False, separators ", " and ": "). */
#include <inttypes.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

#include "tokenizer/jinja_value.h"
#include "tokenizer/tokenizer_internal.h"

static mkv_status repeat(jinja_arena *arena, const jv *str, int64_t times, size_t offset, jv *out);

static const char *const kind_names[] = {"undefined", "none", "bool", "int", "string", "list", "dict"};

jlist *jv_list_new(jinja_arena *arena) {
    jlist *l = jinja_alloc(arena, sizeof *l);
    if (l) *l = (jlist){0};
    return l;
}

mkv_status jv_list_push(jinja_arena *arena, jlist *l, jv item) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 8;
        jv *grown = jinja_alloc(arena, (size_t)cap * sizeof *grown);
        if (!grown) return mkv_last_status();
        if (l->n) memcpy(grown, l->items, (size_t)l->n * sizeof *grown);
        l->items = grown;
        l->cap = cap;
    }
    l->items[l->n++] = item;
    return MKV_OK;
}

jdict *jv_dict_new(jinja_arena *arena, bool is_namespace) {
    jdict *d = jinja_alloc(arena, sizeof *d);
    if (d) *d = (jdict){.is_namespace = is_namespace};
    return d;
}

static int dict_find(const jdict *d, const char *key, size_t n) {
    for (int i = 0; i < d->n; i++)
        if (d->keys[i].n == n && !memcmp(d->keys[i].s, key, n)) return i;
    return -1;
}

mkv_status jv_dict_set(jinja_arena *arena, jdict *d, const char *key, size_t n, jv value) {
    int at = dict_find(d, key, n);
    if (at >= 0) {
        d->values[at] = value;
        return MKV_OK;
    }
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 8;
        jv *keys = jinja_alloc(arena, (size_t)cap * sizeof *keys), *values = jinja_alloc(arena, (size_t)cap * sizeof *values);
        if (!keys || !values) return mkv_last_status();
        if (d->n) memcpy(keys, d->keys, (size_t)d->n * sizeof *keys), memcpy(values, d->values, (size_t)d->n * sizeof *values);
        d->keys = keys, d->values = values, d->cap = cap;
    }
    d->keys[d->n] = (jv){.kind = JV_STR, .s = key, .n = n};
    d->values[d->n++] = value;
    return MKV_OK;
}

bool jv_truthy(const jv *v) {
    switch (v->kind) {
    case JV_BOOL:
    case JV_INT: return v->i != 0;
    case JV_STR: return v->n > 0;
    case JV_LIST: return v->list->n > 0;
    case JV_DICT: return v->dict->n > 0;
    default: return false;
    }
}

/* ------------------------------------------------------------ text builder */
typedef struct {
    jinja_arena *arena;
    char *buf;
    size_t len, cap;
    mkv_status st;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->st != MKV_OK) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        while (cap < t->len + n + 1) cap *= 2;
        char *grown = jinja_alloc(t->arena, cap);
        if (!grown) {
            t->st = mkv_last_status();
            return;
        }
        if (t->len) memcpy(grown, t->buf, t->len);
        t->buf = grown, t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}
static void puts_(text *t, const char *s) { put(t, s, strlen(s)); }

static void put_int(text *t, int64_t i) {
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, i);
    puts_(t, num);
}

/* Python repr() of a string */
static void put_repr_str(text *t, const char *s, size_t n) {
    bool has_single = memchr(s, '\'', n) != NULL, has_double = memchr(s, '"', n) != NULL;
    char quote = has_single && !has_double ? '"' : '\'';
    put(t, &quote, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '\\' || c == (unsigned char)quote) snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n') strcpy(esc, "\\n");
        else if (c == '\r') strcpy(esc, "\\r");
        else if (c == '\t') strcpy(esc, "\\t");
        else if (c < 0x20 || c == 0x7F) snprintf(esc, sizeof esc, "\\x%02x", c);
        else {
            put(t, (const char *)&s[i], 1);
            continue;
        }
        puts_(t, esc);
    }
    put(t, &quote, 1);
}

static void put_json_str(text *t, const char *s, size_t n) {
    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n') strcpy(esc, "\\n");
        else if (c == '\r') strcpy(esc, "\\r");
        else if (c == '\t') strcpy(esc, "\\t");
        else if (c == '\b') strcpy(esc, "\\b");
        else if (c == '\f') strcpy(esc, "\\f");
        else if (c < 0x20) snprintf(esc, sizeof esc, "\\u%04x", c);
        else {
            put(t, (const char *)&s[i], 1);
            continue;
        }
        puts_(t, esc);
    }
    put(t, "\"", 1);
}

/* style 0: str(), 1: repr() (inside containers), 2: json.dumps */
static void put_value(text *t, const jv *v, int style, int depth) {
    if (depth > JINJA_MAX_DEPTH) {
        if (t->st == MKV_OK) t->st = mkv_fail(MKV_ERR_INPUT, "template: value nested too deep to print");
        return;
    }
    switch (v->kind) {
    case JV_UNDEF:
        if (style == 2 && t->st == MKV_OK) t->st = mkv_fail(MKV_ERR_INPUT, "template: tojson of an undefined value");
        break;
    case JV_NONE: puts_(t, style == 2 ? "null" : "None"); break;
    case JV_BOOL: puts_(t, style == 2 ? (v->i ? "true" : "false") : (v->i ? "True" : "False")); break;
    case JV_INT: put_int(t, v->i); break;
    case JV_STR:
        if (style == 0) put(t, v->s, v->n);
        else if (style == 1) put_repr_str(t, v->s, v->n);
        else put_json_str(t, v->s, v->n);
        break;
    case JV_LIST:
        put(t, "[", 1);
        for (int i = 0; i < v->list->n; i++) {
            if (i) put(t, ", ", 2);
            put_value(t, &v->list->items[i], style ? style : 1, depth + 1);
        }
        put(t, "]", 1);
        break;
    case JV_DICT:
        if (v->dict->is_namespace && style != 2) {
            puts_(t, "<Namespace>");
            break;
        }
        put(t, "{", 1);
        for (int i = 0; i < v->dict->n; i++) {
            if (i) put(t, ", ", 2);
            put_value(t, &v->dict->keys[i], style ? style : 1, depth + 1);
            put(t, ": ", 2);
            put_value(t, &v->dict->values[i], style ? style : 1, depth + 1);
        }
        put(t, "}", 1);
        break;
    }
}

static mkv_status render_value(jinja_arena *arena, const jv *v, int style, const char **s, size_t *n) {
    if (v->kind == JV_STR && style == 0) {
        *s = v->s, *n = v->n;
        return MKV_OK;
    }
    text t = {arena, NULL, 0, 0, MKV_OK};
    put_value(&t, v, style, 0);
    put(&t, "", 0);
    if (t.st != MKV_OK) return t.st;
    *s = t.buf, *n = t.len;
    return MKV_OK;
}

mkv_status jv_to_string(jinja_arena *arena, const jv *v, const char **s, size_t *n) {
    return render_value(arena, v, 0, s, n);
}

void jv_str_of(jinja_arena *arena, const jv *v, char *buf, size_t size) {
    const char *s = "";
    size_t n = 0;
    if (v && render_value(arena, v, 0, &s, &n) != MKV_OK) s = "?", n = 1;
    if (n >= size) n = size - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80 && n < size - 1) n--; /* no cut code point */
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (buf[i] == '\n' || buf[i] == '\r') buf[i] = ' '; /* an error stays one line */
}

/* ---------------------------------------------------- strings by code point */
static size_t n_code_points(const char *s, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

/* byte offset of code point k (k <= count) */
static size_t code_point_offset(const char *s, size_t n, size_t k) {
    size_t i = 0;
    while (i < n && k > 0) {
        i++;
        while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
        k--;
    }
    return i;
}

static jv substring(const jv *v, size_t from_cp, size_t to_cp) {
    size_t a = code_point_offset(v->s, v->n, from_cp), b = code_point_offset(v->s, v->n, to_cp);
    return (jv){.kind = JV_STR, .s = v->s + a, .n = b > a ? b - a : 0};
}

static jv make_bool(bool b) { return (jv){.kind = JV_BOOL, .i = b}; }

static mkv_status undefined_error(const jv *v, const char *what, size_t offset) {
    if (v->kind == JV_UNDEF && v->s)
        return mkv_fail(MKV_ERR_INPUT, "template: '%.*s' is undefined (%s at offset %zu)", (int)(v->n > 60 ? 60 : v->n), v->s, what, offset);
    return mkv_fail(MKV_ERR_INPUT, "template: %s of %s value at offset %zu", what,
                    v->kind == JV_UNDEF ? "an undefined" : kind_names[v->kind], offset);
}

mkv_status jv_iterable(jinja_arena *arena, const jv *v, size_t offset, jlist **out) {
    jlist *l;
    switch (v->kind) {
    case JV_UNDEF: /* jinja2's Undefined iterates as empty */
        *out = jv_list_new(arena);
        return *out ? MKV_OK : mkv_last_status();
    case JV_LIST: *out = v->list; return MKV_OK;
    case JV_DICT:
        if (!(l = jv_list_new(arena))) return mkv_last_status();
        for (int i = 0; i < v->dict->n; i++)
            if (jv_list_push(arena, l, v->dict->keys[i]) != MKV_OK) return mkv_last_status();
        *out = l;
        return MKV_OK;
    case JV_STR: {
        if (!(l = jv_list_new(arena))) return mkv_last_status();
        size_t count = n_code_points(v->s, v->n);
        for (size_t k = 0; k < count; k++)
            if (jv_list_push(arena, l, substring(v, k, k + 1)) != MKV_OK) return mkv_last_status();
        *out = l;
        return MKV_OK;
    }
    default: return undefined_error(v, "iteration", offset);
    }
}

mkv_status jv_attr(const jv *obj, const char *name, size_t n, size_t offset, jv *out) {
    if (obj->kind == JV_UNDEF) return undefined_error(obj, "attribute", offset);
    *out = (jv){.kind = JV_UNDEF, .s = name, .n = n};
    if (obj->kind == JV_DICT) {
        int at = dict_find(obj->dict, name, n);
        if (at >= 0) *out = obj->dict->values[at];
    }
    return MKV_OK;
}

static bool normalise_index(int64_t i, int64_t len, int64_t *out) {
    if (i < 0) i += len;
    *out = i;
    return i >= 0 && i < len;
}

mkv_status jv_index(jinja_arena *arena, const jv *obj, const jv *index, size_t offset, jv *out) {
    (void)arena;
    if (obj->kind == JV_UNDEF) return undefined_error(obj, "subscript", offset);
    *out = (jv){.kind = JV_UNDEF};
    if (obj->kind == JV_DICT) {
        if (index->kind != JV_STR) return MKV_OK;
        out->s = index->s, out->n = index->n;
        int at = dict_find(obj->dict, index->s, index->n);
        if (at >= 0) *out = obj->dict->values[at];
        return MKV_OK;
    }
    if (index->kind != JV_INT && index->kind != JV_BOOL) return MKV_OK;
    int64_t k;
    if (obj->kind == JV_LIST) {
        if (normalise_index(index->i, obj->list->n, &k)) *out = obj->list->items[k];
    } else if (obj->kind == JV_STR) {
        int64_t count = (int64_t)n_code_points(obj->s, obj->n);
        if (normalise_index(index->i, count, &k)) *out = substring(obj, (size_t)k, (size_t)k + 1);
    }
    return MKV_OK;
}

static int64_t slice_bound(const jv *b, int64_t len, int64_t fallback) {
    if (b->kind != JV_INT) return fallback;
    int64_t i = b->i < 0 ? b->i + len : b->i;
    return i < 0 ? 0 : i > len ? len : i;
}

mkv_status jv_slice(jinja_arena *arena, const jv *obj, const jv *start, const jv *stop, size_t offset, jv *out) {
    if ((start->kind != JV_INT && start->kind != JV_NONE) || (stop->kind != JV_INT && stop->kind != JV_NONE))
        return mkv_fail(MKV_ERR_INPUT, "template: slice bounds must be integers at offset %zu", offset);
    if (obj->kind == JV_LIST) {
        int64_t len = obj->list->n, a = slice_bound(start, len, 0), b = slice_bound(stop, len, len);
        jlist *l = jv_list_new(arena);
        if (!l) return mkv_last_status();
        for (int64_t i = a; i < b; i++)
            if (jv_list_push(arena, l, obj->list->items[i]) != MKV_OK) return mkv_last_status();
        *out = (jv){.kind = JV_LIST, .list = l};
        return MKV_OK;
    }
    if (obj->kind == JV_STR) {
        int64_t len = (int64_t)n_code_points(obj->s, obj->n), a = slice_bound(start, len, 0), b = slice_bound(stop, len, len);
        *out = a < b ? substring(obj, (size_t)a, (size_t)b) : (jv){.kind = JV_STR, .s = "", .n = 0};
        return MKV_OK;
    }
    return undefined_error(obj, "slice", offset);
}

static bool equal(const jv *a, const jv *b, int depth) {
    bool a_num = a->kind == JV_INT || a->kind == JV_BOOL, b_num = b->kind == JV_INT || b->kind == JV_BOOL;
    if (a_num && b_num) return a->i == b->i;
    if (a->kind != b->kind || depth > JINJA_MAX_DEPTH) return false;
    switch (a->kind) {
    case JV_STR: return a->n == b->n && !memcmp(a->s, b->s, a->n);
    case JV_LIST:
        if (a->list->n != b->list->n) return false;
        for (int i = 0; i < a->list->n; i++)
            if (!equal(&a->list->items[i], &b->list->items[i], depth + 1)) return false;
        return true;
    case JV_DICT:
        if (a->dict == b->dict) return true;
        if (a->dict->n != b->dict->n || a->dict->is_namespace || b->dict->is_namespace) return false;
        for (int i = 0; i < a->dict->n; i++) {
            int at = dict_find(b->dict, a->dict->keys[i].s, a->dict->keys[i].n);
            if (at < 0 || !equal(&a->dict->values[i], &b->dict->values[at], depth + 1)) return false;
        }
        return true;
    default: return true; /* undefined == undefined, none == none */
    }
}

static mkv_status contains(const jv *needle, const jv *hay, size_t offset, bool *out) {
    *out = false;
    if (hay->kind == JV_STR) {
        if (needle->kind != JV_STR) return mkv_fail(MKV_ERR_INPUT, "template: 'in <string>' needs a string at offset %zu", offset);
        if (needle->n == 0) *out = true;
        for (size_t i = 0; !*out && needle->n <= hay->n && i <= hay->n - needle->n; i++)
            *out = !memcmp(hay->s + i, needle->s, needle->n);
        return MKV_OK;
    }
    if (hay->kind == JV_LIST) {
        for (int i = 0; i < hay->list->n && !*out; i++) *out = equal(needle, &hay->list->items[i], 0);
        return MKV_OK;
    }
    if (hay->kind == JV_DICT) {
        *out = needle->kind == JV_STR && dict_find(hay->dict, needle->s, needle->n) >= 0;
        return MKV_OK;
    }
    return undefined_error(hay, "'in'", offset);
}

static mkv_status concat(jinja_arena *arena, const char *a, size_t na, const char *b, size_t nb, jv *out) {
    char *s = jinja_alloc(arena, na + nb + 1);
    if (!s) return mkv_last_status();
    memcpy(s, a, na);
    memcpy(s + na, b, nb);
    *out = (jv){.kind = JV_STR, .s = s, .n = na + nb};
    return MKV_OK;
}

static mkv_status bad_operands(const char *op, const jv *a, const jv *b, size_t offset) {
    return mkv_fail(MKV_ERR_INPUT, "template: unsupported operands of %s (%s and %s) at offset %zu", op,
                    kind_names[a->kind], kind_names[b->kind], offset);
}

mkv_status jv_binary(jinja_arena *arena, jinja_op op, const jv *a, const jv *b, size_t offset, jv *out) {
    static const char *const op_names[] = {"+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", "<=", ">", ">=", "in", "not in"};
    bool r;
    switch (op) {
    case JOP_EQ: *out = make_bool(equal(a, b, 0)); return MKV_OK;
    case JOP_NE: *out = make_bool(!equal(a, b, 0)); return MKV_OK;
    case JOP_IN:
    case JOP_NOT_IN:
        if (contains(a, b, offset, &r) != MKV_OK) return mkv_last_status();
        *out = make_bool(r != (op == JOP_NOT_IN));
        return MKV_OK;
    case JOP_CONCAT: {
        const char *sa, *sb;
        size_t na, nb;
        if (jv_to_string(arena, a, &sa, &na) != MKV_OK || jv_to_string(arena, b, &sb, &nb) != MKV_OK) return mkv_last_status();
        return concat(arena, sa, na, sb, nb, out);
    }
    default: break;
    }
    bool ints = (a->kind == JV_INT || a->kind == JV_BOOL) && (b->kind == JV_INT || b->kind == JV_BOOL);
    if (op == JOP_ADD && a->kind == JV_STR && b->kind == JV_STR) return concat(arena, a->s, a->n, b->s, b->n, out);
    if (op == JOP_ADD && a->kind == JV_LIST && b->kind == JV_LIST) {
        jlist *l = jv_list_new(arena);
        if (!l) return mkv_last_status();
        for (int k = 0; k < 2; k++) {
            const jlist *src = k ? b->list : a->list;
            for (int i = 0; i < src->n; i++)
                if (jv_list_push(arena, l, src->items[i]) != MKV_OK) return mkv_last_status();
        }
        *out = (jv){.kind = JV_LIST, .list = l};
        return MKV_OK;
    }
    if (op >= JOP_LT && op <= JOP_GE) {
        int cmp;
        if (ints) cmp = a->i < b->i ? -1 : a->i > b->i;
        else if (a->kind == JV_STR && b->kind == JV_STR) {
            size_t n = a->n < b->n ? a->n : b->n;
            cmp = memcmp(a->s, b->s, n);
            if (!cmp) cmp = a->n < b->n ? -1 : a->n > b->n;
        } else return bad_operands(op_names[op], a, b, offset);
        *out = make_bool(op == JOP_LT ? cmp < 0 : op == JOP_LE ? cmp <= 0 : op == JOP_GT ? cmp > 0 : cmp >= 0);
        return MKV_OK;
    }
    if (op == JOP_MUL && a->kind == JV_STR && (b->kind == JV_INT || b->kind == JV_BOOL)) return repeat(arena, a, b->i, offset, out);
    if (op == JOP_MUL && b->kind == JV_STR && (a->kind == JV_INT || a->kind == JV_BOOL)) return repeat(arena, b, a->i, offset, out);
    if (!ints) return bad_operands(op_names[op], a, b, offset);
    int64_t x = a->i, y = b->i, z;
    switch (op) {
    case JOP_ADD: if (__builtin_add_overflow(x, y, &z)) goto overflow; break;
    case JOP_SUB: if (__builtin_sub_overflow(x, y, &z)) goto overflow; break;
    case JOP_MUL: if (__builtin_mul_overflow(x, y, &z)) goto overflow; break;
    case JOP_FLOORDIV:
    case JOP_MOD:
        if (y == 0) return mkv_fail(MKV_ERR_INPUT, "template: division by zero at offset %zu", offset);
        if (x == INT64_MIN && y == -1) goto overflow;
        z = op == JOP_MOD ? x % y : x / y;
        if (op == JOP_MOD && z != 0 && ((z < 0) != (y < 0))) z += y; /* Python's sign rules */
        if (op == JOP_FLOORDIV && (x % y != 0) && ((x < 0) != (y < 0))) z--;
        break;
    default: return mkv_fail(MKV_ERR_UNSUPPORTED, "template: operator %s (floats) at offset %zu", op_names[op], offset);
    }
    *out = (jv){.kind = JV_INT, .i = z};
    return MKV_OK;
overflow:
    return mkv_fail(MKV_ERR_INPUT, "template: integer overflow at offset %zu", offset);
}

static bool name_eq(const char *name, size_t n, const char *s) { return n == strlen(s) && !memcmp(name, s, n); }

static jv python_strip(const jv *v, bool left, bool right) {
    size_t a, b;
    mkv_py_strip_bounds(v->s, v->n, &a, &b);
    if (!left) a = 0;
    if (!right) b = v->n;
    return (jv){.kind = JV_STR, .s = v->s + a, .n = b - a};
}

/* Code points whose Python upper()/lower() is more than one character
 * (SpecialCasing.txt, unconditional): refused rather than mapped wrongly. */
static bool multi_char_case(uint32_t cp, bool upper) {
    if (!upper) return cp == 0x130;
    return cp == 0xDF || cp == 0x149 || cp == 0x1F0 || cp == 0x390 || cp == 0x3B0 || cp == 0x587 ||
           (cp >= 0x1E96 && cp <= 0x1E9A) || (cp >= 0x1F50 && cp <= 0x1FFF) || (cp >= 0xFB00 && cp <= 0xFB17);
}

/* The C.UTF-8 locale of the case mappings, made once for every thread
 * ((locale_t)0 when the C library has none). */
static locale_t utf8_locale;
static pthread_once_t utf8_locale_once = PTHREAD_ONCE_INIT;
static void make_utf8_locale(void) { utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }

/* str.upper() / str.lower(): Unicode simple case mapping (the C library's
 * towupper/towlower in C.UTF-8). */
static mkv_status change_case(jinja_arena *arena, const jv *v, bool upper, size_t offset, jv *out) {
    char *s = jinja_alloc(arena, v->n * 3 + 4); /* a mapped code point grows to at most 3 bytes more than 1 */
    if (!s) return mkv_last_status();
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)v->s;
    for (size_t i = 0; i < v->n;) {
        if (u[i] < 0x80) {
            char c = (char)u[i++];
            s[n++] = upper && c >= 'a' && c <= 'z' ? (char)(c - 32) : !upper && c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
            continue;
        }
        int len = mkv_utf8_sequence_length(u + i, v->n - i);
        if (len <= 0) return mkv_fail(MKV_ERR_INPUT, "template: %s of invalid UTF-8 at offset %zu", upper ? "upper" : "lower", offset);
        uint32_t cp = mkv_utf8_decode(u + i, len);
        pthread_once(&utf8_locale_once, make_utf8_locale);
        locale_t utf8 = utf8_locale;
        if (!utf8 || multi_char_case(cp, upper))
            return mkv_fail(MKV_ERR_UNSUPPORTED, "template: %s of U+%04X at offset %zu", upper ? "upper" : "lower", cp, offset);
        uint32_t mapped = (uint32_t)(upper ? towupper_l((wint_t)cp, utf8) : towlower_l((wint_t)cp, utf8));
        n += (size_t)mkv_utf8_encode(mapped, s + n);
        i += (size_t)len;
    }
    *out = (jv){.kind = JV_STR, .s = s, .n = n};
    return MKV_OK;
}

/* str * n (Python: empty for n <= 0) */
static mkv_status repeat(jinja_arena *arena, const jv *str, int64_t times, size_t offset, jv *out) {
    if (times <= 0 || str->n == 0) {
        *out = (jv){.kind = JV_STR, .s = "", .n = 0};
        return MKV_OK;
    }
    size_t total;
    if (__builtin_mul_overflow(str->n, (size_t)times, &total) || total > arena->limit_bytes)
        return mkv_fail(MKV_ERR_INPUT, "template: string repetition longer than %zu bytes at offset %zu", arena->limit_bytes, offset);
    char *s = jinja_alloc(arena, total + 1);
    if (!s) return mkv_last_status();
    for (int64_t k = 0; k < times; k++) memcpy(s + (size_t)k * str->n, str->s, str->n);
    *out = (jv){.kind = JV_STR, .s = s, .n = total};
    return MKV_OK;
}

mkv_status jv_filter(jinja_arena *arena, const jv *v, const char *name, size_t n, const jv *args, int n_args,
                     bool boolean, size_t offset, jv *out) {
    if (name_eq(name, n, "default") || name_eq(name, n, "d")) {
        if (n_args >= 2) boolean = jv_truthy(&args[1]); /* default(value, true) */
        bool use_default = v->kind == JV_UNDEF || (boolean && !jv_truthy(v));
        *out = use_default ? (n_args ? args[0] : (jv){.kind = JV_STR, .s = "", .n = 0}) : *v;
        return MKV_OK;
    }
    if (name_eq(name, n, "length") || name_eq(name, n, "count")) {
        int64_t len = v->kind == JV_STR ? (int64_t)n_code_points(v->s, v->n) : v->kind == JV_LIST ? v->list->n
                      : v->kind == JV_DICT ? v->dict->n : v->kind == JV_UNDEF ? 0 : -1;
        if (len < 0) return undefined_error(v, "length", offset);
        *out = (jv){.kind = JV_INT, .i = len};
        return MKV_OK;
    }
    if (name_eq(name, n, "tojson")) {
        if (n_args) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: tojson arguments at offset %zu", offset);
        const char *s;
        size_t len;
        if (render_value(arena, v, 2, &s, &len) != MKV_OK) return mkv_last_status();
        *out = (jv){.kind = JV_STR, .s = s, .n = len};
        return MKV_OK;
    }
    if (name_eq(name, n, "first") || name_eq(name, n, "last")) {
        jv index = {.kind = JV_INT, .i = name_eq(name, n, "first") ? 0 : -1};
        return jv_index(arena, v, &index, offset, out);
    }
    if (name_eq(name, n, "join")) {
        jlist *items;
        if (jv_iterable(arena, v, offset, &items) != MKV_OK) return mkv_last_status();
        const char *sep = "";
        size_t sep_n = 0;
        if (n_args && jv_to_string(arena, &args[0], &sep, &sep_n) != MKV_OK) return mkv_last_status();
        text t = {arena, NULL, 0, 0, MKV_OK};
        for (int i = 0; i < items->n; i++) {
            if (i) put(&t, sep, sep_n);
            put_value(&t, &items->items[i], 0, 0);
        }
        put(&t, "", 0);
        if (t.st != MKV_OK) return t.st;
        *out = (jv){.kind = JV_STR, .s = t.buf, .n = t.len};
        return MKV_OK;
    }
    static const char *const on_strings[] = {"trim", "string", "upper", "lower"};
    for (size_t k = 0; k < sizeof on_strings / sizeof on_strings[0]; k++) {
        if (!name_eq(name, n, on_strings[k])) continue;
        jv s = {.kind = JV_STR};
        if (jv_to_string(arena, v, &s.s, &s.n) != MKV_OK) return mkv_last_status();
        if (k == 0) *out = python_strip(&s, true, true);
        else if (k == 1) *out = s;
        else return change_case(arena, &s, k == 2, offset, out);
        return MKV_OK;
    }
    return mkv_fail(MKV_ERR_UNSUPPORTED, "template: filter '%.*s' at offset %zu", (int)(n > 40 ? 40 : n), name, offset);
}

mkv_status jv_test(const jv *v, const char *name, size_t n, const jv *args, int n_args, size_t offset, bool *out) {
    static const struct {
        const char *name;
        unsigned kinds; /* bit per jv_kind */
    } tests[] = {
        {"defined", ~1u},           {"undefined", 1u << JV_UNDEF}, {"none", 1u << JV_NONE},
        {"string", 1u << JV_STR},   {"number", 1u << JV_INT | 1u << JV_BOOL}, {"integer", 1u << JV_INT},
        {"boolean", 1u << JV_BOOL}, {"mapping", 1u << JV_DICT},
        {"sequence", 1u << JV_STR | 1u << JV_LIST | 1u << JV_DICT},
        {"iterable", 1u << JV_STR | 1u << JV_LIST | 1u << JV_DICT},
    };
    for (size_t k = 0; k < sizeof tests / sizeof tests[0]; k++)
        if (name_eq(name, n, tests[k].name)) {
            *out = (tests[k].kinds >> v->kind) & 1u;
            return MKV_OK;
        }
    if (name_eq(name, n, "true") || name_eq(name, n, "false")) {
        *out = v->kind == JV_BOOL && v->i == name_eq(name, n, "true");
        return MKV_OK;
    }
    if ((name_eq(name, n, "equalto") || name_eq(name, n, "eq")) && n_args == 1) {
        *out = equal(v, &args[0], 0);
        return MKV_OK;
    }
    return mkv_fail(MKV_ERR_UNSUPPORTED, "template: test '%.*s' at offset %zu", (int)(n > 40 ? 40 : n), name, offset);
}

mkv_status jv_call_method(jinja_arena *arena, const jv *self, const char *name, size_t n, const jv *args, int n_args,
                          size_t offset, jv *out) {
    if (self->kind == JV_STR) {
        bool l = name_eq(name, n, "lstrip"), r = name_eq(name, n, "rstrip");
        if ((name_eq(name, n, "strip") || l || r) && n_args == 0) {
            *out = python_strip(self, !r, !l);
            return MKV_OK;
        }
        bool starts = name_eq(name, n, "startswith");
        if ((starts || name_eq(name, n, "endswith")) && n_args == 1 && args[0].kind == JV_STR) {
            const jv *x = &args[0];
            *out = make_bool(x->n <= self->n && !memcmp(starts ? self->s : self->s + self->n - x->n, x->s, x->n));
            return MKV_OK;
        }
        if ((name_eq(name, n, "upper") || name_eq(name, n, "lower")) && n_args == 0)
            return change_case(arena, self, name_eq(name, n, "upper"), offset, out);
    }
    if (self->kind == JV_DICT && !self->dict->is_namespace && name_eq(name, n, "get") && (n_args == 1 || n_args == 2)) {
        if (jv_index(arena, self, &args[0], offset, out) != MKV_OK) return mkv_last_status();
        if (out->kind == JV_UNDEF) *out = n_args == 2 ? args[1] : (jv){.kind = JV_NONE};
        return MKV_OK;
    }
    if (self->kind == JV_UNDEF) return undefined_error(self, "method call", offset);
    return mkv_fail(MKV_ERR_UNSUPPORTED, "template: method '%.*s' of a %s (%d arguments) at offset %zu",
                    (int)(n > 40 ? 40 : n), name, kind_names[self->kind], n_args, offset);
}
