/* Chat prompts for generate and chat (chat_prompt.h). */
#include <stdio.h>
#include <string.h>

#include "chat_prompt.h"
#include "util/alloc.h"

mkv_status chat_render(const mkv_chat_template *tmpl, const mkv_chat_conversation *c, const char *cmd, char **out) {
    char note[600];
    mkv_status st = mkv_chat_apply_template(tmpl, c->messages, c->n, true, out, note, sizeof note);
    if (st == MKV_OK && note[0]) fprintf(stderr, "maskkv %s: note: %s\n", cmd, note);
    return st;
}

mkv_status chat_prompt_of(const mkv_chat_template *tmpl, const char *system_text, const char *messages_file,
                          const char *document, const char *user_text, char **out) {
    mkv_chat_conversation c = {0};
    mkv_status st = MKV_OK;
    if (system_text) st = mkv_chat_add(&c, "system", system_text);
    if (st == MKV_OK && messages_file) {
        if ((st = mkv_chat_load_json(&c, messages_file)) == MKV_OK && system_text && c.n > 1 && !strcmp(c.messages[1].role, "system"))
            st = mkv_fail(MKV_ERR_USAGE, "%s starts with a system message: give it there or with --system, not both", messages_file);
        int last_user = -1;
        for (int i = 0; i < c.n; i++)
            if (!strcmp(c.messages[i].role, "user")) last_user = i;
        char *with_doc = NULL;
        if (st == MKV_OK && document) {
            if (last_user < 0) st = mkv_fail(MKV_ERR_INPUT, "%s: no user message to put the document before", messages_file);
            else if ((st = mkv_chat_with_document(document, c.messages[last_user].content, &with_doc)) == MKV_OK) {
                mkv_free((char *)c.messages[last_user].content);
                c.messages[last_user].content = with_doc;
            }
        }
    } else if (st == MKV_OK) st = mkv_chat_add(&c, "user", user_text);
    if (st == MKV_OK) st = chat_render(tmpl, &c, "generate", out);
    mkv_chat_free(&c);
    return st;
}
