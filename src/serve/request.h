/* The body of POST /v1/chat/completions and /v1/completions: OpenAI's JSON
 * (model, messages | prompt, max_tokens, temperature, seed, stream, ...) plus
 * maskkv's diffusion options as extra fields (steps, block_length, cache,
 * budget, alg, remasking, top_p, top_k, cfg, threshold, alg_temp,
 * answer_prefix). This is a parser of outside bytes (fuzz/fuzz_serve_request.c):
 * any body gives either a request or one error in OpenAI's shape, never a
 * crash. It knows nothing of the model; prompt.c turns a request into tokens
 * and generation parameters. */
#ifndef MKV_SERVE_REQUEST_H
#define MKV_SERVE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maskkv.h"

typedef enum { MKV_SERVE_CHAT = 0, MKV_SERVE_COMPLETION = 1 } mkv_serve_endpoint;

/* An error answered to the client: HTTP status and OpenAI's
 * {"error": {"message", "type", "param", "code"}} (param/code may be empty = null). */
typedef struct {
    int http_status;
    char message[512];
    char type[40];
    char param[40];
    char code[40];
} mkv_serve_error;

/* Fills *err and returns false (for `return mkv_serve_error_set(...)`). */
bool mkv_serve_error_set(mkv_serve_error *err, int http_status, const char *type, const char *param, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* 400 invalid_request_error naming the parameter. */
bool mkv_serve_invalid(mkv_serve_error *err, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef struct {
    int max_tokens;   /* largest max_tokens accepted (--max-tokens) */
} mkv_serve_limits;

typedef struct {
    const char *role; /* "system" | "user" | "assistant" (points into texts) */
    char *content;    /* mkv_malloc'd, valid UTF-8 without NUL */
} mkv_serve_message;

typedef struct {
    mkv_serve_endpoint endpoint;
    char model[128];                 /* as sent ("" when absent) */
    bool stream;
    /* chat */
    mkv_serve_message *messages;
    int n_messages;
    /* completion: text, or token ids */
    char *prompt;
    int32_t *prompt_ids;
    int n_prompt_ids;
    char *answer_prefix;             /* NULL = none */
    /* generation: gen_len (max_tokens), steps, block_len, temperature, seed,
     * sampler options, the cache preset (mkv_gen_params_set_cache) and its budget */
    mkv_gen_params params;
    bool has_steps, has_block_len;
} mkv_serve_request;

/* Parses and checks the body (len bytes, not NUL-terminated). On failure
 * *req is left empty (nothing to free) and *err says why (HTTP 400). */
bool mkv_serve_request_parse(const char *body, size_t len, mkv_serve_endpoint endpoint, const mkv_serve_limits *limits,
                             mkv_serve_request *req, mkv_serve_error *err);
void mkv_serve_request_free(mkv_serve_request *req);

#endif
