/* Jinja evaluator: walks the tree of jinja_parse over a small value model
 * (undefined, none, bool, int, string, list, dict/namespace) with jinja2's
 * lenient Undefined and Python's str()/repr(), into one bounded output. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/jinja_value.h"
#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

typedef struct {
    const char *name;
    size_t len;
    jv value;
} binding;

struct jinja_env {
    jinja_arena *arena;
    binding *vars;
    int n_vars, cap_vars, scope_start;
    long iterations;
    int depth;
    char *out;
    size_t out_len, out_cap, out_limit;
};

static mkv_status emit(jinja_env *env, const char *s, size_t n) {
    if (env->out_len + n + 1 > env->out_cap) {
        if (env->out_len + n + 1 > env->out_limit)
            return mkv_fail(MKV_ERR_INPUT, "template: output longer than %zu bytes", env->out_limit);
        size_t cap = env->out_cap ? env->out_cap : 4096;
        while (cap < env->out_len + n + 1) cap *= 2;
        char *grown = mkv_realloc(env->out, cap, "chat template output");
        if (!grown) return mkv_last_status();
        env->out = grown;
        env->out_cap = cap;
    }
    memcpy(env->out + env->out_len, s, n);
    env->out_len += n;
    return MKV_OK;
}

static const jv *lookup(jinja_env *env, const char *name, size_t len) {
    for (int i = env->n_vars - 1; i >= 0; i--)
        if (env->vars[i].len == len && !memcmp(env->vars[i].name, name, len)) return &env->vars[i].value;
    return NULL;
}

/* Binds name in the innermost scope (a for-loop iteration or the top level). */
static mkv_status assign(jinja_env *env, const char *name, size_t len, jv value) {
    for (int i = env->n_vars - 1; i >= env->scope_start; i--)
        if (env->vars[i].len == len && !memcmp(env->vars[i].name, name, len)) {
            env->vars[i].value = value;
            return MKV_OK;
        }
    if (env->n_vars == env->cap_vars) {
        int cap = env->cap_vars ? env->cap_vars * 2 : 32;
        binding *grown = jinja_alloc(env->arena, (size_t)cap * sizeof *grown);
        if (!grown) return mkv_last_status();
        if (env->n_vars) memcpy(grown, env->vars, (size_t)env->n_vars * sizeof *grown);
        env->vars = grown;
        env->cap_vars = cap;
    }
    env->vars[env->n_vars++] = (binding){name, len, value};
    return MKV_OK;
}

#define TRY(x)                               \
    do {                                     \
        mkv_status try_st = (x);             \
        if (try_st != MKV_OK) return try_st; \
    } while (0)

static bool name_is(const jinja_node *nd, const char *s) { return nd->name_len == strlen(s) && !memcmp(nd->name, s, nd->name_len); }

static mkv_status eval(jinja_env *env, const jinja_node *nd, jv *out);

static mkv_status eval_args(jinja_env *env, const jinja_node *args, jv *positional, int max_positional, int *n_positional) {
    *n_positional = 0;
    for (const jinja_node *a = args; a; a = a->next) {
        if (a->kind == JN_KWARG) continue;
        if (*n_positional == max_positional)
            return mkv_fail(MKV_ERR_INPUT, "template: too many arguments at offset %zu", a->offset);
        TRY(eval(env, a, &positional[(*n_positional)++]));
    }
    return MKV_OK;
}

