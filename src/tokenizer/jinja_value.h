/* Values of the Jinja evaluator and the operations on them (operators,
 * filters, tests, methods), all allocated in the rendering's arena. */
#ifndef MKV_JINJA_VALUE_H
#define MKV_JINJA_VALUE_H

#include "tokenizer/jinja_internal.h"

typedef enum { JV_UNDEF, JV_NONE, JV_BOOL, JV_INT, JV_STR, JV_LIST, JV_DICT } jv_kind;
typedef struct jlist jlist;
typedef struct jdict jdict;
typedef struct {
    jv_kind kind;
    int64_t i;     /* BOOL, INT */
    const char *s; /* STR (not NUL-ended); UNDEF: the missing name, if known */
    size_t n;
    jlist *list;
    jdict *dict;
} jv;
struct jlist {
    int n, cap;
    jv *items;
};
struct jdict {
    int n, cap;
    jv *keys, *values; /* keys are strings */
    bool is_namespace;
};

typedef struct jinja_env jinja_env;

jlist *jv_list_new(jinja_arena *arena);
mkv_status jv_list_push(jinja_arena *arena, jlist *list, jv item);
jdict *jv_dict_new(jinja_arena *arena, bool is_namespace);
mkv_status jv_dict_set(jinja_arena *arena, jdict *dict, const char *key, size_t n, jv value);

bool jv_truthy(const jv *v);
/* Python str(v) */
mkv_status jv_to_string(jinja_arena *arena, const jv *v, const char **s, size_t *n);
/* str(v) into a fixed buffer, cut to fit (messages) */
void jv_str_of(jinja_arena *arena, const jv *v, char *buf, size_t size);
/* the items a for-loop visits (list; dict keys; string characters) */
mkv_status jv_iterable(jinja_arena *arena, const jv *v, size_t offset, jlist **out);

mkv_status jv_attr(const jv *obj, const char *name, size_t n, size_t offset, jv *out);
mkv_status jv_index(jinja_arena *arena, const jv *obj, const jv *index, size_t offset, jv *out);
mkv_status jv_slice(jinja_arena *arena, const jv *obj, const jv *start, const jv *stop, size_t offset, jv *out);
mkv_status jv_binary(jinja_arena *arena, jinja_op op, const jv *a, const jv *b, size_t offset, jv *out);
mkv_status jv_filter(jinja_arena *arena, const jv *v, const char *name, size_t n, const jv *args, int n_args,
                     bool boolean, size_t offset, jv *out);
mkv_status jv_test(const jv *v, const char *name, size_t n, const jv *args, int n_args, size_t offset, bool *out);
mkv_status jv_call_method(jinja_arena *arena, const jv *self, const char *name, size_t n, const jv *args, int n_args,
                          size_t offset, jv *out);

#endif
