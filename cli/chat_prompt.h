/* Conversations for `generate --messages/--system` and `maskkv chat`: an
 * owned list of OpenAI-style messages, read from a JSON file and validated,
 * rendered with the model's chat template. */
#ifndef MKV_CLI_CHAT_PROMPT_H
#define MKV_CLI_CHAT_PROMPT_H

#include "model/model.h"
#include "tokenizer/tokenizer.h"

#define CHAT_MAX_MESSAGES 100000
#define CHAT_MAX_FILE_BYTES ((size_t)1 << 30)

typedef struct {
    mkv_chat_message *messages; /* role and content owned (mkv_malloc) */
    int n, cap;
} chat_conversation;

/* Appends a copy of (role, content); content must be valid UTF-8 without NUL. */
mkv_status chat_add(chat_conversation *c, const char *role, const char *content);
/* Drops the messages from index `keep` on. */
void chat_truncate(chat_conversation *c, int keep);
void chat_free(chat_conversation *c);

/* Reads [{"role": "system"|"user"|"assistant", "content": "..."}, ...]
 * from `path`: malformed JSON is MKV_ERR_FORMAT, a valid document that is not
 * such a list MKV_ERR_INPUT; messages start with "PATH: ". */
mkv_status chat_load_json(chat_conversation *c, const char *path);

/* "DOC\n\nTEXT": a document put before the text of a user turn. */
mkv_status chat_with_document(const char *document, const char *text, char **out);

/* The model's template (its own, or the Jinja file given by
 * --chat-template-file when template_override is non-NULL) with its BOS/EOS
 * token texts. */
mkv_chat_template chat_template_of(const mkv_model *model, const char *template_override);

/* Renders c with the generation prompt; a fallback note goes to stderr as
 * "maskkv CMD: note: ...". Text in *out (mkv_free). */
mkv_status chat_render(const mkv_chat_template *tmpl, const chat_conversation *c, const char *cmd, char **out);

/* Reads a Jinja chat template file (UTF-8, no NUL) into *out (mkv_free). */
mkv_status chat_read_template(const char *path, char **out);

/* generate's chat prompt: the conversation of messages_file (NULL: one user
 * turn, user_text), a system message first when system_text is given, and a
 * document before the text of the last user message when document is given.
 * Rendered text in *out (mkv_free). */
mkv_status chat_prompt_of(const mkv_chat_template *tmpl, const char *system_text, const char *messages_file,
                          const char *document, const char *user_text, char **out);

#endif
