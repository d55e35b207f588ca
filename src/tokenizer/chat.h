/* Chat: conversations of OpenAI-style messages ({role, content}) and their
 * rendering into a prompt by a model's chat template (the Jinja source of
 * tokenizer_config.json / GGUF tokenizer.chat_template, src/tokenizer/jinja.h),
 * as transformers' apply_chat_template renders it. mkv_chat_message, the
 * conversation functions (chat_messages.c) and mkv_chat_apply[_ex]
 * (src/api/chat_api.c) are public (maskkv.h). */
#ifndef MKV_TOKENIZER_CHAT_H
#define MKV_TOKENIZER_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "maskkv.h"

/* A chat template: Jinja source (NULL or "" = none: the built-in renderer of
 * `arch`), the architecture, and the special-token texts the template may
 * name (NULL = undefined in the template). */
typedef struct {
    const char *source;
    mkv_arch arch;
    const char *bos_token, *eos_token;
} mkv_chat_template;

/* Renders messages[0..n_messages) with the template, as
 * apply_chat_template(messages, add_generation_prompt=..., tokenize=False):
 * text in *out_text (NUL-ended, mkv_free). The special tokens are text:
 * tokenize it with parse_special. A template that uses a construct outside
 * the Jinja subset but belongs to the LLaDA or Dream family is rendered by the
 * built-in renderer of that family and `note` (may be NULL/0) says why; every
 * other failure is an error (MKV_ERR_FORMAT: template syntax,
 * MKV_ERR_UNSUPPORTED: construct outside the subset, or no template and no
 * known family, MKV_ERR_INPUT: the template raised or went past a bound). */
mkv_status mkv_chat_render_template(const mkv_chat_template *tmpl, const mkv_chat_message *messages, int n_messages,
                                    bool add_generation_prompt, char **out_text, char *note, size_t note_size);

/* ------------------------------------------------------- conversations */
#define MKV_CHAT_MAX_MESSAGES 100000

/* An owned list of messages (role and content copied). */
struct mkv_chat_conversation {
    mkv_chat_message *messages;
    int n, cap;
};

#endif
