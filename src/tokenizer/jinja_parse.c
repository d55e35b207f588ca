/* Jinja parser: tokens (jinja_lex) to a tree of statements and expressions
 * with jinja2's operator precedence (or < and < not < comparisons < + - <
 * ~ < * / // % < unary minus < filters/tests < postfix). */
#include <stdio.h>
#include <string.h>

#include "tokenizer/jinja_internal.h"

typedef struct {
    jinja_arena *arena;
    const jinja_token *t;
    int n, pos, depth;
} parser;

static const jinja_token *peek(parser *p) { return &p->t[p->pos]; }
static bool tok_is(const jinja_token *t, jinja_token_kind kind, const char *text) {
    return t->kind == kind && (!text || (t->len == strlen(text) && !memcmp(t->text, text, t->len)));
}
static bool at_op(parser *p, const char *op) { return tok_is(peek(p), JT_OP, op); }
static bool at_name(parser *p, const char *name) { return tok_is(peek(p), JT_NAME, name); }
static bool accept_op(parser *p, const char *op) {
    if (!at_op(p, op)) return false;
    p->pos++;
    return true;
}
static bool accept_name(parser *p, const char *name) {
    if (!at_name(p, name)) return false;
    p->pos++;
    return true;
}

static mkv_status syntax(parser *p, const char *what) {
    const jinja_token *t = peek(p);
    if (t->kind == JT_EOF) return mkv_fail(MKV_ERR_FORMAT, "template: expected %s at end of template", what);
    return mkv_fail(MKV_ERR_FORMAT, "template: expected %s at offset %zu, found '%.*s'", what, t->offset,
                    (int)(t->len > 40 ? 40 : t->len), t->text);
}

static jinja_node *node(parser *p, jinja_node_kind kind, size_t offset) {
    jinja_node *nd = jinja_alloc(p->arena, sizeof *nd);
    if (nd) *nd = (jinja_node){.kind = kind, .offset = offset};
    return nd;
}

static mkv_status expect_op(parser *p, const char *op) {
    if (accept_op(p, op)) return MKV_OK;
    char what[8];
    snprintf(what, sizeof what, "'%s'", op);
    return syntax(p, what);
}

static mkv_status parse_expr(parser *p, jinja_node **out);
static mkv_status parse_or(parser *p, jinja_node **out);

#define TRY(x)                              \
    do {                                    \
        mkv_status try_st = (x);            \
        if (try_st != MKV_OK) return try_st; \
    } while (0)
#define NEW(var, kind, offset)                           \
    jinja_node *var = node(p, kind, offset);             \
    if (!var) return mkv_last_status()

/* Comma-separated expressions up to `close`; keyword arguments (name=expr)
 * when kwargs is true. Items chained by `next`. */
static mkv_status parse_list(parser *p, const char *close, bool kwargs, jinja_node **out) {
    jinja_node *head = NULL, **tail = &head;
    while (!at_op(p, close)) {
        jinja_node *item;
        const jinja_token *t = peek(p);
        if (kwargs && t->kind == JT_NAME && tok_is(&p->t[p->pos + 1], JT_OP, "=")) {
            NEW(kw, JN_KWARG, t->offset);
            kw->name = t->text;
            kw->name_len = t->len;
            p->pos += 2;
            TRY(parse_expr(p, &kw->a));
            item = kw;
        } else TRY(parse_expr(p, &item));
        *tail = item;
        tail = &item->next;
        if (!accept_op(p, ",")) break;
    }
    *out = head;
    return expect_op(p, close);
}

