/* Conversations: owned messages, the --messages JSON reader, rendering. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "chat_prompt.h"
#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

static char *copy_text(const char *s) {
    size_t n = strlen(s);
    char *out = mkv_malloc(n + 1, "chat message");
    if (out) memcpy(out, s, n + 1);
    return out;
}

mkv_status chat_add(chat_conversation *c, const char *role, const char *content) {
    size_t bad;
    if (!mkv_utf8_validate(content, strlen(content), &bad))
        return mkv_fail(MKV_ERR_INPUT, "message %d: content is not valid UTF-8 (byte %zu)", c->n + 1, bad);
    if (c->n >= CHAT_MAX_MESSAGES) return mkv_fail(MKV_ERR_INPUT, "more than %d messages", CHAT_MAX_MESSAGES);
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 8;
        mkv_chat_message *grown = mkv_realloc(c->messages, (size_t)cap * sizeof *grown, "chat messages");
        if (!grown) return mkv_last_status();
        c->messages = grown;
        c->cap = cap;
    }
    char *r = copy_text(role), *t = r ? copy_text(content) : NULL;
    if (!t) {
        mkv_free(r);
        return mkv_last_status();
    }
    c->messages[c->n++] = (mkv_chat_message){r, t};
    return MKV_OK;
}

void chat_truncate(chat_conversation *c, int keep) {
    while (c->n > keep) {
        c->n--;
        mkv_free((char *)c->messages[c->n].role);
        mkv_free((char *)c->messages[c->n].content);
    }
}

void chat_free(chat_conversation *c) {
    chat_truncate(c, 0);
    mkv_free(c->messages);
    *c = (chat_conversation){0};
}

mkv_status chat_load_json(chat_conversation *c, const char *path) {
    char *text = NULL;
    size_t len = 0;
    mkv_status st = mkv_read_text_file(path, CHAT_MAX_FILE_BYTES, &text, &len);
    if (st != MKV_OK) return st;
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        mkv_free(text);
        return mkv_fail(MKV_ERR_FORMAT, "%s: malformed JSON: NUL byte at offset %zu", path, (size_t)(nul - text));
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len + 1, &end, true);
    if (!root) {
        size_t at = end && end >= text ? (size_t)(end - text) : 0;
        mkv_free(text);
        return mkv_fail(MKV_ERR_FORMAT, "%s: malformed JSON near byte %zu", path, at);
    }
    if (!cJSON_IsArray(root)) st = mkv_fail(MKV_ERR_INPUT, "%s: expected a list of messages [{\"role\": ..., \"content\": ...}]", path);
    else if (cJSON_GetArraySize(root) == 0) st = mkv_fail(MKV_ERR_INPUT, "%s: the list of messages is empty", path);
    int index = 0;
    static const char *const roles[] = {"system", "user", "assistant"};
    for (cJSON *m = root->child; st == MKV_OK && m; m = m->next, index++) {
        cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role"), *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsObject(m)) {
            st = mkv_fail(MKV_ERR_INPUT, "%s: message %d is not an object", path, index + 1);
            break;
        }
        if (!cJSON_IsString(role)) {
            st = mkv_fail(MKV_ERR_INPUT, "%s: message %d: \"role\" must be a string", path, index + 1);
            break;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) known |= !strcmp(role->valuestring, roles[k]);
        if (!known) {
            st = mkv_fail(MKV_ERR_INPUT, "%s: message %d: role must be system, user or assistant", path, index + 1);
            break;
        }
        if (!cJSON_IsString(content)) {
            st = mkv_fail(MKV_ERR_INPUT, "%s: message %d: \"content\" must be a string", path, index + 1);
            break;
        }
        if ((st = chat_add(c, role->valuestring, content->valuestring)) != MKV_OK)
            st = mkv_fail(st, "%s: %s", path, mkv_last_error());
    }
    cJSON_Delete(root);
    mkv_free(text);
    return st;
}

mkv_status chat_with_document(const char *document, const char *text, char **out) {
    size_t nd = strlen(document), nt = strlen(text);
    if (!(*out = mkv_malloc(nd + nt + 3, "prompt with document"))) return mkv_last_status();
    memcpy(*out, document, nd);
    memcpy(*out + nd, "\n\n", 2);
    memcpy(*out + nd + 2, text, nt + 1);
    return MKV_OK;
}

static const char *special_text(const mkv_model *model, int32_t id) {
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    return tok && id >= 0 ? mkv_tokenizer_token_text(tok, id) : NULL;
}

mkv_chat_template chat_template_of(const mkv_model *model, const char *template_override) {
    return (mkv_chat_template){template_override ? template_override : model->chat_template, model->hp.arch,
                               special_text(model, model->hp.bos_id), special_text(model, model->hp.eos_id)};
}

mkv_status chat_render(const mkv_chat_template *tmpl, const chat_conversation *c, const char *cmd, char **out) {
    char note[600];
    mkv_status st = mkv_chat_render_messages(tmpl, c->messages, c->n, out, note, sizeof note);
    if (st == MKV_OK && note[0]) fprintf(stderr, "maskkv %s: note: %s\n", cmd, note);
    return st;
}

mkv_status chat_read_template(const char *path, char **out) {
    size_t len = 0, bad;
    mkv_status st = mkv_read_text_file(path, (size_t)16 << 20, out, &len);
    if (st != MKV_OK) return st;
    if (memchr(*out, '\0', len) || !mkv_utf8_validate(*out, len, &bad)) {
        mkv_free(*out);
        *out = NULL;
        return mkv_fail(MKV_ERR_FORMAT, "%s: a chat template must be UTF-8 text without NUL bytes", path);
    }
    return MKV_OK;
}

mkv_status chat_prompt_of(const mkv_chat_template *tmpl, const char *system_text, const char *messages_file,
                          const char *document, const char *user_text, char **out) {
    chat_conversation c = {0};
    char *with_doc = NULL;
    mkv_status st = MKV_OK;
    if (system_text) st = chat_add(&c, "system", system_text);
    if (st == MKV_OK && messages_file) {
        if ((st = chat_load_json(&c, messages_file)) == MKV_OK && system_text && c.n > 1 && !strcmp(c.messages[1].role, "system"))
            st = mkv_fail(MKV_ERR_USAGE, "%s starts with a system message: give it there or with --system, not both", messages_file);
        int last_user = -1;
        for (int i = 0; i < c.n; i++)
            if (!strcmp(c.messages[i].role, "user")) last_user = i;
        if (st == MKV_OK && document) {
            if (last_user < 0) st = mkv_fail(MKV_ERR_INPUT, "%s: no user message to put the document before", messages_file);
            else if ((st = chat_with_document(document, c.messages[last_user].content, &with_doc)) == MKV_OK) {
                mkv_free((char *)c.messages[last_user].content);
                c.messages[last_user].content = with_doc;
            }
        }
    } else if (st == MKV_OK) st = chat_add(&c, "user", user_text);
    if (st == MKV_OK) st = chat_render(tmpl, &c, "generate", out);
    chat_free(&c);
    return st;
}
