/* Chat: conversations of OpenAI-style messages ({role, content}) and their
 * rendering into a prompt by a model's chat template (the Jinja source of
 * tokenizer_config.json / GGUF tokenizer.chat_template, src/tokenizer/jinja.h),
 * as transformers' apply_chat_template renders it. */
#ifndef MKV_TOKENIZER_CHAT_H
#define MKV_TOKENIZER_CHAT_H

#include <stdbool.h>
#include <stddef.h>

#include "maskkv.h"

typedef struct {
    const char *role;    /* "system" | "user" | "assistant" (any string) */
    const char *content; /* UTF-8 text */
} mkv_chat_message;

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
 * MKV_ERR_UNSUPPORTED: construct outside the subset, MKV_ERR_INPUT: the
 * template raised or went past a bound). */
mkv_status mkv_chat_apply_template(const mkv_chat_template *tmpl, const mkv_chat_message *messages, int n_messages,
                                   bool add_generation_prompt, char **out_text, char *note, size_t note_size);

/* ------------------------------------------------------- conversations */
#define MKV_CHAT_MAX_MESSAGES 100000

/* An owned list of messages (role and content copied). */
typedef struct {
    mkv_chat_message *messages;
    int n, cap;
} mkv_chat_conversation;

/* Appends a copy of (role, content); content must be valid UTF-8 (MKV_ERR_INPUT). */
mkv_status mkv_chat_add(mkv_chat_conversation *c, const char *role, const char *content);
/* Drops the messages from index `keep` on. */
void mkv_chat_truncate(mkv_chat_conversation *c, int keep);
void mkv_chat_free(mkv_chat_conversation *c);

/* Appends the messages of a JSON list [{"role": "system"|"user"|"assistant",
 * "content": "..."}, ...] (text[0..len), `name` starts the error messages):
 * malformed JSON is MKV_ERR_FORMAT, a valid document that is not such a
 * non-empty list MKV_ERR_INPUT. */
mkv_status mkv_chat_parse_json(mkv_chat_conversation *c, const char *text, size_t len, const char *name);
/* The same from a file (at most 1 GiB). */
mkv_status mkv_chat_load_json(mkv_chat_conversation *c, const char *path);

/* "DOC\n\nTEXT": a document put before the text of a user turn (mkv_free). */
mkv_status mkv_chat_with_document(const char *document, const char *text, char **out);

/* Reads a Jinja chat template file (UTF-8 without NUL, at most 16 MiB) into
 * *out (mkv_free). */
mkv_status mkv_chat_read_template(const char *path, char **out);
/* Reads a document for a user turn (UTF-8 without NUL, at most 1 GiB). */
mkv_status mkv_chat_read_document(const char *path, char **out);

#endif