static mkv_status call_function(jinja_env *env, const jinja_node *nd, jv *out) {
    const jinja_node *callee = nd->a;
    jv args[3];
    int n_args;
    if (callee->kind == JN_NAME) {
        if (name_is(callee, "namespace")) {
            jdict *d = jv_dict_new(env->arena, true);
            if (!d) return mkv_last_status();
            for (const jinja_node *a = nd->b; a; a = a->next) {
                if (a->kind != JN_KWARG) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: positional namespace() argument at offset %zu", a->offset);
                jv v;
                TRY(eval(env, a->a, &v));
                TRY(jv_dict_set(env->arena, d, a->name, a->name_len, v));
            }
            *out = (jv){.kind = JV_DICT, .dict = d};
            return MKV_OK;
        }
        TRY(eval_args(env, nd->b, args, 3, &n_args));
        if (name_is(callee, "raise_exception")) {
            char text[512];
            jv_str_of(env->arena, n_args ? &args[0] : NULL, text, sizeof text);
            return mkv_fail(MKV_ERR_INPUT, "template: raise_exception: %s", text);
        }
        if (name_is(callee, "range")) {
            int64_t lo = 0, hi;
            if (n_args < 1 || n_args > 2 || args[0].kind != JV_INT || (n_args == 2 && args[1].kind != JV_INT))
                return mkv_fail(MKV_ERR_INPUT, "template: range() takes one or two integers at offset %zu", nd->offset);
            if (n_args == 2) lo = args[0].i, hi = args[1].i;
            else hi = args[0].i;
            if (hi - lo > JINJA_MAX_ITERATIONS)
                return mkv_fail(MKV_ERR_INPUT, "template: range() longer than %d at offset %zu", JINJA_MAX_ITERATIONS, nd->offset);
            jlist *l = jv_list_new(env->arena);
            if (!l) return mkv_last_status();
            for (int64_t k = lo; k < hi; k++) TRY(jv_list_push(env->arena, l, (jv){.kind = JV_INT, .i = k}));
            *out = (jv){.kind = JV_LIST, .list = l};
            return MKV_OK;
        }
        return mkv_fail(MKV_ERR_UNSUPPORTED, "template: function '%.*s' at offset %zu", (int)callee->name_len,
                        callee->name, callee->offset);
    }
    if (callee->kind == JN_ATTR) {
        jv self;
        TRY(eval(env, callee->a, &self));
        TRY(eval_args(env, nd->b, args, 3, &n_args));
        return jv_call_method(env->arena, &self, callee->name, callee->name_len, args, n_args, callee->offset, out);
    }
    return mkv_fail(MKV_ERR_UNSUPPORTED, "template: call of an expression at offset %zu", nd->offset);
}

static mkv_status eval_binary(jinja_env *env, const jinja_node *nd, jv *out) {
    jv a, b;
    TRY(eval(env, nd->a, &a));
    TRY(eval(env, nd->b, &b));
    return jv_binary(env->arena, nd->op, &a, &b, nd->offset, out);
}

