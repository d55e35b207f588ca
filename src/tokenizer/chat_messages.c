/* Conversations (maskkv.h): owned OpenAI-style messages, the JSON reader of
 * `generate --messages`, documents before a user turn, template files. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/chat.h"
#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"
#include "util/mapped_file.h"

static char *copy_text(const char *s) {
    size_t n = strlen(s);
    char *out = mkv_malloc(n + 1, "chat message");
    if (out) memcpy(out, s, n + 1);
    return out;
}

mkv_status mkv_chat_add(mkv_chat_conversation *c, const char *role, const char *content) {
    size_t bad;
    if (!role || !content) return mkv_fail(MKV_ERR_INPUT, "message %d has no role or no content", c->n + 1);
    if (!mkv_utf8_validate(role, strlen(role), &bad))
        return mkv_fail(MKV_ERR_INPUT, "message %d: role is not valid UTF-8 (byte %zu)", c->n + 1, bad);
    if (!mkv_utf8_validate(content, strlen(content), &bad))
        return mkv_fail(MKV_ERR_INPUT, "message %d: content is not valid UTF-8 (byte %zu)", c->n + 1, bad);
    if (c->n >= MKV_CHAT_MAX_MESSAGES) return mkv_fail(MKV_ERR_INPUT, "more than %d messages", MKV_CHAT_MAX_MESSAGES);
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

void mkv_chat_truncate(mkv_chat_conversation *c, int keep) {
    while (c->n > keep && c->n > 0) {
        c->n--;
        mkv_free((char *)c->messages[c->n].role);
        mkv_free((char *)c->messages[c->n].content);
    }
}

mkv_status mkv_chat_conversation_create(mkv_chat_conversation **out) {
    *out = mkv_calloc(1, sizeof **out, "chat conversation");
    return *out ? MKV_OK : mkv_last_status();
}

void mkv_chat_conversation_free(mkv_chat_conversation *c) {
    if (!c) return;
    mkv_chat_truncate(c, 0);
    mkv_free(c->messages);
    mkv_free(c);
}

int mkv_chat_n_messages(const mkv_chat_conversation *c) { return c->n; }
const mkv_chat_message *mkv_chat_messages(const mkv_chat_conversation *c) { return c->messages; }

/* One message object: a known role and string content. */
static mkv_status add_message(mkv_chat_conversation *c, const cJSON *m, int index, const char *name) {
    static const char *const roles[] = {"system", "user", "assistant"};
    if (!cJSON_IsObject(m)) return mkv_fail(MKV_ERR_INPUT, "%s: message %d is not an object", name, index + 1);
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role"), *content = cJSON_GetObjectItemCaseSensitive(m, "content");
    if (!cJSON_IsString(role)) return mkv_fail(MKV_ERR_INPUT, "%s: message %d: \"role\" must be a string", name, index + 1);
    bool known = false;
    for (size_t k = 0; k < sizeof roles / sizeof roles[0]; k++) known |= !strcmp(role->valuestring, roles[k]);
    if (!known) return mkv_fail(MKV_ERR_INPUT, "%s: message %d: role must be system, user or assistant", name, index + 1);
    if (!cJSON_IsString(content))
        return mkv_fail(MKV_ERR_INPUT, "%s: message %d: \"content\" must be a string", name, index + 1);
    mkv_status st = mkv_chat_add(c, role->valuestring, content->valuestring);
    if (st != MKV_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", mkv_last_error());
        return mkv_fail(st, "%s: %s", name, why);
    }
    return MKV_OK;
}

mkv_status mkv_chat_parse_json(mkv_chat_conversation *c, const char *text, size_t len, const char *name) {
    const char *nul = memchr(text, '\0', len);
    if (nul) return mkv_fail(MKV_ERR_FORMAT, "%s: malformed JSON: NUL byte at offset %zu", name, (size_t)(nul - text));
    size_t bad;
    if (!mkv_utf8_validate(text, len, &bad)) return mkv_fail(MKV_ERR_FORMAT, "%s: not UTF-8 (byte %zu)", name, bad);
    const char *end = NULL;
    /* cJSON needs the NUL after the text: parse a copy */
    char *copy = mkv_malloc(len + 1, "messages JSON");
    if (!copy) return mkv_last_status();
    memcpy(copy, text, len);
    copy[len] = '\0';
    cJSON *root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, true);
    if (!root) {
        size_t at = end && end >= copy ? (size_t)(end - copy) : 0;
        mkv_free(copy);
        return mkv_fail(MKV_ERR_FORMAT, "%s: malformed JSON near byte %zu", name, at);
    }
    mkv_status st = MKV_OK;
    int keep = c->n;
    if (!cJSON_IsArray(root)) st = mkv_fail(MKV_ERR_INPUT, "%s: expected a list of messages [{\"role\": ..., \"content\": ...}]", name);
    else if (!root->child) st = mkv_fail(MKV_ERR_INPUT, "%s: the list of messages is empty", name);
    int index = 0;
    for (const cJSON *m = st == MKV_OK ? root->child : NULL; st == MKV_OK && m; m = m->next, index++)
        st = add_message(c, m, index, name);
    if (st != MKV_OK) mkv_chat_truncate(c, keep);
    cJSON_Delete(root);
    mkv_free(copy);
    return st;
}

mkv_status mkv_chat_load_json(mkv_chat_conversation *c, const char *path) {
    char *text = NULL;
    size_t len = 0;
    mkv_status st = mkv_read_text_file(path, (size_t)1 << 30, &text, &len);
    if (st == MKV_OK) st = mkv_chat_parse_json(c, text, len, path);
    mkv_free(text);
    return st;
}

mkv_status mkv_chat_prepend_document(mkv_chat_conversation *c, int index, const char *document) {
    if (index < 0 || index >= c->n) return mkv_fail(MKV_ERR_INPUT, "chat: no message %d to put the document before", index + 1);
    size_t bad, nd = strlen(document), nt = strlen(c->messages[index].content);
    if (!mkv_utf8_validate(document, nd, &bad))
        return mkv_fail(MKV_ERR_INPUT, "the document is not valid UTF-8 (byte %zu)", bad);
    char *joined = mkv_malloc(nd + nt + 3, "message with document");
    if (!joined) return mkv_last_status();
    memcpy(joined, document, nd);
    memcpy(joined + nd, "\n\n", 2);
    memcpy(joined + nd + 2, c->messages[index].content, nt + 1);
    mkv_free((char *)c->messages[index].content);
    c->messages[index].content = joined;
    return MKV_OK;
}

/* A whole file that must be UTF-8 text without NUL bytes. */
static mkv_status read_utf8_text(const char *path, size_t max_bytes, mkv_status bad_status, const char *what, char **out) {
    size_t len = 0, bad;
    *out = NULL;
    mkv_status st = mkv_read_text_file(path, max_bytes, out, &len);
    if (st != MKV_OK) return st;
    if (memchr(*out, '\0', len) || !mkv_utf8_validate(*out, len, &bad)) {
        mkv_free(*out);
        *out = NULL;
        return mkv_fail(bad_status, "%s: %s must be UTF-8 text without NUL bytes", path, what);
    }
    return MKV_OK;
}

mkv_status mkv_chat_read_template(const char *path, char **out) {
    return read_utf8_text(path, (size_t)16 << 20, MKV_ERR_FORMAT, "a chat template", out);
}

mkv_status mkv_chat_read_document(const char *path, char **out) {
    return read_utf8_text(path, (size_t)1 << 30, MKV_ERR_INPUT, "a document", out);
}