static mkv_status parse_primary(parser *p, jinja_node **out) {
    const jinja_token *t = peek(p);
    if (t->kind == JT_STRING) {
        NEW(nd, JN_STR, t->offset);
        nd->name = t->text;
        nd->name_len = t->len;
        p->pos++;
        while (peek(p)->kind == JT_STRING) { /* adjacent literals concatenate */
            const jinja_token *u = peek(p);
            char *joined = jinja_alloc(p->arena, nd->name_len + u->len + 1);
            if (!joined) return mkv_last_status();
            memcpy(joined, nd->name, nd->name_len);
            memcpy(joined + nd->name_len, u->text, u->len);
            nd->name = joined;
            nd->name_len += u->len;
            p->pos++;
        }
        *out = nd;
        return MKV_OK;
    }
    if (t->kind == JT_INT) {
        NEW(nd, JN_INT, t->offset);
        nd->ival = t->ival;
        p->pos++;
        *out = nd;
        return MKV_OK;
    }
    if (t->kind == JT_NAME) {
        p->pos++;
        static const char *const trues[] = {"true", "True"}, *const falses[] = {"false", "False"};
        for (int k = 0; k < 2; k++)
            if (tok_is(t, JT_NAME, trues[k]) || tok_is(t, JT_NAME, falses[k])) {
                NEW(nd, JN_BOOL, t->offset);
                nd->ival = tok_is(t, JT_NAME, trues[k]);
                *out = nd;
                return MKV_OK;
            }
        if (tok_is(t, JT_NAME, "none") || tok_is(t, JT_NAME, "None")) {
            NEW(nd, JN_NONE, t->offset);
            *out = nd;
            return MKV_OK;
        }
        NEW(nd, JN_NAME, t->offset);
        nd->name = t->text;
        nd->name_len = t->len;
        *out = nd;
        return MKV_OK;
    }
    if (accept_op(p, "(")) {
        TRY(parse_expr(p, out));
        if (at_op(p, ",")) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: tuple at offset %zu", peek(p)->offset);
        return expect_op(p, ")");
    }
    if (accept_op(p, "[")) {
        NEW(nd, JN_LIST, t->offset);
        TRY(parse_list(p, "]", false, &nd->b));
        *out = nd;
        return MKV_OK;
    }
    if (accept_op(p, "{")) {
        NEW(nd, JN_DICT, t->offset);
        jinja_node **keys = &nd->b, **values = &nd->c;
        while (!at_op(p, "}")) {
            TRY(parse_expr(p, keys));
            TRY(expect_op(p, ":"));
            TRY(parse_expr(p, values));
            keys = &(*keys)->next;
            values = &(*values)->next;
            if (!accept_op(p, ",")) break;
        }
        TRY(expect_op(p, "}"));
        *out = nd;
        return MKV_OK;
    }
    return syntax(p, "an expression");
}

static mkv_status parse_postfix(parser *p, jinja_node **out) {
    TRY(parse_primary(p, out));
    for (;;) {
        const jinja_token *t = peek(p);
        if (accept_op(p, ".")) {
            const jinja_token *name = peek(p);
            if (name->kind != JT_NAME) return syntax(p, "an attribute name");
            p->pos++;
            NEW(nd, JN_ATTR, t->offset);
            nd->a = *out;
            nd->name = name->text;
            nd->name_len = name->len;
            *out = nd;
        } else if (accept_op(p, "[")) {
            jinja_node *start = NULL, *stop = NULL;
            if (!at_op(p, ":")) TRY(parse_expr(p, &start));
            if (accept_op(p, ":")) {
                if (!at_op(p, "]") && !at_op(p, ":")) TRY(parse_expr(p, &stop));
                if (at_op(p, ":")) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: slice step at offset %zu", peek(p)->offset);
                NEW(nd, JN_SLICE, t->offset);
                nd->a = *out, nd->b = start, nd->c = stop;
                *out = nd;
            } else {
                if (!start) return syntax(p, "an index");
                NEW(nd, JN_INDEX, t->offset);
                nd->a = *out, nd->b = start;
                *out = nd;
            }
            TRY(expect_op(p, "]"));
        } else if (accept_op(p, "(")) {
            NEW(nd, JN_CALL, t->offset);
            nd->a = *out;
            TRY(parse_list(p, ")", true, &nd->b));
            *out = nd;
        } else return MKV_OK;
    }
}

