/* The JSON the server answers, in OpenAI's shapes: chat.completion and
 * text_completion objects, their streamed chunks as server-sent events
 * ("data: {...}\n\n", then "data: [DONE]\n\n"), the model list and the error
 * body. Texts may hold any valid UTF-8, NUL included (our own escaper:
 * cJSON's strings stop at NUL). Everything is appended to a strbuf. */
#ifndef MKV_SERVE_RESPONSES_H
#define MKV_SERVE_RESPONSES_H

#include <stddef.h>
#include <stdint.h>

#include "serve/request.h"
#include "util/strbuf.h"

/* What every object of one answer shares. */
typedef struct {
    char id[48];            /* "chatcmpl-..." / "cmpl-..." */
    long long created;      /* Unix seconds */
    const char *model;      /* the served model's id */
    mkv_serve_endpoint endpoint;
} mkv_serve_answer_head;

/* usage and maskkv's statistics of one generation (the "maskkv" field). */
typedef struct {
    int prompt_tokens, completion_tokens;
    int steps;
    double seconds, prefill_seconds, queue_seconds;
    double kv_bytes, kv_bytes_decode, peak_rss_bytes;
    int64_t kv_prompt_kept;  /* -1: the cache mode keeps no prompt K/V apart */
    const char *cache;
} mkv_serve_stats;

void mkv_serve_format_error(mkv_strbuf *b, const mkv_serve_error *err);
void mkv_serve_format_answer(mkv_strbuf *b, const mkv_serve_answer_head *h, const char *text, size_t len,
                             const char *finish_reason, const mkv_serve_stats *stats);
/* One SSE event with a piece of text (the first one of a chat answer also
 * carries role "assistant"); step/steps/unmasked go in its "maskkv" field. */
void mkv_serve_format_chunk(mkv_strbuf *b, const mkv_serve_answer_head *h, const char *delta, size_t len, bool first,
                            int step, int steps, int unmasked);
/* The last event before [DONE]: finish_reason, usage and the statistics. */
void mkv_serve_format_final_chunk(mkv_strbuf *b, const mkv_serve_answer_head *h, const char *delta, size_t len,
                                  const char *finish_reason, const mkv_serve_stats *stats);
/* An error inside a stream (timeout, failure after the 200): one event. */
void mkv_serve_format_stream_error(mkv_strbuf *b, const mkv_serve_error *err);
void mkv_serve_format_done(mkv_strbuf *b);
void mkv_serve_format_models(mkv_strbuf *b, const char *model, long long created);

#endif
