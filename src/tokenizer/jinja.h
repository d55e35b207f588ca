/* A bounded Jinja subset for chat templates (the tokenizer_config.json /
 * tokenizer.chat_template source), rendering as transformers'
 * apply_chat_template does: jinja2 with trim_blocks and lstrip_blocks,
 * keep_trailing_newline off, default (lenient) Undefined.
 *
 * Supported: {{ }}, {% if/elif/else/endif %}, {% for x in list [if c] %}
 * ... {% else %} ... {% endfor %} with loop.index/index0/first/last/length/
 * revindex/revindex0, {% set x = e %}, {% set ns.attr = e %} with
 * namespace(...), comments, whitespace control (-/+), string/int/bool/none
 * literals, lists, dicts, + - * / // % ~, == != < <= > >=, in / not in,
 * not/and/or, a if c else b, subscripts x['k'] x[i] x[a:b], .attr, filters
 * trim/length/count/tojson/default(d)/upper/lower/string/first/last/join,
 * tests defined/undefined/none/string/number/mapping/sequence/iterable/
 * true/false, string methods strip/lstrip/rstrip/startswith/endswith/upper/
 * lower, dict.get, raise_exception(msg).
 * Refused (MKV_ERR_UNSUPPORTED, naming the construct and its byte offset):
 * macros, call blocks, filter blocks, block/extends/include/import, raw,
 * unpacking for-loops, unknown filters/tests/functions/methods.
 * Bounded: expression/block nesting 128, 1M loop iterations in all, output
 * and working memory 64 MiB plus 4x the input size. */
#ifndef MKV_JINJA_H
#define MKV_JINJA_H

#include <stdbool.h>
#include <stddef.h>

#include "tokenizer/chat.h"

typedef struct {
    const mkv_chat_message *messages;
    int n_messages;
    bool add_generation_prompt;
    const char *bos_token, *eos_token; /* NULL = undefined */
} mkv_jinja_vars;

/* Renders `source` (n_source bytes) with `vars`: text in *out_text (NUL-ended,
 * mkv_free). Errors: MKV_ERR_FORMAT for a syntax error, MKV_ERR_UNSUPPORTED
 * for a construct outside the subset, MKV_ERR_INPUT when the template raises
 * (raise_exception) or an evaluation fails or exceeds a bound. Messages say
 * "template: ... at offset N". */
mkv_status mkv_jinja_render(const char *source, size_t n_source, const mkv_jinja_vars *vars, char **out_text,
                            size_t *out_len);

#endif
