/* The chat prompts of `generate --chat/--system/--messages` and `maskkv
 * chat`: a conversation rendered by the model's chat template (or the one of
 * --chat-template-file), a fallback note on stderr. */
#ifndef MKV_CLI_CHAT_PROMPT_H
#define MKV_CLI_CHAT_PROMPT_H

#include "maskkv.h"

/* Renders the conversation with the generation prompt, with template_source
 * (NULL: the model's); a fallback note goes to stderr as "maskkv CMD: note:
 * ...". Text in *out (mkv_free). */
mkv_status chat_render(const mkv_model *model, const char *template_source, const mkv_chat_conversation *c,
                       const char *cmd, char **out);

/* generate's chat prompt: the conversation of messages_file (NULL: one user
 * turn, user_text), a system message first when system_text is given, and a
 * document before the text of the last user message when document is given.
 * Rendered text in *out (mkv_free). */
mkv_status chat_prompt_of(const mkv_model *model, const char *template_source, const char *system_text,
                          const char *messages_file, const char *document, const char *user_text, char **out);

#endif