/* `| name(args)` and `is [not] name [arg]` after a postfix expression. */
static mkv_status parse_filters(parser *p, jinja_node **out) {
    for (;;) {
        const jinja_token *t = peek(p);
        bool is_filter = at_op(p, "|"), is_test = at_name(p, "is");
        if (!is_filter && !is_test) return MKV_OK;
        p->pos++;
        NEW(nd, is_filter ? JN_FILTER : JN_TEST, t->offset);
        if (is_test && accept_name(p, "not")) nd->negated = true;
        const jinja_token *name = peek(p);
        if (name->kind != JT_NAME) return syntax(p, is_filter ? "a filter name" : "a test name");
        p->pos++;
        nd->a = *out;
        nd->name = name->text;
        nd->name_len = name->len;
        if (accept_op(p, "(")) TRY(parse_list(p, ")", true, &nd->b));
        else if (is_test && (peek(p)->kind == JT_STRING || peek(p)->kind == JT_INT)) TRY(parse_primary(p, &nd->b));
        *out = nd;
    }
}

static mkv_status parse_unary(parser *p, jinja_node **out) {
    const jinja_token *t = peek(p);
    if (accept_op(p, "-") || accept_op(p, "+")) {
        bool neg = tok_is(t, JT_OP, "-");
        if (++p->depth > JINJA_MAX_DEPTH) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: nesting deeper than %d at offset %zu", JINJA_MAX_DEPTH, t->offset);
        jinja_node *operand;
        TRY(parse_unary(p, &operand));
        p->depth--;
        if (!neg) {
            *out = operand;
            return MKV_OK;
        }
        NEW(nd, JN_NEG, t->offset);
        nd->a = operand;
        *out = nd;
        return MKV_OK;
    }
    TRY(parse_postfix(p, out));
    return parse_filters(p, out);
}

typedef struct {
    const char *text;
    jinja_op op;
} op_entry;

/* One left-associative level: operands from `next`, operators from `ops`. */
static mkv_status parse_level(parser *p, jinja_node **out, mkv_status (*next)(parser *, jinja_node **),
                              const op_entry *ops, int n_ops) {
    TRY(next(p, out));
    for (;;) {
        int hit = -1;
        for (int k = 0; k < n_ops && hit < 0; k++)
            if (at_op(p, ops[k].text)) hit = k;
        if (hit < 0) return MKV_OK;
        size_t offset = peek(p)->offset;
        p->pos++;
        NEW(nd, JN_BINARY, offset);
        nd->op = ops[hit].op;
        nd->a = *out;
        TRY(next(p, &nd->b));
        *out = nd;
    }
}

static mkv_status parse_mul(parser *p, jinja_node **out) {
    static const op_entry ops[] = {{"*", JOP_MUL}, {"//", JOP_FLOORDIV}, {"/", JOP_DIV}, {"%", JOP_MOD}};
    return parse_level(p, out, parse_unary, ops, 4);
}
static mkv_status parse_concat(parser *p, jinja_node **out) {
    static const op_entry ops[] = {{"~", JOP_CONCAT}};
    return parse_level(p, out, parse_mul, ops, 1);
}
static mkv_status parse_add(parser *p, jinja_node **out) {
    static const op_entry ops[] = {{"+", JOP_ADD}, {"-", JOP_SUB}};
    return parse_level(p, out, parse_concat, ops, 2);
}

static mkv_status parse_compare(parser *p, jinja_node **out) {
    static const op_entry ops[] = {{"==", JOP_EQ}, {"!=", JOP_NE}, {"<=", JOP_LE}, {">=", JOP_GE}, {"<", JOP_LT}, {">", JOP_GT}};
    TRY(parse_add(p, out));
    for (;;) {
        size_t offset = peek(p)->offset;
        jinja_op op;
        int hit = -1;
        for (int k = 0; k < 6 && hit < 0; k++)
            if (at_op(p, ops[k].text)) hit = k;
        if (hit >= 0) {
            op = ops[hit].op;
            p->pos++;
        } else if (accept_name(p, "in")) op = JOP_IN;
        else if (at_name(p, "not") && tok_is(&p->t[p->pos + 1], JT_NAME, "in")) {
            p->pos += 2;
            op = JOP_NOT_IN;
        } else return MKV_OK;
        NEW(nd, JN_BINARY, offset);
        nd->op = op;
        nd->a = *out;
        TRY(parse_add(p, &nd->b));
        *out = nd;
    }
}