static mkv_status eval(jinja_env *env, const jinja_node *nd, jv *out) {
    if (++env->depth > 4 * JINJA_MAX_DEPTH) return mkv_fail(MKV_ERR_INPUT, "template: evaluation too deep at offset %zu", nd->offset);
    mkv_status st = MKV_OK;
    jv a;
    switch (nd->kind) {
    case JN_STR: *out = (jv){.kind = JV_STR, .s = nd->name, .n = nd->name_len}; break;
    case JN_INT: *out = (jv){.kind = JV_INT, .i = nd->ival}; break;
    case JN_BOOL: *out = (jv){.kind = JV_BOOL, .i = nd->ival}; break;
    case JN_NONE: *out = (jv){.kind = JV_NONE}; break;
    case JN_NAME: {
        const jv *v = lookup(env, nd->name, nd->name_len);
        *out = v ? *v : (jv){.kind = JV_UNDEF, .s = nd->name, .n = nd->name_len};
        break;
    }
    case JN_LIST: {
        jlist *l = jv_list_new(env->arena);
        if (!l) return mkv_last_status();
        for (const jinja_node *item = nd->b; item && st == MKV_OK; item = item->next)
            if ((st = eval(env, item, &a)) == MKV_OK) st = jv_list_push(env->arena, l, a);
        *out = (jv){.kind = JV_LIST, .list = l};
        break;
    }
    case JN_DICT: {
        jdict *d = jv_dict_new(env->arena, false);
        if (!d) return mkv_last_status();
        for (const jinja_node *k = nd->b, *v = nd->c; k && v && st == MKV_OK; k = k->next, v = v->next) {
            jv key, value;
            if ((st = eval(env, k, &key)) != MKV_OK || (st = eval(env, v, &value)) != MKV_OK) break;
            if (key.kind != JV_STR) st = mkv_fail(MKV_ERR_UNSUPPORTED, "template: non-string dict key at offset %zu", k->offset);
            else st = jv_dict_set(env->arena, d, key.s, key.n, value);
        }
        *out = (jv){.kind = JV_DICT, .dict = d};
        break;
    }
    case JN_ATTR:
        if ((st = eval(env, nd->a, &a)) == MKV_OK) st = jv_attr(&a, nd->name, nd->name_len, nd->offset, out);
        break;
    case JN_INDEX: {
        jv index;
        if ((st = eval(env, nd->a, &a)) == MKV_OK && (st = eval(env, nd->b, &index)) == MKV_OK)
            st = jv_index(env->arena, &a, &index, nd->offset, out);
        break;
    }
    case JN_SLICE: {
        jv start = {.kind = JV_NONE}, stop = {.kind = JV_NONE};
        if ((st = eval(env, nd->a, &a)) == MKV_OK && (!nd->b || (st = eval(env, nd->b, &start)) == MKV_OK) &&
            (!nd->c || (st = eval(env, nd->c, &stop)) == MKV_OK))
            st = jv_slice(env->arena, &a, &start, &stop, nd->offset, out);
        break;
    }
    case JN_CALL: st = call_function(env, nd, out); break;
    case JN_FILTER:
    case JN_TEST: {
        jv args[3];
        int n_args;
        if ((st = eval(env, nd->a, &a)) != MKV_OK || (st = eval_args(env, nd->b, args, 3, &n_args)) != MKV_OK) break;
        if (nd->kind == JN_FILTER) {
            bool boolean = false; /* default(value, boolean=true) */
            for (const jinja_node *k = nd->b; k; k = k->next)
                if (k->kind == JN_KWARG) {
                    jv v;
                    if ((st = eval(env, k->a, &v)) != MKV_OK) return st;
                    if (name_is(k, "boolean")) boolean = jv_truthy(&v);
                }
            st = jv_filter(env->arena, &a, nd->name, nd->name_len, args, n_args, boolean, nd->offset, out);
        } else {
            bool result;
            if ((st = jv_test(&a, nd->name, nd->name_len, args, n_args, nd->offset, &result)) == MKV_OK)
                *out = (jv){.kind = JV_BOOL, .i = result != nd->negated};
        }
        break;
    }
    case JN_NOT:
        if ((st = eval(env, nd->a, &a)) == MKV_OK) *out = (jv){.kind = JV_BOOL, .i = !jv_truthy(&a)};
        break;
    case JN_NEG:
        if ((st = eval(env, nd->a, &a)) != MKV_OK) break;
        if (a.kind != JV_INT || a.i == INT64_MIN) st = mkv_fail(MKV_ERR_INPUT, "template: bad operand of unary - at offset %zu", nd->offset);
        else *out = (jv){.kind = JV_INT, .i = -a.i};
        break;
    case JN_AND:
    case JN_OR: /* Python semantics: the deciding operand is the value */
        if ((st = eval(env, nd->a, &a)) != MKV_OK) break;
        if (jv_truthy(&a) == (nd->kind == JN_OR)) *out = a;
        else st = eval(env, nd->b, out);
        break;
    case JN_BINARY: st = eval_binary(env, nd, out); break;
    case JN_COND:
        if ((st = eval(env, nd->b, &a)) != MKV_OK) break;
        if (jv_truthy(&a)) st = eval(env, nd->a, out);
        else if (nd->c) st = eval(env, nd->c, out);
        else *out = (jv){.kind = JV_UNDEF};
        break;
    default: st = mkv_fail(MKV_ERR_FORMAT, "template: statement used as an expression at offset %zu", nd->offset);
    }
    env->depth--;
    return st;
}

