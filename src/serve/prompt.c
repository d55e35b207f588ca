#include "serve/prompt.h"

#include <stdio.h>
#include <string.h>

#include "cache/presets.h"
#include "tokenizer/tokenizer.h"
#include "util/alloc.h"
#include "util/memory_budget.h"

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

/* A system turn (optional, first) and one user turn: the one conversation
 * shape the built-in chat renderers of LLaDA and Dream take. */
static bool render_chat(const mkv_model *model, const mkv_serve_request *req, char **text, mkv_serve_error *err) {
    const char *system = NULL, *user = NULL;
    int i = 0;
    if (req->n_messages > 1 && !strcmp(req->messages[0].role, "system")) system = req->messages[i++].content;
    if (req->n_messages - i != 1 || strcmp(req->messages[i].role, "user"))
        return mkv_serve_invalid(err, "messages",
                                 "maskkv serves one turn: an optional system message then one user message (got %d messages"
                                 ", the last with role '%s')", req->n_messages, req->messages[req->n_messages - 1].role);
    user = req->messages[i].content;
    mkv_chat_kind kind = mkv_chat_detect(model->chat_template, model->hp.arch);
    mkv_status st = mkv_chat_render(kind, user, system, text);
    return st == MKV_OK ? true : library_error(st, "messages", err);
}

static bool tokenize_prompt(const mkv_model *model, const mkv_serve_request *req, int32_t **ids, int *n,
                            mkv_serve_error *err) {
    const char *param = req->endpoint == MKV_SERVE_CHAT ? "messages" : "prompt";
    const mkv_tokenizer *tok = mkv_model_tokenizer(model);
    if (req->prompt_ids) {
        if (req->answer_prefix) return mkv_serve_invalid(err, "answer_prefix", "'answer_prefix' needs a text prompt, not token ids");
        for (int i = 0; i < req->n_prompt_ids; i++)
            if (req->prompt_ids[i] >= model->hp.n_vocab)
                return mkv_serve_invalid(err, "prompt", "token id %d is out of the vocabulary [0, %d)", req->prompt_ids[i],
                                         model->hp.n_vocab);
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

/* The cache preset by name, as `maskkv generate --cache NAME --budget B`. */
static void apply_cache(const mkv_serve_request *req, const double *layer_importance, mkv_gen_params *p) {
    mkv_apply_cache_preset(req->cache, &p->cache); /* the name was checked by the parser */
    mkv_evict_config *e = &p->cache.evict;
    if (req->budget > 0) e->budget = req->budget;
    e->seed = p->seed;
    if (p->cache.mode == MKV_CACHE_EVICT && e->layer_alloc == MKV_LAYERS_BOUNDARY) {
        if (layer_importance) e->layer_importance = layer_importance;
        else e->layer_alloc = MKV_LAYERS_BOUNDARY_ONLINE;
    }
}

bool mkv_serve_prepare(const mkv_model *model, const double *layer_importance, const mkv_serve_request *req,
                       int32_t **prompt, int *n_prompt, mkv_gen_params *params, mkv_serve_error *err) {
    *prompt = NULL;
    *n_prompt = 0;
    *params = req->params;
    apply_cache(req, layer_importance, params);
    int32_t *ids = NULL;
    int n = 0;
    if (!tokenize_prompt(model, req, &ids, &n, err)) return false;
    const char *param = req->endpoint == MKV_SERVE_CHAT ? "messages" : "prompt";
    if ((int64_t)n + params->gen_len > model->hp.n_ctx) {
        mkv_free(ids);
        return mkv_serve_error_set(err, 400, "invalid_request_error", param, "context_length_exceeded",
                                   "the prompt (%d tokens) + max_tokens (%d) exceeds the model's context of %d tokens", n,
                                   params->gen_len, model->hp.n_ctx);
    }
    mkv_status st = mkv_gen_validate(model, params, n);
    if (st == MKV_OK) st = mkv_gen_check_memory(model, params, n);
    if (st != MKV_OK) {
        mkv_free(ids);
        return library_error(st, param, err);
    }
    *prompt = ids;
    *n_prompt = n;
    return true;
}