static mkv_status parse_not(parser *p, jinja_node **out) {
    const jinja_token *t = peek(p);
    if (!accept_name(p, "not")) return parse_compare(p, out);
    if (++p->depth > JINJA_MAX_DEPTH) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: nesting deeper than %d at offset %zu", JINJA_MAX_DEPTH, t->offset);
    NEW(nd, JN_NOT, t->offset);
    TRY(parse_not(p, &nd->a));
    p->depth--;
    *out = nd;
    return MKV_OK;
}

static mkv_status parse_bool(parser *p, jinja_node **out, const char *word, jinja_node_kind kind,
                             mkv_status (*next)(parser *, jinja_node **)) {
    TRY(next(p, out));
    while (at_name(p, word)) {
        NEW(nd, kind, peek(p)->offset);
        p->pos++;
        nd->a = *out;
        TRY(next(p, &nd->b));
        *out = nd;
    }
    return MKV_OK;
}
static mkv_status parse_and(parser *p, jinja_node **out) { return parse_bool(p, out, "and", JN_AND, parse_not); }
static mkv_status parse_or(parser *p, jinja_node **out) { return parse_bool(p, out, "or", JN_OR, parse_and); }

static mkv_status parse_expr(parser *p, jinja_node **out) {
    const jinja_token *t = peek(p);
    if (++p->depth > JINJA_MAX_DEPTH)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "template: nesting deeper than %d at offset %zu", JINJA_MAX_DEPTH, t->offset);
    TRY(parse_or(p, out));
    if (at_name(p, "if")) {
        NEW(nd, JN_COND, peek(p)->offset);
        p->pos++;
        nd->a = *out;
        TRY(parse_or(p, &nd->b));
        if (accept_name(p, "else")) TRY(parse_expr(p, &nd->c));
        *out = nd;
    }
    p->depth--;
    return MKV_OK;
}

static mkv_status expect_block_end(parser *p) {
    if (peek(p)->kind == JT_BLOCK_END) {
        p->pos++;
        return MKV_OK;
    }
    return syntax(p, "'%}'");
}

/* Statements until a block tag whose keyword is one of `ends` (left unread:
 * p->pos at that keyword) or the end of the template (ends == NULL). */
static mkv_status parse_body(parser *p, const char *const *ends, jinja_node **out);

static mkv_status parse_if(parser *p, size_t offset, jinja_node **out) {
    static const char *const ends[] = {"elif", "else", "endif", NULL};
    NEW(nd, JN_IF, offset);
    TRY(parse_expr(p, &nd->a));
    TRY(expect_block_end(p));
    TRY(parse_body(p, ends, &nd->b));
    const jinja_token *kw = peek(p);
    p->pos++;
    if (tok_is(kw, JT_NAME, "elif")) {
        TRY(parse_if(p, kw->offset, &nd->c));
        *out = nd;
        return MKV_OK;
    }
    if (tok_is(kw, JT_NAME, "else")) {
        static const char *const endif[] = {"endif", NULL};
        TRY(expect_block_end(p));
        TRY(parse_body(p, endif, &nd->c));
        p->pos++;
    }
    *out = nd;
    return expect_block_end(p);
}