static mkv_status run_body(jinja_env *env, const jinja_node *body);

static mkv_status run_for(jinja_env *env, const jinja_node *nd) {
    jv seq;
    TRY(eval(env, nd->a, &seq));
    jlist *items;
    TRY(jv_iterable(env->arena, &seq, nd->a->offset, &items));
    if (nd->d) { /* {% for x in xs if cond %}: loop.* counts the kept items */
        jlist *kept = jv_list_new(env->arena);
        if (!kept) return mkv_last_status();
        for (int i = 0; i < items->n; i++) {
            int saved_start = env->scope_start, saved_n = env->n_vars;
            env->scope_start = env->n_vars;
            jv cond;
            mkv_status st = assign(env, nd->name, nd->name_len, items->items[i]);
            if (st == MKV_OK) st = eval(env, nd->d, &cond);
            env->n_vars = saved_n, env->scope_start = saved_start;
            if (st != MKV_OK) return st;
            if (jv_truthy(&cond)) TRY(jv_list_push(env->arena, kept, items->items[i]));
        }
        items = kept;
    }
    if (items->n == 0) return run_body(env, nd->c);
    for (int i = 0; i < items->n; i++) {
        if (++env->iterations > JINJA_MAX_ITERATIONS)
            return mkv_fail(MKV_ERR_INPUT, "template: more than %d loop iterations", JINJA_MAX_ITERATIONS);
        jdict *loop = jv_dict_new(env->arena, false);
        if (!loop) return mkv_last_status();
        int64_t n = items->n;
        struct { const char *key; jv value; } fields[] = {
            {"index0", {.kind = JV_INT, .i = i}},         {"index", {.kind = JV_INT, .i = i + 1}},
            {"revindex0", {.kind = JV_INT, .i = n - 1 - i}}, {"revindex", {.kind = JV_INT, .i = n - i}},
            {"first", {.kind = JV_BOOL, .i = i == 0}},    {"last", {.kind = JV_BOOL, .i = i == n - 1}},
            {"length", {.kind = JV_INT, .i = n}},
            {"previtem", i > 0 ? items->items[i - 1] : (jv){.kind = JV_UNDEF}},
            {"nextitem", i + 1 < n ? items->items[i + 1] : (jv){.kind = JV_UNDEF}},
        };
        for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
            TRY(jv_dict_set(env->arena, loop, fields[k].key, strlen(fields[k].key), fields[k].value));
        /* each iteration is a scope: a plain {% set %} inside does not outlive it */
        int saved_start = env->scope_start, saved_n = env->n_vars;
        env->scope_start = env->n_vars;
        mkv_status st = assign(env, "loop", 4, (jv){.kind = JV_DICT, .dict = loop});
        if (st == MKV_OK) st = assign(env, nd->name, nd->name_len, items->items[i]);
        if (st == MKV_OK) st = run_body(env, nd->b);
        env->n_vars = saved_n, env->scope_start = saved_start;
        if (st != MKV_OK) return st;
    }
    return MKV_OK;
}

static mkv_status run_body(jinja_env *env, const jinja_node *body) {
    for (const jinja_node *nd = body; nd; nd = nd->next) {
        jv v;
        switch (nd->kind) {
        case JN_TEXT: TRY(emit(env, nd->name, nd->name_len)); break;
        case JN_OUTPUT: {
            TRY(eval(env, nd->a, &v));
            const char *s;
            size_t n;
            TRY(jv_to_string(env->arena, &v, &s, &n));
            TRY(emit(env, s, n));
            break;
        }
        case JN_IF:
            TRY(eval(env, nd->a, &v));
            TRY(run_body(env, jv_truthy(&v) ? nd->b : nd->c));
            break;
        case JN_FOR:
            if (++env->depth > 4 * JINJA_MAX_DEPTH) return mkv_fail(MKV_ERR_INPUT, "template: loops nested too deep");
            TRY(run_for(env, nd));
            env->depth--;
            break;
        case JN_SET:
            TRY(eval(env, nd->a, &v));
            TRY(assign(env, nd->name, nd->name_len, v));
            break;
        case JN_SET_ATTR: {
            const jv *ns = lookup(env, nd->name, nd->name_len);
            if (!ns || ns->kind != JV_DICT || !ns->dict->is_namespace)
                return mkv_fail(MKV_ERR_INPUT, "template: '%.*s' is not a namespace at offset %zu", (int)nd->name_len, nd->name, nd->offset);
            TRY(eval(env, nd->a, &v));
            TRY(jv_dict_set(env->arena, ns->dict, nd->attr, nd->attr_len, v));
            break;
        }
        default: return mkv_fail(MKV_ERR_FORMAT, "template: expression used as a statement at offset %zu", nd->offset);
        }
    }
    return MKV_OK;
}

