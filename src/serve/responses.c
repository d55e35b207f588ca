#include "serve/responses.h"

#include <string.h>

static void key(mkv_strbuf *b, const char *name) {
    mkv_strbuf_json_string(b, name, strlen(name));
    mkv_strbuf_append(b, ":", 1);
}

static void key_string(mkv_strbuf *b, const char *name, const char *value) {
    key(b, name);
    mkv_strbuf_json_string(b, value, strlen(value));
}

/* "" -> null (OpenAI's param/code of an error are null when not set). */
static void key_string_or_null(mkv_strbuf *b, const char *name, const char *value) {
    if (value && value[0]) key_string(b, name, value);
    else {
        key(b, name);
        mkv_strbuf_puts(b, "null");
    }
}

static void key_number(mkv_strbuf *b, const char *name, double value) {
    key(b, name);
    mkv_strbuf_json_number(b, value);
}

static bool is_chat(const mkv_serve_answer_head *h) { return h->endpoint == MKV_SERVE_CHAT; }

void mkv_serve_format_error(mkv_strbuf *b, const mkv_serve_error *err) {
    mkv_strbuf_puts(b, "{\"error\":{");
    key_string(b, "message", err->message);
    mkv_strbuf_puts(b, ",");
    key_string(b, "type", err->type[0] ? err->type : "server_error");
    mkv_strbuf_puts(b, ",");
    key_string_or_null(b, "param", err->param);
    mkv_strbuf_puts(b, ",");
    key_string_or_null(b, "code", err->code);
    mkv_strbuf_puts(b, "}}");
}

static void head(mkv_strbuf *b, const mkv_serve_answer_head *h, bool chunk) {
    mkv_strbuf_puts(b, "{");
    key_string(b, "id", h->id);
    mkv_strbuf_puts(b, ",");
    key_string(b, "object", is_chat(h) ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion");
    mkv_strbuf_puts(b, ",");
    key_number(b, "created", (double)h->created);
    mkv_strbuf_puts(b, ",");
    key_string(b, "model", h->model);
    mkv_strbuf_puts(b, ",\"system_fingerprint\":null,\"choices\":[{\"index\":0,");
}

/* The choice's text: message/delta for chat, text for completions. */
static void choice_text(mkv_strbuf *b, const mkv_serve_answer_head *h, const char *text, size_t len, bool chunk,
                        bool role) {
    if (!is_chat(h)) {
        key(b, "text");
        mkv_strbuf_json_string(b, text, len);
        mkv_strbuf_puts(b, ",\"logprobs\":null");
        return;
    }
    key(b, chunk ? "delta" : "message");
    mkv_strbuf_puts(b, "{");
    if (role) mkv_strbuf_puts(b, "\"role\":\"assistant\",");
    key(b, "content");
    mkv_strbuf_json_string(b, text, len);
    if (!chunk) mkv_strbuf_puts(b, ",\"refusal\":null");
    mkv_strbuf_puts(b, "}");
}

static void finish(mkv_strbuf *b, const char *finish_reason) {
    mkv_strbuf_puts(b, ",");
    key_string_or_null(b, "finish_reason", finish_reason);
    mkv_strbuf_puts(b, "}]");
}

static void usage_and_stats(mkv_strbuf *b, const mkv_serve_stats *s) {
    mkv_strbuf_printf(b, ",\"usage\":{\"prompt_tokens\":%d,\"completion_tokens\":%d,\"total_tokens\":%d}", s->prompt_tokens,
                      s->completion_tokens, s->prompt_tokens + s->completion_tokens);
    mkv_strbuf_puts(b, ",\"maskkv\":{");
    key_string(b, "cache", s->cache ? s->cache : "none");
    const struct {
        const char *name;
        double value;
    } numbers[] = {
        {"steps", s->steps},
        {"seconds", s->seconds},
        {"prefill_seconds", s->prefill_seconds},
        {"queue_seconds", s->queue_seconds},
        {"tokens_per_second", s->seconds > 0 ? s->completion_tokens / s->seconds : 0},
        {"kv_bytes", s->kv_bytes},
        {"kv_bytes_decode", s->kv_bytes_decode},
        {"peak_rss_bytes", s->peak_rss_bytes},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        mkv_strbuf_puts(b, ",");
        key_number(b, numbers[i].name, numbers[i].value);
    }
    if (s->kv_prompt_kept >= 0) {
        mkv_strbuf_puts(b, ",");
        key_number(b, "kv_prompt_kept", (double)s->kv_prompt_kept);
    }
    mkv_strbuf_puts(b, "}");
}

void mkv_serve_format_answer(mkv_strbuf *b, const mkv_serve_answer_head *h, const char *text, size_t len,
                             const char *finish_reason, const mkv_serve_stats *stats) {
    head(b, h, false);
    choice_text(b, h, text, len, false, true);
    finish(b, finish_reason);
    usage_and_stats(b, stats);
    mkv_strbuf_puts(b, "}");
}

void mkv_serve_format_chunk(mkv_strbuf *b, const mkv_serve_answer_head *h, const char *delta, size_t len, bool first,
                            int step, int steps, int unmasked) {
    mkv_strbuf_puts(b, "data: ");
    head(b, h, true);
    choice_text(b, h, delta, len, true, first);
    finish(b, NULL);
    mkv_strbuf_printf(b, ",\"maskkv\":{\"step\":%d,\"steps\":%d,\"unmasked\":%d}}\n\n", step, steps, unmasked);
}

void mkv_serve_format_final_chunk(mkv_strbuf *b, const mkv_serve_answer_head *h, const char *delta, size_t len,
                                  const char *finish_reason, const mkv_serve_stats *stats) {
    mkv_strbuf_puts(b, "data: ");
    head(b, h, true);
    choice_text(b, h, delta, len, true, false);
    finish(b, finish_reason);
    usage_and_stats(b, stats);
    mkv_strbuf_puts(b, "}\n\n");
}

void mkv_serve_format_stream_error(mkv_strbuf *b, const mkv_serve_error *err) {
    mkv_strbuf_puts(b, "data: ");
    mkv_serve_format_error(b, err);
    mkv_strbuf_puts(b, "\n\n");
}

void mkv_serve_format_done(mkv_strbuf *b) { mkv_strbuf_puts(b, "data: [DONE]\n\n"); }

void mkv_serve_format_models(mkv_strbuf *b, const char *model, long long created) {
    mkv_strbuf_puts(b, "{\"object\":\"list\",\"data\":[{");
    key_string(b, "id", model);
    mkv_strbuf_printf(b, ",\"object\":\"model\",\"created\":%lld,\"owned_by\":\"maskkv\"}]}", created);
}