static mkv_status parse_statement(parser *p, jinja_node **out) {
    const jinja_token *kw = peek(p);
    if (kw->kind != JT_NAME) return syntax(p, "a statement keyword");
    p->pos++;
    if (tok_is(kw, JT_NAME, "if")) return parse_if(p, kw->offset, out);
    if (tok_is(kw, JT_NAME, "for")) {
        static const char *const ends[] = {"else", "endfor", NULL};
        NEW(nd, JN_FOR, kw->offset);
        const jinja_token *var = peek(p);
        if (var->kind != JT_NAME) return syntax(p, "a loop variable");
        p->pos++;
        if (at_op(p, ",")) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: for-loop unpacking at offset %zu", peek(p)->offset);
        nd->name = var->text;
        nd->name_len = var->len;
        if (!accept_name(p, "in")) return syntax(p, "'in'");
        TRY(parse_or(p, &nd->a)); /* `if` here filters the loop */
        if (accept_name(p, "if")) TRY(parse_expr(p, &nd->d));
        if (at_name(p, "recursive")) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: recursive loop at offset %zu", peek(p)->offset);
        TRY(expect_block_end(p));
        TRY(parse_body(p, ends, &nd->b));
        if (accept_name(p, "else")) {
            static const char *const endfor[] = {"endfor", NULL};
            TRY(expect_block_end(p));
            TRY(parse_body(p, endfor, &nd->c));
        }
        p->pos++;
        *out = nd;
        return expect_block_end(p);
    }
    if (tok_is(kw, JT_NAME, "set")) {
        const jinja_token *var = peek(p);
        if (var->kind != JT_NAME) return syntax(p, "a variable name");
        p->pos++;
        NEW(nd, JN_SET, kw->offset);
        nd->name = var->text;
        nd->name_len = var->len;
        if (accept_op(p, ".")) {
            const jinja_token *attr = peek(p);
            if (attr->kind != JT_NAME) return syntax(p, "an attribute name");
            p->pos++;
            nd->kind = JN_SET_ATTR;
            nd->attr = attr->text;
            nd->attr_len = attr->len;
        }
        if (at_op(p, ",")) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: set unpacking at offset %zu", peek(p)->offset);
        if (peek(p)->kind == JT_BLOCK_END) return mkv_fail(MKV_ERR_UNSUPPORTED, "template: block set at offset %zu", kw->offset);
        TRY(expect_op(p, "="));
        TRY(parse_expr(p, &nd->a));
        *out = nd;
        return expect_block_end(p);
    }
    static const char *const refused[] = {"macro", "call", "filter", "block", "extends", "include", "import",
                                          "from", "raw", "with", "autoescape", "do", "break", "continue"};
    for (size_t k = 0; k < sizeof refused / sizeof refused[0]; k++)
        if (tok_is(kw, JT_NAME, refused[k]))
            return mkv_fail(MKV_ERR_UNSUPPORTED, "template: {%% %s %%} at offset %zu", refused[k], kw->offset);
    return mkv_fail(MKV_ERR_FORMAT, "template: unexpected '%.*s' at offset %zu", (int)(kw->len > 40 ? 40 : kw->len),
                    kw->text, kw->offset);
}

static mkv_status parse_body(parser *p, const char *const *ends, jinja_node **out) {
    if (++p->depth > JINJA_MAX_DEPTH)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "template: blocks nested deeper than %d at offset %zu", JINJA_MAX_DEPTH,
                        peek(p)->offset);
    jinja_node *head = NULL, **tail = &head;
    for (;;) {
        const jinja_token *t = peek(p);
        if (t->kind == JT_EOF) {
            if (ends) return mkv_fail(MKV_ERR_FORMAT, "template: missing {%% %s %%} at end of template", ends[0]);
            break;
        }
        jinja_node *st = NULL;
        if (t->kind == JT_TEXT) {
            NEW(nd, JN_TEXT, t->offset);
            nd->name = t->text;
            nd->name_len = t->len;
            p->pos++;
            st = nd;
        } else if (t->kind == JT_VAR_BEGIN) {
            p->pos++;
            NEW(nd, JN_OUTPUT, t->offset);
            TRY(parse_expr(p, &nd->a));
            if (peek(p)->kind != JT_VAR_END) return syntax(p, "'}}'");
            p->pos++;
            st = nd;
        } else if (t->kind == JT_BLOCK_BEGIN) {
            p->pos++;
            bool is_end = false;
            for (int k = 0; ends && ends[k]; k++)
                if (at_name(p, ends[k])) is_end = true;
            if (is_end) break;
            TRY(parse_statement(p, &st));
        } else return syntax(p, "text or a tag");
        *tail = st;
        tail = &st->next;
    }
    p->depth--;
    *out = head;
    return MKV_OK;
}

mkv_status jinja_parse(jinja_arena *arena, const jinja_token *tokens, int n_tokens, jinja_node **out_body) {
    parser p = {arena, tokens, n_tokens, 0, 0};
    return parse_body(&p, NULL, out_body);
}
