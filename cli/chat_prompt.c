/* Chat prompts for generate and chat (chat_prompt.h). */
#include "chat_prompt.h"

#include <stdio.h>
#include <string.h>

mkv_status chat_render(const mkv_model *model, const char *template_source, const mkv_chat_conversation *c,
                       const char *cmd, char **out) {
    char note[600];
    mkv_status st = mkv_chat_apply_ex(model, template_source, mkv_chat_messages(c), mkv_chat_n_messages(c), true, out,
                                      note, sizeof note);
    if (st == MKV_OK && note[0]) fprintf(stderr, "maskkv %s: note: %s\n", cmd, note);
    return st;
}

/* The messages of the file after an optional --system message. */
static mkv_status load_messages(mkv_chat_conversation *c, const char *path, bool have_system) {
    mkv_status st = mkv_chat_load_json(c, path);
    if (st == MKV_OK && have_system && mkv_chat_n_messages(c) > 1 && !strcmp(mkv_chat_messages(c)[1].role, "system"))
        st = mkv_fail(MKV_ERR_USAGE, "%s starts with a system message: give it there or with --system, not both", path);
    return st;
}

static int last_user_message(const mkv_chat_conversation *c) {
    int last = -1;
    for (int i = 0; i < mkv_chat_n_messages(c); i++)
        if (!strcmp(mkv_chat_messages(c)[i].role, "user")) last = i;
    return last;
}

mkv_status chat_prompt_of(const mkv_model *model, const char *template_source, const char *system_text,
                          const char *messages_file, const char *document, const char *user_text, char **out) {
    mkv_chat_conversation *c = NULL;
    mkv_status st = mkv_chat_conversation_create(&c);
    if (st == MKV_OK && system_text) st = mkv_chat_add(c, "system", system_text);
    if (st == MKV_OK && messages_file) st = load_messages(c, messages_file, system_text != NULL);
    else if (st == MKV_OK) st = mkv_chat_add(c, "user", user_text);
    if (st == MKV_OK && document) {
        int last = last_user_message(c);
        st = last < 0 ? mkv_fail(MKV_ERR_INPUT, "%s: no user message to put the document before", messages_file)
                      : mkv_chat_prepend_document(c, last, document);
    }
    if (st == MKV_OK) st = chat_render(model, template_source, c, "generate", out);
    mkv_chat_conversation_free(c);
    return st;
}
