/* Internals of the Jinja subset (jinja.h): an arena, the lexer's tokens, the
 * parser's nodes. Everything lives in one arena freed after rendering. */
#ifndef MKV_JINJA_INTERNAL_H
#define MKV_JINJA_INTERNAL_H

#include <stdint.h>

#include "tokenizer/jinja.h"

#define JINJA_MAX_DEPTH 128
#define JINJA_MAX_ITERATIONS (1 << 20)

typedef struct jinja_block jinja_block;
typedef struct {
    jinja_block *head;
    size_t used_bytes, limit_bytes;
} jinja_arena;

/* NULL (and an MKV_ERR_INPUT / NOMEM error set) past the limit. */
void *jinja_alloc(jinja_arena *arena, size_t n);
void jinja_arena_free(jinja_arena *arena);

typedef enum {
    JT_TEXT,        /* literal template text (after whitespace control) */
    JT_VAR_BEGIN,   /* {{ */
    JT_VAR_END,     /* }} */
    JT_BLOCK_BEGIN, /* {% */
    JT_BLOCK_END,   /* %} */
    JT_NAME,
    JT_STRING,      /* decoded text */
    JT_INT,
    JT_OP,          /* text holds the operator: ( ) [ ] { } . , : | ~ + - * / // % == != < <= > >= = */
    JT_EOF,
} jinja_token_kind;

typedef struct {
    jinja_token_kind kind;
    const char *text; /* not NUL-ended */
    size_t len;
    int64_t ival;
    size_t offset;    /* byte offset in the source */
} jinja_token;

mkv_status jinja_lex(jinja_arena *arena, const char *src, size_t n, jinja_token **out_tokens, int *out_n);

typedef enum {
    /* statements */
    JN_TEXT, JN_OUTPUT, JN_IF, JN_FOR, JN_SET, JN_SET_ATTR,
    /* expressions */
    JN_STR, JN_INT, JN_BOOL, JN_NONE, JN_NAME, JN_LIST, JN_DICT,
    JN_ATTR, JN_INDEX, JN_SLICE, JN_CALL, JN_FILTER, JN_TEST, JN_KWARG,
    JN_NOT, JN_NEG, JN_AND, JN_OR, JN_BINARY, JN_COND,
} jinja_node_kind;

typedef enum {
    JOP_ADD, JOP_SUB, JOP_MUL, JOP_DIV, JOP_FLOORDIV, JOP_MOD, JOP_CONCAT,
    JOP_EQ, JOP_NE, JOP_LT, JOP_LE, JOP_GT, JOP_GE, JOP_IN, JOP_NOT_IN,
} jinja_op;

typedef struct jinja_node jinja_node;
struct jinja_node {
    jinja_node_kind kind;
    jinja_op op;
    size_t offset;
    /* IF: a cond, b then, c else | FOR: a iterable, b body, c else, d filter
     * SET: a value | SET_ATTR: a value, name = namespace, attr = attribute
     * ATTR: a object | INDEX: a object, b index | SLICE: a object, b start, c stop
     * CALL: a callee, b args | FILTER/TEST: a subject, b args | KWARG: a value
     * LIST: b items | DICT: b keys, c values | unary: a | binary: a, b
     * COND: a then, b cond, c else */
    jinja_node *a, *b, *c, *d;
    jinja_node *next; /* next statement or list item */
    const char *name, *attr; /* names, string literals, filter/test names */
    size_t name_len, attr_len;
    int64_t ival;
    bool negated; /* TEST: `is not` */
};

mkv_status jinja_parse(jinja_arena *arena, const jinja_token *tokens, int n_tokens, jinja_node **out_body);

#endif
