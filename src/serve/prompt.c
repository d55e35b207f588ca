#include "serve/prompt.h"

#include <stdio.h>
#include <string.h>

/* The library's messages name the CLI's flags; a client knows the fields. */
static void to_field_names(const char *in, char *out, size_t size) {
    static const char *const map[][2] = {
        {" (--ctx-size N runs past it)", ""}, {"--gen-len", "max_tokens"}, {"--block-len", "block_length"},
        {"--steps", "steps"}, {"--temp", "temperature"}, {"--top-p", "top_p"}, {"--top-k", "top_k"},
        {"--threshold", "threshold"}, {"--cfg", "cfg"}, {"--eps", "eps"}, {"--cache", "cache"}, {"--budget", "budget"},
    };
    size_t o = 0;
    while (*in && o + 1 < size) {
        size_t k = 0, n_map = sizeof map / sizeof map[0];
        for (; k < n_map; k++)
            if (!strncmp(in, map[k][0], strlen(map[k][0]))) break;
        if (k == n_map) {
            out[o++] = *in++;
            continue;
        }
        for (const char *r = map[k][1]; *r && o + 1 < size;) out[o++] = *r++;
        in += strlen(map[k][0]);
    }
    out[o] = '\0';
}

static bool library_error(mkv_status st, const char *param, mkv_serve_error *err) {
    char message[sizeof err->message];
    to_field_names(mkv_last_error(), message, sizeof message);
    if (st == MKV_ERR_NOMEM) return mkv_serve_error_set(err, 503, "server_error", "", "out_of_memory", "%s", message);
    return mkv_serve_error_set(err, 400, "invalid_request_error", param, "", "%s", message);
}

/* The conversation through the model's chat template (mkv_chat_apply, as
 * `maskkv generate --chat`), ready for the assistant's answer. */
static bool render_chat(const mkv_model *model, const mkv_serve_request *req, char **text, mkv_serve_error *err) {
    mkv_chat_message *messages = mkv_malloc((size_t)req->n_messages * sizeof *messages, "chat messages");
    if (!messages) return library_error(mkv_last_status(), "messages", err);
    for (int i = 0; i < req->n_messages; i++)
        messages[i] = (mkv_chat_message){.role = req->messages[i].role, .content = req->messages[i].content};
    mkv_status st = mkv_chat_apply(model, messages, req->n_messages, true, text);
    mkv_free(messages);
    return st == MKV_OK ? true : library_error(st, "messages", err);
}

static bool tokenize_prompt(const mkv_model *model, const mkv_serve_request *req, int32_t **ids, int *n,
                            mkv_serve_error *err) {
    const char *param = req->endpoint == MKV_SERVE_CHAT ? "messages" : "prompt";
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    if (req->prompt_ids) {
        if (req->answer_prefix) return mkv_serve_invalid(err, "answer_prefix", "'answer_prefix' needs a text prompt, not token ids");
        for (int i = 0; i < req->n_prompt_ids; i++)
            if (req->prompt_ids[i] >= mkv_model_hparams(model)->n_vocab)
                return mkv_serve_invalid(err, "prompt", "token id %d is out of the vocabulary [0, %d)", req->prompt_ids[i],
                                         mkv_model_hparams(model)->n_vocab);
        if (!(*ids = mkv_malloc((size_t)req->n_prompt_ids * sizeof(int32_t), "prompt"))) return library_error(mkv_last_status(), param, err);
        memcpy(*ids, req->prompt_ids, (size_t)req->n_prompt_ids * sizeof(int32_t));
        *n = req->n_prompt_ids;
        return true;
    }
    if (!tok) return mkv_serve_invalid(err, param, "the model has no tokenizer: send the prompt as a list of token ids");
    char *chat = NULL, *joined = NULL;
    const char *text = req->prompt;
    if (req->endpoint == MKV_SERVE_CHAT) {
        if (!render_chat(model, req, &chat, err)) return false;
        text = chat;
    }
    if (req->answer_prefix) {
        size_t a = strlen(text), b = strlen(req->answer_prefix);
        if (!(joined = mkv_malloc(a + b + 1, "prompt with answer prefix"))) {
            mkv_free(chat);
            return library_error(mkv_last_status(), param, err);
        }
        memcpy(joined, text, a);
        memcpy(joined + a, req->answer_prefix, b + 1);
        text = joined;
    }
    /* as `maskkv generate -p`: special tokens in the text are parsed */
    mkv_status st = mkv_tokenize(tok, text, strlen(text), true, ids, n);
    mkv_free(chat);
    mkv_free(joined);
    if (st != MKV_OK) return library_error(st, param, err);
    if (*n == 0) {
        mkv_free(*ids);
        *ids = NULL;
        return mkv_serve_invalid(err, param, "the prompt is empty");
    }
    return true;
}

bool mkv_serve_prepare(const mkv_model *model, const char *profile_path, const mkv_serve_request *req,
                       int32_t **prompt, int *n_prompt, mkv_gen_params *params, mkv_serve_error *err) {
    *prompt = NULL;
    *n_prompt = 0;
    *params = req->params;
    params->profile_path = profile_path;
    int32_t *ids = NULL;
    int n = 0;
    if (!tokenize_prompt(model, req, &ids, &n, err)) return false;
    const char *param = req->endpoint == MKV_SERVE_CHAT ? "messages" : "prompt";
    int n_ctx = mkv_model_params_of(model)->ctx_size > 0 ? mkv_model_params_of(model)->ctx_size : mkv_model_hparams(model)->n_ctx;
    if ((int64_t)n + params->gen_len > n_ctx) {
        mkv_free(ids);
        return mkv_serve_error_set(err, 400, "invalid_request_error", param, "context_length_exceeded",
                                   "the prompt (%d tokens) + max_tokens (%d) exceeds the model's context of %d tokens", n,
                                   params->gen_len, n_ctx);
    }
    /* what mkv_generate would refuse (sampler rules, profile, memory), as a 400/503 before queueing */
    mkv_status st = mkv_gen_check(model, params, n);
    if (st != MKV_OK) {
        mkv_free(ids);
        return library_error(st, param, err);
    }
    *prompt = ids;
    *n_prompt = n;
    return true;
}
