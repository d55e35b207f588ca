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
#include <string.h>

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

/* Bounds of s without leading/trailing Python whitespace. */
static void trim(const char *s, size_t *start, size_t *end) {
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), a = 0, b = n;
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

typedef struct {
    char *buf;
    size_t len, cap;
} text_builder;

static void append(text_builder *t, const char *s, size_t n) {
    memcpy(t->buf + t->len, s, n);
    t->len += n;
}

static void append_str(text_builder *t, const char *s) { append(t, s, strlen(s)); }

mkv_status mkv_chat_render(mkv_chat_kind kind, const char *user_text, const char *system_text, char **out_text) {
    *out_text = NULL;
    if (!user_text) return mkv_fail(MKV_ERR_INPUT, "chat: no user text");
    if (kind != MKV_CHAT_LLADA && kind != MKV_CHAT_DREAM)
        return mkv_fail(MKV_ERR_UNSUPPORTED, "chat: no chat template for this model");
    static const char default_system[] = "You are a helpful assistant.";
    size_t need = strlen(user_text) + (system_text ? strlen(system_text) : sizeof default_system) + 256;
    text_builder t = {mkv_malloc(need, "chat prompt"), 0, need};
    if (!t.buf) return mkv_last_status();
    if (kind == MKV_CHAT_LLADA) {
        size_t a, b;
        append_str(&t, "<|startoftext|>");
        if (system_text) {
            trim(system_text, &a, &b);
            append_str(&t, "<|start_header_id|>system<|end_header_id|>\n\n");
            append(&t, system_text + a, b - a);
            append_str(&t, "<|eot_id|>");
        }
        trim(user_text, &a, &b);
        append_str(&t, "<|start_header_id|>user<|end_header_id|>\n\n");
        append(&t, user_text + a, b - a);
        append_str(&t, "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    } else {
        append_str(&t, "<|im_start|>system\n");
        append_str(&t, system_text ? system_text : default_system);
        append_str(&t, "<|im_end|>\n<|im_start|>user\n");
        append_str(&t, user_text);
        append_str(&t, "<|im_end|>\n<|im_start|>assistant\n");
    }
    t.buf[t.len] = '\0';
    *out_text = t.buf;
    return MKV_OK;
}
