/* Request bodies of `maskkv serve` (src/serve/request.c): the first byte
 * picks the endpoint (bit 0: chat or completions) and the server's
 * max_tokens limit (bits 1-3), the rest is the HTTP body. Contract: any body
 * gives either a request or one error in OpenAI's shape (a 4xx/5xx status,
 * a non-empty one-line message, an error body that is valid JSON); an
 * accepted request has its fields in range, and turning it into tokens and
 * generation parameters against the tiny LLaDA model (mkv_serve_prepare:
 * chat template, tokenizer, mkv_gen_check) answers the same way; nothing
 * counted is left allocated. */
#include <cjson/cJSON.h>

#include "fuzz_common.h"
#include "serve/prompt.h"
#include "serve/request.h"
#include "serve/responses.h"
#include "tokenizer/tokenizer_internal.h"

static mkv_model *model;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (mkv_model_load(fuzz_source_path("tests/models/llada-tiny-f32.gguf"), &model) != MKV_OK) {
        fprintf(stderr, "fuzz_serve_request: %s (set MKV_SOURCE_ROOT)\n", mkv_last_error());
        exit(1);
    }
    return 0;
}

static void check_error(const mkv_serve_error *err) {
    FUZZ_ASSERT(err->http_status >= 400 && err->http_status < 600, "status %d", err->http_status);
    size_t bad = 0;
    FUZZ_ASSERT(err->message[0] && !strchr(err->message, '\n'), "message '%s'", err->message);
    FUZZ_ASSERT(mkv_utf8_validate(err->message, strlen(err->message), &bad), "message not UTF-8 at byte %zu", bad);
    FUZZ_ASSERT(err->type[0], "no error type");
    mkv_strbuf b = {0};
    mkv_serve_format_error(&b, err);
    FUZZ_ASSERT(mkv_strbuf_ok(&b), "error body not written");
    cJSON *json = cJSON_ParseWithLength(b.data, b.len);
    FUZZ_ASSERT(json && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(json, "error")), "error body: %s", b.data);
    cJSON_Delete(json);
    mkv_strbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t before = mkv_alloc_current_bytes();
    mkv_serve_endpoint endpoint = data[0] & 1 ? MKV_SERVE_CHAT : MKV_SERVE_COMPLETION;
    mkv_serve_limits limits = {.max_tokens = 1 << (2 * ((data[0] >> 1) & 7))}; /* 1 .. 16384 */
    mkv_serve_request req;
    mkv_serve_error err;
    if (!mkv_serve_request_parse((const char *)data + 1, size - 1, endpoint, &limits, &req, &err)) {
        check_error(&err);
        FUZZ_ASSERT(!req.messages && !req.prompt && !req.prompt_ids, "request kept after an error");
        FUZZ_CHECK_NO_COUNTED_LEAK(before);
        return 0;
    }
    FUZZ_ASSERT(req.params.gen_len >= 1 && req.params.gen_len <= limits.max_tokens, "max_tokens %d", req.params.gen_len);
    FUZZ_ASSERT(endpoint == MKV_SERVE_CHAT ? req.n_messages >= 1 : (req.prompt != NULL) != (req.prompt_ids != NULL),
                "no prompt in an accepted request");
    int32_t *prompt = NULL;
    int n_prompt = 0;
    mkv_gen_params params;
    if (mkv_serve_prepare(model, NULL, &req, &prompt, &n_prompt, &params, &err)) {
        FUZZ_ASSERT(prompt && n_prompt >= 1, "empty prompt accepted");
        for (int i = 0; i < n_prompt; i++)
            FUZZ_ASSERT(prompt[i] >= 0 && prompt[i] < mkv_model_hparams(model)->n_vocab, "id %d", prompt[i]);
        mkv_free(prompt);
    } else {
        check_error(&err);
        FUZZ_ASSERT(!prompt, "prompt kept after an error");
    }
    mkv_serve_request_free(&req);
    FUZZ_CHECK_NO_COUNTED_LEAK(before);
    return 0;
}