static jv str_value(const char *s) {
    return s ? (jv){.kind = JV_STR, .s = s, .n = strlen(s)} : (jv){.kind = JV_UNDEF};
}

mkv_status mkv_jinja_render(const char *source, size_t n_source, const mkv_jinja_vars *vars, char **out_text,
                            size_t *out_len) {
    *out_text = NULL;
    if (out_len) *out_len = 0;
    size_t input_bytes = n_source;
    for (int i = 0; i < vars->n_messages; i++)
        input_bytes += strlen(vars->messages[i].content) + strlen(vars->messages[i].role);
    size_t limit = ((size_t)64 << 20) + 4 * input_bytes;
    jinja_arena arena = {NULL, 0, limit};
    jinja_env env = {.arena = &arena, .out_limit = limit};
    jinja_token *tokens;
    int n_tokens;
    jinja_node *body;
    mkv_status st = jinja_lex(&arena, source, n_source, &tokens, &n_tokens);
    if (st == MKV_OK) st = jinja_parse(&arena, tokens, n_tokens, &body);
    jlist *messages = st == MKV_OK ? jv_list_new(&arena) : NULL;
    if (st == MKV_OK && !messages) st = mkv_last_status();
    for (int i = 0; st == MKV_OK && i < vars->n_messages; i++) {
        jdict *m = jv_dict_new(&arena, false);
        if (!m) st = mkv_last_status();
        if (st == MKV_OK) st = jv_dict_set(&arena, m, "role", 4, str_value(vars->messages[i].role));
        if (st == MKV_OK) st = jv_dict_set(&arena, m, "content", 7, str_value(vars->messages[i].content));
        if (st == MKV_OK) st = jv_list_push(&arena, messages, (jv){.kind = JV_DICT, .dict = m});
    }
    if (st == MKV_OK) st = assign(&env, "messages", 8, (jv){.kind = JV_LIST, .list = messages});
    if (st == MKV_OK) st = assign(&env, "add_generation_prompt", 21, (jv){.kind = JV_BOOL, .i = vars->add_generation_prompt});
    if (st == MKV_OK) st = assign(&env, "bos_token", 9, str_value(vars->bos_token));
    if (st == MKV_OK) st = assign(&env, "eos_token", 9, str_value(vars->eos_token));
    if (st == MKV_OK) st = assign(&env, "tools", 5, (jv){.kind = JV_NONE});
    if (st == MKV_OK) st = assign(&env, "documents", 9, (jv){.kind = JV_NONE});
    if (st == MKV_OK) st = run_body(&env, body);
    if (st == MKV_OK) st = emit(&env, "", 0);
    jinja_arena_free(&arena);
    if (st != MKV_OK || !env.out) {
        mkv_free(env.out);
        return st != MKV_OK ? st : mkv_fail(MKV_ERR_NOMEM, "template: no output buffer");
    }
    env.out[env.out_len] = '\0';
    if (!mkv_utf8_validate(env.out, env.out_len, NULL)) {
        mkv_free(env.out);
        return mkv_fail(MKV_ERR_INPUT, "template: the rendered prompt is not valid UTF-8");
    }
    *out_text = env.out;
    if (out_len) *out_len = env.out_len;
    return MKV_OK;
}
