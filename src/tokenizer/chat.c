/* Chat templates of LLaDA-8B-Instruct and Dream-v0-Instruct-7B, rendered as
 * their tokenizer_config.json Jinja templates render one user turn with
 * add_generation_prompt=True:
 *
 * LLaDA (GSAI-ML/LLaDA-8B-Instruct):
 *   {% set loop_messages = messages %}{% for message in loop_messages %}
 *   {% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'
 *      + message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}
 *   {% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}
 *   {{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
 *   (bos_token "<|startoftext|>"; `trim` strips Python whitespace from the content)
 *
 * Dream (Qwen2 ChatML):
 *   {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}
 *   {{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}
 *   {{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}
 *   {% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %} */
#include <stdio.h>
#include <string.h>

#include "tokenizer/chat.h"
#include "tokenizer/jinja.h"
#include "tokenizer/tokenizer_internal.h"
#include "util/alloc.h"

mkv_chat_kind mkv_chat_detect(const char *jinja_template, mkv_arch arch) {
    if (jinja_template && jinja_template[0]) {
        if (strstr(jinja_template, "<|im_start|>")) return MKV_CHAT_DREAM;
        if (strstr(jinja_template, "<|start_header_id|>")) return MKV_CHAT_LLADA;
    }
    if (arch == MKV_ARCH_LLADA) return MKV_CHAT_LLADA;
    if (arch == MKV_ARCH_DREAM) return MKV_CHAT_DREAM;
    return MKV_CHAT_NONE;
}

/* Python's str.isspace, which Jinja's trim (str.strip) uses. */
static bool python_space(uint32_t cp) {
    return mkv_uc_is_whitespace(cp) || (cp >= 0x1C && cp <= 0x1F);
}

void mkv_py_strip_bounds(const char *s, size_t n, size_t *start, size_t *end) {
    const unsigned char *u = (const unsigned char *)s;
    size_t a = 0, b = n;
    while (a < n) {
        int len = mkv_utf8_sequence_length(u + a, n - a);
        if (len <= 0 || !python_space(mkv_utf8_decode(u + a, len))) break;
        a += (size_t)len;
    }
    while (b > a) {
        size_t k = b - 1;
        while (k > a && (u[k] & 0xC0) == 0x80) k--;
        int len = mkv_utf8_sequence_length(u + k, b - k);
        if (len <= 0 || (size_t)len != b - k || !python_space(mkv_utf8_decode(u + k, len))) break;
        b = k;
    }
    *start = a;
    *end = b;
}

static void trim(const char *s, size_t *start, size_t *end) { mkv_py_strip_bounds(s, strlen(s), start, end); }

typedef struct {
    char *buf;
    size_t len, cap;
} text_builder;

static void append(text_builder *t, const char *s, size_t n) {
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static void append_str(text_builder *t, const char *s) { append(t, s, strlen(s)); }

/* The built-in renderers for a whole conversation, as the official templates
 * render it without tools. */
static mkv_status render_builtin(mkv_chat_kind kind, const mkv_chat_message *messages, int n_messages,
                                 bool add_generation_prompt, char **out_text) {
    if (kind != MKV_CHAT_LLADA && kind != MKV_CHAT_DREAM)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "chat: no chat template for this model");
    static const char default_system[] = "You are a helpful assistant.";
    size_t need = sizeof default_system + 128;
    for (int i = 0; i < n_messages; i++) need += strlen(messages[i].role) + strlen(messages[i].content) + 64;
    text_builder t = {mkv_malloc(need, "chat prompt"), 0, need};
    if (!t.buf) return mkv_last_status();
    if (kind == MKV_CHAT_LLADA) {
        append_str(&t, "<|startoftext|>");
        for (int i = 0; i < n_messages; i++) {
            size_t a, b;
            trim(messages[i].content, &a, &b);
            append_str(&t, "<|start_header_id|>");
            append_str(&t, messages[i].role);
            append_str(&t, "<|end_header_id|>\n\n");
            append(&t, messages[i].content + a, b - a);
            append_str(&t, "<|eot_id|>");
        }
        append_str(&t, "<|start_header_id|>assistant<|end_header_id|>\n\n"); /* always, as the template */
    } else {
        if (n_messages == 0 || strcmp(messages[0].role, "system") != 0) {
            append_str(&t, "<|im_start|>system\n");
            append_str(&t, default_system);
            append_str(&t, "<|im_end|>\n");
        }
        for (int i = 0; i < n_messages; i++) {
            append_str(&t, "<|im_start|>");
            append_str(&t, messages[i].role);
            append_str(&t, "\n");
            append_str(&t, messages[i].content);
            append_str(&t, "<|im_end|>\n");
        }
        if (add_generation_prompt) append_str(&t, "<|im_start|>assistant\n");
    }
    t.buf[t.len] = '\0';
    *out_text = t.buf;
    return MKV_OK;
}

mkv_status mkv_chat_render(mkv_chat_kind kind, const char *user_text, const char *system_text, char **out_text) {
    *out_text = NULL;
    if (!user_text) return mkv_fail(MKV_ERR_INPUT, "chat: no user text");
    mkv_chat_message turns[2];
    int n = 0;
    if (system_text) turns[n++] = (mkv_chat_message){"system", system_text};
    turns[n++] = (mkv_chat_message){"user", user_text};
    return render_builtin(kind, turns, n, true, out_text);
}

mkv_status mkv_chat_render_template(const mkv_chat_template *tmpl, const mkv_chat_message *messages, int n_messages,
                                    bool add_generation_prompt, char **out_text, char *note, size_t note_size) {
    *out_text = NULL;
    if (note && note_size) note[0] = '\0';
    if (n_messages < 0 || (n_messages > 0 && !messages)) return mkv_fail(MKV_ERR_INPUT, "chat: no messages");
    for (int i = 0; i < n_messages; i++)
        if (!messages[i].role || !messages[i].content) return mkv_fail(MKV_ERR_INPUT, "chat: message %d has no role or content", i + 1);
    if (!tmpl->source || !tmpl->source[0])
        return render_builtin(mkv_chat_detect(NULL, tmpl->arch), messages, n_messages, add_generation_prompt, out_text);
    /* the family of the template itself (its header tokens), not of the model */
    mkv_chat_kind kind = mkv_chat_detect(tmpl->source, MKV_ARCH_COUNT);
    mkv_jinja_vars vars = {messages, n_messages, add_generation_prompt, tmpl->bos_token, tmpl->eos_token};
    mkv_status st = mkv_jinja_render(tmpl->source, strlen(tmpl->source), &vars, out_text, NULL);
    if (st != MKV_ERR_UNSUPPORTED || kind == MKV_CHAT_NONE) return st;
    /* A construct outside the subset in a template of a known family: the
     * built-in renderer of that family, and a note saying so. */
    if (note && note_size)
        snprintf(note, note_size, "%s; using the built-in %s chat template", mkv_last_error(),
                 kind == MKV_CHAT_LLADA ? "LLaDA" : "Dream");
    mkv_clear_error();
    return render_builtin(kind, messages, n_messages, add_generation_prompt, out_text);
}
